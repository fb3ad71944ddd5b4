"""Receptive fields checked against gradients of real layer stacks.

With all-positive weights nothing cancels, so the input pixels with a nonzero
gradient of out[y, x] are exactly the pixels that output pixel sees. MaxPool2d
routes its gradient to one pixel only, so for the gradient we swap it for a layer
with the same windows (AvgPool2d, or a depthwise all-ones conv when dilated);
the receptive field is computed from the MaxPool2d itself.
"""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from cnnlab.errors import ShapeError
from cnnlab.shapes import input_region, output_shape, receptive_fields
from cnnlab.shapes.receptive import AxisRF


def random_layer(r: random.Random) -> tuple[nn.Module, nn.Module]:
    """(layer for the receptive field, layer with the same windows for the gradient)."""
    k = (r.randint(1, 4), r.randint(1, 4))
    kind = r.choice(["conv", "conv", "avg", "max"])
    if kind == "conv":
        padding = r.choice([0, 1, 2, "same"])
        stride = (1, 1) if padding == "same" else (r.randint(1, 3), r.randint(1, 3))
        dilation = (r.randint(1, 2), r.randint(1, 2))
        layer = nn.Conv2d(1, 1, k, stride, padding, dilation, bias=False)
        with torch.no_grad():
            layer.weight.uniform_(0.5, 1.5)  # positive: nothing cancels
        return layer, layer
    stride = (r.randint(1, 3), r.randint(1, 3))
    padding = (r.randint(0, k[0] // 2), r.randint(0, k[1] // 2))
    ceil = r.random() < 0.4
    if kind == "avg":
        layer = nn.AvgPool2d(k, stride, padding, ceil_mode=ceil)
        return layer, layer
    dilation = (1, 1) if ceil else (r.randint(1, 2), r.randint(1, 2))
    layer = nn.MaxPool2d(k, stride, padding, dilation=dilation, ceil_mode=ceil)
    if dilation == (1, 1):
        return layer, nn.AvgPool2d(k, stride, padding, ceil_mode=ceil)
    twin = nn.Conv2d(1, 1, k, stride, padding, dilation=dilation, bias=False)
    nn.init.ones_(twin.weight)
    return layer, twin


def random_stack(r: random.Random, hw: tuple[int, int]) -> tuple[list[nn.Module], list[nn.Module]]:
    while True:
        pairs = [random_layer(r) for _ in range(r.randint(1, 5))]
        if r.random() < 0.3:
            pairs.insert(r.randrange(len(pairs) + 1), (nn.ReLU(), nn.Identity()))
        layers = [p[0] for p in pairs]
        shape: tuple[int, ...] = (1, 1, *hw)
        try:
            for layer in layers:
                shape = output_shape(layer, shape)
        except ShapeError:
            continue
        return layers, [p[1] for p in pairs]


def gradient_box(twins: list[nn.Module], hw: tuple[int, int], y: int, x: int):
    image = torch.ones(1, 1, *hw, dtype=torch.float64, requires_grad=True)  # [1, 1, H, W]
    out = nn.Sequential(*twins).double()(image)  # [1, 1, h, w]
    (grad,) = torch.autograd.grad(out[0, 0, y, x], image)
    rows, cols = torch.nonzero(grad[0, 0], as_tuple=True)
    if len(rows) == 0:
        return None, out.shape[-2:]
    return (rows.min().item(), cols.min().item(), rows.max().item(), cols.max().item()), out.shape[
        -2:
    ]


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_input_region_equals_gradient_support_on_random_stacks() -> None:
    torch.manual_seed(0)
    r = random.Random(3)
    checked = interior = 0
    for _ in range(150):
        hw = (r.randint(6, 24), r.randint(6, 24))
        layers, twins = random_stack(r, hw)
        rf = receptive_fields(layers, (1, 1, *hw))[-1]
        assert rf is not None
        out_h, out_w = gradient_box(twins, hw, 0, 0)[1]
        for _ in range(4):
            y, x = r.randrange(out_h), r.randrange(out_w)
            expected, _ = gradient_box(twins, hw, y, x)
            region = input_region(rf, y, x, hw)
            assert region == expected, (layers, hw, (y, x))
            checked += 1
            # The recurrences: the box lies inside the window start + i*jump ± (size-1)/2,
            # and equals it whenever that window lies inside the image.
            box = []
            for a, i, n in ((rf.h, y, hw[0]), (rf.w, x, hw[1])):
                centre = a.start + i * a.jump
                box.append((centre - (a.size - 1) / 2, centre + (a.size - 1) / 2, n))
            if region is not None:
                (t, b, _), (le, ri, _) = box
                assert t <= region[0] and b >= region[2] and le <= region[1] and ri >= region[3]
            if all(lo >= 0 and hi <= n - 1 for lo, hi, n in box):
                assert region == (box[0][0], box[1][0], box[0][1], box[1][1]), (layers, hw, (y, x))
                interior += 1
    assert checked == 600 and interior > 100


def test_seed_001_cifar_stack() -> None:
    layers = [
        nn.Conv2d(3, 32, 5, padding=2),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 5, padding=2),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1024, 64),
    ]
    rfs = receptive_fields(layers, (1, 3, 32, 32))
    sizes = [(rf.h.size, rf.h.jump, rf.h.start) for rf in rfs[:6]]
    assert sizes == [
        (5, 1, 0.0),
        (6, 2, 0.5),
        (14, 2, 0.5),
        (16, 4, 1.5),
        (32, 4, 1.5),
        (36, 8, 3.5),
    ]
    assert rfs[6] is None and rfs[7] is None  # after Flatten every output sees everything
    # last 4x4 map: pixel (0, 0) sees rows -14..21, clipped to 0..21; pixel (3, 3) sees 10..31
    assert input_region(rfs[5], 0, 0, (32, 32)) == (0, 0, 21, 21)
    assert input_region(rfs[5], 3, 3, (32, 32)) == (10, 10, 31, 31)
    with pytest.raises(ShapeError):
        input_region(rfs[5], 4, 0, (32, 32))


def test_adaptive_transposed_and_padding_only_pixels() -> None:
    rfs = receptive_fields([nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(1)], (1, 1, 10, 10))
    assert rfs[1].h == AxisRF(size=10, jump=8, start=4.5)  # global pooling sees the whole 10x10
    rfs = receptive_fields([nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(3)], (1, 1, 10, 10))
    assert rfs[1] is None  # 8 rows into 3 windows of uneven size
    rfs = receptive_fields([nn.ConvTranspose2d(1, 1, 3), nn.Conv2d(1, 1, 3)], (1, 1, 5, 5))
    assert rfs == [None, None]
    rf = receptive_fields([nn.Conv2d(1, 1, 1, padding=2)], (1, 1, 4, 4))[0]
    assert input_region(rf, 0, 0, (4, 4)) is None  # a corner that only sees zero padding
    assert input_region(rf, 2, 3, (4, 4)) == (0, 1, 0, 1)
