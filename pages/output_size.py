"""The output-size lab: every size formula as a live calculator, checked against torch.

Thin page: widgets -> cnnlab.{windows, shapes, samples} -> cnnlab.charts.windows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_shell import ensure_app_navigation
from cnnlab.charts.windows import (
    padding_modes_figure,
    padding_modes_image_figure,
    scatter_figure,
    sliding_window_figure,
)
from cnnlab.errors import ShapeError
from cnnlab.samples import load_sample
from cnnlab.shapes import explain
from cnnlab.windows import (
    LAYER_TYPES,
    PADDING_MODES,
    GridLayer,
    build_layer,
    fmt,
    pad_grid,
    pad_image,
    padding_limits,
    run_on_zeros,
    slide,
    to_code,
)

ensure_app_navigation()

# --- the seeds' examples ------------------------------------------------------------------

GRID_001 = [[1, 2, 0, 3, 1], [0, 1, 2, 3, 1], [1, 2, 1, 0, 0], [5, 2, 3, 1, 1], [2, 1, 0, 1, 1]]
KERNEL_001 = [[1, 2, 1], [0, 1, 0], [2, 1, 0]]
GRID_000 = [[3, 4, 6, 5, 7], [2, 4, 6, 8, 2], [1, 6, 7, 8, 4], [9, 7, 4, 6, 2], [3, 7, 5, 4, 1]]
KERNEL_000 = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
POOL_000 = [[3, 4, 6, 5], [2, 4, 6, 8], [1, 6, 7, 8], [9, 7, 4, 6]]
GRID_004 = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]

DEFAULTS: dict[str, Any] = {
    "os_layer": "Conv2d", "os_in_c": 1, "os_out_c": 1, "os_kh": 3, "os_kw": 3,
    "os_sh": 1, "os_sw": 1, "os_pad_kind": "number", "os_ph": 0, "os_pw": 0,
    "os_dh": 1, "os_dw": 1, "os_groups": 1, "os_bias": False, "os_pmode": "zeros",
    "os_ceil": False, "os_cip": True, "os_pool_stride_default": True, "os_oph": 0, "os_opw": 0,
    "os_out_h": 1, "os_out_w": 1, "os_in_f": 1024, "os_out_f": 64, "os_start_dim": 1,
    "os_end_dim": -1, "os_batched": True, "os_n": 1, "os_c": 1, "os_h": 5, "os_w": 5,
    "os_f": 1024, "os_step": 0, "os_scatter": 0, "os_pm_pad": 1, "os_pm_img_pad": 6,
    "os_pm_image": 0,
}  # fmt: skip


def _conv(kernel: list[list[float]], grid: list[list[float]], **extra: Any) -> dict[str, Any]:
    h, w = len(grid), len(grid[0])
    return {"os_layer": "Conv2d", "os_kh": len(kernel), "os_kw": len(kernel[0]), "os_h": h,
            "os_w": w, "grid": grid, "kernel": kernel, **extra}  # fmt: skip


def _pool(kind: str, k: int, grid: list[list[float]], **extra: Any) -> dict[str, Any]:
    return {"os_layer": kind, "os_kh": k, "os_kw": k, "os_h": len(grid), "os_w": len(grid[0]),
            "grid": grid, **extra}  # fmt: skip


PRESETS: dict[str, dict[str, Any]] = {
    "seed 001: 5x5 with 3x3 kernel": _conv(KERNEL_001, GRID_001),
    "seed 001: the same at stride 2": _conv(KERNEL_001, GRID_001, os_sh=2, os_sw=2),
    "seed 001: padding=1 keeps 5x5": _conv(KERNEL_001, GRID_001, os_ph=1, os_pw=1),
    "seed 000: padding=1 with kernel 1..9": _conv(KERNEL_000, GRID_000, os_ph=1, os_pw=1),
    "seed 000: stride=2 with kernel 1..9": _conv(KERNEL_000, GRID_000, os_sh=2, os_sw=2),
    "seed 000: 4x4 MaxPool2d(2)": _pool("MaxPool2d", 2, POOL_000),
    "seed 001/002: MaxPool2d(3) ceil_mode=True": _pool("MaxPool2d", 3, GRID_001, os_ceil=True),
    "seed 001/002: MaxPool2d(3) ceil_mode=False": _pool("MaxPool2d", 3, GRID_001),
    "ceil_mode drops a window: MaxPool2d(3, stride=3, padding=1)": _pool(
        "MaxPool2d", 3, GRID_001, os_ceil=True, os_pool_stride_default=False, os_sh=3,
        os_sw=3, os_ph=1, os_pw=1,
    ),
    "AvgPool2d(2) ceil_mode: the partial corner window": _pool(
        "AvgPool2d", 2, GRID_001, os_ceil=True
    ),
    "dilation 2: a 3x3 kernel that spans 5x5": _conv(
        KERNEL_001, [[*row, 1, 0] for row in GRID_001] + [[1, 0, 2, 1, 0, 1, 2]] * 2,
        os_dh=2, os_dw=2,
    ),
    "seed 004: reflect padding, 1x1 kernel on 1..16": _conv(
        [[1]], GRID_004, os_ph=1, os_pw=1, os_pmode="reflect"
    ),
    "ConvTranspose2d: stride 2 doubles 3x3 to 6x6": {
        "os_layer": "ConvTranspose2d", "os_kh": 3, "os_kw": 3, "os_sh": 2, "os_sw": 2,
        "os_ph": 1, "os_pw": 1, "os_oph": 1, "os_opw": 1, "os_h": 3, "os_w": 3,
        "grid": [[1, 2, 0], [0, 1, 3], [2, 1, 1]], "kernel": KERNEL_001,
    },
    "seed 002: CIFAR-10 [64,3,32,32] -> Conv2d(3, 6, 3)": {
        "os_layer": "Conv2d", "os_in_c": 3, "os_out_c": 6, "os_bias": True, "os_n": 64,
        "os_c": 3, "os_h": 32, "os_w": 32,
    },
    "seed 001: CIFAR-10 Conv2d(3, 32, 5, padding=2)": {
        "os_layer": "Conv2d", "os_in_c": 3, "os_out_c": 32, "os_kh": 5, "os_kw": 5, "os_ph": 2,
        "os_pw": 2, "os_bias": True, "os_n": 64, "os_c": 3, "os_h": 32, "os_w": 32,
    },
    "seed 000: Conv2d(5, 10, 3) on 100x100": {
        "os_layer": "Conv2d", "os_in_c": 5, "os_out_c": 10, "os_bias": True, "os_n": 1,
        "os_c": 5, "os_h": 100, "os_w": 100,
    },
    "seed 001: Flatten [64,64,4,4] -> 1024": {
        "os_layer": "Flatten", "os_n": 64, "os_c": 64, "os_h": 4, "os_w": 4,
    },
    "seed 001: Linear(1024, 64)": {
        "os_layer": "Linear", "os_in_f": 1024, "os_out_f": 64, "os_bias": True, "os_n": 64,
        "os_f": 1024,
    },
}  # fmt: skip
SEED_NOTES = {
    "seed 000: padding=1 with kernel 1..9": (
        "Seed 000 defines `convlayer` but then calls `conv_layer(input)`, which raises a "
        "NameError. The code below uses one name throughout."
    ),
    "seed 004: reflect padding, 1x1 kernel on 1..16": (
        "Seed 004 builds its input with `torch.range(1, 48)`, which is deprecated (and "
        "includes its end); `torch.arange(1, 49.)` gives the same values."
    ),
}


def _apply_preset() -> None:
    """Reset every widget to its default, then to the chosen example's values."""
    preset = PRESETS[st.session_state.os_preset]
    for key, value in DEFAULTS.items():
        st.session_state[key] = value
    for key, value in preset.items():
        if key.startswith("os_"):
            st.session_state[key] = value
    st.session_state.os_grid = [list(map(float, r)) for r in preset.get("grid", GRID_001)]
    st.session_state.os_kernel = [list(map(float, r)) for r in preset.get("kernel", KERNEL_001)]
    st.session_state.os_version += 1


def _init_state() -> None:
    if "os_version" not in st.session_state:
        st.session_state.os_preset = next(iter(PRESETS))
        st.session_state.os_version = 0
        _apply_preset()
    for key, value in DEFAULTS.items():  # widgets hidden on the last run lose their state
        st.session_state.setdefault(key, value)


def _pair_inputs(label: str, key: str, low: int, help: str) -> tuple[int, int]:
    """Two number inputs, height and width, side by side."""
    left, right = st.columns(2)
    h = left.number_input(f"{label} H", min_value=low, max_value=512, step=1, key=f"{key}h",
                          help=help)  # fmt: skip
    w = right.number_input(f"{label} W", min_value=low, max_value=512, step=1, key=f"{key}w",
                           help=help)  # fmt: skip
    return int(h), int(w)


def _layer_widgets(layer_type: str) -> dict[str, Any]:
    """The constructor arguments of the chosen layer, one widget per parameter."""
    params: dict[str, Any] = {}
    if layer_type in ("Conv2d", "ConvTranspose2d"):
        a, b = st.columns(2)
        params["in_channels"] = a.number_input("in_channels", 1, 4096, step=1, key="os_in_c",
                                               help="Depth of every kernel = channels of the input.")  # fmt: skip
        params["out_channels"] = b.number_input("out_channels", 1, 4096, step=1, key="os_out_c",
                                                help="Number of kernels = channels of the output.")  # fmt: skip
    if layer_type in ("Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d"):
        params["kernel_size"] = _pair_inputs("kernel", "os_k", 1, "Window height and width.")
        stride_help = "How far the window moves between output cells."
        if layer_type in ("MaxPool2d", "AvgPool2d"):
            same = st.checkbox("stride = kernel_size (torch's default for pooling)",
                               key="os_pool_stride_default")  # fmt: skip
            params["stride"] = None if same else _pair_inputs("stride", "os_s", 1, stride_help)
        else:
            params["stride"] = _pair_inputs("stride", "os_s", 1, stride_help)
        if layer_type == "Conv2d":
            kind = st.segmented_control("padding", ["number", "same", "valid"], key="os_pad_kind",
                                        required=True,
                                        help="'same' keeps the size (stride 1 only); "
                                        "'valid' means no padding.")  # fmt: skip
        else:
            kind = "number"
        if kind in ("same", "valid"):
            params["padding"] = kind
        else:
            params["padding"] = _pair_inputs("padding", "os_p", 0, "Rings added around the input.")
        if layer_type != "AvgPool2d":
            params["dilation"] = _pair_inputs("dilation", "os_d", 1, "Gap between kernel taps.")
    if layer_type == "ConvTranspose2d":
        params["output_padding"] = _pair_inputs(
            "output_padding", "os_op", 0, "Extra rows/columns on the bottom/right of the output."
        )
    if layer_type in ("Conv2d", "ConvTranspose2d"):
        a, b = st.columns(2)
        params["groups"] = a.number_input("groups", 1, 4096, step=1, key="os_groups",
                                          help="Split channels into independent groups.")  # fmt: skip
        params["bias"] = b.toggle("bias", key="os_bias", help="One extra parameter per kernel.")
    if layer_type == "Conv2d":
        params["padding_mode"] = st.selectbox("padding_mode", PADDING_MODES, key="os_pmode",
                                              help="What the padding cells contain.")  # fmt: skip
    if layer_type in ("MaxPool2d", "AvgPool2d"):
        params["ceil_mode"] = st.toggle("ceil_mode", key="os_ceil",
                                        help="Round up: keep a partial last window.")  # fmt: skip
    if layer_type == "AvgPool2d":
        params["count_include_pad"] = st.toggle("count_include_pad", key="os_cip",
                                                help="Divide by padding cells too.")  # fmt: skip
    if layer_type in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"):
        params["output_size"] = _pair_inputs("output_size", "os_out_", 1, "The size you want.")
    if layer_type == "Linear":
        a, b = st.columns(2)
        params["in_features"] = a.number_input("in_features", 1, 10**7, step=1, key="os_in_f")
        params["out_features"] = b.number_input("out_features", 1, 10**6, step=1, key="os_out_f")
        params["bias"] = st.toggle("bias", key="os_bias")
    if layer_type == "Flatten":
        a, b = st.columns(2)
        params["start_dim"] = a.number_input("start_dim", -4, 3, step=1, key="os_start_dim")
        params["end_dim"] = b.number_input("end_dim", -4, 3, step=1, key="os_end_dim")
    if layer_type == "BatchNorm2d":
        params["num_features"] = st.number_input("num_features", 1, 4096, key="os_in_c")
    return {k: (int(v) if isinstance(v, float) else v) for k, v in params.items()}


def _input_widgets(layer_type: str) -> tuple[int, ...]:
    batched = st.toggle("batched input", key="os_batched",
                        help="(N, C, H, W) with a batch dimension, or a single (C, H, W).")  # fmt: skip
    if layer_type == "Linear":
        n = st.number_input("N (batch)", 1, 4096, key="os_n") if batched else None
        f = st.number_input("F (features)", 1, 10**7, key="os_f")
        return (int(n), int(f)) if n else (int(f),)
    a, b = st.columns(2)
    n = a.number_input("N (batch)", 1, 4096, key="os_n", disabled=not batched)
    c = b.number_input("C (channels)", 1, 4096, key="os_c")
    h, w = _pair_inputs("input", "os_", 1, "Height and width of the input.")
    return (int(n), int(c), h, w) if batched else (int(c), h, w)


TORCH_DEFAULTS: dict[str, Any] = {
    "stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "output_padding": 0,
    "padding_mode": "zeros", "ceil_mode": False, "count_include_pad": True, "start_dim": 1,
    "end_dim": -1,
}  # fmt: skip
POSITIONAL = ("in_channels", "out_channels", "in_features", "out_features", "num_features")


def _call(layer_type: str, params: dict[str, Any]) -> str:
    """How the layer is written in PyTorch, e.g. nn.Conv2d(3, 6, kernel_size=3)."""
    args = [_py(params[k]) for k in POSITIONAL if k in params]
    for key, value in params.items():
        if key in POSITIONAL or value is None or _py(value) == _py(TORCH_DEFAULTS.get(key)):
            continue
        args.append(f"{key}={_py(value)}")
    return f"nn.{layer_type}({', '.join(args)})"


def _py(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        return str(value[0])
    return repr(value)


def _result(layer_type: str, params: dict[str, Any], shape: tuple[int, ...]) -> Any:
    """Formulas, parameter count and the torch badge; an error box when torch would refuse."""
    try:
        layer = build_layer(layer_type, **params)
        explanation = explain(layer, shape)
    except ShapeError as error:
        st.error(str(error), icon="🚫")
        return None
    try:
        run = run_on_zeros(layer, shape)
    except ShapeError as error:
        st.error(f"The formulas give {explanation.output_shape}, but {error}", icon="⚠️")
        return layer
    left, right = st.columns(2)
    left.metric("output shape", str(explanation.output_shape), help=f"input {tuple(shape)}")
    right.metric("learnable parameters", f"{explanation.params:,}")
    call = f"{_call(layer_type, params)}(torch.zeros{tuple(shape)}).shape"
    if run is None:
        st.badge("too large to run here: formulas only", icon=":material/info:", color="gray")
    elif run.output_shape == explanation.output_shape:
        st.badge(f"checked against torch: {run.output_shape}", icon=":material/verified:",
                 color="green", help="The real layer ran on zeros and produced this shape.")  # fmt: skip
        batch = "" if run.ran_on == tuple(shape) else f" (run with batch 1: {run.ran_on})"
        st.caption(f"`{call}` → `{run.output_shape}`{batch}")
    else:
        st.badge(f"torch gave {run.output_shape}, the formulas {explanation.output_shape}",
                 icon=":material/error:", color="red")  # fmt: skip
    for dim in explanation.dims:
        st.latex(dim.latex)
        if dim.dropped:
            st.caption(f"{dim.axis}: {dim.dropped}.")
    symbolic = [d for d in explanation.dims if d.axis in ("H", "W") and d.symbolic]
    if symbolic:
        st.caption("The formula in symbols (K kernel, S stride, P padding, D dilation):")
        st.latex(f"{symbolic[0].axis}_{{out}} = {symbolic[0].symbolic}")
    if explanation.note:
        st.caption(explanation.note)
    if explanation.params:
        st.markdown("**Parameters**")
        latex = explanation.params_latex
        if explanation.params_symbolic:
            latex = f"{explanation.params_symbolic} = {latex}"
        st.latex(latex)
    return layer


def _editor(label: str, state_key: str, rows: int, cols: int, help: str) -> list[list[float]]:
    """An editable grid of numbers; resizing keeps the values that still fit."""
    base = st.session_state[state_key]
    if len(base) != rows or len(base[0]) != cols:
        base = [[base[r][c] if r < len(base) and c < len(base[0]) else 0.0 for c in range(cols)]
                for r in range(rows)]  # fmt: skip
        st.session_state[state_key] = base
        st.session_state.os_version += 1
    frame = pd.DataFrame(base, columns=[str(c) for c in range(cols)])
    edited = st.data_editor(
        frame, key=f"{state_key}_{st.session_state.os_version}_{rows}x{cols}", hide_index=False,
        num_rows="fixed",
        column_config={str(c): st.column_config.NumberColumn(str(c), format="%g", required=True)
                       for c in range(cols)},
    )  # fmt: skip
    st.caption(label)
    return edited.fillna(0.0).astype(float).values.tolist()


def _sliding_window(layer_type: str, layer: Any) -> None:
    st.subheader("The sliding window, cell by cell")
    if layer_type not in ("Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d"):
        st.info(f"{layer_type} has no sliding window; pick Conv2d, ConvTranspose2d, MaxPool2d "
                "or AvgPool2d (or a seed example above) to see one.", icon="ℹ️")  # fmt: skip
        return
    st.caption("One channel of a small input with the same kernel, stride, padding and dilation "
               "as above (channels and bias set aside). Edit any number; the output is computed "
               "by the real torch op, and every cell's arithmetic is written out below.")  # fmt: skip
    shape = (int(st.session_state.os_h), int(st.session_state.os_w))
    rows, cols = min(shape[0], 10), min(shape[1], 10)
    if shape != (rows, cols):
        st.caption(f"The grid shows {rows}x{cols} of the {shape[0]}x{shape[1]} input.")
    has_kernel = layer_type in ("Conv2d", "ConvTranspose2d")
    grid_col, kernel_col = st.columns([3, 2]) if has_kernel else (st.container(), None)
    with grid_col:
        grid = _editor("input grid (rows x columns follow the input H and W above)", "os_grid",
                       rows, cols, "Type new values.")  # fmt: skip
    weights = None
    if kernel_col is not None:
        kh, kw = (min(k, 7) for k in layer.kernel_size)
        with kernel_col:
            weights = _editor("kernel weights", "os_kernel", kh, kw, "The kernel's weights.")
    try:
        spec = GridLayer.from_module(layer, weights)
        result = slide(grid, spec)
    except ShapeError as error:
        st.error(f"On this {rows}x{cols} grid: {error}", icon="🚫")
        return
    cells = len(result.windows)
    out_w = len(result.output[0])
    if st.session_state.os_step >= cells:
        st.session_state.os_step = 0
    step = st.slider("output cell", 0, cells - 1, key="os_step", disabled=cells == 1,
                     format="%d", help="Row-major index of the output cell to explain; "
                     "the ▶ Play button in the chart animates all of them.") if cells > 1 else 0  # fmt: skip
    st.plotly_chart(sliding_window_figure(result, step),
                    key=f"os_window_chart_{step}")  # fmt: skip
    window = result.windows[step]
    st.markdown(f"**out[{step // out_w}, {step % out_w}]** = `{window.text}`")
    if window.partial:
        st.caption(f"This is the partial window ceil_mode keeps: {len(window.missing)} of its "
                   "cells (dotted) lie past the padded grid and are not counted.")  # fmt: skip
    for dropped in result.dropped:
        st.warning(dropped.text, icon="✂️")
    if spec.kind == "conv_transpose":
        st.markdown("**Seen from the input:** each input cell multiplies the whole kernel and "
                    "adds it into the output, `stride` cells apart; `padding` crops the border.")  # fmt: skip
        source = st.slider("input cell", 0, len(result.scatters) - 1, key="os_scatter",
                           help="Row-major index of the input cell that scatters.")  # fmt: skip
        st.plotly_chart(scatter_figure(result, source))
        st.code(result.scatters[source].text, language=None)
    note = SEED_NOTES.get(st.session_state.os_preset)
    with st.expander("In PyTorch", expanded=note is not None):
        if note:
            st.caption(note)
        st.code(to_code(grid, spec), language="python")
        st.caption("Output printed by torch:")
        st.code("\n".join("  ".join(f"{fmt(v):>5}" for v in row) for row in result.output),
                language=None)  # fmt: skip


def _padding_modes() -> None:
    st.subheader("Padding modes")
    st.caption("What goes into the padding cells. `nn.Conv2d(..., padding_mode=...)` pads this "
               "way before it slides the kernel; pooling always pads with -∞ (max) or 0 (avg).")  # fmt: skip
    grid = st.session_state.os_grid
    size = (len(grid), len(grid[0]))
    pad = st.slider("padding", 1, 6, key="os_pm_pad", help="Rings of padding on every side.")
    padded: dict[str, Any] = {}
    for mode in PADDING_MODES:
        try:
            padded[mode] = pad_grid(grid, pad, mode)
        except ShapeError as error:
            padded[mode] = str(error)
    st.plotly_chart(padding_modes_figure(padded))
    limits = padding_limits(size)
    st.table(pd.DataFrame({"mode": list(limits), f"on this {size[0]}x{size[1]} grid":
                           list(limits.values())}).set_index("mode"))  # fmt: skip
    sample = load_sample()
    left, right = st.columns([1, 3])
    with left:
        options = list(range(0, len(sample.labels), 10))
        index = st.selectbox("CIFAR-10 sample image", options, key="os_pm_image",
                             format_func=lambda i: sample.classes[int(sample.labels[i])],
                             help="One test image per class from the bundled sample.")  # fmt: skip
        img_pad = st.slider("image padding (pixels)", 1, 40, key="os_pm_img_pad",
                            help="Reflect needs < 32 on a 32x32 image, circular ≤ 32.")  # fmt: skip
    images: dict[str, Any] = {}
    for mode in PADDING_MODES:
        try:
            images[mode] = pad_image(sample.images[index], img_pad, mode)  # [3, H', W']
        except ShapeError as error:
            images[mode] = str(error)
    with right:
        st.plotly_chart(padding_modes_image_figure(images, img_pad))
    with st.expander("In PyTorch (seed 004's example, corrected)"):
        st.code(
            "import torch\nfrom torch import nn\n\n"
            "x = torch.arange(1, 49.).reshape(1, 3, 4, 4)  # seed 004 used the deprecated "
            "torch.range(1, 48)\n"
            "conv = nn.Conv2d(3, 3, 1, padding=1, padding_mode='reflect', bias=False)\n"
            "conv.weight.data = torch.ones(3, 3, 1, 1)\n"
            "print(conv(x).shape)  # torch.Size([1, 3, 6, 6])\n\n"
            "# the padding alone, without a conv:\n"
            "import torch.nn.functional as F\n"
            "print(F.pad(x, (1, 1, 1, 1), mode='reflect'))  # also 'replicate', 'circular', "
            "'constant'",
            language="python",
        )


def main() -> None:
    _init_state()
    st.title("Output size")
    st.markdown(
        "Every size formula from the course notes as a live calculator. Pick a layer and an "
        "input; the formula is filled in with your numbers, and the **real torch layer** runs "
        "on zeros to confirm the shape. Below, the sliding window shows where each output "
        "number comes from."
    )
    st.selectbox("Start from an example", list(PRESETS), key="os_preset", on_change=_apply_preset,
                 help="The worked examples of the course notes, reproduced exactly.")  # fmt: skip
    layer_col, input_col, result_col = st.columns([2, 1.2, 3], gap="large")
    with layer_col:
        st.markdown("##### Layer")
        layer_type = st.selectbox("layer type", LAYER_TYPES, key="os_layer")
        params = _layer_widgets(layer_type)
    with input_col:
        st.markdown("##### Input")
        shape = _input_widgets(layer_type)
    with result_col:
        st.markdown("##### Result")
        layer = _result(layer_type, params, shape)
    st.divider()
    if layer is not None:
        _sliding_window(layer_type, layer)
    else:
        st.info("Fix the configuration above to see the sliding window.", icon="ℹ️")
    st.divider()
    _padding_modes()


main()
