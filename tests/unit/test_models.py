"""The presets: exact seed networks, options, adaptation to other inputs, export round trip."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.data import DATASETS
from cnnlab.errors import ModelSpecError
from cnnlab.models import (
    FastCifarNet,
    build,
    list_models,
    model_info,
    parse_sequential,
    to_code,
)

SEED_PARAMETERS = {"lenet5": 62_006, "seq_cifar": 145_578, "mnist_net": 8_490, "mnist_cnn": 20_490}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# The seeds' own classes, as the notes write them, to compare weights and outputs against.
class Seed003Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class Seed000Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.pooling = nn.MaxPool2d(2)
        self.fc = nn.Linear(320, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.pooling(self.conv1(x)))
        x = F.relu(self.pooling(self.conv2(x)))
        return self.fc(x.view(x.size(0), -1))


class Seed004CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.conv2 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.output = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.conv1(x))
        return self.output(x.view(x.size(0), -1))


def seed001() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 32, 5, padding=2), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 5, padding=2), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1024, 64), nn.Linear(64, 10),
    )  # fmt: skip


SEED_CLASSES = {
    "lenet5": Seed003Net,
    "mnist_net": Seed000Net,
    "mnist_cnn": Seed004CNN,
    "seq_cifar": seed001,
}


@pytest.mark.parametrize("name", sorted(SEED_PARAMETERS))
def test_seed_networks_have_the_seeds_parameter_counts(name: str) -> None:
    assert n_params(build(name)) == SEED_PARAMETERS[name]


@pytest.mark.parametrize("name", sorted(SEED_CLASSES))
def test_seed_presets_compute_exactly_what_the_seed_code_computes(name: str) -> None:
    """Same seed -> same initial weights (layers created in the seed's order) -> same logits."""
    torch.manual_seed(123)
    ours = build(name)
    torch.manual_seed(123)
    theirs = SEED_CLASSES[name]()
    ours_weights = [p.detach() for p in ours.parameters()]
    their_weights = [p.detach() for p in theirs.parameters()]
    assert [w.shape for w in ours_weights] == [w.shape for w in their_weights]
    assert all(torch.equal(a, b) for a, b in zip(ours_weights, their_weights, strict=True))
    x = torch.randn(3, *model_info(name).native_input)  # [3, C, H, W]
    torch.testing.assert_close(ours(x), theirs(x))


def test_list_models_puts_the_seed_networks_first() -> None:
    names = list_models()
    assert names[:4] == ["lenet5", "seq_cifar", "mnist_net", "mnist_cnn"]
    assert "airbench" in names


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("num_classes", [10, 7])
def test_every_preset_runs_on_its_datasets_shape(name: str, num_classes: int) -> None:
    info = model_info(name)
    shape = DATASETS[info.dataset].input_shape
    assert shape == info.native_input
    model = build(name, num_classes=num_classes).eval()
    with torch.no_grad():
        out = model(torch.randn(2, *shape))  # [2, num_classes]
    assert out.shape == (2, num_classes)
    assert torch.isfinite(out).all()


def test_build_is_deterministic_given_the_seed() -> None:
    for name in list_models():
        torch.manual_seed(7)
        first = build(name, width=0.5, dropout=0.1)
        torch.manual_seed(7)
        second = build(name, width=0.5, dropout=0.1)
        for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
            assert torch.equal(a, b)


def types(model: nn.Module) -> list[type]:
    return [type(m) for m in model.modules() if not list(m.children())]


def test_activation_option_replaces_every_seed_activation() -> None:
    relu_count = types(build("lenet5")).count(nn.ReLU)
    assert relu_count == 4
    tanh = build("lenet5", activation="tanh")
    assert types(tanh).count(nn.Tanh) == 4
    assert nn.ReLU not in types(tanh)
    assert n_params(tanh) == 62_006
    bare = build("lenet5", activation="none")
    assert not {nn.ReLU, nn.Tanh} & set(types(bare))


def test_seq_cifar_has_no_activation_by_default_and_gets_them_on_request() -> None:
    assert nn.ReLU not in types(build("seq_cifar"))
    assert any("ReLU" in note for note in model_info("seq_cifar").notes)
    model = build("seq_cifar", activation="relu")
    names = list(model._modules)
    for i in (1, 2, 3):  # conv -> relu -> pool as the seed recommends
        assert names.index(f"conv{i}") + 1 == names.index(f"relu{i}")
    assert types(model).count(nn.ReLU) == 4  # after each conv and after the hidden Linear


def test_batchnorm_option_puts_a_batchnorm_right_after_every_conv() -> None:
    model = build("mnist_cnn", batchnorm=True)
    children = list(model.children())
    convs = [i for i, m in enumerate(children) if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2
    for i in convs:
        assert isinstance(children[i + 1], nn.BatchNorm2d)
        assert children[i + 1].num_features == children[i].out_channels
    assert n_params(model) == 20_490 + 2 * (16 + 32)
    fast_without = build("airbench", batchnorm=False)
    assert nn.BatchNorm2d not in types(fast_without)


def test_dropout_option_goes_before_every_linear() -> None:
    model = build("lenet5", dropout=0.3)
    children = list(model.children())
    linears = [i for i, m in enumerate(children) if isinstance(m, nn.Linear)]
    assert len(linears) == 3
    for i in linears:
        assert isinstance(children[i - 1], nn.Dropout)
        assert children[i - 1].p == 0.3
    assert n_params(model) == 62_006


def test_width_multiplies_conv_channels_and_the_first_linear_follows() -> None:
    model = build("lenet5", width=2.0)
    assert model.conv1.out_channels == 12
    assert model.conv2.in_channels == 12
    assert model.conv2.out_channels == 32
    assert model.fc1.in_features == 32 * 5 * 5
    assert model.fc2.in_features == 120  # hidden sizes stay
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    assert any("800" in note for note in model.cnnlab_notes)
    fast = build("airbench", width=0.5)
    assert fast.block3_conv2.out_channels == 128
    assert fast.fc.in_features == 128


def test_lenet5_on_mnist_shape_adapts_and_says_so() -> None:
    model = build("lenet5", in_channels=1, input_size=28)
    assert model.conv1.in_channels == 1
    assert model.fc1.in_features == 16 * 4 * 4
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    notes = " ".join(model.cnnlab_notes)
    assert "256" in notes and "400" in notes and "28x28" in notes
    assert build("lenet5").cnnlab_notes == ()


def test_a_preset_refuses_an_input_too_small_for_it() -> None:
    with pytest.raises(ModelSpecError, match=r"lenet5 cannot take a 3x8x8 input") as caught:
        build("lenet5", input_size=8)
    assert "5" in str(caught.value)  # names the kernel that does not fit


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"activation": "swish"}, "activation must be one of"),
        ({"dropout": 1.0}, "dropout must be"),
        ({"width": 0}, "width must be"),
        ({"batchnorm": "yes"}, "batchnorm must be"),
        ({"colour": 1}, "unknown option `colour`"),
        ({"num_classes": 0}, "num_classes must be"),
    ],
)
def test_bad_options_are_refused_with_what_to_change(kwargs: dict, match: str) -> None:
    with pytest.raises(ModelSpecError, match=match):
        build("lenet5", **kwargs)


def test_unknown_model_lists_the_choices() -> None:
    with pytest.raises(ModelSpecError, match="lenet5"):
        build("resnet50")
    with pytest.raises(ModelSpecError, match="choose one of"):
        model_info("vgg")


def test_model_info_carries_the_seed_recipes() -> None:
    lenet = model_info("lenet5").recipe
    assert (lenet.optimizer, lenet.lr, lenet.momentum, lenet.batch_size, lenet.epochs) == (
        "sgd", 0.001, 0.9, 4, 2,
    )  # fmt: skip
    mnist = model_info("mnist_net").recipe
    assert (mnist.optimizer, mnist.lr, mnist.momentum, mnist.batch_size) == ("sgd", 0.01, 0.5, 64)
    cnn = model_info("mnist_cnn").recipe
    assert (cnn.optimizer, cnn.lr, cnn.batch_size, cnn.epochs) == ("adam", 0.001, 64, 10)
    fast = model_info("airbench").recipe
    assert fast.label_smoothing > 0 and fast.nesterov and fast.batch_size >= 512
    for name in list_models():
        info = model_info(name)
        assert info.options and info.description and info.source


ROUND_TRIP_CASES = [
    ("lenet5", {}),
    ("lenet5", {"activation": "leaky_relu", "batchnorm": True, "dropout": 0.25, "width": 1.5}),
    ("seq_cifar", {}),
    ("seq_cifar", {"activation": "sigmoid", "dropout": 0.5}),
    ("mnist_net", {"batchnorm": True}),
    ("mnist_cnn", {"width": 0.5, "activation": "tanh"}),
]


def structure(model: nn.Module) -> list[tuple[str, str]]:
    return [(name, repr(m)) for name, m in model.named_modules() if not list(m.children())]


@pytest.mark.parametrize(("name", "options"), ROUND_TRIP_CASES)
def test_exported_code_parses_back_to_the_same_network(name: str, options: dict) -> None:
    model = build(name, **options)
    code = to_code(model)
    assert code.startswith("from collections import OrderedDict\n\nimport torch.nn as nn\n")
    again = parse_sequential(code)
    assert structure(again) == structure(model)
    assert n_params(again) == n_params(model)


def test_export_writes_only_non_default_arguments() -> None:
    code = to_code(build("seq_cifar"))
    assert '("conv1", nn.Conv2d(3, 32, 5, padding=2))' in code
    assert '("pool1", nn.MaxPool2d(2))' in code
    assert '("fc1", nn.Linear(1024, 64))' in code
    assert "stride" not in code and "bias" not in code


def test_fast_net_exports_runnable_code_with_its_class(tmp_path: Path) -> None:
    model = build("airbench").eval()
    code = to_code(model)
    assert "class FastCifarNet(nn.Sequential)" in code
    path = tmp_path / "fast_net.py"
    path.write_text(code)
    namespace = runpy.run_path(str(path))  # our own generated code, not user input
    again = namespace["model"].eval()
    assert structure(again) == structure(model)
    again.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x))
    # the exported forward really scales the logits by 1/9, like ours
    assert isinstance(model, FastCifarNet) and model.logit_scale == pytest.approx(1 / 9)
    with torch.no_grad():
        plain = nn.Sequential(*model.children())(x)
    torch.testing.assert_close(again(x), plain / 9)


def test_fast_net_is_about_two_million_parameters() -> None:
    assert 1_900_000 < n_params(build("airbench")) < 2_100_000


def test_to_code_refuses_a_module_it_cannot_write() -> None:
    with pytest.raises(ModelSpecError, match=r"only nn\.Sequential"):
        to_code(Seed003Net())
    with pytest.raises(ModelSpecError, match="not a layer the lab can export"):
        to_code(nn.Sequential(nn.Conv3d(1, 1, 1)))


def test_fast_net_adapts_to_larger_inputs_and_refuses_tiny_ones() -> None:
    model = build("airbench", input_size=64)
    assert model.fc.in_features == 256 * 2 * 2
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 10)
    with pytest.raises(ModelSpecError, match=r"layer pool \(MaxPool2d\) on 256x1x1"):
        build("airbench", input_size=16)
