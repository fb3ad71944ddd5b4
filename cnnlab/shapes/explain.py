"""Why a layer produces its output shape: the formula per dimension, ready for st.latex.

`explain(layer, input_shape)` returns an `Explanation` whose `dims` hold, for each
spatial axis, the symbolic formula, the same formula with the numbers put in, the
exact fraction (numerator and denominator before rounding), the rounding and the
result. With dilation 1 the formula takes the seeds' simpler form
⌊(H + 2P − K)/S⌋ + 1, which is the same number as ⌊(H + 2P − D(K−1) − 1)/S⌋ + 1.

Flatten and Linear get one entry with axis "features"; shape-preserving layers get
no entries and a one-line `note`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from cnnlab.shapes.formulas import (
    ADAPTIVE,
    AXES,
    POOLS,
    UNITS,
    Axis,
    Shape,
    output_shape,
    pair,
    pool_size,
    window_axes,
)

DOT = r"\cdot "


@dataclass(frozen=True)
class DimExplanation:
    """One output dimension: `latex` is the whole equation, e.g. H_{out} = ... = 28.

    `numerator`/`denominator` are the fraction inside the rounding as written in the
    formula (not reduced); for formulas without a fraction the denominator is 1 and
    the numerator is the result. `dropped` is a plain sentence about input rows or
    columns no window covers (floor), or the partial window ceil_mode keeps.
    """

    axis: str
    symbolic: str
    substituted: str
    numerator: int
    denominator: int
    rounding: str | None
    result: int
    latex: str
    dropped: str | None = None

    @property
    def plain(self) -> str:
        """The equation as plain text for tables: H_out = ⌊(32 + 2·0 − 5)/1⌋ + 1 = 28."""

        def bracket(m: re.Match[str]) -> str:
            lo, hi = ("⌊", "⌋") if m[1] == "floor" else ("⌈", "⌉")
            return f"{lo}({m[2]})/{m[3]}{hi}"

        text = re.sub(
            r"\\left\\l(floor|ceil) \\frac\{(.*?)\}\{(.*?)\} \\right\\r\w+", bracket, self.latex
        )
        for old, new in ((r"\cdot ", "·"), (r"\to", "→"), ("_{in}", "_in"), ("_{out}", "_out")):
            text = text.replace(old, new)
        return text.replace(" - ", " − ")


@dataclass(frozen=True)
class Explanation:
    """Everything a learner needs to check one layer's output shape by hand."""

    layer_name: str
    input_shape: Shape
    output_shape: Shape
    dims: tuple[DimExplanation, ...]
    params: int
    params_symbolic: str
    params_latex: str
    note: str | None = None


def _plural(n: int, axis: str) -> str:
    one, many = UNITS[axis]
    return f"{n} {one if n == 1 else many}"


def _window_dim(axis: str, size: int, a: Axis, result: int, transposed: bool) -> DimExplanation:
    """Conv/pool dimension: floor (or ceil) of (size + padding - span) / stride, plus one."""
    side = ("top", "bottom") if axis == "H" else ("left", "right")
    if a.pad_before == a.pad_after:
        pad_sym, pad_num = "2P", f"2{DOT}{a.pad_before}"
    else:
        pad_sym = f"P_{{{side[0]}}} + P_{{{side[1]}}}"
        pad_num = f"{a.pad_before} + {a.pad_after}"
    x = f"{axis}_{{in}}"
    if transposed:
        op = result - ((size - 1) * a.stride - 2 * a.pad_before + a.span)
        symbolic = rf"({x} - 1){DOT}S - 2P + D(K-1) + P_{{out}} + 1"
        substituted = (
            f"({size} - 1){DOT}{a.stride} - 2{DOT}{a.pad_before} + "
            f"{a.dilation}{DOT}({a.kernel}-1) + {op} + 1"
        )
        return DimExplanation(
            axis, symbolic, substituted, result, 1, None, result,
            f"{axis}_{{out}} = {substituted} = {result}",
        )  # fmt: skip
    if a.dilation == 1:
        num_sym, num_val = f"{x} + {pad_sym} - K", f"{size} + {pad_num} - {a.kernel}"
    else:
        num_sym = f"{x} + {pad_sym} - D(K-1) - 1"
        num_val = f"{size} + {pad_num} - {a.dilation}{DOT}({a.kernel}-1) - 1"
    left, right = (
        (r"\left\lceil", r"\right\rceil") if a.ceil_mode else (r"\left\lfloor", r"\right\rfloor")
    )
    symbolic = rf"{left} \frac{{{num_sym}}}{{S}} {right} + 1"
    substituted = rf"{left} \frac{{{num_val}}}{{{a.stride}}} {right} + 1"
    numerator = size + a.pad_before + a.pad_after - a.span
    dropped = None
    if a.ceil_mode:
        raw = -(-numerator // a.stride) + 1
        if raw != result:  # torch's rule: a last window starting in the right padding is dropped
            substituted += " - 1"
            dropped = (
                f"ceil_mode would start one more window at {UNITS[axis][0]} "
                f"{(raw - 1) * a.stride - a.pad_before}, inside the padding, so torch drops it"
            )
    dropped = _coverage(axis, size, a, result, dropped)
    return DimExplanation(
        axis, symbolic, substituted, numerator, a.stride,
        "ceil" if a.ceil_mode else "floor", result,
        f"{axis}_{{out}} = {substituted} = {result}", dropped,
    )  # fmt: skip


def _coverage(axis: str, size: int, a: Axis, out: int, dropped: str | None) -> str | None:
    """Sentences about input rows no window uses, or the partial window ceil_mode keeps."""
    sentences = [dropped] if dropped else []
    padded = size + a.pad_before + a.pad_after
    last_start = (out - 1) * a.stride  # in padded coordinates
    end = last_start + a.span  # one past the last padded row the windows reach
    if end > padded:
        inside = min(a.pad_before + size, end) - max(a.pad_before, last_start)
        sentences.append(
            f"ceil_mode keeps a partial last window: it starts at {UNITS[axis][0]} "
            f"{last_start - a.pad_before} and only {max(inside, 0)} of its "
            f"{_plural(a.span, axis)} lie in the input"
        )
    else:
        real = min(padded - end, size) - a.pad_after
        if real > 0:
            first = size - real
            which = (
                f"{UNITS[axis][0]} {first}" if real == 1 else f"{UNITS[axis][1]} {first}-{size - 1}"
            )
            sentences.append(
                f"floor drops the last {_plural(real, axis)} ({which}): no window reaches "
                f"{'it' if real == 1 else 'them'}"
            )
    if a.stride > a.span and out > 1:
        gap = a.stride - a.span
        sentences.append(
            f"stride {a.stride} is larger than the window ({a.span}), so {_plural(gap, axis)} "
            "between neighbouring windows are never used"
        )
    return "; ".join(sentences) or None


def _params(layer: nn.Module) -> tuple[int, str, str]:
    """(count, symbolic, latex) of the layer's learnable parameters."""
    total = sum(p.numel() for p in layer.parameters())
    bias = getattr(layer, "bias", None) is not None
    terms: list[int] = []
    symbolic = ""
    if isinstance(layer, nn.Conv2d):
        kh, kw = pair(layer.kernel_size)
        terms = [layer.out_channels, kh, kw, layer.in_channels // layer.groups]
        symbolic = r"C_{out}\cdot K_h\cdot K_w\cdot " + (
            r"\frac{C_{in}}{G}" if layer.groups > 1 else "C_{in}"
        )
        symbolic += r" + C_{out}" if bias else ""
    elif isinstance(layer, nn.ConvTranspose2d):
        kh, kw = pair(layer.kernel_size)
        terms = [layer.in_channels, layer.out_channels // layer.groups, kh, kw]
        symbolic = r"C_{in}\cdot " + (r"\frac{C_{out}}{G}" if layer.groups > 1 else "C_{out}")
        symbolic += r"\cdot K_h\cdot K_w" + (r" + C_{out}" if bias else "")
    elif isinstance(layer, nn.Linear):
        terms = [layer.out_features, layer.in_features]
        symbolic = r"F_{out}\cdot F_{in}" + (r" + F_{out}" if bias else "")
    n_bias = getattr(layer, "out_channels", getattr(layer, "out_features", 0)) if bias else 0
    if terms and math.prod(terms) + n_bias == total:
        tail = f" + {n_bias}" if bias else ""
        return total, symbolic, DOT.join(str(t) for t in terms).rstrip() + f"{tail} = {total}"
    if isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d) and layer.affine:
        return total, r"2C\ (\gamma, \beta)", f"2{DOT}{layer.num_features} = {total}"
    sizes = [p.numel() for p in layer.parameters()]
    if len(sizes) > 1:
        return total, "", " + ".join(str(s) for s in sizes) + f" = {total}"
    return total, "", str(total)


def _dim_names(rank: int) -> list[str]:
    return {4: ["N", "C", "H", "W"], 3: ["C", "H", "W"], 2: ["N", "F"]}.get(
        rank, [f"d_{{{i}}}" for i in range(rank)]
    )


def _features_dim(layer: nn.Module, shape: Shape, out: Shape) -> DimExplanation:
    if isinstance(layer, nn.Flatten):
        start, end = layer.start_dim % len(shape), layer.end_dim % len(shape)
        names = _dim_names(len(shape))[start : end + 1]
        symbolic = DOT.join(names).rstrip()
        substituted = DOT.join(str(s) for s in shape[start : end + 1]).rstrip()
        result = math.prod(shape[start : end + 1])
        return DimExplanation(
            "features", symbolic, substituted, result, 1, None, result,
            f"{symbolic} = {substituted} = {result}",
        )  # fmt: skip
    assert isinstance(layer, nn.Linear)
    symbolic = r"F_{out} = \text{out\_features}"
    substituted = rf"{layer.in_features} \to {layer.out_features}"
    result = layer.out_features
    return DimExplanation(
        "features", symbolic, substituted, result, 1, None, result,
        rf"F_{{in}} = {layer.in_features} \to F_{{out}} = {result}",
    )  # fmt: skip


def _adaptive_dim(axis: str, size: int, result: int, given: int | None) -> DimExplanation:
    symbolic = r"\text{output\_size}" if given is not None else f"{axis}_{{in}}"
    return DimExplanation(
        axis, symbolic, str(result), result, 1, None, result, f"{axis}_{{out}} = {result}"
    )


def explain(layer: nn.Module, input_shape: Sequence[int]) -> Explanation:
    """The formulas behind `output_shape(layer, input_shape)`; raises ShapeError like it."""
    shape = tuple(int(s) for s in input_shape)
    out = output_shape(layer, shape)
    name = type(layer).__name__
    params, params_symbolic, params_latex = _params(layer)
    dims: list[DimExplanation] = []
    note = None
    axes = window_axes(layer)
    if axes is not None:
        transposed = isinstance(layer, nn.ConvTranspose2d)
        for axis, size, a, result in zip(AXES, shape[-2:], axes, out[-2:], strict=True):
            if isinstance(layer, POOLS):
                assert result == pool_size(size, a)
            dims.append(_window_dim(axis, size, a, result, transposed))
        if getattr(layer, "groups", 1) > 1:
            note = groups_note(layer)
    elif isinstance(layer, ADAPTIVE):
        given = layer.output_size
        sizes = (given, given) if given is None or isinstance(given, int) else tuple(given)
        for axis, size, result, g in zip(AXES, shape[-2:], out[-2:], sizes, strict=True):
            dims.append(_adaptive_dim(axis, size, result, g))
        note = (
            f"{name} chooses its own windows: output cell i pools input rows "
            r"⌊i·H_in/H_out⌋ to ⌈(i+1)·H_in/H_out⌉ − 1, so windows may differ in size"
        )
    elif isinstance(layer, nn.Flatten | nn.Linear):
        dims.append(_features_dim(layer, shape, out))
    else:
        note = f"{name} keeps the shape: it works on each value (or channel) in place"
    return Explanation(name, shape, out, tuple(dims), params, params_symbolic, params_latex, note)


def groups_note(layer: nn.Conv2d | nn.ConvTranspose2d) -> str:
    """Which input channels feed which outputs, e.g. groups=2: outputs 0-15 see inputs 0-7, ..."""
    g = layer.groups
    cin, cout = layer.in_channels // g, layer.out_channels // g

    def span(start: int, n: int) -> str:
        return str(start) if n == 1 else f"{start}-{start + n - 1}"

    if g == layer.in_channels:
        head = f"groups={g} (depthwise): "
        if cout == 1:
            return head + "output channel i sees only input channel i"
    else:
        head = f"groups={g}: "
    parts = [f"outputs {span(i * cout, cout)} see inputs {span(i * cin, cin)}" for i in range(g)]
    if len(parts) > 4:
        parts = [*parts[:2], "...", parts[-1]]
    return head + ", ".join(parts)
