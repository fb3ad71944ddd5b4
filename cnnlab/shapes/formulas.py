"""Output shapes of layers from their formulas, without running them.

`output_shape(layer, input_shape)` answers what torch would produce, and raises
`ShapeError` exactly where torch would refuse, with a message that says what to
change. Every `ShapeError` raised here also carries two attributes, `problem` and
`fix`, so the ledger can show them separately; `str(error)` is "problem: fix".

The rules mirror ATen (checked by tests/unit/test_shapes_sweep.py against the real
layers): conv needs the padded input at least as large as the dilated kernel,
pooling uses torch's ceil_mode rule that a last window starting inside the right
padding is dropped, and padding modes have their own limits. Inputs are
(N, C, H, W) or unbatched (C, H, W); every size must be at least 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from cnnlab.shapes.fixes import fail, suggest
from cnnlab.shapes.kinds import ADAPTIVE, POOLS, SHAPE_PRESERVING

Shape = tuple[int, ...]

AXES = ("H", "W")
UNITS = {"H": ("row", "rows"), "W": ("column", "columns")}


def fmt_shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    first, second = tuple(value)
    return (int(first), int(second))


@dataclass(frozen=True)
class Axis:
    """Window geometry of one spatial axis of a conv or pooling layer."""

    kernel: int
    stride: int
    pad_before: int
    pad_after: int
    dilation: int = 1
    ceil_mode: bool = False

    @property
    def span(self) -> int:
        """Rows (or columns) one window covers: D(K-1) + 1."""
        return self.dilation * (self.kernel - 1) + 1


def conv_padding(layer: nn.Conv2d) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) padding of a Conv2d, resolving 'same' and 'valid'."""
    if isinstance(layer.padding, str):
        if layer.padding == "valid":
            return ((0, 0), (0, 0))
        sides = []
        for k, d in zip(pair(layer.kernel_size), pair(layer.dilation), strict=True):
            total = d * (k - 1)
            sides.append((total // 2, total - total // 2))
        return (sides[0], sides[1])
    ph, pw = pair(layer.padding)
    return ((ph, ph), (pw, pw))


def window_axes(layer: nn.Module) -> tuple[Axis, Axis] | None:
    """The (H, W) window geometry of a Conv2d, ConvTranspose2d, MaxPool2d or AvgPool2d."""
    if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
        if isinstance(layer, nn.Conv2d):
            pads = conv_padding(layer)
        else:
            ph, pw = pair(layer.padding)
            pads = ((ph, ph), (pw, pw))
        ks, ss, ds = pair(layer.kernel_size), pair(layer.stride), pair(layer.dilation)
        return tuple(  # type: ignore[return-value]
            Axis(ks[i], ss[i], pads[i][0], pads[i][1], ds[i]) for i in range(2)
        )
    if isinstance(layer, POOLS):
        ks = pair(layer.kernel_size)
        ss = pair(layer.stride if layer.stride not in (None, ()) else layer.kernel_size)
        ps = pair(layer.padding)
        ds = pair(layer.dilation) if isinstance(layer, nn.MaxPool2d) else (1, 1)
        return tuple(  # type: ignore[return-value]
            Axis(ks[i], ss[i], ps[i], ps[i], ds[i], bool(layer.ceil_mode)) for i in range(2)
        )
    return None


def pool_size(size: int, a: Axis) -> int:
    """torch's pooling_output_shape: floor or ceil, dropping a last window that starts in padding."""
    numerator = size + 2 * a.pad_before - a.span + (a.stride - 1 if a.ceil_mode else 0)
    out = numerator // a.stride + 1
    if a.ceil_mode and (out - 1) * a.stride >= size + a.pad_before:
        out -= 1
    return out


def _check_input(name: str, shape: Shape, ranks: tuple[int, ...]) -> None:
    if not all(isinstance(s, int) and s >= 1 for s in shape):
        fail(f"{name} received the input shape {fmt_shape(shape)}", "every size must be 1 or more")
    if len(shape) not in ranks:
        wanted = {
            (3, 4): "a 3-D (C, H, W) or 4-D (N, C, H, W) input",
            (4,): "a 4-D (N, C, H, W) input",
            (2, 3): "a 2-D (N, C) or 3-D (N, C, L) input",
        }.get(ranks, f"an input with at least {ranks[0]} dimensions")
        fixed = ranks in ((3, 4), (4,), (2, 3)) and len(shape) + 1 in ranks
        fix = "add the batch dimension (x.unsqueeze(0))" if fixed else ""
        fix = fix or "reshape the input, or add nn.Flatten() / remove it where it does not belong"
        fail(f"{name} expects {wanted} but got {len(shape)}-D {fmt_shape(shape)}", fix)


def _check_channels(name: str, expected: int, shape: Shape, fix: str) -> None:
    channels = shape[-3]
    if channels != expected:
        fail(
            f"{name} expects {expected} input channels but receives {channels} "
            f"(input {fmt_shape(shape)})",
            fix,
        )


def _check_window_fits(name: str, size: int, a: Axis, axis: str) -> None:
    padded = size + a.pad_before + a.pad_after
    if padded < a.span:
        pad = a.pad_before + a.pad_after
        has = f"{size}" + (f" (+{pad} padding = {padded})" if pad else "")
        need = f"kernel {a.kernel} with dilation {a.dilation}"
        fail(
            f"{name}: {need} needs at least {a.span} input {UNITS[axis][1]} after padding; "
            f"the input has {has}",
            "use a smaller kernel or dilation, more padding, or a larger input",
        )


def _conv2d(layer: nn.Conv2d, shape: Shape) -> Shape:
    name = "Conv2d"
    _check_input(name, shape, (3, 4))
    # Checked against the weight, as torch does: [out, in/groups, kh, kw].
    g, w = layer.groups, layer.weight.shape
    if layer.in_channels % g or w[0] % g:
        common = math.gcd(layer.in_channels, layer.out_channels)
        divisors = [d for d in range(1, common + 1) if common % d == 0]
        fail(
            f"{name}: groups={g} must divide both in_channels ({layer.in_channels}) "
            f"and out_channels ({layer.out_channels})",
            f"pick groups from {divisors}",
        )
    k = pair(layer.kernel_size)
    _check_channels(
        name,
        w[1] * g,
        shape,
        suggest(f"use {{layer}} or give it {w[1] * g} channels", layer, in_channels=shape[-3]),
    )
    axes = window_axes(layer)
    assert axes is not None
    # With zeros F.conv2d does the 'same' padding and refuses strides; other padding
    # modes pad explicitly first, so there a changed stride simply applies.
    same = layer.padding == "same" and layer.padding_mode == "zeros"
    if same and any(a.stride != 1 for a in axes):
        fail(
            f"{name}: padding='same' only works with stride 1, got stride={_arg(pair(layer.stride))}",
            f"use stride=1, or a number such as padding={_arg(tuple((x - 1) // 2 for x in k))}",
        )
    mode = layer.padding_mode
    for size, a, axis in zip(shape[-2:], axes, AXES, strict=True):
        pad = max(a.pad_before, a.pad_after)
        unit = UNITS[axis][1]
        if mode == "reflect" and pad >= size:
            fail(
                f"{name}: padding_mode='reflect' needs padding smaller than the input; "
                f"padding {pad} on {size} {unit}",
                suggest(
                    f"use {{layer}}, or padding at most {size - 1}",
                    layer,
                    padding_mode="replicate",
                ),
            )
        if mode == "circular" and pad > size:
            fail(
                f"{name}: padding_mode='circular' can wrap around only once; "
                f"padding {pad} is more than the {size} input {unit}",
                suggest(
                    f"use {{layer}}, or padding at most {size}", layer, padding_mode="replicate"
                ),
            )
    out = []
    for size, a, axis in zip(shape[-2:], axes, AXES, strict=True):
        _check_window_fits(name, size, a, axis)
        out.append((size + a.pad_before + a.pad_after - a.span) // a.stride + 1)
    return (*shape[:-3], layer.out_channels, *out)


def _conv_transpose2d(layer: nn.ConvTranspose2d, shape: Shape) -> Shape:
    name = "ConvTranspose2d"
    _check_input(name, shape, (3, 4))
    # weight: [in, out/groups, kh, kw]
    g, w = layer.groups, layer.weight.shape
    if w[0] % g or layer.out_channels % g:
        fail(
            f"{name}: groups={g} must divide both in_channels ({layer.in_channels}) "
            f"and out_channels ({layer.out_channels})",
            "pick groups that divides both",
        )
    if layer.padding_mode != "zeros":
        fail(f"{name} only supports padding_mode='zeros'", "use padding_mode='zeros'")
    _check_channels(
        name,
        w[0],
        shape,
        suggest(
            f"use {{layer}} or give it {layer.in_channels} channels",
            layer,
            in_channels=shape[-3],
        ),
    )
    axes = window_axes(layer)
    assert axes is not None
    ops = pair(layer.output_padding)
    for op, a in zip(ops, axes, strict=True):
        if not (op < a.stride or op < a.dilation):
            fail(
                f"{name}: output_padding {op} must be smaller than the stride ({a.stride}) "
                f"or the dilation ({a.dilation})",
                suggest(
                    f"use output_padding at most {max(a.stride, a.dilation) - 1}: {{layer}}",
                    layer,
                    output_padding=tuple(
                        min(o, max(b.stride, b.dilation) - 1)
                        for o, b in zip(ops, axes, strict=True)
                    ),
                ),
            )
    out = []
    for size, a, op, axis in zip(shape[-2:], axes, ops, AXES, strict=True):
        o = (size - 1) * a.stride - 2 * a.pad_before + a.span + op
        # Below 0 torch always refuses; at exactly 0 it depends on its kernel (batch 1
        # refuses, batch 2 returns an empty tensor), so the calculator refuses both.
        if o < 1:
            fail(
                f"{name}: the output would have {o} {UNITS[axis][1]} "
                f"((H-1)·S - 2P + D(K-1) + output_padding + 1 with H={size})",
                "use less padding or a larger kernel or stride",
            )
        out.append(o)
    return (*shape[:-3], layer.out_channels, *out)


def _pool2d(layer: nn.MaxPool2d | nn.AvgPool2d, shape: Shape) -> Shape:
    name = type(layer).__name__
    _check_input(name, shape, (3, 4))
    axes = window_axes(layer)
    assert axes is not None
    for a in axes:
        if a.kernel < 1 or a.stride < 1 or a.dilation < 1:
            fail(f"{name}: kernel, stride and dilation must be at least 1", "use positive values")
        if a.pad_before > a.kernel // 2:
            fail(
                f"{name}: padding {a.pad_before} is more than half the kernel {a.kernel}",
                suggest(
                    f"use padding at most {a.kernel // 2}: {{layer}}",
                    layer,
                    padding=tuple(min(b.pad_before, b.kernel // 2) for b in axes),
                ),
            )
    out = []
    for size, a, axis in zip(shape[-2:], axes, AXES, strict=True):
        o = pool_size(size, a)
        if o < 1:
            fail(
                f"{name}: kernel {a.kernel}"
                + (f" with dilation {a.dilation}" if a.dilation != 1 else "")
                + f" needs at least {a.span} input {UNITS[axis][1]} after padding; "
                f"the input has {size}"
                + (f" (+{2 * a.pad_before} padding)" if a.pad_before else ""),
                "use a smaller kernel, padding, ceil_mode=True or a larger input",
            )
        out.append(o)
    return (*shape[:-2], *out)


def _adaptive(layer: nn.Module, shape: Shape) -> Shape:
    name = type(layer).__name__
    _check_input(name, shape, tuple(range(2, 9)))
    size = layer.output_size
    sizes = (size, size) if size is None or isinstance(size, int) else tuple(size)
    out = tuple(s if o is None else int(o) for s, o in zip(shape[-2:], sizes, strict=True))
    # adaptive_avg_pool2d to 1x1 is a mean over the last two sizes of any tensor;
    # every other case wants 3-D or 4-D.
    if out != (1, 1) or isinstance(layer, nn.AdaptiveMaxPool2d):
        _check_input(name, shape, (3, 4))
    if min(out) < 1:  # torch would return an empty tensor; never what a learner wants
        fail(f"{name}: output_size {sizes} must be at least 1", "use output_size of 1 or more")
    return (*shape[:-2], *out)


def _flatten(layer: nn.Flatten, shape: Shape) -> Shape:
    rank = len(shape)
    _check_input("Flatten", shape, tuple(range(1, 9)))
    start, end = layer.start_dim, layer.end_dim
    for dim in (start, end):
        if not -rank <= dim < rank:
            fail(
                f"Flatten: dimension {dim} does not exist in a {rank}-D input {fmt_shape(shape)}",
                f"use start_dim/end_dim between {-rank} and {rank - 1}",
            )
    start, end = start % rank, end % rank
    if start > end:
        fail(
            f"Flatten: start_dim {layer.start_dim} comes after end_dim {layer.end_dim} "
            f"for a {rank}-D input",
            "use start_dim <= end_dim",
        )
    return (*shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :])


def _linear(layer: nn.Linear, shape: Shape) -> Shape:
    _check_input("Linear", shape, tuple(range(1, 9)))
    received = shape[-1]
    if received != layer.in_features:
        problem = f"Linear expects {layer.in_features} inputs but receives {received}"
        if len(shape) >= 3:
            flat = math.prod(shape[1:]) if len(shape) == 4 else math.prod(shape)
            fix: str = "add nn.Flatten() before it"
            if len(shape) == 4:  # (N, C, H, W): Flatten() gives N rows of C*H*W
                changed = "" if flat == layer.in_features else " and use {layer}"
                fix = suggest(fix + changed, layer, "nn.Flatten()", in_features=flat)
            fail(f"{problem} (the last size of the {len(shape)}-D input {fmt_shape(shape)})", fix)
        fail(problem, suggest("use {layer}", layer, in_features=received))
    return (*shape[:-1], layer.out_features)


def _batchnorm(layer: nn.modules.batchnorm._BatchNorm, shape: Shape) -> Shape:
    name = type(layer).__name__
    ranks = (4,) if isinstance(layer, nn.BatchNorm2d) else (2, 3)
    _check_input(name, shape, ranks)
    checked = layer.weight is not None or layer.running_mean is not None
    if checked and shape[1] != layer.num_features:
        fail(
            f"{name} expects {layer.num_features} channels but receives {shape[1]} "
            f"(input {fmt_shape(shape)})",
            suggest("use {layer}", layer, num_features=shape[1]),
        )
    uses_batch = layer.training or layer.running_mean is None
    if uses_batch and math.prod(shape) // shape[1] == 1:
        fail(
            f"{name} in training mode needs more than one value per channel; "
            f"the input {fmt_shape(shape)} has one",
            "use a batch of 2 or more, or call model.eval()",
        )
    return shape


def _elementwise(layer: nn.Module, shape: Shape) -> Shape:
    name = type(layer).__name__
    _check_input(name, shape, tuple(range(1, 9)))
    if isinstance(layer, nn.Softmax | nn.LogSoftmax) and layer.dim is not None:
        rank = len(shape)
        if not -rank <= layer.dim < rank:
            fail(
                f"{name}: dim {layer.dim} does not exist in a {rank}-D input",
                f"use dim between {-rank} and {rank - 1}",
            )
    if isinstance(layer, nn.PReLU) and layer.num_parameters > 1:
        channels = shape[1] if len(shape) >= 2 else None
        if channels != layer.num_parameters:
            fail(
                f"PReLU has {layer.num_parameters} slopes but the input has {channels} channels",
                suggest(
                    "use {layer}",
                    layer,
                    fallback=f"nn.PReLU({channels or 1})",
                    num_parameters=channels or 1,
                ),
            )
    if isinstance(layer, nn.GroupNorm) and (len(shape) < 2 or shape[1] != layer.num_channels):
        fail(
            f"GroupNorm expects {layer.num_channels} channels, input {fmt_shape(shape)}",
            suggest("use {layer}", layer, num_channels=shape[1] if len(shape) > 1 else 1),
        )
    if isinstance(layer, nn.LayerNorm):
        normalized = tuple(layer.normalized_shape)
        if shape[len(shape) - len(normalized) :] != normalized:
            fail(
                f"LayerNorm normalizes the last sizes {normalized} but the input is "
                f"{fmt_shape(shape)}",
                suggest("use {layer}", layer, normalized_shape=list(shape[-len(normalized) :])),
            )
    return shape


def _arg(values: tuple[int, ...]) -> str:
    """A layer argument as a learner would write it: 5 rather than (5, 5)."""
    return str(values[0]) if len(set(values)) == 1 else str(tuple(values))


def output_shape(layer: nn.Module, input_shape: Sequence[int]) -> Shape:
    """The shape `layer(torch.zeros(input_shape))` would have, computed without running it.

    Raises ShapeError where torch would raise, and for layer types the calculator
    does not support.
    """
    shape = tuple(int(s) for s in input_shape)
    if isinstance(layer, nn.Conv2d):
        return _conv2d(layer, shape)
    if isinstance(layer, nn.ConvTranspose2d):
        return _conv_transpose2d(layer, shape)
    if isinstance(layer, POOLS):
        return _pool2d(layer, shape)
    if isinstance(layer, ADAPTIVE):
        return _adaptive(layer, shape)
    if isinstance(layer, nn.Flatten):
        return _flatten(layer, shape)
    if isinstance(layer, nn.Linear):
        return _linear(layer, shape)
    if isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d):
        return _batchnorm(layer, shape)
    if isinstance(layer, SHAPE_PRESERVING):
        return _elementwise(layer, shape)
    fail(
        f"{type(layer).__name__} is not supported by the shape calculator",
        "use Conv2d, ConvTranspose2d, pooling, Flatten, Linear, BatchNorm, Dropout "
        "or an activation",
    )
