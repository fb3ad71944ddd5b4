"""FLOPs from the shape arithmetic equal torch's FlopCounterMode, layer by layer, without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from cnnlab.models.custom import ALLOWED_LAYERS
from cnnlab.shapes.flops import ZERO_FLOP_LAYERS, counted_flops, formula_flops, layer_flops

REPO = Path(__file__).resolve().parents[2]

CASES = [
    (nn.Conv2d(3, 16, 5), (1, 3, 32, 32)),
    (nn.Conv2d(3, 16, 5), (3, 32, 32)),  # unbatched
    (nn.Conv2d(8, 16, 3, stride=2, padding=1, dilation=2, groups=4), (4, 8, 31, 29)),
    (nn.Conv2d(6, 6, (3, 1), padding="same", groups=6, bias=False), (2, 6, 9, 9)),
    (nn.Conv2d(3, 4, 3, padding=2, padding_mode="circular"), (1, 3, 8, 8)),
    (nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1), (2, 16, 7, 7)),
    (nn.ConvTranspose2d(8, 4, 3, stride=3, groups=2, output_padding=1), (1, 8, 5, 6)),
    (nn.Conv1d(4, 8, 3), (2, 4, 20)),
    (nn.Conv3d(2, 3, 2), (1, 2, 5, 5, 5)),
    (nn.Linear(400, 120), (1, 400)),
    (nn.Linear(400, 120), (7, 400)),
    (nn.Linear(16, 10, bias=False), (2, 3, 16)),
    (nn.BatchNorm2d(6), (2, 6, 8, 8)),
    (nn.MaxPool2d(2), (1, 6, 28, 28)),
    (nn.AdaptiveAvgPool2d(6), (1, 3, 13, 13)),
    (nn.GELU(), (1, 10)),
    (nn.Softmax(dim=1), (1, 10)),
    (nn.Flatten(), (1, 16, 5, 5)),
]


@pytest.mark.parametrize(("layer", "shape"), CASES, ids=lambda v: str(v)[:40])
def test_formula_matches_flop_counter_mode(layer: nn.Module, shape: tuple[int, ...]) -> None:
    out = tuple(layer(torch.zeros(shape)).shape)  # the real layer says what it gives
    formula = formula_flops(layer, shape, out)
    assert formula is not None
    assert formula == counted_flops(layer, shape)


def test_every_layer_a_custom_network_may_use_has_a_formula() -> None:
    for name, cls in ALLOWED_LAYERS.items():
        if name != "Sequential":
            assert issubclass(cls, (*ZERO_FLOP_LAYERS, nn.Conv2d, nn.ConvTranspose2d, nn.Linear))


def test_other_layers_fall_back_to_flop_counter_mode() -> None:
    attention = nn.Bilinear(4, 4, 2)  # no formula: counted on the meta device
    assert formula_flops(attention, (1, 4), (1, 2)) is None
    assert layer_flops(attention, (1, 4), (1, 2)) == counted_flops(attention, (1, 4))


def test_tracing_a_preset_does_not_load_the_flop_counter() -> None:
    """The ledger of every preset is built without importing torch's FlopCounterMode."""
    code = (
        "import sys\n"
        "from cnnlab import models\n"
        "from cnnlab.shapes import trace\n"
        "for name in models.list_models():\n"
        "    info = models.model_info(name)\n"
        "    ledger = trace(models.build(name), (1, *info.native_input))\n"
        "    assert ledger.error is None and ledger.totals, name\n"
        "print('torch.utils.flop_counter' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
