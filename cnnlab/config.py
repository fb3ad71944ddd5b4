"""RunConfig: one validated training configuration, shared by the CLI and the Train page.

The CLI (``python -m cnnlab.train``) and the sidebar form both end in a ``RunConfig``;
``validate()`` refuses anything that would fail later (a bad number, an unknown name,
a model that does not fit the dataset) with a one-line ``ConfigError`` saying what to
change, before any data is loaded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from cnnlab.errors import CNNLabError, ConfigError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "step", "cosine", "onecycle")
AMP_CHOICES = ("auto", "on", "off")
DEVICE_CHOICES = ("auto", "cpu", "cuda")
COMPILE_CHOICES = ("auto", "on", "off")
ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "none")
CUSTOM = "custom"  # model name of a network given as nn.Sequential source text


@dataclass(frozen=True)
class RunConfig:
    """Every choice of a training run. ``None`` model options keep the preset's own."""

    model: str = "lenet5"
    custom_source: str | None = None  # nn.Sequential source when model == "custom"
    dataset: str = "cifar10"
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9  # sgd only
    nesterov: bool = False  # sgd only
    weight_decay: float = 0.0
    scheduler: str = "none"
    step_size: int = 5  # epochs between lr drops (scheduler "step")
    gamma: float = 0.1  # lr factor per drop (scheduler "step")
    label_smoothing: float = 0.0
    augment: bool = False  # random crop (reflect padding) + horizontal flip, on the device
    crop_padding: int = 4  # pixels of padding for the random crop; 0 = flip only
    activation: str | None = None
    batchnorm: bool | None = None
    dropout: float | None = None
    width: float | None = None
    device: str = "auto"
    amp: str = "auto"  # auto: bf16 autocast on CUDA, off on CPU
    compile: str = "auto"  # torch.compile; auto: on CUDA only
    seed: int = 0
    name: str = ""
    limit_train: int | None = None  # train on a fixed random subset of N images (quick runs)
    limit_test: int | None = None
    data_dir: str | None = None
    download: bool = True  # let torchvision fetch a missing dataset (offline: a clear error)
    eval_every: int = 1  # evaluate every N epochs (and always after the last)
    checkpoint_minutes: float = 5.0  # also save last.pt every N minutes inside an epoch (0: off)

    # ---- serialisation -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Inverse of to_dict; unknown keys are refused (ConfigError), missing ones defaulted."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown configuration key(s): {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> RunConfig:
        return replace(self, **changes)

    def to_argv(self) -> list[str]:
        """The ``python -m cnnlab.train`` arguments that reproduce this config (non-defaults)."""
        argv: list[str] = []
        default = RunConfig()
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(default, f.name):
                continue
            flag = "--" + f.name.replace("_", "-")
            if isinstance(value, bool):
                argv.append(flag if value else "--no-" + f.name.replace("_", "-"))
            elif value is not None:
                argv += [flag, str(value)]
        return argv

    def fingerprint(self) -> str:
        """A hash of every setting: equal for equal configs (one run per form submission)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    @property
    def model_options(self) -> dict[str, Any]:
        """The options passed to ``cnnlab.models.build`` (only those set)."""
        options = {
            "activation": self.activation,
            "batchnorm": self.batchnorm,
            "dropout": self.dropout,
            "width": self.width,
        }
        return {key: value for key, value in options.items() if value is not None}

    @property
    def title(self) -> str:
        return self.name or f"{self.model} on {self.dataset}"

    # ---- validation ----------------------------------------------------------------
    def validate(self, check_model: bool = True) -> RunConfig:
        """Return self if every value is usable, else raise a one-line ConfigError.

        With ``check_model`` the network is built for the dataset's input shape and run
        once on two blank images, so a model that does not fit fails here, not mid-run.
        """
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("scheduler", self.scheduler, SCHEDULERS)
        _check_choice("amp", self.amp, AMP_CHOICES)
        _check_choice("device", self.device, DEVICE_CHOICES)
        _check_choice("compile", self.compile, COMPILE_CHOICES)
        _check_int("epochs", self.epochs, 1, 10_000)
        _check_int("batch-size", self.batch_size, 1, 65_536)
        _check_int("step-size", self.step_size, 1, 10_000)
        _check_int("crop-padding", self.crop_padding, 0, 16)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        _check_int("eval-every", self.eval_every, 1, 10_000)
        _check_float("checkpoint-minutes", self.checkpoint_minutes, low=0.0, high=1440.0)
        for label, value in (("limit-train", self.limit_train), ("limit-test", self.limit_test)):
            if value is not None:
                _check_int(label, value, 1, 10**9)
        _check_float("lr", self.lr, low=0.0, low_open=True)
        _check_float("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        _check_float("weight-decay", self.weight_decay, low=0.0)
        _check_float("gamma", self.gamma, low=0.0, high=1.0, low_open=True)
        _check_float("label-smoothing", self.label_smoothing, low=0.0, high=1.0, high_open=True)
        if self.nesterov and (self.optimizer != "sgd" or self.momentum <= 0):
            raise ConfigError("nesterov needs --optimizer sgd with a momentum above 0")
        if not isinstance(self.name, str) or len(self.name) > 200 or not self.name.isprintable():
            raise ConfigError("name must be printable text of at most 200 characters")
        if self.activation is not None:
            _check_choice("activation", self.activation, ACTIVATIONS)
        if self.dropout is not None:
            _check_float("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        if self.width is not None:
            _check_float("width", self.width, low=0.0, high=8.0, low_open=True)
        if self.model == CUSTOM:
            if not self.custom_source or not self.custom_source.strip():
                raise ConfigError("model 'custom' needs the nn.Sequential source (--custom-file)")
            if self.model_options:
                raise ConfigError(
                    "activation/batchnorm/dropout/width apply to presets; "
                    "edit the custom network's source instead"
                )
        elif self.custom_source:
            raise ConfigError("custom source given for a preset: use --model custom with it")
        from cnnlab.device import pick_device

        pick_device(self.device)  # ConfigError when cuda is asked for and absent
        info = self.dataset_info()
        if check_model:
            check_model_fits(self, info)
        return self

    def dataset_info(self) -> Any:
        """The dataset's DatasetInfo; ConfigError for an unknown name."""
        from cnnlab import data

        if self.dataset in data.DATASETS:
            return data.DATASETS[self.dataset]
        if self.dataset.startswith("folder:") and hasattr(data, "dataset_info"):
            try:
                return data.dataset_info(self.dataset)
            except CNNLabError as error:
                raise ConfigError(str(error)) from None
        raise ConfigError(
            f"unknown dataset {self.dataset!r}; choose one of {', '.join(data.DATASETS)}"
            " or folder:<path>"
        )


def build_model(config: RunConfig, input_shape: tuple[int, int, int], num_classes: int) -> Any:
    """The network (``nn.Module``) of ``config`` for inputs ``(C, H, W)``; ModelSpecError if not."""
    from cnnlab import models

    channels, height, width = input_shape
    if config.model == CUSTOM:
        return models.parse_sequential(config.custom_source or "")
    return models.build(
        config.model,
        in_channels=channels,
        num_classes=num_classes,
        input_size=(height, width),
        **config.model_options,
    )


def check_model_fits(config: RunConfig, info: Any) -> None:
    """Build the model and run it on two blank inputs of the dataset's shape.

    A mismatch is explained by the shape ledger (first broken layer and its fix) when it
    is available, else by torch's own first line.
    """
    import torch

    try:
        model = build_model(config, info.input_shape, info.num_classes)
    except CNNLabError as error:
        raise ConfigError(f"model {config.model}: {error}") from None
    shape = "x".join(str(d) for d in info.input_shape)
    _check_activation_memory(config, model, info.input_shape)
    try:
        with torch.no_grad():
            out = model.eval()(torch.zeros(2, *info.input_shape))  # [2, num_classes]
    except Exception as error:
        raise ConfigError(
            f"model {config.model} does not fit {info.title} ({shape}): "
            f"{_ledger_diagnosis(model, info.input_shape, error)}"
        ) from None
    if tuple(out.shape) != (2, info.num_classes):
        raise ConfigError(
            f"model {config.model} outputs shape {list(out.shape[1:])} per image but "
            f"{info.title} has {info.num_classes} classes: make the last layer "
            f"Linear(..., {info.num_classes})"
        )


def _check_activation_memory(config: RunConfig, model: Any, input_shape: tuple[int, ...]) -> None:
    """Refuse, from the shape arithmetic alone, a network whose check here (batch 2) or whose
    training batch would need more activation memory than allowed: nothing is run."""
    from cnnlab.shapes.memory import SERVER_LIMIT, TRAIN_LIMIT, check_activations

    try:
        check_activations(model, (2, *input_shape), SERVER_LIMIT, "checking the network")
        check_activations(model, (config.batch_size, *input_shape), TRAIN_LIMIT, "training")
    except CNNLabError as error:
        raise ConfigError(f"model {config.model}: {error}") from None


def _ledger_diagnosis(model: Any, input_shape: tuple[int, ...], error: Exception) -> str:
    try:
        from cnnlab.shapes import trace

        ledger = trace(model, input_shape)
        if ledger.error is not None:
            return " ".join(str(ledger.error).split())
    except Exception:  # the ledger explains; torch's message is the fallback
        pass
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def defaults_for(model: str, dataset: str | None = None) -> dict[str, Any]:
    """RunConfig field values that reproduce the preset's source recipe (for the form).

    Unknown models (and ``custom``) give ``{}``: keep the RunConfig defaults.
    """
    from cnnlab import models

    try:
        recipe = models.model_info(model).recipe
    except (CNNLabError, AttributeError):
        return {}
    values: dict[str, Any] = {
        "optimizer": recipe.optimizer,
        "lr": recipe.lr,
        "batch_size": recipe.batch_size,
        "epochs": recipe.epochs,
        "momentum": recipe.momentum if recipe.optimizer == "sgd" else RunConfig.momentum,
        "nesterov": recipe.nesterov,
        "weight_decay": recipe.weight_decay,
        "label_smoothing": recipe.label_smoothing,
        "scheduler": {"constant": "none", "step": "step", "triangular": "onecycle"}.get(
            recipe.schedule, "none"
        ),
        "augment": bool(recipe.augment),
        "crop_padding": 2 if "translate2" in recipe.augment else 0,
    }
    if recipe.schedule == "step":
        values["step_size"] = max(1, recipe.step_size)
        values["gamma"] = recipe.gamma
    return values


def settings_line(config: Mapping[str, Any]) -> str:
    """A run's settings at a glance (from its config dict), e.g. ``lenet5 on cifar10 · 10 epochs``."""
    parts = [
        f"{config.get('model')} on {config.get('dataset')}",
        f"{config.get('epochs')} epochs",
        f"batch {config.get('batch_size')}",
        f"{config.get('optimizer')} lr {config.get('lr'):g}",
    ]
    if config.get("scheduler") not in (None, "none"):
        parts.append(f"{config['scheduler']} schedule")
    if config.get("augment"):
        parts.append("augmented")
    if config.get("limit_train"):
        parts.append(f"{config['limit_train']} train images")
    return " · ".join(parts)


# ---- command line ----------------------------------------------------------------------
class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (no usage block) and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(prog: str = "python -m cnnlab.train") -> argparse.ArgumentParser:
    """The CLI; arguments not given are absent from the namespace (RunConfig defaults apply)."""
    d = RunConfig()
    p = _OneLineParser(
        prog=prog,
        description="Train a CNN Lab model; the last stdout line is a JSON summary.",
        argument_default=argparse.SUPPRESS,
    )
    bool_flag = argparse.BooleanOptionalAction
    p.add_argument("--model", help=f"preset name or 'custom' (default {d.model})")
    p.add_argument("--custom-file", help="file with an nn.Sequential(...) for --model custom")
    p.add_argument("--custom-source", help="nn.Sequential(...) source text for --model custom")
    p.add_argument(
        "--dataset", help=f"cifar10, mnist, fashion_mnist or folder:<path> ({d.dataset})"
    )
    p.add_argument("--epochs", type=int, help=f"default {d.epochs}")
    p.add_argument("--batch-size", type=int, help=f"default {d.batch_size}")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help=f"default {d.optimizer}")
    p.add_argument("--lr", type=float, help=f"learning rate (default {d.lr})")
    p.add_argument("--momentum", type=float, help=f"sgd momentum (default {d.momentum})")
    p.add_argument("--nesterov", action=bool_flag, help="Nesterov momentum (sgd)")
    p.add_argument("--weight-decay", type=float, help=f"default {d.weight_decay}")
    p.add_argument("--scheduler", choices=SCHEDULERS, help=f"default {d.scheduler}")
    p.add_argument("--step-size", type=int, help=f"epochs per lr drop, step ({d.step_size})")
    p.add_argument("--gamma", type=float, help=f"lr factor per drop, step ({d.gamma})")
    p.add_argument("--label-smoothing", type=float, help=f"default {d.label_smoothing}")
    p.add_argument("--augment", action=bool_flag, help="random crop + horizontal flip")
    p.add_argument(
        "--crop-padding", type=int, help=f"crop padding in px (default {d.crop_padding})"
    )
    p.add_argument("--activation", choices=ACTIVATIONS, help="preset activation")
    p.add_argument("--batchnorm", action=bool_flag, help="BatchNorm after every conv")
    p.add_argument("--dropout", type=float, help="dropout before every classifier Linear")
    p.add_argument("--width", type=float, help="multiplier of conv channels")
    p.add_argument("--device", choices=DEVICE_CHOICES, help=f"default {d.device}")
    p.add_argument("--amp", choices=AMP_CHOICES, help="bf16 autocast (auto: on CUDA only)")
    p.add_argument("--compile", choices=COMPILE_CHOICES, help="torch.compile (auto: CUDA only)")
    p.add_argument("--seed", type=int, help=f"default {d.seed}")
    p.add_argument("--name", help="a label for the run")
    p.add_argument("--limit-train", type=int, help="train on a fixed random subset of N images")
    p.add_argument(
        "--limit-test", type=int, help="evaluate on a fixed random subset of N test images"
    )
    p.add_argument("--data-dir", help="dataset root (else $CNNLAB_DATA_DIR, else ./data)")
    p.add_argument(
        "--download", action=bool_flag,
        help="download a dataset that is not on disk through torchvision (default on)",
    )  # fmt: skip
    p.add_argument("--eval-every", type=int, help="evaluate every N epochs (default 1)")
    p.add_argument(
        "--checkpoint-minutes", type=float,
        help=f"also save last.pt every N minutes of training, 0 = epoch ends only "
        f"(default {d.checkpoint_minutes:g})",
    )  # fmt: skip
    p.add_argument("--runs-dir", help="run store (else $CNNLAB_RUNS_DIR, else ./checkpoints)")
    p.add_argument("--resume", metavar="RUN_ID", help="continue a run from its last.pt")
    p.add_argument("--run-id", help=argparse.SUPPRESS)  # a queued run created by cnnlab.runs
    p.add_argument("--list-models", action="store_true", help="print the model registry")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


NON_CONFIG_ARGS = ("runs_dir", "resume", "run_id", "list_models", "quiet", "custom_file")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """RunConfig from a parsed namespace (absent arguments keep their defaults)."""
    given = {k: v for k, v in vars(args).items() if k not in NON_CONFIG_ARGS}
    custom_file = getattr(args, "custom_file", None)
    if custom_file is not None:
        try:
            given["custom_source"] = Path(custom_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read --custom-file {custom_file}: {error}") from None
        given.setdefault("model", CUSTOM)
    return RunConfig(**given)


# ---- helpers ---------------------------------------------------------------------------
def _check_choice(label: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{label} must be one of {', '.join(choices)}, not {value!r}")


def _check_int(label: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{label} must be a whole number from {low} to {high}, not {value!r}")


def _check_float(
    label: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        rng = (
            f"in {lo}, {hi}"
            if low is not None and high is not None
            else (
                f"{'above' if low_open else 'at least'} {low:g}" if low is not None else f"in {hi}"
            )
        )
        raise ConfigError(f"{label} must be a finite number {rng}, not {value!r}")
