"""FLOPs of one layer call from its shapes alone: the numbers torch's FlopCounterMode gives.

FlopCounterMode runs the layer on meta tensors, and its first use in a process imports
``torch._dynamo`` and friends (3-8 s on the 2-core build machine, then milliseconds per layer
on every ledger trace). The layers CNN Lab offers need no run: convolutions and Linear are
the only ones FlopCounterMode counts (matrix products and convolutions, 2 FLOPs per
multiply-accumulate, bias ignored), and every activation, pooling, normalisation, dropout or
reshaping layer counts 0. Other layers (attention, recurrent, containers) still go through
FlopCounterMode, imported only then.
"""

from __future__ import annotations

import math

import torch
from torch import nn

Shape = tuple[int, ...]

# Layers whose forward pass has no matrix product or convolution: FlopCounterMode counts 0.
ZERO_FLOP_LAYERS: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Softplus,
    nn.Softmax, nn.LogSoftmax, nn.Softmin,
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.LPPool2d,
    nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm,
    nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d, nn.LocalResponseNorm,
    nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
    nn.Flatten, nn.Unflatten, nn.Identity, nn.Upsample, nn.PixelShuffle, nn.PixelUnshuffle,
    nn.ZeroPad2d, nn.ConstantPad2d, nn.ReflectionPad2d, nn.ReplicationPad2d,
)  # fmt: skip
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def formula_flops(layer: nn.Module, shape: Shape, out: Shape) -> int | None:
    """FLOPs of ``layer`` on an input of ``shape`` giving ``out``; None for other layer types.

    ``shape``/``out`` are batched ``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` (a
    batch of 1) for convolutions, ``(*, in_features)`` for Linear.
    """
    if isinstance(layer, ZERO_FLOP_LAYERS):
        return 0
    if isinstance(layer, _CONVS + _TRANSPOSED):
        spatial = len(layer.kernel_size)
        batch = math.prod(shape[: -spatial - 1])  # 1 when unbatched
        c_a, c_b = layer.weight.shape[
            :2
        ]  # conv: [C_out, C_in/g, k...]; transposed: [C_in, C_out/g, k...]
        # a convolution does its work per output position, a transposed one per input position
        positions = math.prod((shape if isinstance(layer, _TRANSPOSED) else out)[-spatial:])
        return 2 * batch * positions * c_a * c_b * math.prod(layer.kernel_size)
    if isinstance(layer, nn.Linear):
        rows = math.prod(shape[:-1])  # every leading dim is a row of the matrix product
        return 2 * rows * layer.in_features * layer.out_features
    return None


def layer_flops(layer: nn.Module, shape: Shape, out: Shape) -> int | None:
    """FLOPs from the formula where one applies, else as FlopCounterMode counts them on the
    meta device (nothing computed); None when the layer cannot run there."""
    flops = formula_flops(layer, shape, out)
    return flops if flops is not None else counted_flops(layer, shape)


def counted_flops(layer: nn.Module, shape: Shape) -> int | None:
    """FLOPs torch's FlopCounterMode counts for one call, on meta tensors (nothing computed)."""
    from torch.utils.flop_counter import FlopCounterMode

    state = {n: torch.empty_like(t, device="meta") for n, t in layer.named_parameters()}
    state |= {n: torch.empty_like(t, device="meta") for n, t in layer.named_buffers()}
    try:
        with FlopCounterMode(display=False) as counter:
            torch.func.functional_call(layer, state, (torch.zeros(shape, device="meta"),))
    except Exception:  # a layer without meta support: leave the cell empty
        return None
    return int(counter.get_total_flops())
