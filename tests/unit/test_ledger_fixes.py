"""Every fix the ledger suggests as a layer keeps the layer's other arguments: applying it
(parse the replacement, put it in the broken layer's place) gives a network that traces
(issue 9: `Conv2d(16, 64, 5, padding=2)` was 'fixed' to `nn.Conv2d(32, 64, kernel_size=5)`,
which broke the next layer)."""

from __future__ import annotations

import pytest
from torch import nn

from cnnlab import models
from cnnlab.shapes import trace

# (name, network source, input shape, the replacement expected, output shape after the fix)
PARSED = [
    (
        "conv channels",
        "nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), "
        "nn.Conv2d(16, 64, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(64*32*32, 10))",
        (1, 3, 32, 32),
        ("nn.Conv2d(32, 64, 5, padding=2)",),
        (1, 10),
    ),
    (
        "transposed conv channels",
        "nn.Sequential(nn.Conv2d(3, 8, 3), nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, "
        "output_padding=1), nn.Flatten(), nn.Linear(3*60*60, 10))",
        (1, 3, 32, 32),
        ("nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1, output_padding=1)",),
        (1, 10),
    ),
    (
        "Linear after Flatten",
        "nn.Sequential(nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False), nn.Flatten(), "
        "nn.Linear(400, 120, bias=False), nn.ReLU(), nn.Linear(120, 10))",
        (1, 3, 32, 32),
        ("nn.Linear(16384, 120, bias=False)",),
        (1, 10),
    ),
    (
        "Linear on a feature map",
        "nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(100, 10, bias=False))",
        (1, 3, 32, 32),
        ("nn.Flatten()", "nn.Linear(3600, 10, bias=False)"),
        (1, 10),
    ),
    (
        "Linear after Linear",
        "nn.Sequential(nn.Flatten(), nn.Linear(3072, 50), nn.ReLU(), nn.Linear(40, 10, bias=False))",
        (1, 3, 32, 32),
        ("nn.Linear(50, 10, bias=False)",),
        (1, 10),
    ),
    (
        "BatchNorm2d channels",
        "nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(8, eps=1e-3, momentum=0.05, "
        "affine=False), nn.ReLU())",
        (1, 3, 32, 32),
        ("nn.BatchNorm2d(16, eps=0.001, momentum=0.05, affine=False)",),
        (1, 16, 30, 30),
    ),
    (
        "BatchNorm1d features",
        "nn.Sequential(nn.Flatten(), nn.Linear(3072, 20), nn.BatchNorm1d(10, eps=1e-3), "
        "nn.Linear(20, 10))",
        (1, 3, 32, 32),
        ("nn.BatchNorm1d(20, eps=0.001)",),
        (1, 10),
    ),
    (
        "reflect padding larger than the input",
        "nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.Conv2d(8, 8, 3, padding=20, "
        "padding_mode='reflect', bias=False))",
        (1, 3, 32, 32),
        ('nn.Conv2d(8, 8, 3, padding=20, bias=False, padding_mode="replicate")',),
        (1, 8, 53, 53),
    ),
    (
        "output_padding too large",
        "nn.Sequential(nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=(2, 1)))",
        (1, 3, 8, 8),
        ("nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1)",),
        (1, 4, 18, 18),
    ),
    (
        "pool padding over half the kernel",
        "nn.Sequential(nn.MaxPool2d(3, stride=1, padding=2, ceil_mode=True))",
        (1, 3, 8, 8),
        ("nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True)",),
        (1, 3, 8, 8),
    ),
]

# Layers the custom parser does not offer: built here, replacements read with eval.
BUILT = [
    (
        "GroupNorm channels",
        lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(4, 16, eps=1e-3)),
        (1, 3, 32, 32),
        ("nn.GroupNorm(4, 8, eps=0.001)",),
        (1, 8, 30, 30),
    ),
    (
        "LayerNorm shape",
        lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.LayerNorm([8, 31, 31], bias=False)),
        (1, 3, 32, 32),
        ("nn.LayerNorm((8, 30, 30), bias=False)",),
        (1, 8, 30, 30),
    ),
    (
        "PReLU slopes",
        lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.PReLU(4, init=0.1)),
        (1, 3, 32, 32),
        ("nn.PReLU(num_parameters=8, init=0.1)",),
        (1, 8, 30, 30),
    ),
]


def apply_fix(model: nn.Module, layer: str, layers: list[nn.Module]) -> None:
    """Put ``layers`` where the leaf ``layer`` is (a nested Sequential when there are two)."""
    parent_name, _, child = layer.rpartition(".")
    parent = model.get_submodule(parent_name)
    setattr(parent, child, layers[0] if len(layers) == 1 else nn.Sequential(*layers))


def check(model: nn.Module, shape, expected: tuple[str, ...], output, read) -> None:
    ledger = trace(model, shape)
    assert ledger.error is not None
    assert ledger.error.replacement == expected
    assert all(code in ledger.error.fix for code in expected[-1:])  # the sentence shows it
    apply_fix(model, ledger.error.layer, [read(code) for code in ledger.error.replacement])
    fixed = trace(model, shape)
    assert fixed.error is None, fixed.error
    assert fixed.output_shape == output


@pytest.mark.parametrize(
    ("source", "shape", "expected", "output"), [c[1:] for c in PARSED], ids=[c[0] for c in PARSED]
)
def test_each_suggested_layer_fixes_the_network(source, shape, expected, output) -> None:
    def read(code: str) -> nn.Module:
        return models.parse_sequential(f"nn.Sequential({code})")[0]

    check(models.parse_sequential(source), shape, expected, output, read)


@pytest.mark.parametrize(
    ("make", "shape", "expected", "output"), [c[1:] for c in BUILT], ids=[c[0] for c in BUILT]
)
def test_norm_layers_outside_the_parser_are_fixed_too(make, shape, expected, output) -> None:
    check(make(), shape, expected, output, lambda code: eval(code, {"nn": nn}))


def test_issue_example_keeps_padding_and_the_next_layer_still_fits() -> None:
    source = (
        "nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 64, 5, padding=2), "
        "nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64*16*16, 10))"
    )
    error = trace(models.parse_sequential(source), (1, 3, 32, 32)).error
    assert error is not None
    assert error.fix == "use nn.Conv2d(32, 64, 5, padding=2) or give it 16 channels"
