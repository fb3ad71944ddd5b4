"""Seed 004's question, "224x224 with 5x5 kernels: how many layers to reach 4x4?"."""

from __future__ import annotations

import pytest
from torch import nn

from cnnlab.errors import ShapeError
from cnnlab.layer_stack import layers_to_reach


def test_seed_004_needs_55_layers_of_5x5_kernels() -> None:
    stack = layers_to_reach(nn.Conv2d(1, 1, 5, bias=False), (1, 1, 224, 224), 4)
    assert stack.reached and stack.layers == 55  # the note's answer, 55·5·5 weights
    assert stack.sizes[:3] == [(224, 224), (220, 220), (216, 216)] and stack.sizes[-1] == (4, 4)
    assert stack.text() == "224 → 220 → 216 → 212 → 208 → 204 → … → 24 → 20 → 16 → 12 → 8 → 4"


def test_stride_2_needs_far_fewer_layers() -> None:
    stack = layers_to_reach(nn.Conv2d(3, 3, 5, stride=2), (3, 224, 224), 4)
    assert stack.reached and [h for h, _ in stack.sizes] == [224, 110, 53, 25, 11, 4]


def test_a_layer_that_keeps_the_size_or_cannot_fit_stops_with_a_reason() -> None:
    same = layers_to_reach(nn.Conv2d(1, 1, 3, padding=1), (1, 1, 32, 32), 4)
    assert not same.reached and same.layers == 0 and "does not shrink" in same.reason
    past = layers_to_reach(nn.MaxPool2d(3), (1, 1, 10, 10), 1)  # 10 -> 3 -> 1
    assert past.reached and past.sizes == [(10, 10), (3, 3), (1, 1)]
    stuck = layers_to_reach(nn.Conv2d(1, 1, 5), (1, 1, 7, 7), 2)  # 7 -> 3, then 5 > 3
    assert (
        not stuck.reached
        and stuck.sizes == [(7, 7), (3, 3)]
        and "cannot be applied" in stuck.reason
    )
    with pytest.raises(ShapeError):
        layers_to_reach(nn.Conv2d(1, 1, 5), (1, 1, 7, 7), 0)
