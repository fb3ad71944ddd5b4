"""Feature-map charts: channel grids, one channel full size, kernels, receptive field, Grad-CAM.

Pure functions: numpy arrays in, a plotly Figure out. A layer's channels are tiled
into ONE heatmap with blank (NaN) separators rather than one subplot per channel:
64 subplots take seconds to lay out in the browser, one heatmap takes milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import plotly.graph_objects as go

Normalization = Literal["channel", "layer"]
COLORSCALES = ("Viridis", "gray", "Inferno", "Cividis", "RdBu_r", "Turbo")
DIVERGING = ("RdBu", "RdBu_r")
REGION_COLOR = "#e4572e"  # the theme's primary colour
GRID_BACKGROUND = "#ffffff"
MAX_TILE_PX = 110
GRID_WIDTH_PX = 480  # the room a layer card leaves for its grid on a wide page


def _outline(
    figure: go.Figure, box: tuple[int, int, int, int], width: int, dash: str | None = None,
    fillcolor: str | None = None,
) -> None:  # fmt: skip
    """Outline the pixels top..bottom, left..right (inclusive) of an image-like heatmap."""
    top, left, bottom, right = box
    line = {"color": REGION_COLOR, "width": width} | ({"dash": dash} if dash else {})
    figure.add_shape(
        type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
        line=line, fillcolor=fillcolor,
    )  # fmt: skip


def grid_columns(channels: int, max_columns: int = 16) -> int:
    """Columns for ``channels`` tiles: one row up to 8, else a near-square grid, at most 16 wide."""
    if channels <= 8:
        return max(channels, 1)
    return min(max_columns, math.ceil(math.sqrt(channels * 2)))


def tile(
    tiles: np.ndarray, columns: int, gap: int = 1, fill: float = np.nan
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tiles ``[T, h, w]`` -> one ``[R*(h+gap)-gap, columns*(w+gap)-gap]`` array, row-major.

    Also returns, for every cell of the big array, the tile index and the (y, x)
    inside the tile (-1 in the separators), for hover text.
    """
    count, height, width = tiles.shape
    rows = math.ceil(count / columns)
    big_h, big_w = rows * (height + gap) - gap, columns * (width + gap) - gap
    out = np.full((big_h, big_w), fill, dtype=np.float64)
    index = np.full((big_h, big_w), -1, dtype=np.int32)
    ys = np.full((big_h, big_w), -1, dtype=np.int32)
    xs = np.full((big_h, big_w), -1, dtype=np.int32)
    yy, xx = np.mgrid[0:height, 0:width]
    for t in range(count):
        top, left = (t // columns) * (height + gap), (t % columns) * (width + gap)
        out[top : top + height, left : left + width] = tiles[t]
        index[top : top + height, left : left + width] = t
        ys[top : top + height, left : left + width] = yy
        xs[top : top + height, left : left + width] = xx
    return out, index, np.stack([ys, xs])


def normalize_maps(maps: np.ndarray, normalization: Normalization) -> np.ndarray:
    """``[C, H, W]`` -> values for display: per channel each map is stretched to [0, 1];
    per layer the values are kept (one shared colour scale shows which channels fire most)."""
    maps = maps.astype(np.float64)
    if normalization == "layer":
        return maps
    low = maps.min(axis=(1, 2), keepdims=True)  # [C, 1, 1]
    high = maps.max(axis=(1, 2), keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    return (maps - low) / span  # a flat channel shows as 0


def channel_grid(
    maps: np.ndarray,
    *,
    title: str = "",
    normalization: Normalization = "layer",
    colorscale: str = "Viridis",
    max_channels: int | None = None,
    columns: int | None = None,
    width_px: int = GRID_WIDTH_PX,
) -> go.Figure:
    """A layer's channels ``[C, H, W]`` as one tiled heatmap, channel 0 top left.

    Hover shows the channel, the pixel and its raw value whatever the normalisation.
    ``width_px`` is the room for the tiles (the colour bar takes ~110 px more).
    """
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(f"maps must be [C, H, W], got shape {maps.shape}")
    shown = maps[: max_channels or len(maps)]
    count, height, width = shown.shape
    columns = columns or grid_columns(count)
    display = normalize_maps(shown, normalization)
    z, index, (ys, xs) = tile(display, columns)
    raw, _, _ = tile(shown.astype(np.float64), columns)
    custom = np.stack([index, ys, xs, raw], axis=-1).astype(np.float32)  # [BH, BW, 4]
    diverging = colorscale in DIVERGING and normalization == "layer"
    limit = float(np.abs(shown).max()) if diverging else None
    figure = go.Figure(
        go.Heatmap(
            z=z.astype(np.float32),  # float32 halves the JSON sent to the browser
            customdata=custom,
            colorscale=colorscale,
            zmin=-limit if diverging else None,
            zmax=limit if diverging else None,
            hoverongaps=False,
            hovertemplate=(
                "channel %{customdata[0]}<br>y %{customdata[1]}, x %{customdata[2]}"
                "<br>value %{customdata[3]:.4g}<extra></extra>"
            ),
            colorbar={
                "title": {"text": "value" if normalization == "layer" else "per-channel<br>0–1"},
                "thickness": 12,
                "len": 0.9,
            },
        )
    )
    rows = math.ceil(count / columns)
    tile_px = min(MAX_TILE_PX, max(28, width_px // columns))
    _image_axes(figure, z.shape)
    figure.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 14}},
        height=int(rows * tile_px * (height + 1) / height) + (60 if title else 20),
        width=int(columns * tile_px * (width + 1) / width) + 110,
        margin={"l": 4, "r": 4, "t": 40 if title else 8, "b": 4},
        plot_bgcolor=GRID_BACKGROUND,
    )
    return figure


def channel_view(
    channel: np.ndarray,
    *,
    title: str = "",
    colorscale: str = "Viridis",
    pixel: tuple[int, int] | None = None,
    height: int = 420,
) -> go.Figure:
    """One channel ``[H, W]`` full size with a colour bar; ``pixel`` (y, x) is outlined."""
    channel = np.asarray(channel, dtype=np.float64)
    diverging = colorscale in DIVERGING
    limit = float(np.abs(channel).max()) if diverging else None
    figure = go.Figure(
        go.Heatmap(
            z=channel,
            colorscale=colorscale,
            zmin=-limit if diverging else None,
            zmax=limit if diverging else None,
            hovertemplate="y %{y}, x %{x}<br>value %{z:.4g}<extra></extra>",
            colorbar={"thickness": 12},
        )
    )
    if pixel is not None:
        y, x = pixel
        _outline(figure, (y, x, y, x), width=3)
    _image_axes(figure, channel.shape)
    figure.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 14}},
        height=height,
        margin={"l": 4, "r": 4, "t": 40 if title else 8, "b": 4},
    )
    return figure


def kernel_images(rgb: np.ndarray, *, title: str = "", columns: int | None = None) -> go.Figure:
    """First-layer RGB kernels uint8 ``[O, kh, kw, 3]`` as small images on a white grid."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    count = rgb.shape[0]
    columns = columns or grid_columns(count, max_columns=16)
    planes = [tile(rgb[..., c].astype(np.float64), columns, fill=255.0)[0] for c in range(3)]
    index = tile(rgb[..., 0].astype(np.float64), columns)[1]
    image = np.stack(planes, axis=-1).astype(np.uint8)  # [BH, BW, 3]
    figure = go.Figure(
        go.Image(
            z=image,
            customdata=index[..., None],
            hovertemplate="kernel %{customdata[0]}<br>rgb %{z}<extra></extra>",
        )
    )
    rows = math.ceil(count / columns)
    tile_px = 84
    _image_axes(figure, image.shape[:2], reverse=False)
    figure.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 14}},
        height=rows * tile_px + (50 if title else 10),
        width=columns * tile_px + 20,
        margin={"l": 4, "r": 4, "t": 40 if title else 6, "b": 4},
    )
    return figure


def kernel_grid(
    weight: np.ndarray,
    *,
    title: str = "",
    max_out: int = 16,
    max_in: int = 16,
    colorscale: str = "RdBu_r",
) -> go.Figure:
    """Conv weights ``[out, in, kh, kw]`` as a grid: one row per output channel, one column
    per input channel, on a diverging scale centred at zero (red positive, blue negative)."""
    weight = np.asarray(weight, dtype=np.float64)
    shown = weight[:max_out, :max_in]  # [O, I, kh, kw]
    outs, ins, kh, kw = shown.shape
    z, index, (ys, xs) = tile(shown.reshape(outs * ins, kh, kw), columns=ins)
    custom = np.stack([index // ins, index % ins, ys, xs], axis=-1)
    custom[index < 0] = -1
    limit = float(np.abs(shown).max()) or 1.0
    figure = go.Figure(
        go.Heatmap(
            z=z,
            customdata=custom,
            colorscale=colorscale,
            zmin=-limit,
            zmid=0.0,
            zmax=limit,
            hoverongaps=False,
            hovertemplate=(
                "out %{customdata[0]}, in %{customdata[1]}<br>"
                "tap (%{customdata[2]}, %{customdata[3]})<br>w %{z:.4g}<extra></extra>"
            ),
            colorbar={"title": {"text": "weight"}, "thickness": 12},
        )
    )
    tile_px = max(14, min(48, 900 // max(ins, 1)))
    _image_axes(figure, z.shape)
    figure.update_xaxes(title_text=f"input channel (0–{ins - 1})")
    figure.update_yaxes(title_text=f"output channel (0–{outs - 1})")
    figure.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 14}},
        height=int(outs * tile_px * (kh + 1) / kh) + (90 if title else 60),
        margin={"l": 40, "r": 4, "t": 40 if title else 8, "b": 40},
        plot_bgcolor=GRID_BACKGROUND,
    )
    return figure


def input_image(image: np.ndarray, *, title: str = "", height: int = 320) -> go.Figure:
    """An 8-bit image ``[H, W, 3]`` or ``[H, W]`` shown pixel-exact with hover values."""
    return _image_figure(np.asarray(image), title=title, height=height)


def receptive_field(
    image: np.ndarray,
    region: tuple[int, int, int, int],
    *,
    title: str = "",
    height: int = 420,
) -> go.Figure:
    """The input image with ``region`` = (top, left, bottom, right), inclusive, outlined.

    A region reaching past the border (into the zero padding) is drawn dashed in full,
    and the part inside the image solid, so the padding the unit also "sees" is visible.
    """
    image = np.asarray(image)
    img_h, img_w = image.shape[:2]
    top, left, bottom, right = region
    figure = _image_figure(image, title=title, height=height)
    clipped = (max(top, 0), max(left, 0), min(bottom, img_h - 1), min(right, img_w - 1))
    if clipped != (top, left, bottom, right):
        _outline(figure, (top, left, bottom, right), width=2, dash="dot")
        figure.update_xaxes(range=[min(left, 0) - 1, max(right, img_w - 1) + 1])
        figure.update_yaxes(range=[max(bottom, img_h - 1) + 1, min(top, 0) - 1])
    _outline(figure, clipped, width=3, fillcolor="rgba(228, 87, 46, 0.18)")
    return figure


def top_predictions(
    predictions: Sequence[tuple[str, float]], *, title: str = "", true_label: str | None = None
) -> go.Figure:
    """Top-k (label, probability) as horizontal bars, the most probable on top."""
    labels = [label for label, _ in predictions][::-1]
    values = [100.0 * probability for _, probability in predictions][::-1]
    colors = ["#2a9d8f" if label == true_label else "#636EFA" for label in labels]
    if colors:
        colors[-1] = "#e4572e" if true_label is None or labels[-1] != true_label else "#2a9d8f"
    figure = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker={"color": colors},
            text=[f"{value:.1f} %" for value in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.2f} %<extra></extra>",
        )
    )
    figure.update_xaxes(range=[0, 112], title_text="probability (%)", ticksuffix=" %")
    figure.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 14}},
        height=80 + 44 * max(len(labels), 1),
        margin={"l": 10, "r": 20, "t": 40 if title else 10, "b": 40},
    )
    return figure


def grad_cam_overlay(
    image: np.ndarray, cam: np.ndarray, *, title: str = "", opacity: float = 0.5, height: int = 320
) -> go.Figure:
    """The input image with a Grad-CAM map ``[H, W]`` in [0, 1] laid over it (jet-like scale)."""
    figure = _image_figure(np.asarray(image), title=title, height=height)
    figure.add_trace(
        go.Heatmap(
            z=np.asarray(cam, dtype=np.float64),
            colorscale="Turbo",
            zmin=0.0,
            zmax=1.0,
            opacity=opacity,
            hovertemplate="y %{y}, x %{x}<br>Grad-CAM %{z:.2f}<extra></extra>",
            colorbar={"title": {"text": "Grad-CAM"}, "thickness": 12},
        )
    )
    return figure


def _image_figure(image: np.ndarray, *, title: str, height: int) -> go.Figure:
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)  # grey -> [H, W, 3] for go.Image
    figure = go.Figure(go.Image(z=image, hovertemplate="y %{y}, x %{x}<br>rgb %{z}<extra></extra>"))
    _image_axes(figure, image.shape[:2], reverse=False)
    figure.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 14}},
        height=height,
        margin={"l": 4, "r": 4, "t": 40 if title else 8, "b": 4},
    )
    return figure


def _image_axes(figure: go.Figure, shape: tuple[int, ...], reverse: bool = True) -> None:
    """Square pixels, row 0 at the top, no ticks (go.Image already puts row 0 on top)."""
    height, width = shape[:2]
    figure.update_xaxes(
        showticklabels=False,
        showgrid=False,
        zeroline=False,
        range=[-0.5, width - 0.5],
        constrain="domain",
    )
    figure.update_yaxes(
        showticklabels=False,
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        range=[height - 0.5, -0.5] if reverse else None,
        autorange=None if reverse else "reversed",
        constrain="domain",
    )
