"""Which layer classes the shape calculator knows, by the rule that gives their output shape.

A model made only of these, in (nested) ``nn.Sequential``, can be followed by the
formulas alone: :func:`cnnlab.shapes.output_shape` answers for every layer.
"""

from __future__ import annotations

from torch import nn

# Layers whose output has the shape of their input (channel checks aside).
ELEMENTWISE: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.GELU,
    nn.SiLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.Mish,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Hardtanh,
    nn.Softplus,
    nn.Softsign,
    nn.Tanhshrink,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.AlphaDropout,
    nn.Identity,
)
POOLS = (nn.MaxPool2d, nn.AvgPool2d)
ADAPTIVE = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
SHAPE_PRESERVING = (*ELEMENTWISE, nn.Softmax, nn.LogSoftmax, nn.PReLU, nn.GroupNorm, nn.LayerNorm)
SUPPORTED = (
    nn.Conv2d,
    nn.ConvTranspose2d,
    *POOLS,
    *ADAPTIVE,
    nn.Flatten,
    nn.Linear,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    *SHAPE_PRESERVING,
)
__all__ = ["ADAPTIVE", "ELEMENTWISE", "POOLS", "SHAPE_PRESERVING", "SUPPORTED"]
