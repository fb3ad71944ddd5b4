"""Figures for the sliding-window view and the padding modes (output-size page).

Every grid is an annotated heatmap with row 0 at the top: input cells in blue,
padding cells in grey (or orange when a padding mode copies values into them), the
chosen window outlined in orange, the output cell it makes outlined likewise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from cnnlab.windows import Cell, PaddedGrid, SlideResult, fmt

INPUT_SCALE = [[0.0, "#eff6ff"], [1.0, "#93c5fd"]]
KERNEL_SCALE = [[0.0, "#faf5ff"], [1.0, "#d8b4fe"]]
OUTPUT_SCALE = [[0.0, "#f0fdf4"], [1.0, "#86efac"]]
PAD_GREY = [[0.0, "#e5e7eb"], [1.0, "#e5e7eb"]]
PAD_COPY = [[0.0, "#fff7ed"], [1.0, "#fdba74"]]
HIGHLIGHT = "#ea580c"
DROPPED = "#dc2626"
FONT = {"family": "Inter, Segoe UI, sans-serif", "size": 13}


def _boxes(cells: Sequence[Cell]) -> tuple[list[float | None], list[float | None]]:
    """Closed squares around cells, as one scatter path (None separates the squares)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for r, c in cells:
        xs += [c - 0.5, c + 0.5, c + 0.5, c - 0.5, c - 0.5, None]
        ys += [r - 0.5, r - 0.5, r + 0.5, r + 0.5, r - 0.5, None]
    return xs, ys


def _outline(cells: Sequence[Cell], color: str, dash: str = "solid", fill: bool = True,
             name: str = "", row: int | None = None, col: int | None = None) -> go.Scatter:  # fmt: skip
    xs, ys = _boxes(cells)
    return go.Scatter(
        x=xs or [None], y=ys or [None], mode="lines", name=name, hoverinfo="skip",
        line={"color": color, "width": 3, "dash": dash},
        fill="toself" if fill else "none", fillcolor="rgba(234, 88, 12, 0.18)",
        showlegend=False,
    )  # fmt: skip


def _heatmap(values: Sequence[Sequence[float]], scale: list, mask: Sequence[Sequence[bool]] | None,
             keep: bool, name: str) -> go.Heatmap:  # fmt: skip
    """Cells where mask == keep (all cells when mask is None), numbers written in them."""
    z, text = [], []
    for r, row in enumerate(values):
        z.append([])
        text.append([])
        for c, value in enumerate(row):
            shown = mask is None or mask[r][c] == keep
            finite = value not in (float("inf"), float("-inf"))
            z[-1].append((value if finite else 0.0) if shown else None)
            text[-1].append(fmt(value) if shown else "")
    finite = [v for row in z for v in row if v is not None]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    return go.Heatmap(
        z=z, text=text, texttemplate="%{text}", textfont={"size": 15, "color": "#111827"},
        colorscale=scale, zmin=low, zmax=high if high > low else low + 1, showscale=False,
        xgap=2, ygap=2, name=name, hovertemplate=f"{name}[%{{y}},%{{x}}] = %{{text}}<extra></extra>",
    )  # fmt: skip


def _style_axes(fig: go.Figure, panels: int, sizes: Sequence[tuple[int, int]],
                titles: Sequence[str] = ()) -> None:  # fmt: skip
    """Square cells, row 0 on top, column numbers on top with the panel title above them."""
    for index in range(1, panels + 1):
        h, w = sizes[index - 1]
        suffix = "" if index == 1 else str(index)
        fig.update_layout({
            f"xaxis{suffix}": {"range": [-0.6, w - 0.4],
                               "title": {"text": titles[index - 1] if titles else "",
                                         "font": {"size": 14, "color": "#374151"}}, "showgrid": False, "zeroline": False,
                               "tickmode": "linear", "dtick": 1, "side": "top", "constrain": "domain",
                               "tickfont": {"size": 10, "color": "#6b7280"}},
            f"yaxis{suffix}": {"range": [h - 0.4, -0.6], "showgrid": False, "zeroline": False,
                               "tickmode": "linear", "dtick": 1, "scaleanchor": f"x{suffix}",
                               "constrain": "domain",
                               "tickfont": {"size": 10, "color": "#6b7280"}},
        })  # fmt: skip


def _panel_sizes(result: SlideResult) -> list[tuple[int, int]]:
    padded = (len(result.padded), len(result.padded[0]))
    output = (len(result.output), len(result.output[0]))
    sizes = [padded]
    if result.layer.weights is not None:
        sizes.append(result.layer.kernel_size)
    sizes.append(output)
    # ceil_mode windows may hang past the padded grid: widen the input panel to show them
    for window in result.windows:
        for r, c in window.missing:
            sizes[0] = (max(sizes[0][0], r + 1), max(sizes[0][1], c + 1))
    return sizes


def _titles(result: SlideResult) -> list[str]:
    kind = result.layer.kind
    first = "input" if kind == "conv_transpose" else "padded input"
    if any(any(row) for row in result.pad_mask):
        first += " (grey = padding)"
    middle = ["kernel"] if result.layer.weights is not None else []
    return [first, *middle, "output"]


def _highlight_traces(result: SlideResult, step: int, panels: int) -> list[go.Scatter]:
    """Window cells, missing (partial) cells, used kernel cells and the output cell for one step."""
    window = result.windows[step]
    traces = [
        _outline(window.cells, HIGHLIGHT),
        _outline(window.missing, HIGHLIGHT, dash="dot", fill=False),
    ]
    if panels == 3:
        traces.append(_outline(window.kernel_cells, HIGHLIGHT))
    traces.append(_outline([window.out], HIGHLIGHT))
    return traces


def _step_label(result: SlideResult, step: int) -> str:
    window = result.windows[step]
    return f"out[{window.out[0]},{window.out[1]}] = {window.text}"


def sliding_window_figure(result: SlideResult, step: int = 0, height: int = 430) -> go.Figure:
    """Padded input | kernel | output, the window of output cell ``step`` (row-major) outlined.

    The figure shows one position only and carries no animation frames or slider: the
    page's one stepper chooses ``step`` and writes the same cell's equation beside it, so
    the outline, the title and the equation always name the same cell.
    """
    sizes = _panel_sizes(result)
    panels = len(sizes)
    widths = [w for _, w in sizes]
    fig = make_subplots(rows=1, cols=panels, column_widths=widths,
                        horizontal_spacing=0.06)  # fmt: skip
    base: list[tuple[go.BaseTraceType, int]] = [
        (_heatmap(result.padded, INPUT_SCALE, result.pad_mask, False, "in"), 1),
        (_heatmap(result.padded, PAD_GREY, result.pad_mask, True, "pad"), 1),
    ]
    if panels == 3:
        base.append((_heatmap(result.layer.weights, KERNEL_SCALE, None, True, "w"), 2))
    base.append((_heatmap(result.output, OUTPUT_SCALE, None, True, "out"), panels))
    for trace, col in base:
        fig.add_trace(trace, row=1, col=col)
    cols = [1, 1, 2, 3] if panels == 3 else [1, 1, 2]
    for trace, col in zip(_highlight_traces(result, step, panels), cols, strict=True):
        fig.add_trace(trace, row=1, col=col)
    for dropped in result.dropped:
        fig.add_trace(_dropped_trace(result, dropped.axis, dropped.start), row=1, col=1)
    _style_axes(fig, panels, sizes, _titles(result))
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 90, "b": 10}, font=FONT,
        plot_bgcolor="white", paper_bgcolor="white",
        title={"text": _step_label(result, step), "font": {"size": 14}, "x": 0.01, "y": 0.98},
    )  # fmt: skip
    return fig


def _dropped_trace(result: SlideResult, axis: str, start: int) -> go.Scatter:
    """A dashed red box where the first window torch drops would have been."""
    (kh, kw), (dh, dw) = result.layer.kernel_size, result.layer.dilation
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    r0, c0 = (start, 0) if axis == "H" else (0, start)
    x = [c0 - 0.5, c0 + span_w - 0.5, c0 + span_w - 0.5, c0 - 0.5, c0 - 0.5]
    y = [r0 - 0.5, r0 - 0.5, r0 + span_h - 0.5, r0 + span_h - 0.5, r0 - 0.5]
    return go.Scatter(x=x, y=y, mode="lines", line={"color": DROPPED, "width": 2, "dash": "dash"},
                      hoverinfo="skip", showlegend=False, cliponaxis=False)  # fmt: skip


def scatter_figure(result: SlideResult, source: int = 0, height: int = 380) -> go.Figure:
    """Transposed conv from one input cell: it times the kernel, added into the output cells."""
    scatter = result.scatters[source]
    sizes = [(len(result.grid), len(result.grid[0])), result.layer.kernel_size,
             (len(result.output), len(result.output[0]))]  # fmt: skip
    fig = make_subplots(rows=1, cols=3, column_widths=[w for _, w in sizes],
                        horizontal_spacing=0.06)  # fmt: skip
    titles = [f"input cell in[{scatter.source[0]},{scatter.source[1]}]",
              "kernel (entries that land inside)", "output cells it adds into"]  # fmt: skip
    fig.add_trace(_heatmap(result.grid, INPUT_SCALE, None, True, "in"), row=1, col=1)
    fig.add_trace(_heatmap(result.layer.weights, KERNEL_SCALE, None, True, "w"), row=1, col=2)
    fig.add_trace(_heatmap(result.output, OUTPUT_SCALE, None, True, "out"), row=1, col=3)
    fig.add_trace(_outline([scatter.source], HIGHLIGHT), row=1, col=1)
    fig.add_trace(_outline(scatter.kernel_cells, HIGHLIGHT), row=1, col=2)
    fig.add_trace(_outline(scatter.targets, HIGHLIGHT), row=1, col=3)
    _style_axes(fig, 3, sizes, titles)
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 60, "b": 10}, font=FONT,
                      plot_bgcolor="white", paper_bgcolor="white")  # fmt: skip
    return fig


def padding_modes_figure(padded: Mapping[str, PaddedGrid | str], height: int = 330) -> go.Figure:
    """One panel per padding mode; copied padding values in orange, a refused mode explained."""
    modes = list(padded)
    fig = make_subplots(rows=1, cols=len(modes), subplot_titles=modes, horizontal_spacing=0.04)
    sizes = []
    for index, mode in enumerate(modes, start=1):
        grid = padded[mode]
        if isinstance(grid, str):
            fig.add_trace(go.Heatmap(z=[[None]], showscale=False, hoverinfo="skip"), 1, index)
            fig.add_annotation(text=_wrap(grid), showarrow=False, font={"size": 11,
                               "color": DROPPED}, xref=f"x{index} domain", yref=f"y{index} domain",
                               x=0.5, y=0.5)  # fmt: skip
            sizes.append((1, 1))
            continue
        scale = PAD_GREY if mode == "zeros" else PAD_COPY
        fig.add_trace(_heatmap(grid.values, INPUT_SCALE, grid.mask, False, "in"), 1, index)
        fig.add_trace(_heatmap(grid.values, scale, grid.mask, True, "pad"), 1, index)
        sizes.append((len(grid.values), len(grid.values[0])))
    _style_axes(fig, len(modes), sizes)
    fig.update_xaxes(showticklabels=False, ticks="")
    fig.update_yaxes(showticklabels=False, ticks="")
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, font=FONT,
                      plot_bgcolor="white", paper_bgcolor="white")  # fmt: skip
    return fig


def _wrap(text: str, width: int = 34) -> str:
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) > width:
            lines.append(line)
            line = ""
        line = f"{line} {word}".strip()
    return "<br>".join([*lines, line])


def padding_modes_image_figure(
    images: Mapping[str, torch.Tensor | str], padding: int, height: int = 300
) -> go.Figure:
    """A uint8 image [3, H', W'] per padding mode, the original area outlined."""
    modes = list(images)
    fig = make_subplots(rows=1, cols=len(modes), subplot_titles=modes, horizontal_spacing=0.03)
    for index, mode in enumerate(modes, start=1):
        image = images[mode]
        if isinstance(image, str):
            fig.add_annotation(text=_wrap(image), showarrow=False, font={"size": 11,
                               "color": DROPPED}, xref=f"x{index} domain", yref=f"y{index} domain",
                               x=0.5, y=0.5)  # fmt: skip
            continue
        pixels = image.permute(1, 2, 0).numpy()  # [H', W', 3]
        fig.add_trace(go.Image(z=pixels, hovertemplate="(%{y}, %{x})<extra></extra>"), 1, index)
        h, w = pixels.shape[:2]
        fig.add_shape(type="rect", x0=padding - 0.5, y0=padding - 0.5, x1=w - padding - 0.5,
                      y1=h - padding - 0.5, line={"color": HIGHLIGHT, "width": 2, "dash": "dot"},
                      row=1, col=index)  # fmt: skip
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, font=FONT,
                      paper_bgcolor="white", plot_bgcolor="white")  # fmt: skip
    return fig
