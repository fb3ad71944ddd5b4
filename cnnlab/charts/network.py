"""The layer-stack diagram of the Network page.

Each layer is a block drawn left to right: its height grows with the spatial size of
its output (H) and its width with the number of channels, both on a log scale, so a
32x32x3 input is tall and thin and a 4x4x64 map short and thick. Flattened vectors are
narrow bars whose height grows with their length. Activations, BatchNorm and Dropout
do not change the shape: they are drawn as thin coloured strips. The first broken
layer is drawn with a red dashed outline and no output shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from cnnlab.shapes import Ledger

FONT = {"family": "Inter, Segoe UI, sans-serif", "size": 12}
BROKEN = "#dc2626"
COLORS = {
    "input": "#94a3b8",
    "conv": "#3b82f6",
    "pool": "#f59e0b",
    "norm": "#a855f7",
    "act": "#22c55e",
    "dropout": "#cbd5e1",
    "flatten": "#64748b",
    "linear": "#ef4444",
    "other": "#9ca3af",
}
_THIN = {"norm", "act", "dropout"}  # shape-preserving: drawn as strips, no label
_KIND_BY_TYPE = {
    "Conv": "conv",
    "ConvTranspose": "conv",
    "Pool": "pool",
    "BatchNorm": "norm",
    "Dropout": "dropout",
    "Flatten": "flatten",
    "Linear": "linear",
}
_ACTIVATIONS = {"ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "ELU", "Softmax"}


@dataclass(frozen=True)
class LayerBox:
    """One block of the diagram: a layer's name, its torch type and its output shape.

    ``shape`` is the unbatched output (C, H, W) or (F,); None when it cannot be computed.
    """

    name: str
    type: str
    shape: tuple[int, ...] | None


def layer_kind(type_name: str) -> str:
    """Colour family of a torch layer type: "Conv2d" -> "conv", "ReLU" -> "act" ..."""
    if type_name in _ACTIVATIONS:
        return "act"
    if type_name == "Input":
        return "input"
    for stem, kind in _KIND_BY_TYPE.items():
        if stem in type_name:
            return kind
    return "other"


def shape_text(shape: tuple[int, ...] | None) -> str:
    return "?" if shape is None else "×".join(str(d) for d in shape)


def _scale(value: int, largest: int, low: float, high: float) -> float:
    """low..high on a log scale of value within 1..largest."""
    if largest <= 1:
        return high
    return low + (high - low) * math.log(max(value, 1)) / math.log(largest)


def layer_stack_figure(layers: Sequence[LayerBox], broken: int | None = None) -> go.Figure:
    """Blocks for ``layers`` (the first is usually the input); ``broken`` indexes the bad one."""
    spatial = [b.shape for b in layers if b.shape is not None and len(b.shape) == 3]
    vectors = [b.shape for b in layers if b.shape is not None and len(b.shape) == 1]
    max_hw = max((max(s[1], s[2]) for s in spatial), default=1)
    max_c = max((s[0] for s in spatial), default=1)
    max_f = max((s[0] for s in vectors), default=1)

    figure = go.Figure()
    x = 0.0
    hover_x: list[float] = []
    hover_y: list[float] = []
    hover_text: list[str] = []
    label_boxes: list[tuple[float, float, LayerBox]] = []
    for index, box in enumerate(layers):
        kind = layer_kind(box.type)
        is_broken = broken is not None and index == broken
        shape = box.shape
        if kind in _THIN and not is_broken:
            width, height = 0.12, _height(shape, max_hw, max_f)
        elif shape is not None and len(shape) == 3:
            width = _scale(shape[0], max_c, 0.35, 1.6)
            height = _scale(max(shape[1], shape[2]), max_hw, 0.7, 4.0)
        elif shape is not None and len(shape) == 1:
            width, height = 0.28, _scale(shape[0], max_f, 0.7, 4.0)
        else:
            width, height = 0.8, 2.0
        color = BROKEN if is_broken else COLORS[kind]
        figure.add_shape(
            type="rect",
            x0=x, x1=x + width, y0=-height / 2, y1=height / 2,
            fillcolor="rgba(220, 38, 38, 0.08)" if is_broken else color,
            opacity=1.0 if is_broken else 0.85,
            line={"color": color, "width": 2.5 if is_broken else 1, "dash": "dash" if is_broken else "solid"},
        )  # fmt: skip
        hover_x.append(x + width / 2)
        hover_y.append(0.0)
        status = "  ⚠ broken here" if is_broken else ""
        hover_text.append(f"<b>{box.name}</b> · {box.type}<br>out: {shape_text(shape)}{status}")
        if kind not in _THIN or is_broken:
            label_boxes.append((x + width / 2, height / 2, box))
        x += width + (0.08 if kind in _THIN else 0.35)

    figure.add_trace(
        go.Scatter(
            x=hover_x, y=hover_y, mode="markers", marker={"size": 18, "opacity": 0},
            hovertext=hover_text, hoverinfo="text", showlegend=False,
        )
    )  # fmt: skip
    for center, top, box in label_boxes:
        figure.add_annotation(
            x=center, y=top, yshift=4, text=box.name, showarrow=False, textangle=-45,
            xanchor="left", yanchor="bottom", font={**FONT, "size": 11, "color": "#334155"},
        )  # fmt: skip
        figure.add_annotation(
            x=center, y=-top, yshift=-4, text=shape_text(box.shape), showarrow=False,
            textangle=45, xanchor="right", yanchor="top",
            font={**FONT, "size": 11, "color": BROKEN if box.shape is None else "#0f172a"},
        )  # fmt: skip
    _legend(figure, {layer_kind(b.type) for b in layers})
    figure.update_layout(
        height=330, margin={"l": 10, "r": 10, "t": 30, "b": 0}, font=FONT,
        plot_bgcolor="white", paper_bgcolor="white", hovermode="closest",
        xaxis={"visible": False, "range": [-0.6, max(x, 1.0) + 0.8]},
        yaxis={"visible": False, "range": [-4.4, 4.4], "fixedrange": True},
        legend={"orientation": "h", "y": 1.08, "x": 0, "font": {**FONT, "size": 11}},
    )  # fmt: skip
    return figure


def ledger_figure(ledger: Ledger) -> go.Figure:
    """The layer stack of a traced network: its input, then every ledger row, the broken
    one (if any) outlined. Unnamed Sequential layers ("3") are labelled "3 Conv2d"."""
    boxes = [LayerBox("input", "Input", tuple(ledger.input_shape[1:]))] + [
        LayerBox(
            f"{r.name} {r.type}" if r.name.isdigit() else r.name,
            r.type,
            tuple(r.output_shape[1:]) if r.output_shape else None,
        )
        for r in ledger.rows
    ]
    broken = ledger.error.row + 1 if ledger.error is not None else None
    return layer_stack_figure(boxes, broken)


def _height(shape: tuple[int, ...] | None, max_hw: int, max_f: int) -> float:
    if shape is not None and len(shape) == 3:
        return _scale(max(shape[1], shape[2]), max_hw, 0.7, 4.0)
    if shape is not None and len(shape) == 1:
        return _scale(shape[0], max_f, 0.7, 4.0)
    return 2.0


def _legend(figure: go.Figure, kinds: set[str]) -> None:
    """Legend entries (invisible markers) for the colour families present."""
    titles = {
        "input": "input", "conv": "convolution", "pool": "pooling", "norm": "BatchNorm",
        "act": "activation", "dropout": "dropout", "flatten": "flatten", "linear": "linear",
        "other": "other",
    }  # fmt: skip
    for kind, title in titles.items():
        if kind in kinds:
            figure.add_trace(
                go.Scatter(
                    x=[None], y=[None], mode="markers", name=title,
                    marker={"size": 11, "symbol": "square", "color": COLORS[kind]},
                )
            )  # fmt: skip
