"""RunConfig: validation messages, round trips, the shared argparse builder, recipes."""

from __future__ import annotations

import pytest

from cnnlab.config import RunConfig, build_parser, config_from_args, defaults_for
from cnnlab.errors import ConfigError


def test_defaults_validate() -> None:
    assert RunConfig().validate() == RunConfig()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lr": -0.1}, "lr must be a finite number above 0"),
        ({"lr": float("nan")}, "lr must be a finite number"),
        ({"batch_size": 0}, "batch-size must be a whole number from 1"),
        ({"epochs": 0}, "epochs must be"),
        ({"optimizer": "rmsprop"}, "optimizer must be one of sgd, adam, adamw"),
        ({"scheduler": "linear"}, "scheduler must be one of"),
        ({"momentum": 1.0}, "momentum must be"),
        ({"label_smoothing": 1.0}, "label-smoothing must be"),
        ({"nesterov": True, "optimizer": "adam"}, "nesterov needs --optimizer sgd"),
        ({"dataset": "imagenet"}, "unknown dataset 'imagenet'"),
        ({"model": "resnet9000"}, "unknown model 'resnet9000'"),
        ({"device": "cuda"}, "cuda"),
        ({"dropout": 1.5}, "dropout must be"),
        ({"model": "custom"}, "needs the nn.Sequential source"),
    ],
)
def test_bad_values_say_what_to_change(changes: dict[str, object], message: str) -> None:
    if changes.get("device") == "cuda":
        pytest.importorskip("torch")
        import torch

        if torch.cuda.is_available():
            pytest.skip("a GPU is present: cuda is a valid device here")
    with pytest.raises(ConfigError, match=message) as raised:
        RunConfig(**changes).validate()  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)


def test_model_that_does_not_fit_the_dataset_is_explained() -> None:
    # seed 001's CIFAR Sequential hard-codes Linear(1024, 64): 28x28 MNIST breaks it
    source = (
        "nn.Sequential(nn.Conv2d(3, 32, 5, padding=2), nn.MaxPool2d(2), nn.Conv2d(32, 32, 5, "
        "padding=2), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2), nn.MaxPool2d(2), "
        "nn.Flatten(), nn.Linear(1024, 64), nn.Linear(64, 10))"
    )
    RunConfig(model="custom", custom_source=source).validate()  # fits CIFAR-10
    with pytest.raises(ConfigError, match="does not fit") as raised:
        RunConfig(model="custom", custom_source=source, dataset="mnist").validate()
    assert "\n" not in str(raised.value)
    wrong_classes = source.replace("nn.Linear(64, 10)", "nn.Linear(64, 7)")
    with pytest.raises(ConfigError, match=r"Linear\(\.\.\., 10\)"):
        RunConfig(model="custom", custom_source=wrong_classes).validate()


def test_presets_adapt_to_mnist() -> None:
    RunConfig(model="lenet5", dataset="mnist").validate()


def test_dict_round_trip_and_unknown_keys() -> None:
    config = RunConfig(model="airbench", lr=0.5, augment=True, width=0.5, name="x")
    assert RunConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="unknown configuration key"):
        RunConfig.from_dict({"model": "lenet5", "lr_typo": 1})


def test_argv_round_trip_through_the_parser() -> None:
    config = RunConfig(
        model="airbench", dataset="cifar10", epochs=3, batch_size=512, optimizer="sgd",
        lr=0.4, momentum=0.85, nesterov=True, weight_decay=5e-4, scheduler="onecycle",
        label_smoothing=0.2, augment=True, crop_padding=2, batchnorm=False, width=0.5,
        seed=7, name="quick", limit_train=1000, limit_test=500, eval_every=2, amp="off",
    )  # fmt: skip
    args = build_parser().parse_args(config.to_argv())
    assert config_from_args(args) == config
    assert config_from_args(build_parser().parse_args([])) == RunConfig()


def test_parser_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(["--lr", "fast"])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--lr" in err


def test_defaults_for_follows_the_preset_recipe() -> None:
    seed003 = defaults_for("lenet5", "cifar10")
    assert seed003["optimizer"] == "sgd" and seed003["lr"] == 0.001
    assert seed003["momentum"] == 0.9 and seed003["batch_size"] == 4
    fast = defaults_for("airbench", "cifar10")
    assert fast["scheduler"] == "onecycle" and fast["augment"] is True
    assert fast["crop_padding"] == 2 and fast["nesterov"] is True
    RunConfig(model="airbench", **fast).validate(check_model=False)
    assert defaults_for("custom") == {}
