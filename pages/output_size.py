"""The output-size lab: every size formula as a live calculator, checked against torch.

Thin page: widgets -> cnnlab.{seed_examples, windows, shapes, samples} -> cnnlab.charts.windows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_shell import ensure_app_navigation
from cnnlab.charts.windows import padding_modes_figure, padding_modes_image_figure
from cnnlab.errors import ShapeError
from cnnlab.samples import load_sample
from cnnlab.seed_examples import (
    DEFAULTS,
    EXAMPLE_IDS,
    PRESETS,
    SEED_004_CODE,
    example_id,
    example_state,
)
from cnnlab.shapes import explain
from cnnlab.windows import (
    LAYER_TYPES,
    PADDING_MODES,
    build_layer,
    layer_call,
    pad_every_mode,
    pad_image_every_mode,
    padding_limits,
    run_on_zeros,
)
from page_parts.output_size import layer_stack, sliding_window

ensure_app_navigation()


def _apply_preset() -> None:
    """Reset every widget to its default, then to the chosen example's values; the URL
    (``?example=<id>``) names the example, so a link or a refresh opens it again."""
    st.session_state.update(example_state(st.session_state.os_preset))
    st.session_state.os_version += 1
    st.session_state.os_playing = False
    st.session_state.os_linked = st.query_params["example"] = example_id(st.session_state.os_preset)


def _init_state() -> None:
    linked = EXAMPLE_IDS.get(st.query_params.get("example", ""))
    if "os_version" not in st.session_state:
        st.session_state.os_preset = linked or next(iter(PRESETS))
        st.session_state.os_version = 0
        _apply_preset()
    elif linked and st.session_state.get("os_linked") != example_id(linked):
        st.session_state.os_preset = linked  # a home-page card or a link: open its example
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
    batched = st.toggle("batched", key="os_batched",
                        help="(N, C, H, W) with a batch dimension, or a single (C, H, W).")  # fmt: skip
    if layer_type == "Linear":
        n = st.number_input("N (batch)", 1, 4096, key="os_n") if batched else None
        f = st.number_input("F (features)", 1, 10**7, key="os_f")
        return (int(n), int(f)) if n else (int(f),)
    a, b = st.columns(2)
    n = a.number_input("N", 1, 4096, key="os_n", disabled=not batched, help="Batch size.")
    c = b.number_input("C", 1, 4096, key="os_c", help="Channels.")
    h, w = _pair_inputs("input", "os_", 1, "Height and width of the input.")
    return (int(n), int(c), h, w) if batched else (int(c), h, w)


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
    call = f"{layer_call(layer_type, params)}(torch.zeros{tuple(shape)}).shape"
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


@st.cache_resource(max_entries=64, show_spinner=False)
def _modes_figure(grid: tuple[tuple[float, ...], ...], pad: int) -> Any:
    """Built once per grid and padding: changing the layer above reruns the page, not this."""
    return padding_modes_figure(pad_every_mode(grid, pad))


@st.cache_resource(max_entries=64, show_spinner=False)
def _image_modes_figure(index: int, pad: int) -> Any:
    return padding_modes_image_figure(pad_image_every_mode(load_sample().images[index], pad), pad)


def _padding_modes() -> None:
    st.subheader("Padding modes")
    st.caption("What goes into the padding cells. `nn.Conv2d(..., padding_mode=...)` pads this "
               "way before it slides the kernel; pooling always pads with -∞ (max) or 0 (avg).")  # fmt: skip
    grid = st.session_state.os_grid
    size = (len(grid), len(grid[0]))
    pad = st.slider("padding", 1, 6, key="os_pm_pad", help="Rings of padding on every side.")
    st.plotly_chart(_modes_figure(tuple(map(tuple, grid)), pad))
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
    with right:
        st.plotly_chart(_image_modes_figure(index, img_pad))
    with st.expander("In PyTorch (seed 004's example, corrected)"):
        st.code(SEED_004_CODE, language="python")


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
        sliding_window(layer_type, layer)
        layer_stack(layer_type, layer, shape)
    else:
        st.info("Fix the configuration above to see the sliding window.", icon="ℹ️")
    st.divider()
    _padding_modes()


main()
