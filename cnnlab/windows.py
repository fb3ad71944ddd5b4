"""Sliding-window arithmetic on small numeric grids, written out cell by cell.

The output grid always comes from the real torch op (``F.conv2d``, ``F.max_pool2d``,
``F.avg_pool2d``, ``F.conv_transpose2d``, ``F.pad``), so it is right by construction;
this module adds what torch does not tell a learner: which padded cells each output
cell's window covers, the products, and the multiply-accumulate written out
("3·1 + 4·2 + ... = 91"), plus the window ``ceil_mode`` keeps or drops.

Coordinates: ``(row, col)``. Windows of conv and pooling index the *padded* grid
(row 0 is the first padding row); windows of a transposed conv index the input grid.

Also here: the two small torch calls the output-size page needs to keep its "checked
against torch" promise without computing anything itself (``build_layer`` and
``torch_output_shape``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import ShapeError

Kind = Literal["conv", "conv_transpose", "max_pool", "avg_pool"]
PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]
Cell = tuple[int, int]
Grid = list[list[float]]
PADDING_MODES: tuple[PaddingMode, ...] = ("zeros", "reflect", "replicate", "circular")
_TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
               "circular": "circular"}  # fmt: skip
_AXES = ("rows", "columns")


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    first, second = value
    return (int(first), int(second))


def fmt(value: float) -> str:
    """A number as a learner writes it: 3 not 3.0, -∞ for max-pool padding, 4 significant digits."""
    if math.isinf(value):
        return "-∞" if value < 0 else "∞"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"


def _term(value: float) -> str:
    text = fmt(value)
    return f"({text})" if text.startswith("-") else text


@dataclass(frozen=True)
class GridLayer:
    """One single-channel layer to slide over a grid (no bias, like the seeds' examples).

    ``padding`` is symmetric per axis as ``(rows, cols)``, or ``"same"``/``"valid"``
    for ``kind="conv"``. ``weights`` is the kernel of a conv or transposed conv
    (rows of numbers); pooling has none. ``stride=None`` means the kernel size for
    pooling (torch's default) and 1 otherwise.
    """

    kind: Kind
    kernel_size: tuple[int, int] = (3, 3)
    weights: tuple[tuple[float, ...], ...] | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] | str = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    padding_mode: PaddingMode = "zeros"
    ceil_mode: bool = False
    count_include_pad: bool = True
    output_padding: tuple[int, int] = (0, 0)

    @classmethod
    def conv(
        cls,
        weights: Sequence[Sequence[float]],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] | str = 0,
        dilation: int | Sequence[int] = 1,
        padding_mode: PaddingMode = "zeros",
    ) -> GridLayer:
        rows = tuple(tuple(float(v) for v in row) for row in weights)
        return cls("conv", (len(rows), len(rows[0])), rows, _pair(stride),
                   padding if isinstance(padding, str) else _pair(padding), _pair(dilation),
                   padding_mode)  # fmt: skip

    @classmethod
    def conv_transpose(
        cls,
        weights: Sequence[Sequence[float]],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
    ) -> GridLayer:
        rows = tuple(tuple(float(v) for v in row) for row in weights)
        return cls("conv_transpose", (len(rows), len(rows[0])), rows, _pair(stride),
                   _pair(padding), _pair(dilation), output_padding=_pair(output_padding))  # fmt: skip

    @classmethod
    def max_pool(
        cls,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        ceil_mode: bool = False,
    ) -> GridLayer:
        kernel = _pair(kernel_size)
        return cls("max_pool", kernel, None, kernel if stride is None else _pair(stride),
                   _pair(padding), _pair(dilation), ceil_mode=ceil_mode)  # fmt: skip

    @classmethod
    def avg_pool(
        cls,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> GridLayer:
        kernel = _pair(kernel_size)
        return cls("avg_pool", kernel, None, kernel if stride is None else _pair(stride),
                   _pair(padding), (1, 1), ceil_mode=ceil_mode,
                   count_include_pad=count_include_pad)  # fmt: skip

    @classmethod
    def from_module(
        cls, layer: nn.Module, weights: Sequence[Sequence[float]] | None = None
    ) -> GridLayer:
        """The single-channel grid version of a Conv2d/ConvTranspose2d/MaxPool2d/AvgPool2d.

        ``weights`` replaces the layer's (random) kernel; default: all ones.
        """
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            kh, kw = layer.kernel_size
            kernel = weights if weights is not None else [[1.0] * kw for _ in range(kh)]
            if isinstance(layer, nn.ConvTranspose2d):
                return cls.conv_transpose(kernel, layer.stride, layer.padding,
                                          layer.output_padding, layer.dilation)  # fmt: skip
            return cls.conv(kernel, layer.stride, layer.padding, layer.dilation,
                            layer.padding_mode)  # fmt: skip
        if isinstance(layer, nn.MaxPool2d):
            return cls.max_pool(layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                                layer.ceil_mode)  # fmt: skip
        if isinstance(layer, nn.AvgPool2d):
            return cls.avg_pool(layer.kernel_size, layer.stride, layer.padding, layer.ceil_mode,
                                layer.count_include_pad)  # fmt: skip
        raise ShapeError(f"{type(layer).__name__} has no sliding window to show on a grid; "
                         "pick Conv2d, ConvTranspose2d, MaxPool2d or AvgPool2d.")  # fmt: skip

    def pads(self) -> tuple[int, int, int, int]:
        """Padding as (top, bottom, left, right), resolving 'same' like torch (extra on the end)."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            th, tw = (d * (k - 1) for d, k in zip(self.dilation, self.kernel_size, strict=True))
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        ph, pw = self.padding  # type: ignore[misc]
        return (ph, ph, pw, pw)


@dataclass(frozen=True)
class Window:
    """What one output cell is made of."""

    out: Cell
    cells: tuple[Cell, ...]  # padded-grid cells (conv, pool) or input cells (transposed)
    kernel_cells: tuple[Cell, ...]  # the kernel entry (or window offset) used for each cell
    values: tuple[float, ...]
    weights: tuple[float, ...] | None  # None for pooling
    products: tuple[float, ...]
    result: float  # torch's value for this output cell
    text: str  # the arithmetic written out, e.g. "3·1 + 4·2 + ... = 91"
    partial: bool = False  # a ceil_mode window hanging past the padded grid
    missing: tuple[Cell, ...] = ()  # its cells outside the padded grid (not counted)


@dataclass(frozen=True)
class Scatter:
    """Transposed conv seen from one input cell: value times kernel, added into output cells."""

    source: Cell
    value: float
    targets: tuple[Cell, ...]  # output cells it adds into (those the padding crops are left out)
    kernel_cells: tuple[Cell, ...]
    products: tuple[float, ...]
    cropped: int  # kernel positions that land in the border the padding removes
    text: str


@dataclass(frozen=True)
class DroppedWindow:
    """A last ceil_mode window torch drops because it would start in the right padding."""

    axis: Literal["H", "W"]
    start: int  # first padded-grid row (H) or column (W) it would cover
    text: str


@dataclass(frozen=True)
class SlideResult:
    layer: GridLayer
    grid: Grid  # the input, [H][W]
    padded: Grid  # what the windows slide over (max pool pads with -inf)
    pad_mask: list[list[bool]]  # True where padded is padding
    output: Grid  # from the torch op
    windows: list[Window]  # one per output cell, row-major
    scatters: list[Scatter] = field(default_factory=list)  # transposed conv only
    dropped: list[DroppedWindow] = field(default_factory=list)

    def window(self, row: int, col: int) -> Window:
        return self.windows[row * len(self.output[0]) + col]


@dataclass(frozen=True)
class PaddedGrid:
    values: Grid
    mask: list[list[bool]]  # True for padding cells


def _as_tensor(grid: Sequence[Sequence[float]] | torch.Tensor) -> torch.Tensor:
    """A 2-D grid as float64 [H, W], checked for the shape and numbers a learner can type."""
    if isinstance(grid, torch.Tensor):
        tensor = grid.detach().to(torch.float64)
    else:
        rows = [list(row) for row in grid]
        if not rows or any(len(row) != len(rows[0]) for row in rows) or not rows[0]:
            raise ShapeError("The grid must be a non-empty rectangle: every row needs the same "
                             "number of values.")  # fmt: skip
        try:
            tensor = torch.tensor(rows, dtype=torch.float64)
        except (TypeError, ValueError) as error:
            raise ShapeError(f"Every grid cell must be a number ({error}).") from None
    if tensor.dim() != 2 or tensor.numel() == 0:
        raise ShapeError(f"Expected a 2-D grid, got shape {tuple(tensor.shape)}.")
    if not torch.isfinite(tensor).all():
        raise ShapeError("Every grid cell must be a finite number; fill in the empty cells.")
    return tensor


def check_padding(mode: PaddingMode, padding: int | Sequence[int], size: Sequence[int]) -> None:
    """Raise ShapeError where torch refuses ``mode`` padding of ``padding`` on a ``size`` grid.

    ``padding`` is per axis (rows, cols); ``size`` is (H, W). zeros and replicate take any
    amount; reflect mirrors without repeating the edge, so it needs padding < size; circular
    wraps around at most once, so it needs padding <= size.
    """
    if mode not in PADDING_MODES:
        raise ShapeError(f"padding_mode must be one of {', '.join(PADDING_MODES)}; got {mode!r}.")
    for pad, length, axis in zip(_pair(padding), size, _AXES, strict=True):
        if pad < 0:
            raise ShapeError(f"Padding must be 0 or more; got {pad} for the {axis}.")
        if mode == "reflect" and pad >= length:
            raise ShapeError(
                f"reflect padding mirrors the {axis} without repeating the edge, so it needs "
                f"padding < {length} (the input has {length} {axis}); got {pad}. "
                f"Use padding ≤ {length - 1}, or replicate/zeros padding."
            )
        if mode == "circular" and pad > length:
            raise ShapeError(
                f"circular padding wraps the {axis} around at most once, so it needs padding ≤ "
                f"{length} (the input has {length} {axis}); got {pad}. Use padding ≤ {length}."
            )


def padding_limits(size: Sequence[int]) -> dict[PaddingMode, str]:
    """The largest padding each mode accepts on a grid of ``size`` (H, W), in words."""
    h, w = size
    return {
        "zeros": "any padding: the border is filled with 0",
        "reflect": f"padding < input size (at most {h - 1} rows, {w - 1} columns): "
        "mirrors the inside, the edge is not repeated",
        "replicate": "any padding: the edge value is repeated outwards",
        "circular": f"padding ≤ input size (at most {h} rows, {w} columns): "
        "the grid wraps around like a torus",
    }


def _pad4(x: torch.Tensor, pads: tuple[int, int, int, int], mode: PaddingMode,
          value: float = 0.0) -> torch.Tensor:  # fmt: skip
    """F.pad of [..., H, W] with (top, bottom, left, right)."""
    top, bottom, left, right = pads
    if mode == "zeros":
        return F.pad(x, (left, right, top, bottom), mode="constant", value=value)
    return F.pad(x, (left, right, top, bottom), mode=_TORCH_MODE[mode])


def _mask(h: int, w: int, pads: tuple[int, int, int, int]) -> list[list[bool]]:
    top, _, left, _ = pads
    return [
        [not (top <= r < top + h and left <= c < left + w) for c in range(w + pads[2] + pads[3])]
        for r in range(h + pads[0] + pads[1])
    ]


def pad_grid(
    grid: Sequence[Sequence[float]] | torch.Tensor,
    padding: int | Sequence[int],
    mode: PaddingMode = "zeros",
) -> PaddedGrid:
    """The grid padded by ``padding`` (rows, cols) with torch's ``mode``, and where the padding is."""
    x = _as_tensor(grid)  # [H, W]
    ph, pw = _pair(padding)
    check_padding(mode, (ph, pw), x.shape)
    padded = _pad4(x[None, None], (ph, ph, pw, pw), mode)[0, 0]  # [H+2ph, W+2pw]
    return PaddedGrid(padded.tolist(), _mask(x.shape[0], x.shape[1], (ph, ph, pw, pw)))


def pad_image(image: torch.Tensor, padding: int | Sequence[int], mode: PaddingMode) -> torch.Tensor:
    """A uint8 image [C, H, W] padded with ``mode``, as uint8 [C, H+2ph, W+2pw]."""
    ph, pw = _pair(padding)
    check_padding(mode, (ph, pw), image.shape[-2:])
    padded = _pad4(image.to(torch.float32)[None], (ph, ph, pw, pw), mode)[0]  # [C, H', W']
    return padded.round().clamp(0, 255).to(torch.uint8)


def pad_every_mode(
    grid: Sequence[Sequence[float]] | torch.Tensor, padding: int | Sequence[int]
) -> dict[PaddingMode, PaddedGrid | str]:
    """The grid padded in each of PADDING_MODES; where a mode refuses, its reason instead."""
    padded: dict[PaddingMode, PaddedGrid | str] = {}
    for mode in PADDING_MODES:
        try:
            padded[mode] = pad_grid(grid, padding, mode)
        except ShapeError as error:
            padded[mode] = str(error)
    return padded


def pad_image_every_mode(
    image: torch.Tensor, padding: int | Sequence[int]
) -> dict[PaddingMode, torch.Tensor | str]:
    """A uint8 image [C, H, W] padded in each of PADDING_MODES (or the mode's refusal)."""
    images: dict[PaddingMode, torch.Tensor | str] = {}
    for mode in PADDING_MODES:
        try:
            images[mode] = pad_image(image, padding, mode)  # [C, H', W']
        except ShapeError as error:
            images[mode] = str(error)
    return images


def resize_grid(grid: Sequence[Sequence[float]], rows: int, cols: int) -> Grid:
    """The grid cut or extended with zeros to ``rows`` x ``cols``; the values that fit stay."""
    return [
        [float(grid[r][c]) if r < len(grid) and c < len(grid[0]) else 0.0 for c in range(cols)]
        for r in range(rows)
    ]


def grid_text(grid: Sequence[Sequence[float]]) -> str:
    """A grid printed in aligned columns, as torch's output reads in the seeds."""
    return "\n".join("  ".join(f"{fmt(v):>5}" for v in row) for row in grid)


def _pool_size(length: int, kernel: int, stride: int, pad: int, dilation: int,
               ceil_mode: bool) -> tuple[int, int]:  # fmt: skip
    """(torch's output length, the length before the drop rule) for one pooling axis."""
    span = length + 2 * pad - dilation * (kernel - 1) - 1
    raw = (-(-span // stride) if ceil_mode else span // stride) + 1
    kept = raw - 1 if ceil_mode and (raw - 1) * stride >= length + pad else raw
    return kept, raw


def _validate(layer: GridLayer, h: int, w: int) -> None:
    """Raise ShapeError, in a learner's words, where torch would refuse this layer on [h, w]."""
    names = ("kernel_size", "stride", "dilation")
    for name, value in zip(names, (layer.kernel_size, layer.stride, layer.dilation), strict=True):
        if min(value) < 1:
            raise ShapeError(f"{name} must be at least 1; got {value}.")
    pads = layer.pads()
    if min(pads) < 0 or min(layer.output_padding) < 0:
        raise ShapeError("Padding must be 0 or more.")
    if layer.weights is not None and any(len(r) != layer.kernel_size[1] for r in layer.weights):
        raise ShapeError("Every kernel row needs the same number of values.")
    if layer.padding == "same" and layer.stride != (1, 1):
        raise ShapeError("padding='same' only works with stride 1 (torch refuses it otherwise): "
                         "set stride to 1, or give the padding as a number.")  # fmt: skip
    if layer.kind == "conv":
        check_padding(layer.padding_mode, (max(pads[:2]), max(pads[2:])), (h, w))
    if layer.kind in ("max_pool", "avg_pool"):
        for k, d, p, axis in zip(layer.kernel_size, layer.dilation, pads[::2], _AXES, strict=True):
            if p > (d * (k - 1) + 1) // 2:
                raise ShapeError(
                    f"Pooling padding may be at most half the window: the window spans {k} "
                    f"{axis}, so padding ≤ {(d * (k - 1) + 1) // 2}; got {p}. "
                    "Lower the padding or enlarge the kernel."
                )
    sizes = (h, w)
    for axis in range(2):
        k, s, d = layer.kernel_size[axis], layer.stride[axis], layer.dilation[axis]
        name = _AXES[axis]
        if layer.kind == "conv_transpose":
            op = layer.output_padding[axis]
            if op >= max(s, d):
                raise ShapeError(
                    f"output_padding ({op}) must be smaller than the stride ({s}) or the "
                    f"dilation ({d}); lower output_padding for the {name}."
                )
            out = (sizes[axis] - 1) * s - 2 * pads[2 * axis] + d * (k - 1) + op + 1
            if out < 1:
                raise ShapeError(
                    f"The output would have {out} {name}: padding {pads[2 * axis]} crops more "
                    f"than the transposed conv produces. Lower the padding."
                )
            continue
        padded = sizes[axis] + pads[2 * axis] + pads[2 * axis + 1]
        span = d * (k - 1) + 1
        if layer.kind in ("max_pool", "avg_pool") and layer.ceil_mode:
            # ceil_mode keeps a partial window, so a window larger than the input can pass
            if _pool_size(sizes[axis], k, s, pads[2 * axis], d, True)[0] < 1:
                raise ShapeError(
                    f"The output would have no {name}: the window spans {span} {name} and even "
                    f"ceil_mode cannot fit one in {padded} {name}. Shrink the kernel or pad more."
                )
        elif span > padded:
            raise ShapeError(
                f"kernel {k} with dilation {d} spans {span} {name}, but the input has only "
                f"{padded} {name} after padding. Make the kernel or dilation smaller, or pad more."
            )


def _run_torch(layer: GridLayer, x: torch.Tensor) -> torch.Tensor:
    """The real torch op on x [1, 1, H, W] -> [1, 1, H', W'] (float64)."""
    if layer.kind == "conv":
        w = torch.tensor(layer.weights, dtype=torch.float64)[None, None]  # [1, 1, kh, kw]
        if layer.padding_mode == "zeros":
            return F.conv2d(
                x, w, stride=layer.stride, padding=layer.padding, dilation=layer.dilation
            )
        # What nn.Conv2d does for the other modes: F.pad first, then an unpadded conv.
        padded = _pad4(x, layer.pads(), layer.padding_mode)
        return F.conv2d(padded, w, stride=layer.stride, dilation=layer.dilation)
    if layer.kind == "conv_transpose":
        w = torch.tensor(layer.weights, dtype=torch.float64)[None, None]  # [1, 1, kh, kw]
        return F.conv_transpose2d(x, w, stride=layer.stride, padding=layer.padding,
                                  output_padding=layer.output_padding,
                                  dilation=layer.dilation)  # fmt: skip
    if layer.kind == "max_pool":
        return F.max_pool2d(x, layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                            ceil_mode=layer.ceil_mode)  # fmt: skip
    return F.avg_pool2d(x, layer.kernel_size, layer.stride, layer.padding,
                        ceil_mode=layer.ceil_mode,
                        count_include_pad=layer.count_include_pad)  # fmt: skip


def _gather_windows(layer: GridLayer, padded: torch.Tensor, mask: list[list[bool]],
                    output: torch.Tensor) -> list[Window]:  # fmt: skip
    """Conv and pooling: each output cell's window in the padded grid [Hp, Wp]."""
    hp, wp = padded.shape
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
    windows = []
    for i in range(output.shape[0]):
        for j in range(output.shape[1]):
            cells, kcells, missing = [], [], []
            for a in range(kh):
                for b in range(kw):
                    r, c = i * sh + a * dh, j * sw + b * dw
                    if r < hp and c < wp:
                        cells.append((r, c))
                        kcells.append((a, b))
                    else:
                        missing.append((r, c))
            values = tuple(float(padded[r, c]) for r, c in cells)
            result = float(output[i, j])
            weights, products = None, values
            if layer.kind == "conv":
                weights = tuple(layer.weights[a][b] for a, b in kcells)  # type: ignore[index]
                products = tuple(v * k for v, k in zip(values, weights, strict=True))
                text = " + ".join(f"{_term(v)}·{_term(k)}" for v, k in zip(values, weights,
                                                                          strict=True))  # fmt: skip
            elif layer.kind == "max_pool":
                text = f"max({', '.join(fmt(v) for v in values)})"
            else:
                counted = [v for v, (r, c) in zip(values, cells, strict=True)
                           if layer.count_include_pad or not mask[r][c]]  # fmt: skip
                text = f"({' + '.join(_term(v) for v in counted)}) / {len(counted)}"
            windows.append(Window((i, j), tuple(cells), tuple(kcells), values, weights, products,
                                  result, f"{text} = {fmt(result)}", bool(missing),
                                  tuple(missing)))  # fmt: skip
    return windows


def _transposed(layer: GridLayer, x: torch.Tensor,
                output: torch.Tensor) -> tuple[list[Window], list[Scatter]]:  # fmt: skip
    """Transposed conv: out[i*s - p + k*d] += x[i] * w[k], seen per output and per input cell."""
    h, w = x.shape
    ho, wo = output.shape
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
    ph, pw = layer.padding  # type: ignore[misc]
    weights = layer.weights
    assert weights is not None
    parts: dict[Cell, list[tuple[Cell, Cell, float, float]]] = {}
    scatters = []
    for r in range(h):
        for c in range(w):
            value = float(x[r, c])
            targets, kcells, products, cropped = [], [], [], 0
            for a in range(kh):
                for b in range(kw):
                    o = (r * sh - ph + a * dh, c * sw - pw + b * dw)
                    if not (0 <= o[0] < ho and 0 <= o[1] < wo):
                        cropped += 1
                        continue
                    targets.append(o)
                    kcells.append((a, b))
                    products.append(value * weights[a][b])
                    parts.setdefault(o, []).append(((r, c), (a, b), value, weights[a][b]))
            adds = ", ".join(f"out[{o[0]},{o[1]}] += {_term(value)}·{_term(weights[a][b])} = "
                             f"{fmt(p)}" for o, (a, b), p in zip(targets, kcells, products,
                                                                  strict=True))  # fmt: skip
            text = f"in[{r},{c}] = {fmt(value)} scatters: {adds or 'nothing (all cropped)'}"
            if cropped:
                text += f" ({cropped} cropped by padding)"
            scatters.append(Scatter((r, c), value, tuple(targets), tuple(kcells),
                                    tuple(products), cropped, text))  # fmt: skip
    windows = []
    for i in range(ho):
        for j in range(wo):
            contrib = parts.get((i, j), [])
            result = float(output[i, j])
            sums = " + ".join(f"{_term(v)}·{_term(k)}" for _, _, v, k in contrib)
            text = f"{sums or 'no input cell reaches this cell: 0'} = {fmt(result)}"
            windows.append(Window((i, j), tuple(p[0] for p in contrib),
                                  tuple(p[1] for p in contrib), tuple(p[2] for p in contrib),
                                  tuple(p[3] for p in contrib),
                                  tuple(p[2] * p[3] for p in contrib), result, text))  # fmt: skip
    return windows, scatters


def _dropped(layer: GridLayer, h: int, w: int, output_hw: tuple[int, int]) -> list[DroppedWindow]:
    if layer.kind not in ("max_pool", "avg_pool") or not layer.ceil_mode:
        return []
    dropped = []
    pads = layer.pads()
    for axis, (name, length) in enumerate((("H", h), ("W", w))):
        k, s, d, p = (layer.kernel_size[axis], layer.stride[axis], layer.dilation[axis],
                      pads[2 * axis])  # fmt: skip
        kept, raw = _pool_size(length, k, s, p, d, True)
        if raw > kept and kept == output_hw[axis]:
            start = kept * s
            what = "row" if name == "H" else "column"
            dropped.append(DroppedWindow(name, start, (
                f"ceil_mode would allow a window starting at padded {what} {start}, but that is "
                f"in the right padding ({what}s ≥ {length + p}), so torch drops it: "
                f"{kept} instead of {raw} {what}s."
            )))  # fmt: skip
    return dropped


def slide(grid: Sequence[Sequence[float]] | torch.Tensor, layer: GridLayer) -> SlideResult:
    """Run ``layer`` on a 2-D grid with torch and explain every output cell's window.

    Raises ShapeError where torch would refuse the configuration (the message says what
    to change); any refusal this module does not foresee is still turned into ShapeError.
    """
    x = _as_tensor(grid)  # [H, W]
    h, w = x.shape
    if layer.kind in ("conv", "conv_transpose") and layer.weights is None:
        raise ShapeError("A convolution needs kernel values.")
    _validate(layer, h, w)
    try:
        output = _run_torch(layer, x[None, None])[0, 0]  # [H', W']
    except RuntimeError as error:
        raise ShapeError(f"torch refuses this configuration: {error}") from None
    if layer.kind == "conv_transpose":
        mask = [[False] * w for _ in range(h)]
        windows, scatters = _transposed(layer, x, output)
        return SlideResult(layer, x.tolist(), x.tolist(), mask, output.tolist(), windows, scatters)
    pads = layer.pads()
    if layer.kind == "conv":
        padded = _pad4(x[None, None], pads, layer.padding_mode)[0, 0]  # [Hp, Wp]
    else:
        fill = -math.inf if layer.kind == "max_pool" else 0.0
        padded = _pad4(x[None, None], pads, "zeros", fill)[0, 0]  # [Hp, Wp]
    mask = _mask(h, w, pads)
    windows = _gather_windows(layer, padded, mask, output)
    dropped = _dropped(layer, h, w, tuple(output.shape))
    return SlideResult(layer, x.tolist(), padded.tolist(), mask, output.tolist(), windows,
                       dropped=dropped)  # fmt: skip


# --- the real torch layer, for the page's "checked against torch" badge -------------------

LAYER_TYPES = (
    "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d", "Linear", "Flatten", "ReLU", "BatchNorm2d", "Dropout",
)  # fmt: skip


def build_layer(layer_type: str, **params: object) -> nn.Module:
    """``nn.<layer_type>(**params)``; torch's refusals become ShapeError."""
    if layer_type not in LAYER_TYPES:
        raise ShapeError(
            f"Unknown layer type {layer_type!r}; pick one of {', '.join(LAYER_TYPES)}."
        )
    try:
        return getattr(nn, layer_type)(**params)
    except (ValueError, TypeError, RuntimeError) as error:
        raise ShapeError(f"torch cannot build {layer_type}: {error}") from None


@dataclass(frozen=True)
class TorchRun:
    """What running the real layer on zeros gave: ``ran_on`` may have batch 1 for big inputs."""

    ran_on: tuple[int, ...]
    output_shape: tuple[int, ...]  # with the requested batch size put back


MAX_RUN_VALUES = 4_000_000  # bigger inputs run with batch 1 (N passes through every layer here)


@torch.no_grad()
def run_on_zeros(layer: nn.Module, input_shape: Sequence[int]) -> TorchRun | None:
    """Run the real layer on ``torch.zeros(input_shape)`` and report the shape it produced.

    Inputs over MAX_RUN_VALUES run with batch 1 and get their batch size back; a single
    sample still over the limit is not run (None). torch's refusals become ShapeError.
    """
    shape = tuple(int(n) for n in input_shape)
    if any(n < 1 for n in shape):
        raise ShapeError(f"Every input dimension must be at least 1; got {shape}.")
    ran_on = shape
    batched = len(shape) == 4 or (len(shape) == 2 and isinstance(layer, nn.Linear | nn.Flatten))
    if math.prod(shape) > MAX_RUN_VALUES and batched:
        ran_on = (1, *shape[1:])
    if math.prod(ran_on) > MAX_RUN_VALUES * 4:
        return None
    was_training = layer.training
    layer.eval()  # BatchNorm on a batch of one, Dropout: shapes only
    try:
        output = tuple(layer(torch.zeros(ran_on)).shape)
    except (RuntimeError, ValueError, IndexError) as error:
        raise ShapeError(f"torch refuses this input: {error}") from None
    finally:
        layer.train(was_training)
    if ran_on != shape:
        output = (shape[0], *output[1:])
    return TorchRun(ran_on, output)


def to_code(grid: Sequence[Sequence[float]], layer: GridLayer) -> str:
    """PyTorch code that computes ``slide(grid, layer).output``, in the seeds' style."""
    rows = ",\n                      ".join(
        "[" + ", ".join(fmt(v) for v in row) + "]" for row in grid
    )
    h, w = len(grid), len(grid[0])
    lines = [
        "import torch",
        "import torch.nn.functional as F",
        "",
        f"x = torch.tensor([{rows}],",
        f"                 dtype=torch.float32).reshape(1, 1, {h}, {w})  # [N, C, H, W]",
    ]
    stride = _arg(layer.stride)
    if layer.kind in ("conv", "conv_transpose"):
        assert layer.weights is not None
        kernel = ", ".join("[" + ", ".join(fmt(v) for v in row) + "]" for row in layer.weights)
        kh, kw = layer.kernel_size
        lines.append(
            f"kernel = torch.tensor([{kernel}], dtype=torch.float32).reshape(1, 1, {kh}, {kw})  # [C_out, C_in, kH, kW]"
        )
    if layer.kind == "conv":
        padding = repr(layer.padding) if isinstance(layer.padding, str) else _arg(layer.padding)
        if layer.padding_mode != "zeros":
            top, bottom, left, right = layer.pads()
            lines.append(
                f"x = F.pad(x, ({left}, {right}, {top}, {bottom}), "
                f"mode={layer.padding_mode!r})  # what padding_mode={layer.padding_mode!r} does"
            )
            padding = "0"
        lines.append(
            f"out = F.conv2d(x, kernel, stride={stride}, padding={padding}, "
            f"dilation={_arg(layer.dilation)})"
        )
    elif layer.kind == "conv_transpose":
        lines.append(
            f"out = F.conv_transpose2d(x, kernel, stride={stride}, padding="
            f"{_arg(layer.padding)}, output_padding={_arg(layer.output_padding)}, "
            f"dilation={_arg(layer.dilation)})"
        )
    elif layer.kind == "max_pool":
        lines.append(
            f"out = F.max_pool2d(x, kernel_size={_arg(layer.kernel_size)}, stride={stride}, "
            f"padding={_arg(layer.padding)}, dilation={_arg(layer.dilation)}, "
            f"ceil_mode={layer.ceil_mode})"
        )
    else:
        lines.append(
            f"out = F.avg_pool2d(x, kernel_size={_arg(layer.kernel_size)}, stride={stride}, "
            f"padding={_arg(layer.padding)}, ceil_mode={layer.ceil_mode}, "
            f"count_include_pad={layer.count_include_pad})"
        )
    lines.append("print(out)")
    return "\n".join(lines)


def _arg(value: tuple[int, int] | str) -> str:
    if isinstance(value, str):
        return repr(value)
    return str(value[0]) if value[0] == value[1] else str(tuple(value))


# Arguments torch fills in itself: layer_call leaves them out.
TORCH_DEFAULTS: dict[str, object] = {
    "stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "output_padding": 0,
    "padding_mode": "zeros", "ceil_mode": False, "count_include_pad": True, "start_dim": 1,
    "end_dim": -1,
}  # fmt: skip
_POSITIONAL = ("in_channels", "out_channels", "in_features", "out_features", "num_features")


def layer_call(layer_type: str, params: dict[str, object]) -> str:
    """How ``build_layer(layer_type, **params)`` is written in PyTorch, shortest form:
    ``nn.Conv2d(3, 6, kernel_size=3)`` (sizes first, torch's defaults and Nones left out)."""
    args = [_py(params[k]) for k in _POSITIONAL if k in params]
    for key, value in params.items():
        if key in _POSITIONAL or value is None or _py(value) == _py(TORCH_DEFAULTS.get(key)):
            continue
        args.append(f"{key}={_py(value)}")
    return f"nn.{layer_type}({', '.join(args)})"


def _py(value: object) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        return str(value[0])
    return repr(value)
