"""The output-size page's lower sections: the sliding window with its one stepper, and
seed 004's "how many layers to reach 4x4?".

One stepper, one state: ``st.session_state.os_step`` (the "output cell" slider) is the
only position. The figure is drawn for that position and carries no animation frames
of its own, so its highlighted window, its title and the equation under it name the same
cell. Play advances the same ``os_step`` from a fragment that reruns on a timer; while it
plays, the equation is shown only in the figure's title (one element, drawn at once).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from cnnlab.charts.windows import scatter_figure, sliding_window_figure
from cnnlab.errors import ShapeError
from cnnlab.layer_stack import layers_to_reach
from cnnlab.seed_examples import SEED_NOTES
from cnnlab.shapes import explain
from cnnlab.windows import GridLayer, SlideResult, grid_text, resize_grid, slide, to_code

PLAY_INTERVAL_S = 1.2  # one output cell per tick while playing


def editor(label: str, state_key: str, rows: int, cols: int) -> list[list[float]]:
    """An editable grid of numbers; resizing keeps the values that still fit."""
    base = st.session_state[state_key]
    if len(base) != rows or len(base[0]) != cols:
        base = st.session_state[state_key] = resize_grid(base, rows, cols)
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


def _toggle_play() -> None:
    st.session_state.os_playing = not st.session_state.get("os_playing", False)
    if st.session_state.os_playing and st.session_state.get("os_step_last"):
        st.session_state.os_step = -1  # Play at the last cell starts over (the tick adds 1)


def _stepper(result: SlideResult) -> None:
    """Slider, Play/Pause, figure and equation, all from ``os_step``."""
    cells = len(result.windows)
    playing = bool(st.session_state.get("os_playing")) and cells > 1
    step = min(int(st.session_state.get("os_step", 0)), cells - 1)
    step = max(0, min(step + 1, cells - 1) if playing else step)
    st.session_state.os_step = step
    st.session_state.os_step_last = step == cells - 1
    if cells > 1:
        st.slider("output cell", 0, cells - 1, key="os_step", format="%d",
                  help="Row-major index of the output cell to explain.")  # fmt: skip
    out_w = len(result.output[0])
    st.plotly_chart(sliding_window_figure(result, step), key="os_window_chart")
    window = result.windows[step]
    if playing:
        # The figure's title carries the equation: one element, so while cells change every
        # tick the outline and the sum never show two cells (two elements render apart).
        st.caption("Playing: each cell's sum is in the figure's title. Pause to read it here.")
    else:
        st.markdown(f"**out[{step // out_w}, {step % out_w}]** = `{window.text}`")
    if window.partial:
        st.caption(f"This is the partial window ceil_mode keeps: {len(window.missing)} of its "
                   "cells (dotted) lie past the padded grid and are not counted.")  # fmt: skip
    if playing and step == cells - 1:
        st.session_state.os_playing = False
        st.rerun(scope="app")  # the last cell: stop the timer


def sliding_window(layer_type: str, layer: Any) -> None:
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
        grid = editor("input grid (rows x columns follow the input H and W above)", "os_grid",
                      rows, cols)  # fmt: skip
    weights = None
    if kernel_col is not None:
        kh, kw = (min(k, 7) for k in layer.kernel_size)
        with kernel_col:
            weights = editor("kernel weights", "os_kernel", kh, kw)
    try:
        spec = GridLayer.from_module(layer, weights)
        result = slide(grid, spec)
    except ShapeError as error:
        st.error(f"On this {rows}x{cols} grid: {error}", icon="🚫")
        return
    playing = bool(st.session_state.get("os_playing")) and len(result.windows) > 1
    if len(result.windows) > 1:  # outside the fragment: Play/Pause starts/stops its timer
        st.button("Pause" if playing else "Play every cell", on_click=_toggle_play,
                  icon=":material/pause:" if playing else ":material/play_arrow:",
                  key="os_play", help="Step through the output cells, about one a second.")  # fmt: skip
    st.fragment(run_every=PLAY_INTERVAL_S if playing else None)(_stepper)(result)
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
        st.code(grid_text(result.output), language=None)


def layer_stack(layer_type: str, layer: Any, shape: tuple[int, ...]) -> None:
    """Seed 004's question for the layer above: how many copies reach a target size?"""
    if layer_type not in ("Conv2d", "MaxPool2d", "AvgPool2d") or len(shape) < 3:
        return
    st.subheader("How many layers to reach a size?")
    target = int(st.number_input(
        "target size (H and W at most)", 1, 512, key="os_target",
        help="Seed 004 asks how many 5x5 conv layers bring 224x224 down to 4x4.",
    ))  # fmt: skip
    stack = layers_to_reach(layer, shape, target)
    h, w = stack.sizes[-1]
    if stack.reached and stack.layers:
        params = explain(layer, shape).params
        st.markdown(
            f"**{stack.layers} layers** of `{type(layer).__name__}` take "
            f"{shape[-2]}x{shape[-1]} to **{h}x{w}**" + ("" if h == w == target else
            f" (at most {target}x{target})") + f": {stack.text()}"
        )  # fmt: skip
        if params:
            st.caption(f"{stack.layers} × {params:,} parameters = {stack.layers * params:,} "
                       "learnable parameters in the stack.")  # fmt: skip
        if layer_type == "Conv2d" and layer.stride == (1, 1):
            st.caption("That is why strides exist: set stride 2 above and count again.")
    elif stack.reached:
        st.caption(f"The input is already at most {target}x{target}.")
    else:
        st.warning(f"Stacking stops at {h}x{w} after {stack.layers} layers: {stack.reason}.",
                   icon="🧱")  # fmt: skip
