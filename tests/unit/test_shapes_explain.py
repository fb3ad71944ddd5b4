"""explain(): the seeds' worked numbers, as formulas a learner can check by hand."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from cnnlab.errors import ShapeError
from cnnlab.shapes import explain, output_shape

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def real_shape(layer: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...]:
    with torch.no_grad():
        return tuple(layer(torch.zeros(shape)).shape)


def test_conv_3_16_5_on_32x32_reads_like_the_seed() -> None:
    e = explain(nn.Conv2d(3, 16, 5), (1, 3, 32, 32))
    assert e.output_shape == (1, 16, 28, 28) == real_shape(nn.Conv2d(3, 16, 5), (1, 3, 32, 32))
    assert e.layer_name == "Conv2d"
    h, w = e.dims
    assert (h.axis, w.axis) == ("H", "W")
    # ⌊(32 + 2·0 − 5)/1⌋ + 1 = 28
    assert h.substituted == r"\left\lfloor \frac{32 + 2\cdot 0 - 5}{1} \right\rfloor + 1"
    assert h.symbolic == r"\left\lfloor \frac{H_{in} + 2P - K}{S} \right\rfloor + 1"
    assert h.latex.endswith(h.substituted + " = 28")
    assert (h.numerator, h.denominator, h.rounding, h.result) == (27, 1, "floor", 28)
    assert h.dropped is None
    assert e.params == 1216 == sum(p.numel() for p in nn.Conv2d(3, 16, 5).parameters())
    assert e.params_latex == r"16\cdot 5\cdot 5\cdot 3 + 16 = 1216"


def test_dilation_uses_the_general_formula_with_the_same_number() -> None:
    layer = nn.Conv2d(1, 1, 3, dilation=2, padding=1, stride=2)
    h = explain(layer, (1, 1, 11, 11)).dims[0]
    assert h.symbolic == r"\left\lfloor \frac{H_{in} + 2P - D(K-1) - 1}{S} \right\rfloor + 1"
    assert (
        h.substituted
        == r"\left\lfloor \frac{11 + 2\cdot 1 - 2\cdot (3-1) - 1}{2} \right\rfloor + 1"
    )
    assert (h.numerator, h.denominator) == (8, 2)
    assert h.result == 5 == real_shape(layer, (1, 1, 11, 11))[2]


def test_seed_002_conv_3_6_3_on_a_batch_of_64() -> None:
    layer = nn.Conv2d(3, 6, 3)
    e = explain(layer, (64, 3, 32, 32))
    assert e.output_shape == (64, 6, 30, 30) == real_shape(layer, (64, 3, 32, 32))
    assert e.params_latex == r"6\cdot 3\cdot 3\cdot 3 + 6 = 168"


@pytest.mark.parametrize(("ceil", "size"), [(True, 2), (False, 1)])
def test_maxpool3_on_5x5_with_and_without_ceil_mode(ceil: bool, size: int) -> None:
    layer = nn.MaxPool2d(3, ceil_mode=ceil)
    e = explain(layer, (1, 1, 5, 5))
    assert e.output_shape == (1, 1, size, size) == real_shape(layer, (1, 1, 5, 5))
    h = e.dims[0]
    assert (h.numerator, h.denominator, h.rounding) == (2, 3, "ceil" if ceil else "floor")
    assert e.params == 0
    if ceil:
        assert r"\left\lceil" in h.latex
        assert "partial" in h.dropped and "2 of its 3 rows" in h.dropped
    else:
        assert r"\left\lfloor" in h.latex
        assert h.dropped.startswith("floor drops the last 2 rows (rows 3-4)")
        assert "columns 3-4" in e.dims[1].dropped


def test_ceil_window_starting_in_the_padding_is_dropped_and_said() -> None:
    # (5 + 2·1 − 2)/2 = 5/2 -> ⌈⌉ + 1 = 4 windows, but the 4th starts at padded row 6,
    # which is the right padding: torch drops it and returns 3.
    layer = nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True)
    e = explain(layer, (1, 1, 5, 5))
    assert e.output_shape == real_shape(layer, (1, 1, 5, 5)) == (1, 1, 3, 3)
    h = e.dims[0]
    assert (h.numerator, h.denominator) == (5, 2)
    assert h.substituted.endswith("+ 1 - 1") and h.latex.endswith("+ 1 - 1 = 3")
    assert "row 5, inside the padding" in h.dropped


def test_seed_004_layers_of_5x5_to_reach_4x4_from_224() -> None:
    text = next(SEEDS.glob("004_*.txt")).read_text(encoding="utf-8")
    question = re.search(r"给定输入大小(\d+)\*\d+,在使用(\d+)\*\d+卷积核.*?降到(\d+)\*\d+", text)
    answer = re.search(r"答:(\d+)次", text)
    assert question and answer, "the seed's question moved"
    size, kernel, target = map(int, question.groups())
    assert (size, kernel, target) == (224, 5, 4)
    layer = nn.Conv2d(1, 1, kernel)
    shape, layers = (1, 1, size, size), 0
    while shape[-1] > target:
        e = explain(layer, shape)
        assert e.dims[0].result == shape[-1] - (kernel - 1)
        shape, layers = e.output_shape, layers + 1
    assert shape[-2:] == (target, target)
    assert layers == int(answer.group(1)) == 55
    with pytest.raises(ShapeError, match="needs at least 5 input rows"):
        for _ in range(2):
            shape = output_shape(layer, shape)


@pytest.mark.parametrize("k", [1, 3, 5, 7])
@pytest.mark.parametrize("size", [5, 28, 32])
def test_padding_k_minus_1_over_2_keeps_the_size(k: int, size: int) -> None:
    layer = nn.Conv2d(1, 1, k, padding=(k - 1) // 2)
    e = explain(layer, (1, size, size))
    assert e.output_shape == (1, size, size) == real_shape(layer, (1, size, size))
    assert e.dims[0].numerator == size - 1


def test_groups_parameter_count_and_note() -> None:
    layer = nn.Conv2d(16, 32, 3, groups=2)
    e = explain(layer, (1, 16, 8, 8))
    assert e.params == sum(p.numel() for p in layer.parameters()) == 32 * 3 * 3 * 8 + 32
    assert e.params_latex == r"32\cdot 3\cdot 3\cdot 8 + 32 = 2336"
    assert e.note == "groups=2: outputs 0-15 see inputs 0-7, outputs 16-31 see inputs 8-15"
    depthwise = explain(nn.Conv2d(8, 8, 3, groups=8, bias=False), (8, 5, 5))
    assert (
        "depthwise" in depthwise.note and depthwise.params_latex == r"8\cdot 3\cdot 3\cdot 1 = 72"
    )


def test_transposed_convolution() -> None:
    layer = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
    e = explain(layer, (1, 8, 16, 16))
    assert e.output_shape == (1, 4, 32, 32) == real_shape(layer, (1, 8, 16, 16))
    h = e.dims[0]
    assert h.substituted == r"(16 - 1)\cdot 2 - 2\cdot 1 + 1\cdot (3-1) + 1 + 1"
    assert h.rounding is None and h.result == 32
    assert e.params_latex == r"8\cdot 4\cdot 3\cdot 3 + 4 = 292"


def test_flatten_linear_and_shape_preserving() -> None:
    f = explain(nn.Flatten(), (1, 64, 4, 4))
    assert f.output_shape == (1, 1024)
    assert f.dims[0].latex == r"C\cdot H\cdot W = 64\cdot 4\cdot 4 = 1024"
    lin = explain(nn.Linear(1024, 64), (1, 1024))
    assert lin.output_shape == (1, 64) and lin.params == 65600
    assert lin.params_latex == r"64\cdot 1024 + 64 = 65600"
    relu = explain(nn.ReLU(), (1, 6, 28, 28))
    assert (
        relu.dims == () and relu.output_shape == (1, 6, 28, 28) and "keeps the shape" in relu.note
    )
    bn = explain(nn.BatchNorm2d(6), (2, 6, 4, 4))
    assert bn.params == 12 and bn.params_latex == r"2\cdot 6 = 12"
    pool = explain(nn.AdaptiveAvgPool2d((None, 1)), (1, 3, 7, 9))
    assert pool.output_shape == (1, 3, 7, 1) and [d.result for d in pool.dims] == [7, 1]


@pytest.mark.parametrize(
    ("layer", "shape", "message"),
    [
        (nn.Conv2d(1, 1, 7), (1, 1, 5, 9), "kernel 7 with dilation 1 needs at least 7 input rows after padding; the input has 5"),
        (nn.Conv2d(3, 8, 3), (1, 4, 8, 8), "expects 3 input channels but receives 4"),
        (nn.Linear(400, 120), (1, 1024), "Linear expects 400 inputs but receives 1024: use nn.Linear(1024, 120)"),
        (nn.Linear(400, 120), (1, 64, 4, 4), "add nn.Flatten() before it and use nn.Linear(1024, 120)"),
        (nn.BatchNorm2d(16), (2, 6, 4, 4), "BatchNorm2d expects 16 channels but receives 6"),
        (nn.MaxPool2d(3, padding=2), (1, 1, 8, 8), "padding 2 is more than half the kernel 3"),
        (nn.Conv2d(1, 1, 3, padding=3, padding_mode="reflect"), (1, 1, 3, 8), "smaller than the input"),
        (nn.Conv2d(1, 1, 3, padding=4, padding_mode="circular"), (1, 1, 3, 8), "wrap around only once"),
        (nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2), (1, 1, 4, 4), "output_padding 2 must be smaller than the stride (2) or the dilation (1)"),
        (nn.Conv2d(1, 1, 3), (5, 5), "expects a 3-D (C, H, W) or 4-D (N, C, H, W) input but got 2-D"),
        (nn.BatchNorm2d(3), (3, 5, 5), "4-D"),
    ],
)  # fmt: skip
def test_refusals_say_what_to_change(
    layer: nn.Module, shape: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ShapeError) as info:
        explain(layer, shape)
    assert message in str(info.value)
    assert info.value.fix and str(info.value).endswith(info.value.fix)
    with pytest.raises((RuntimeError, ValueError)), torch.no_grad():
        layer(torch.zeros(shape))  # and torch refuses it too


def test_same_with_stride_and_groups_changed_after_construction() -> None:
    layer = nn.Conv2d(4, 4, 3, padding="same")
    layer.stride = (2, 2)
    with pytest.raises(ShapeError, match="padding='same' only works with stride 1"):
        output_shape(layer, (1, 4, 8, 8))
    layer = nn.Conv2d(4, 6, 3)
    layer.groups = 4
    with pytest.raises(ShapeError, match="groups=4 must divide both"):
        output_shape(layer, (1, 4, 8, 8))
