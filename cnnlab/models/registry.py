"""The model registry, torchvision style: ``@register_model`` + ``list_models`` + ``build``.

A builder receives a :class:`BuildContext` (input shape, classes, resolved options) and
returns an ``nn.Module``. Builders size the first ``Linear`` with
:meth:`BuildContext.flat_features`, which runs the convolutional part on the ``meta``
device (no memory, no random numbers), so a preset used on another input size is
adapted from the real arithmetic, never from a hand count.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from cnnlab.errors import ModelSpecError
from cnnlab.models.options import ModelOptions


@dataclass(frozen=True)
class TrainingRecipe:
    """Training defaults a preset's source uses (hints for the trainer, mean-reduced loss).

    ``schedule``: ``"constant"``; ``"step"`` (multiply lr by ``gamma`` every ``step_size``
    epochs); ``"triangular"`` (start at 0.2·lr, rise linearly to lr over the first 20 % of
    steps, then fall linearly to 0).
    ``augment``: ``"flip"`` (random horizontal flip), ``"translate2"`` (random shift up to
    2 px with reflect padding).
    """

    optimizer: Literal["sgd", "adam"]
    lr: float
    batch_size: int
    epochs: int
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    schedule: Literal["constant", "step", "triangular"] = "constant"
    step_size: int = 0
    gamma: float = 1.0
    augment: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ModelInfo:
    """What the app and the trainer need to know about a preset before building it."""

    name: str
    title: str
    source: str  # which seed (or public script) it reproduces
    description: str
    native_input: tuple[int, int, int]  # (C, H, W) the source uses
    dataset: str  # cnnlab.data name of the source's dataset
    options: tuple[str, ...]  # the ModelOptions fields it accepts
    defaults: ModelOptions  # the options that reproduce the source exactly
    recipe: TrainingRecipe
    notes: tuple[str, ...] = ()


@dataclass
class BuildContext:
    """Everything a builder needs; builders append adaptation notes to ``notes``."""

    info: ModelInfo
    in_channels: int
    num_classes: int
    height: int
    width: int
    options: ModelOptions  # resolved: no None left
    notes: list[str] = field(default_factory=list)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.height, self.width)

    def flat_features(self, make_features: Callable[[], OrderedDict[str, nn.Module]]) -> int:
        """Flattened size after ``make_features()`` on this input, computed on the meta device.

        Raises ModelSpecError with the ledger's diagnosis when the input is too small.
        """
        with torch.device("meta"):
            features = nn.Sequential(make_features()).eval()  # BatchNorm: any batch size
            try:
                out = features(torch.empty(1, *self.input_shape))  # [1, C', H', W']
            except RuntimeError as error:
                raise ModelSpecError(
                    f"{self.info.name} cannot take a {_shape_text(self.input_shape)} input: "
                    f"{_diagnosis(features, self.input_shape, error)}"
                ) from None
        return int(out[0].numel())


Builder = Callable[[BuildContext], nn.Module]
_REGISTRY: dict[str, tuple[ModelInfo, Builder]] = {}


def register_model(info: ModelInfo) -> Callable[[Builder], Builder]:
    """Decorator adding a builder under ``info.name``."""

    def decorate(builder: Builder) -> Builder:
        if info.name in _REGISTRY:
            raise RuntimeError(f"model {info.name!r} registered twice")
        _REGISTRY[info.name] = (info, builder)
        return builder

    return decorate


def list_models() -> list[str]:
    """Names of every preset: the seed networks first, then the others, each in registration order."""
    return sorted(_REGISTRY, key=lambda name: not _REGISTRY[name][0].source.startswith("seed"))


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a preset; ModelSpecError for an unknown name."""
    return _entry(name)[0]


def build(
    name: str,
    in_channels: int | None = None,
    num_classes: int = 10,
    *,
    input_size: int | tuple[int, int] | None = None,
    **options: Any,
) -> nn.Module:
    """Build preset ``name``; deterministic given ``torch.manual_seed``.

    ``in_channels`` and ``input_size`` (H or (H, W)) default to the preset's native input.
    On another input the first ``Linear`` is resized to the real flattened size and the
    change is stated in ``model.cnnlab_notes`` (a tuple of sentences); an input too small
    for the preset raises ModelSpecError with the diagnosis.
    """
    info, builder = _entry(name)
    native_c, native_h, native_w = info.native_input
    in_channels = native_c if in_channels is None else in_channels
    if isinstance(input_size, int):
        height, width = input_size, input_size
    elif input_size is None:
        height, width = native_h, native_w
    else:
        height, width = input_size
    for label, value in (("in_channels", in_channels), ("num_classes", num_classes)):
        if not isinstance(value, int) or value < 1:
            raise ModelSpecError(f"{label} must be a positive integer, not {value!r}")
    if not all(isinstance(v, int) and v >= 1 for v in (height, width)):
        raise ModelSpecError(f"input_size must be positive integers, not {input_size!r}")
    resolved = ModelOptions.from_kwargs(info.options, name, **options).with_defaults(info.defaults)
    context = BuildContext(info, in_channels, num_classes, height, width, resolved)
    if in_channels != native_c:
        context.notes.append(
            f"The first convolution takes {in_channels} input channel(s) instead of the "
            f"seed's {native_c}."
        )
    if num_classes != 10:
        context.notes.append(f"The last Linear outputs {num_classes} classes instead of 10.")
    model = builder(context)
    model.cnnlab_notes = tuple(context.notes)  # type: ignore[assignment]
    return model


def _entry(name: str) -> tuple[ModelInfo, Builder]:
    if name not in _REGISTRY:
        raise ModelSpecError(f"unknown model {name!r}; choose one of {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def _diagnosis(features: nn.Sequential, input_shape: tuple[int, int, int], error: Exception) -> str:
    """Which layer breaks and how to fix it, from the shape formulas, else torch's own words."""
    from cnnlab.errors import ShapeError
    from cnnlab.shapes import output_shape

    shape: tuple[int, ...] = (1, *input_shape)  # batched: BatchNorm2d insists on 4-D
    for name, layer in features.named_children():
        try:
            shape = output_shape(layer, shape)
        except ShapeError as problem:
            return f"layer {name} ({type(layer).__name__}) on {_shape_text(shape[1:])}: {problem}"
    return str(error).splitlines()[0]
