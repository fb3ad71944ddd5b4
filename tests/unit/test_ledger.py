"""trace(): the layer ledger on the seeds' networks, broken ones and a residual model."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from cnnlab.shapes import Ledger, trace


def seq_cifar(linear_in: int = 1024) -> nn.Sequential:
    """Seed 001's CIFAR-10 Sequential net (no activations, as in the seed)."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 5, padding=2),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 5, padding=2),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(linear_in, 64 if linear_in == 1024 else 120),
        nn.Linear(64, 10),
    )


def real_shapes(model: nn.Module, shape: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    """(leaf name, output shape) in forward order from a real pass with hooks."""
    seen: list[tuple[str, tuple[int, ...]]] = []
    names = {id(m): n for n, m in model.named_modules()}
    hooks = [
        m.register_forward_hook(lambda m, a, o: seen.append((names[id(m)], tuple(o.shape))))
        for m in model.modules()
        if not list(m.children())
    ]
    with torch.no_grad():
        model.eval()(torch.randn(shape))
    for h in hooks:
        h.remove()
    return seen


def assert_matches_forward(ledger: Ledger, model: nn.Module, shape: tuple[int, ...]) -> None:
    assert ledger.error is None
    assert [(r.name, r.output_shape) for r in ledger.rows] == real_shapes(model, shape)
    assert ledger.totals.params == sum(p.numel() for p in model.parameters())
    assert sum(r.params for r in ledger.rows) == ledger.totals.params


def test_seed_001_shape_table_and_parameter_count() -> None:
    model = seq_cifar()
    ledger = trace(model, (64, 3, 32, 32))
    assert ledger.method == "formulas"
    # The seed's table: [64,32,32,32] [64,32,16,16] ... [64,1024] [64,64] [64,10]
    assert [r.output_shape for r in ledger.rows] == [
        (64, 32, 32, 32),
        (64, 32, 16, 16),
        (64, 32, 16, 16),
        (64, 32, 8, 8),
        (64, 64, 8, 8),
        (64, 64, 4, 4),
        (64, 1024),
        (64, 64),
        (64, 10),
    ]
    assert ledger.totals.params == 145_578
    assert_matches_forward(trace(model, (2, 3, 32, 32)), model, (2, 3, 32, 32))
    conv1 = ledger.rows[0]
    assert conv1.formula is not None and conv1.formula.dims[0].result == 32
    assert conv1.formula.params_latex == r"32\cdot 5\cdot 5\cdot 3 + 32 = 2432"
    # FLOPs per image from torch's counter: 2 * 32*32*32 outputs * 5*5*3 MACs each
    assert conv1.flops == 2 * 32 * 32 * 32 * 75 and conv1.macs == 32 * 32 * 32 * 75
    assert conv1.activation_bytes == 4 * 32 * 32 * 32
    assert ledger.rows[7].flops == 2 * 1024 * 64
    assert ledger.totals.flops == sum(r.flops for r in ledger.rows)
    assert ledger.totals.macs * 2 == ledger.totals.flops
    rf = ledger.rows[5].receptive_field
    assert (rf.h.size, rf.h.jump, rf.h.start) == (36, 8, 3.5)
    table = ledger.to_rows()
    assert len(table) == len(ledger.rows) + 1 and table[-1]["params"] == "145,578"
    assert table[0]["output"] == "64×32×32×32" and table[0]["activations"] == "128 KiB"
    assert table[0]["FLOPs"] == "4.9 MFLOPs"
    assert table[0]["formula"] == "H_out, W_out = ⌊(32 + 2·2 − 5)/1⌋ + 1 = 32"


def test_mismatched_linear_is_diagnosed_with_the_fix() -> None:
    ledger = trace(seq_cifar(linear_in=400), (1, 3, 32, 32))
    error = ledger.error
    assert error is not None and error.row == 7 and error.layer == "7"
    assert (
        str(error)
        == "Linear expects 400 inputs but receives 1024 = 64x4x4: use nn.Linear(1024, 120)"
    )
    assert error.fix == "use nn.Linear(1024, 120)"
    assert len(ledger.rows) == 8 and ledger.rows[-1].output_shape is None
    assert ledger.rows[6].output_shape == (1, 1024)
    # torch agrees that this network is broken
    try:
        seq_cifar(linear_in=400)(torch.zeros(1, 3, 32, 32))
    except RuntimeError:
        pass
    else:
        raise AssertionError("torch ran a network the ledger calls broken")


def test_linear_without_flatten_says_add_flatten() -> None:
    model = nn.Sequential(nn.Conv2d(3, 64, 5, padding=2), nn.MaxPool2d(8), nn.Linear(400, 120))
    error = trace(model, (1, 3, 32, 32)).error
    assert error is not None and error.row == 2
    assert error.fix == "add nn.Flatten() before it and use nn.Linear(1024, 120)"


def test_lenet_with_a_custom_forward_is_traced_and_its_view_error_named() -> None:
    class LeNet(nn.Module):  # seed 003
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.pool = nn.Conv2d(3, 6, 5), nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1, self.fc2, self.fc3 = (
                nn.Linear(400, 120),
                nn.Linear(120, 84),
                nn.Linear(84, 10),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.pool(torch.relu(self.conv1(x)))  # [N, 6, 14, 14]
            x = self.pool(torch.relu(self.conv2(x)))  # [N, 16, 5, 5]
            x = x.view(-1, 16 * 5 * 5)
            return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))

    model = LeNet()
    ledger = trace(model, (4, 3, 32, 32))
    assert ledger.method == "forward hooks" and ledger.totals.params == 62_006
    assert_matches_forward(ledger, model, (1, 3, 32, 32))
    assert [r.name for r in ledger.rows][:4] == ["conv1", "pool", "conv2", "pool"]
    assert ledger.rows[3].params == 0 and "called again" in ledger.rows[3].notes[-1]
    # On MNIST-sized colour input the view breaks between layers: named and explained.
    error = trace(model, (1, 3, 28, 28)).error
    assert error is not None and error.layer == "forward() after pool"
    assert "invalid for input of size 256" in error.message and "(1, 16, 4, 4)" in error.fix
    # On 1-channel input conv1 itself breaks.
    error = trace(model, (1, 1, 28, 28)).error
    assert error is not None and error.layer == "conv1" and error.row == 0
    assert error.fix == "use nn.Conv2d(1, 6, 5) or give it 3 channels"  # every argument kept


def test_ceil_mode_and_floor_notes() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.MaxPool2d(2, ceil_mode=True), nn.MaxPool2d(2))
    ledger = trace(model, (1, 1, 8, 8))  # 6x6 -> 3x3 -> 1x1
    assert_matches_forward(ledger, model, (1, 1, 8, 8))
    assert ledger.rows[1].output_shape == (1, 4, 3, 3)
    assert "ceil_mode keeps a partial window (rows and columns)" not in ledger.rows[1].notes
    assert ledger.rows[2].notes == ("floor drops the last 1 row and 1 column",)
    ledger = trace(nn.Sequential(nn.MaxPool2d(3, ceil_mode=True)), (1, 1, 5, 5))
    assert ledger.rows[0].notes == ("ceil_mode keeps a partial window (rows and columns)",)
    assert ledger.rows[0].output_shape == (1, 1, 2, 2)
    ledger = trace(nn.Sequential(nn.Conv2d(1, 1, 3, stride=2)), (1, 1, 8, 7))
    assert ledger.rows[0].notes == ("floor drops the last 1 row",)


def test_groups_note_says_which_channels_feed_which() -> None:
    model = nn.Sequential(nn.Conv2d(16, 32, 3, groups=2), nn.Conv2d(32, 32, 3, groups=32))
    ledger = trace(model, (1, 16, 10, 10))
    assert_matches_forward(ledger, model, (1, 16, 10, 10))
    assert ledger.rows[0].notes == (
        "groups=2: outputs 0-15 see inputs 0-7, outputs 16-31 see inputs 8-15",
    )
    assert ledger.rows[1].notes == (
        "groups=32 (depthwise): output channel i sees only input channel i",
    )
    assert ledger.rows[1].params == 32 * 9 + 32


class Block(nn.Module):
    """A residual block with a strided 1x1 shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def test_residual_model_is_traced_by_hooks_with_fields_through_the_sum() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), Block(8, 16, 2), Block(16, 16, 1), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(16, 10),
    )  # fmt: skip
    model.train()
    before = [b.clone() for b in model.buffers()]
    ledger = trace(model, (2, 3, 16, 16))
    assert ledger.method == "forward hooks"
    # traced in eval mode: running statistics untouched, train mode restored
    assert model.training and all(
        torch.equal(a, b) for a, b in zip(before, model.buffers(), strict=True)
    )
    assert_matches_forward(ledger, model, (1, 3, 16, 16))
    rows = {r.name: r for r in ledger.rows}
    assert rows["1.conv1"].output_shape == (1, 16, 8, 8)
    # stem 3 -> block1 conv1 (s2) 5 -> conv2 5 + 2*2 = 9; the shortcut's field is smaller
    assert rows["1.conv2"].receptive_field.h.size == 9
    # block2.conv1 sees the sum of both branches: the wider field carries on, jump 2
    rf = rows["2.conv1"].receptive_field
    assert (rf.h.size, rf.h.jump) == (9 + 2 * 2, 2)
    assert rows["1.conv1"].flops == 2 * 16 * 8 * 8 * 8 * 9
    assert ledger.totals.params == sum(p.numel() for p in model.parameters())


def test_broken_residual_forward_names_the_layer() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), Block(4, 8, 1))
    error = trace(model, (1, 3, 8, 8)).error
    assert error is not None and error.layer == "1.conv1"
    assert "expects 4 input channels but receives 8" in error.message


def random_sequential(r: random.Random) -> tuple[nn.Sequential, tuple[int, ...]]:
    """A random conv/pool/norm stack with a Flatten and a Linear sized by the formulas."""
    channels, size = r.choice([1, 3]), r.randint(8, 32)
    layers: list[nn.Module] = []
    c = channels
    for _ in range(r.randint(1, 5)):
        kind = r.choice(["conv", "conv", "pool", "bn", "act", "drop"])
        if kind == "conv":
            groups = r.choice([1, 1, c]) if c > 1 else 1
            out = groups * r.randint(1, 3)
            layers.append(
                nn.Conv2d(c, out, r.randint(1, 5), r.randint(1, 2), r.randint(0, 2), groups=groups)
            )
            c = out
        elif kind == "pool":
            k = r.randint(2, 3)
            pool = r.choice([nn.MaxPool2d, nn.AvgPool2d])
            layers.append(
                pool(k, r.randint(1, 3), r.randint(0, k // 2), ceil_mode=r.random() < 0.5)
            )
        elif kind == "bn":
            layers.append(nn.BatchNorm2d(c))
        else:
            layers.append(r.choice([nn.ReLU(), nn.LeakyReLU(0.1), nn.Tanh(), nn.Dropout2d(0.1)]))
    model = nn.Sequential(*layers, nn.Flatten())
    return model, (channels, size, size)


def test_random_sequentials_match_a_real_forward_or_both_refuse() -> None:
    r = random.Random(7)
    valid = 0
    for _ in range(60):
        model, chw = random_sequential(r)
        probe = trace(model, (2, *chw))
        if probe.error is None:
            model.append(nn.Linear(probe.rows[-1].output_shape[-1], 10))
            ledger = trace(model, (2, *chw))
            assert_matches_forward(ledger, model, (2, *chw))
            valid += 1
        else:
            with pytest.raises(RuntimeError), torch.no_grad():
                model.eval()(torch.zeros(2, *chw))
    assert valid > 30


def test_headline_and_explained_rows_of_a_working_and_a_broken_net() -> None:
    ledger = trace(seq_cifar(), (1, 3, 32, 32))
    assert ledger.headline() == [
        ("Parameters", "145,578"),
        ("MACs per image", f"{ledger.totals.macs / 1e6:,.2f} M"),
        ("Activations per image", f"{ledger.totals.activation_bytes / 2**20:,.2f} MiB"),
        ("Receptive field", "36×36"),  # pool3, the last layer with a spatial map
        ("Output", "10"),
    ]
    assert [r.type for r in ledger.explained_rows()][:6] == ["Conv2d", "MaxPool2d"] * 3
    relu_net = trace(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), (1, 3, 8, 8))
    assert [r.type for r in relu_net.explained_rows()] == ["Conv2d"]  # no formula for a ReLU
    assert {row["#"] for row in ledger.to_rows()} == {"", *(str(i) for i in range(9))}
    broken = trace(seq_cifar(linear_in=400), (1, 3, 32, 32))
    assert broken.output_shape is None and broken.headline()[-1] == ("Output", "broken")
