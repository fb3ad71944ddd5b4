"""Receptive fields along a chain of layers, and the input region one output pixel sees.

Per axis, after each layer (kernel K, stride S, padding P, dilation D, span D(K-1)+1):

    size_out  = size_in + (span - 1) * jump_in
    jump_out  = jump_in * S
    start_out = start_in + ((span - 1) / 2 - P) * jump_in

`size` is how many input pixels one output pixel's window spans, `jump` the input
distance between neighbouring output pixels, and `start` the centre of output pixel
0 in input coordinates (it can be a half or negative, when padding is involved).
Activations, normalisation and dropout keep the field; adaptive pooling is a plain
pooling when the input divides evenly by the output, otherwise the field is left
undefined (None), as it is for Flatten/Linear (every output sees the whole input)
and for transposed convolutions, which the recurrence above does not describe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from cnnlab.errors import ShapeError
from cnnlab.shapes.formulas import (
    ADAPTIVE,
    SHAPE_PRESERVING,
    Axis,
    Shape,
    output_shape,
    pool_size,
    window_axes,
)


@dataclass(frozen=True)
class AxisRF:
    """Receptive field along one axis (see the module docstring)."""

    size: int
    jump: int
    start: float


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of one feature map. `windows` keeps the geometry of every windowed
    layer so far (as (H, W) axes), which `input_region` needs to clip exactly."""

    h: AxisRF
    w: AxisRF
    windows: tuple[tuple[Axis, Axis], ...] = ()


IDENTITY = ReceptiveField(AxisRF(1, 1, 0.0), AxisRF(1, 1, 0.0))


def _grow(rf: AxisRF, a: Axis) -> AxisRF:
    return AxisRF(
        size=rf.size + (a.span - 1) * rf.jump,
        jump=rf.jump * a.stride,
        start=rf.start + ((a.span - 1) / 2 - a.pad_before) * rf.jump,
    )


def step(
    rf: ReceptiveField, layer: nn.Module, input_shape: Shape | None = None
) -> tuple[ReceptiveField | None, str | None]:
    """The field after `layer`, or (None, why) when it is not defined."""
    if isinstance(layer, nn.ConvTranspose2d):
        return None, "receptive field is not computed through transposed convolutions"
    axes = window_axes(layer)
    if axes is None and isinstance(layer, ADAPTIVE):
        if input_shape is None:
            return None, "adaptive pooling needs the input size"
        out = output_shape(layer, input_shape)
        if any(i % o for i, o in zip(input_shape[-2:], out[-2:], strict=True)):
            return None, "adaptive pooling with uneven windows: receptive field varies per pixel"
        ks = [i // o for i, o in zip(input_shape[-2:], out[-2:], strict=True)]
        axes = (Axis(ks[0], ks[0], 0, 0), Axis(ks[1], ks[1], 0, 0))
    if axes is not None:
        return ReceptiveField(_grow(rf.h, axes[0]), _grow(rf.w, axes[1]), (*rf.windows, axes)), None
    if isinstance(layer, nn.Flatten | nn.Linear):
        return None, "after flattening every output sees the whole input"
    if isinstance(layer, (*SHAPE_PRESERVING, nn.BatchNorm1d, nn.BatchNorm2d)):
        return rf, None
    return None, f"receptive field unknown after {type(layer).__name__}"


def receptive_fields(
    layers: nn.Module | Sequence[nn.Module], input_shape: Sequence[int] | None = None
) -> list[ReceptiveField | None]:
    """The receptive field after each layer of a chain (a Sequential's leaves, in order).

    With `input_shape`, shapes are followed along the chain so that adaptive pooling
    can be resolved. Once the field is undefined it stays None for the rest.
    """
    if isinstance(layers, nn.Module):
        layers = [m for m in layers.modules() if not list(m.children())]
    shape = tuple(input_shape) if input_shape is not None else None
    rf: ReceptiveField | None = IDENTITY
    result: list[ReceptiveField | None] = []
    for layer in layers:
        if rf is not None:
            rf, _ = step(rf, layer, shape)
        result.append(rf)
        if shape is not None:
            shape = output_shape(layer, shape)
    return result


def _axis_out(n: int, a: Axis) -> int:
    if a.ceil_mode:
        return pool_size(n, a)
    return (n + a.pad_before + a.pad_after - a.span) // a.stride + 1


def _support(index: int, size: int, axes: Sequence[Axis]) -> set[int]:
    """Input indices along one axis that feed output `index`, following padding and edges."""
    sizes = [size]
    for a in axes:
        sizes.append(_axis_out(sizes[-1], a))
    if not 0 <= index < sizes[-1]:
        raise ShapeError(f"pixel {index} is outside the feature map of size {sizes[-1]}")
    seen = {index}
    for a, n_in in zip(reversed(axes), reversed(sizes[:-1]), strict=True):
        taps = range(0, a.span, a.dilation)
        seen = {j for i in seen for t in taps if 0 <= (j := i * a.stride - a.pad_before + t) < n_in}
    return seen


def input_region(
    rf: ReceptiveField, y: int, x: int, input_hw: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right), INCLUSIVE, of the input that feature-map pixel (y, x) sees.

    It is the bounding box of the input pixels that actually feed (y, x): the window
    `start + y*jump ± (size-1)/2` clipped to the image and to the rows and columns that
    floor division dropped along the way (with dilation some rows inside the box are
    skipped). None when the pixel sees only padding.
    """
    rows = _support(y, input_hw[0], [h for h, _ in rf.windows])
    cols = _support(x, input_hw[1], [w for _, w in rf.windows])
    if not rows or not cols:
        return None
    return (min(rows), min(cols), max(rows), max(cols))
