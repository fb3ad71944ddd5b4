"""The ledger agrees with real torch: every preset, and ~50 random custom networks.

Real forward passes with forward hooks give the truth; the ledger (computed from the
formulas, no layer run) must give the same output shape for every layer, the same
parameter total, and must flag exactly the networks torch refuses.
"""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from cnnlab.models import build, list_models, model_info, parse_sequential
from cnnlab.shapes import trace


def forward_shapes(model: nn.Module, shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Output shape (without the batch) of every leaf layer in a real forward pass."""
    seen: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, module in model.named_modules():
        if list(module.children()):
            continue

        def hook(
            _module: nn.Module, _inputs: tuple, output: torch.Tensor, name: str = name
        ) -> None:
            seen[name] = tuple(output.shape[1:])

        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(2, *shape))  # [2, C, H, W]: batch 2 for BatchNorm1d
    finally:
        for handle in handles:
            handle.remove()
    return seen


def ledger_shapes(ledger) -> dict[str, tuple[int, ...]]:
    """Per-layer output shapes of a ledger traced on a batch of 1, without the batch."""
    return {row.name: tuple(row.output_shape[1:]) for row in ledger.rows}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


PRESET_CASES = [(name, {}) for name in list_models()] + [
    ("lenet5", {"batchnorm": True, "dropout": 0.2, "width": 1.5, "activation": "tanh"}),
    ("seq_cifar", {"activation": "relu", "batchnorm": True}),
    ("airbench", {"width": 0.5, "batchnorm": False}),
]


@pytest.mark.parametrize(("name", "options"), PRESET_CASES)
def test_ledger_of_every_preset_matches_a_real_forward_pass(name: str, options: dict) -> None:
    model = build(name, **options)
    shape = model_info(name).native_input
    ledger = trace(model, (1, *shape))
    assert ledger.error is None
    assert ledger_shapes(ledger) == forward_shapes(model, shape)
    assert ledger.totals.params == n_params(model)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 40, 36)])
def test_ledger_of_adapted_presets_matches_a_real_forward_pass(shape: tuple[int, int, int]) -> None:
    for name in list_models():
        model = build(name, in_channels=shape[0], input_size=shape[1:])
        ledger = trace(model, (1, *shape))
        assert ledger.error is None, name
        assert ledger_shapes(ledger) == forward_shapes(model, shape), name
        assert ledger.totals.params == n_params(model), name


ACTIVATIONS = ["nn.ReLU()", "nn.LeakyReLU(0.1)", "nn.GELU()", "nn.Tanh()", "nn.SiLU()", "nn.ELU()"]


def random_network(rng: random.Random) -> tuple[str, tuple[int, int, int]]:
    """Source text of a random Sequential and its input shape; about 1 in 5 is broken.

    Shapes are tracked with plain arithmetic only to keep most networks valid; whether a
    network really is valid is decided by torch in the test, never by this generator.
    """
    c, h, w = rng.choice([1, 3]), rng.randint(8, 40), rng.randint(8, 40)
    shape = (c, h, w)
    lines: list[str] = []
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(["conv", "conv", "pool", "avg", "act", "bn", "drop", "tconv", "adaptive"])
        if kind in ("conv", "tconv"):
            k, s = rng.choice([1, 2, 3, 5]), rng.choice([1, 1, 2])
            p = rng.randint(0, k // 2)
            groups = rng.choice([1, 1, c]) if kind == "conv" else 1
            out = groups * rng.randint(1, 4) if groups > 1 else rng.choice([4, 8, 16])
            if kind == "conv":
                d = rng.choice([1, 1, 2])
                lines.append(
                    f"nn.Conv2d({c}, {out}, {k}, stride={s}, padding={p}, dilation={d}, groups={groups})"
                )
                span = d * (k - 1) + 1
                h, w = (h + 2 * p - span) // s + 1, (w + 2 * p - span) // s + 1
            else:
                op = rng.randint(0, s - 1)
                lines.append(
                    f"nn.ConvTranspose2d({c}, {out}, {k}, stride={s}, padding={p}, output_padding={op})"
                )
                h, w = (h - 1) * s - 2 * p + k + op, (w - 1) * s - 2 * p + k + op
            c = out
        elif kind in ("pool", "avg"):
            k = rng.choice([2, 2, 3])
            s = rng.choice([None, 1, 2])
            ceil = rng.random() < 0.4
            p = rng.randint(0, k // 2)
            layer = "MaxPool2d" if kind == "pool" else "AvgPool2d"
            stride = "" if s is None else f", stride={s}"
            lines.append(f"nn.{layer}({k}{stride}, padding={p}, ceil_mode={ceil})")
            s = s or k
            h = -(-(h + 2 * p - k) // s) + 1 if ceil else (h + 2 * p - k) // s + 1
            w = -(-(w + 2 * p - k) // s) + 1 if ceil else (w + 2 * p - k) // s + 1
        elif kind == "act":
            lines.append(rng.choice(ACTIVATIONS))
        elif kind == "bn":
            lines.append(f"nn.BatchNorm2d({c})")
        elif kind == "drop":
            lines.append("nn.Dropout2d(0.1)")
        else:
            o = rng.randint(1, 4)
            lines.append(f"nn.AdaptiveAvgPool2d({o})")
            h = w = o
        if min(h, w) < 1:
            break
    lines.append("nn.Flatten()")
    flat = c * max(h, 1) * max(w, 1)
    wrong = rng.random() < 0.2
    lines.append(f"nn.Linear({flat + rng.choice([-1, 7]) if wrong else flat}, 32)")
    if rng.random() < 0.5:
        lines += [rng.choice(ACTIVATIONS), "nn.Dropout(0.2)", "nn.BatchNorm1d(32)"]
    lines.append("nn.Linear(32, 10)")
    source = "nn.Sequential(\n" + "".join(f"    {line},\n" for line in lines) + ")"
    return source, shape


def test_ledger_matches_torch_on_random_custom_networks() -> None:
    rng = random.Random(20240601)
    valid = broken = 0
    for _ in range(50):
        source, shape = random_network(rng)
        model = parse_sequential(source)
        ledger = trace(model, (1, *shape))
        try:
            truth = forward_shapes(model, shape)
        except RuntimeError:
            broken += 1
            assert ledger.error is not None, source
            continue
        valid += 1
        assert ledger.error is None, f"{source}\n{ledger.error}"
        assert ledger_shapes(ledger) == truth, source
        assert ledger.totals.params == n_params(model), source
    assert valid >= 25 and broken >= 5  # both directions really exercised


def test_the_broken_example_is_diagnosed_at_the_linear_with_the_fix() -> None:
    model = parse_sequential(
        "nn.Sequential(nn.Conv2d(3, 32, 5, padding=2), nn.MaxPool2d(2),"
        " nn.Conv2d(32, 32, 5, padding=2), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2),"
        " nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.Linear(120, 10))"
    )
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        model(torch.zeros(1, 3, 32, 32))
    ledger = trace(model, (1, 3, 32, 32))
    assert ledger.error is not None
    message = str(ledger.error)
    assert "400" in message and "1024" in message and "nn.Linear(1024, 120)" in message
