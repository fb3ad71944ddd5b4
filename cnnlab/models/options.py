"""The switches a learner flips on a preset: activation, BatchNorm, Dropout, width.

Every field defaults to ``None`` meaning "as in the seed", so ``ModelOptions()``
always rebuilds the network the course notes show, parameter for parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, get_args

from torch import nn

from cnnlab.errors import ModelSpecError

Activation = Literal["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "none"]
ACTIVATIONS: tuple[str, ...] = get_args(Activation)

# Short names used in layer names: relu1, lrelu1, sigmoid1, ...
_ACTIVATION_PREFIX = {
    "relu": "relu",
    "leaky_relu": "lrelu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "gelu": "gelu",
}


@dataclass(frozen=True)
class ModelOptions:
    """Options of a preset; ``None`` keeps the seed's choice.

    - ``activation``: the non-linearity wherever the seed has one (``"none"`` removes them).
    - ``batchnorm``: a ``BatchNorm2d`` right after every convolution.
    - ``dropout``: a ``Dropout(p)`` in front of every classifier ``Linear`` (0 = none).
    - ``width``: multiplies every convolution's output channels; the first ``Linear``
      follows the new flattened size, hidden ``Linear`` sizes stay.
    """

    activation: Activation | None = None
    batchnorm: bool | None = None
    dropout: float | None = None
    width: float | None = None

    @classmethod
    def from_kwargs(cls, accepted: tuple[str, ...], model: str, **options: Any) -> ModelOptions:
        """Validate ``**options`` given to ``build`` (only those the preset ``accepted``)."""
        known = {f.name for f in fields(cls)}
        for key in options:
            if key not in known:
                raise ModelSpecError(
                    f"unknown option `{key}` for {model}; options are {', '.join(sorted(known))}"
                )
            if key not in accepted and options[key] is not None:
                raise ModelSpecError(
                    f"{model} does not take the option `{key}`; it accepts "
                    f"{', '.join(accepted) or 'no options'}"
                )
        return cls(**options).validated()

    def validated(self) -> ModelOptions:
        """Return self after checking every value; raise ModelSpecError saying what to change."""
        if self.activation is not None and self.activation not in ACTIVATIONS:
            raise ModelSpecError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, not {self.activation!r}"
            )
        if self.batchnorm is not None and not isinstance(self.batchnorm, bool):
            raise ModelSpecError(f"batchnorm must be True or False, not {self.batchnorm!r}")
        if self.dropout is not None and not (
            isinstance(self.dropout, int | float) and 0.0 <= self.dropout < 1.0
        ):
            raise ModelSpecError(f"dropout must be a probability in [0, 1), not {self.dropout!r}")
        if self.width is not None and not (
            isinstance(self.width, int | float)
            and math.isfinite(self.width)
            and 0.0 < self.width <= 8.0
        ):
            raise ModelSpecError(f"width must be a multiplier in (0, 8], not {self.width!r}")
        return self

    def with_defaults(self, defaults: ModelOptions) -> ModelOptions:
        """Fill every ``None`` from the preset's ``defaults``."""
        return replace(
            self,
            **{
                f.name: getattr(defaults, f.name)
                for f in fields(self)
                if getattr(self, f.name) is None
            },
        )


def make_activation(kind: str) -> nn.Module:
    """The ``nn`` module for an activation name (``"none"`` is not a module: check first)."""
    if kind == "relu":
        return nn.ReLU()
    if kind == "leaky_relu":
        return nn.LeakyReLU(0.01)
    if kind == "sigmoid":
        return nn.Sigmoid()
    if kind == "tanh":
        return nn.Tanh()
    if kind == "gelu":
        return nn.GELU()
    raise ModelSpecError(f"activation must be one of {', '.join(ACTIVATIONS)}, not {kind!r}")


def activation_prefix(kind: str) -> str:
    """The layer-name stem for an activation: ``relu`` -> ``relu`` (``relu1``, ``relu2``...)."""
    return _ACTIVATION_PREFIX[kind]


def scale_channels(channels: int, width: float) -> int:
    """Channels after the width multiplier, never below 1."""
    return max(1, round(channels * width))
