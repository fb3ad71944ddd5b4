"""Randomised sweep: output_shape against the real torch layers.

For thousands of seeded configurations per layer type (valid and invalid), the
formula must give torch's shape whenever torch runs, and raise ShapeError exactly
when torch raises. Inputs are small so each layer runs in microseconds.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable

import pytest
import torch
from torch import nn

from cnnlab.errors import ShapeError
from cnnlab.shapes import output_shape

N_CONFIGS = 4000
Shape = tuple[int, ...]


def torch_result(layer: nn.Module, shape: Shape) -> Shape | None:
    """The real output shape, or None when torch refuses.

    An empty output counts as a refusal: at a computed size of exactly 0 torch's
    transposed convolution refuses for batch 1 but returns an empty tensor for
    batch 2, and the calculator refuses both.
    """
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = tuple(layer(torch.zeros(shape)).shape)
    except (RuntimeError, ValueError, IndexError):
        return None
    return out if min(out) > 0 else None


def formula_result(layer: nn.Module, shape: Shape) -> Shape | None:
    try:
        result = output_shape(layer, shape)
    except ShapeError as error:
        assert str(error), "a ShapeError must explain itself"
        return None
    assert all(isinstance(s, int) for s in result)
    return result


def tup(r: random.Random, lo: int, hi: int) -> int | tuple[int, int]:
    """An int, or a (h, w) tuple a third of the time."""
    if r.random() < 0.33:
        return (r.randint(lo, hi), r.randint(lo, hi))
    return r.randint(lo, hi)


def input_shape(r: random.Random, channels: int, lo: int = 1, hi: int = 9) -> Shape:
    """(N, C, H, W), (C, H, W), or now and then a wrong rank or a wrong channel count."""
    if r.random() < 0.1:
        channels = r.randint(1, 6)
    hw = (r.randint(lo, hi), r.randint(lo, hi))
    roll = r.random()
    if roll < 0.04:
        return (channels, *hw, 2)[: r.choice([1, 2])] if r.random() < 0.5 else (1, channels, *hw, 1)
    if roll < 0.5:
        return (channels, *hw)
    return (r.randint(1, 2), channels, *hw)


def make_conv2d(r: random.Random) -> tuple[nn.Module, Shape]:
    groups = r.choice([1, 1, 2, 3])
    cin, cout = groups * r.randint(1, 2), groups * r.randint(1, 2)
    padding = r.choice(["int", "int", "tuple", "same", "valid"])
    pad = {"int": r.randint(0, 3), "tuple": (r.randint(0, 3), r.randint(0, 3))}.get(
        padding, padding
    )
    stride = tup(r, 1, 3)
    layer = nn.Conv2d(
        cin,
        cout,
        tup(r, 1, 5),
        stride=1 if pad == "same" else stride,
        padding=pad,
        dilation=tup(r, 1, 3),
        groups=groups,
        bias=r.random() < 0.5,
        padding_mode=r.choice(["zeros", "zeros", "reflect", "replicate", "circular"]),
    )
    if pad == "same" and r.random() < 0.3:
        layer.stride = (r.randint(1, 3), r.randint(1, 3))  # torch's constructor refuses this
    if r.random() < 0.03:
        layer.groups = r.randint(1, 4)  # groups changed after construction
    return layer, input_shape(r, cin)


def make_conv_transpose2d(r: random.Random) -> tuple[nn.Module, Shape]:
    groups = r.choice([1, 1, 2])
    cin, cout = groups * r.randint(1, 2), groups * r.randint(1, 2)
    layer = nn.ConvTranspose2d(
        cin,
        cout,
        tup(r, 1, 4),
        stride=tup(r, 1, 3),
        padding=tup(r, 0, 3),
        output_padding=tup(r, 0, 2),
        dilation=tup(r, 1, 3),
        groups=groups,
        bias=r.random() < 0.5,
    )
    return layer, input_shape(r, cin, hi=6)


def make_maxpool2d(r: random.Random) -> tuple[nn.Module, Shape]:
    layer = nn.MaxPool2d(
        tup(r, 1, 4),
        stride=None if r.random() < 0.3 else tup(r, 1, 3),
        padding=tup(r, 0, 2),
        dilation=tup(r, 1, 3),
        ceil_mode=r.random() < 0.5,
    )
    return layer, input_shape(r, r.randint(1, 3))


def make_avgpool2d(r: random.Random) -> tuple[nn.Module, Shape]:
    layer = nn.AvgPool2d(
        tup(r, 1, 4),
        stride=None if r.random() < 0.3 else tup(r, 1, 3),
        padding=tup(r, 0, 2),
        ceil_mode=r.random() < 0.5,
        count_include_pad=r.random() < 0.5,
    )
    return layer, input_shape(r, r.randint(1, 3))


def make_adaptive(r: random.Random) -> tuple[nn.Module, Shape]:
    kind = r.choice([nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d])
    size: int | tuple[int | None, int | None] = r.randint(1, 5)
    if r.random() < 0.5:
        size = tuple(r.choice([None, r.randint(1, 5)]) for _ in range(2))  # type: ignore[assignment]
    return kind(size), input_shape(r, r.randint(1, 3))


def make_flatten(r: random.Random) -> tuple[nn.Module, Shape]:
    rank = r.randint(1, 5)
    shape = tuple(r.randint(1, 4) for _ in range(rank))
    return nn.Flatten(r.randint(-rank - 1, rank), r.randint(-rank - 1, rank)), shape


def make_linear(r: random.Random) -> tuple[nn.Module, Shape]:
    features = r.randint(1, 6)
    rank = r.randint(1, 4)
    shape = tuple(r.randint(1, 3) for _ in range(rank - 1))
    last = features if r.random() < 0.6 else r.randint(1, 6)
    return nn.Linear(features, r.randint(1, 4)), (*shape, last)


MAKERS: dict[str, Callable[[random.Random], tuple[nn.Module, Shape]]] = {
    "Conv2d": make_conv2d,
    "ConvTranspose2d": make_conv_transpose2d,
    "MaxPool2d": make_maxpool2d,
    "AvgPool2d": make_avgpool2d,
    "Adaptive": make_adaptive,
    "Flatten": make_flatten,
    "Linear": make_linear,
}


@pytest.mark.parametrize("kind", list(MAKERS))
def test_formula_matches_torch(kind: str) -> None:
    torch.manual_seed(0)
    r = random.Random(f"sweep-{kind}")
    mismatches, valid = [], 0
    for _ in range(N_CONFIGS):
        layer, shape = MAKERS[kind](r)
        expected, got = torch_result(layer, shape), formula_result(layer, shape)
        valid += expected is not None
        if expected != got:
            mismatches.append(f"{layer!r} on {shape}: torch {expected}, formula {got}")
    assert not mismatches, f"{len(mismatches)} mismatches, e.g.\n" + "\n".join(mismatches[:10])
    # Both sides of the boundary are exercised.
    assert 0.3 * N_CONFIGS < valid < 0.97 * N_CONFIGS, valid


@pytest.mark.parametrize(
    "layer",
    [
        nn.ReLU(),
        nn.LeakyReLU(0.1),
        nn.Sigmoid(),
        nn.Tanh(),
        nn.GELU(),
        nn.SiLU(),
        nn.ELU(),
        nn.Softmax(dim=1),
        nn.Dropout(0.5),
        nn.Dropout2d(0.2),
        nn.Identity(),
        nn.BatchNorm2d(3),
        nn.BatchNorm2d(3).eval(),
        nn.BatchNorm1d(3),
        nn.GroupNorm(1, 3),
        nn.PReLU(3),
    ],
    ids=repr,
)
def test_shape_preserving_layers_match_torch(layer: nn.Module) -> None:
    shapes = [(2, 3, 5, 4), (3, 5, 4), (1, 3, 1, 1), (2, 4, 5, 5), (2, 3), (1, 3), (2, 3, 7)]
    for shape in shapes:
        assert formula_result(layer, shape) == torch_result(layer, shape), (layer, shape)


def test_unknown_layer_is_refused_by_name() -> None:
    with pytest.raises(ShapeError, match="LSTM is not supported by the shape calculator"):
        output_shape(nn.LSTM(4, 4), (1, 4))
