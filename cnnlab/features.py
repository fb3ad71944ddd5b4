"""What a network sees: feature maps through forward hooks, kernels, predictions, Grad-CAM.

Pure torch, no streamlit. Every hook registered here is removed in a ``finally``,
so a failing forward pass never leaves a model instrumented, and the model's
train/eval mode is restored afterwards.

```python
maps = feature_maps(model, x)          # [("conv1", [1, 6, 28, 28]), ("relu1", ...), ...]
top5 = predict(model, x, classes)      # [Prediction(index=3, label="cat", probability=0.61), ...]
cam = grad_cam(model, x, top5[0].index)  # float [H, W] in [0, 1]
```
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.data import DatasetInfo
from cnnlab.errors import ModelSpecError
from cnnlab.shapes import Ledger, input_region
from cnnlab.shapes.memory import SERVER_LIMIT, check_activations
from cnnlab.shapes.receptive import ReceptiveField

CONV = (nn.Conv2d, nn.ConvTranspose2d)
POOL = (
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveAvgPool2d,
    nn.LPPool2d,
    nn.FractionalMaxPool2d,
)
NORM = (nn.BatchNorm2d,)

_forward_passes = 0  # forward passes run by this module: the page-cache benchmark reads it


def forward_passes() -> int:
    """How many forward passes this module has run in this process (for cache checks)."""
    return _forward_passes


def layer_kind(module: nn.Module) -> str | None:
    """ "conv", "activation", "batchnorm" or "pool" for layers whose maps we show, else None."""
    if isinstance(module, CONV):
        return "conv"
    if isinstance(module, NORM):
        return "batchnorm"
    if isinstance(module, POOL):
        return "pool"
    if type(module).__module__ == nn.modules.activation.__name__ and not isinstance(
        module, nn.MultiheadAttention
    ):
        return "activation"
    return None


class Prediction(NamedTuple):
    index: int
    label: str
    probability: float


def build_seeded(make: Callable[[], nn.Module], seed: int) -> nn.Module:
    """``make()`` with the global RNG seeded to ``seed``, leaving the caller's RNG untouched.

    The same seed gives the same random weights every time (and, for a run, the
    weights its training started from when the trainer seeds the same way).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make().eval()


def checkpoint_input(payload: dict) -> DatasetInfo:
    """The input pipeline a checkpoint was trained with (size, channels, mean/std, classes)."""
    channels, height, _ = (int(d) for d in payload["input_shape"])
    dataset = str(payload.get("config", {}).get("dataset", "checkpoint"))
    return DatasetInfo(
        name=dataset,
        title=dataset,
        channels=channels,
        size=height,
        classes=tuple(str(c) for c in payload["classes"]),
        mean=tuple(float(m) for m in payload["mean"]),
        std=tuple(float(s) for s in payload["std"]),
    )


def feature_maps(model: nn.Module, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """The output of every conv, activation, BatchNorm and pooling layer, in forward order.

    ``x`` is a normalised ``[N, C, H, W]`` batch. Each entry is ``(module name, output)``
    with output ``[N, C', H', W']``; a module called twice appears as ``name``, ``name#2``.
    Only spatial (4-D) outputs are kept: an activation after a Linear layer is a
    vector, not a map. Outputs are cloned, so an in-place ReLU cannot overwrite the
    convolution output captured before it.
    """
    captured: list[tuple[str, torch.Tensor]] = []
    calls: dict[str, int] = {}

    def make_hook(name: str):
        def hook(module: nn.Module, args: tuple, output: object) -> None:
            if isinstance(output, torch.Tensor) and output.dim() == 4:
                calls[name] = calls.get(name, 0) + 1
                label = name if calls[name] == 1 else f"{name}#{calls[name]}"
                captured.append((label, output.detach().clone()))  # [N, C, H, W]

        return hook

    check_activations(model, x.shape, SERVER_LIMIT, "feature maps")  # ShapeError if too large
    targets = [(name, m) for name, m in model.named_modules() if name and layer_kind(m)]
    with _hooked(targets, make_hook), _eval(model), _one_thread(), torch.inference_mode():
        _count_forward()
        model(x)
    return captured


def kernels(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Every convolution's weight, in definition order: ``(name, [out, in/groups, kh, kw])``."""
    return [
        (name, module.weight.detach().cpu().clone())
        for name, module in model.named_modules()
        if isinstance(module, CONV)
    ]


def kernel_rgb(weight: torch.Tensor) -> np.ndarray:
    """First-layer kernels of an RGB model as small images: uint8 ``[out, kh, kw, 3]``.

    Each kernel is min-max normalised on its own (the usual AlexNet-style display),
    so mid-grey is not zero: what shows is each kernel's colour and orientation.
    """
    if weight.dim() != 4 or weight.shape[1] != 3:
        raise ValueError(f"RGB kernels need weight [out, 3, kh, kw], got {list(weight.shape)}")
    w = weight.detach().float()  # [O, 3, kh, kw]
    low = w.amin(dim=(1, 2, 3), keepdim=True)  # [O, 1, 1, 1]
    high = w.amax(dim=(1, 2, 3), keepdim=True)
    w = (w - low) / (high - low).clamp_min(1e-12)
    return (w.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()  # [O, kh, kw, 3]


def predict(
    model: nn.Module, x: torch.Tensor, classes: Sequence[str], k: int = 5
) -> list[Prediction]:
    """The top-``k`` classes of a single image ``x`` ``[1, C, H, W]``, most probable first."""
    check_activations(model, x.shape, SERVER_LIMIT, "a prediction")
    with _eval(model), _one_thread(), torch.inference_mode():
        _count_forward()
        logits = model(x)  # [1, num_classes]
    probabilities = logits.float().softmax(dim=1)[0]  # [num_classes]
    top = probabilities.topk(min(k, probabilities.numel()))
    return [
        Prediction(int(i), classes[int(i)] if int(i) < len(classes) else str(int(i)), float(p))
        for p, i in zip(top.values, top.indices, strict=True)
    ]


def last_conv_name(model: nn.Module) -> str:
    """The name of the last convolution in definition order (Grad-CAM's default layer)."""
    names = [name for name, module in model.named_modules() if isinstance(module, CONV)]
    if not names:
        raise ModelSpecError("This network has no convolution, so there is no map for Grad-CAM.")
    return names[-1]


def grad_cam(
    model: nn.Module, x: torch.Tensor, class_index: int, layer: str | None = None
) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) of ``class_index`` for one image: float ``[H, W]``.

    The chosen conv layer's channels are weighted by the spatial mean of the class
    score's gradient, summed, rectified, upsampled (bilinear) to the input size and
    scaled so the maximum is 1 (all zeros when no region speaks for the class).
    """
    layer = layer or last_conv_name(model)
    target = model.get_submodule(layer)
    stored: list[torch.Tensor] = []

    def make_hook(_: str):
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
            stored.append(output)  # [1, K, h, w], kept in the graph
            return output.clone()  # later in-place ops (ReLU(inplace=True)) act on the copy

        return hook

    # The graph keeps every activation and the backward pass adds as much again.
    check_activations(model, x.shape, SERVER_LIMIT // 2, "Grad-CAM")
    x = x.detach().clone()  # an inference-mode tensor cannot enter autograd
    with _hooked([(layer, target)], make_hook), _eval(model), _one_thread(), torch.enable_grad():
        _count_forward()
        logits = model(x)  # [1, num_classes]
        activation = stored[0]  # [1, K, h, w]
        (gradient,) = torch.autograd.grad(logits[0, class_index], activation)  # [1, K, h, w]
    weights = gradient.mean(dim=(2, 3), keepdim=True)  # [1, K, 1, 1]
    cam = (weights * activation.detach()).sum(dim=1, keepdim=True).relu()  # [1, 1, h, w]
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
    cam = cam[0, 0]  # [H, W]
    peak = float(cam.max())
    return (cam / peak if peak > 0 else cam).numpy().astype(np.float32)


def receptive_region(
    ledger: Ledger, layer: str, y: int, x: int
) -> tuple[int, int, int, int] | None:
    """The input region (top, left, bottom, right), inclusive, that pixel (y, x) of ``layer``
    sees, from the ledger's receptive-field rows (``cnnlab.shapes.trace``).

    None when the ledger has no receptive field for that layer (after Flatten, through a
    transposed convolution) or the pixel sees only padding. ShapeError for a pixel
    outside the map.
    """
    row = next((r for r in ledger.rows if r.name == layer), None)
    if row is None or row.receptive_field is None:
        return None
    height, width = ledger.input_shape[-2:]
    return input_region(row.receptive_field, y, x, (height, width))


def map_kind(model: nn.Module, map_name: str) -> str | None:
    """:func:`layer_kind` of the module behind a :func:`feature_maps` name ("relu1#2" -> relu1)."""
    modules = dict(model.named_modules())
    module = modules.get(map_name.split("#")[0])
    return layer_kind(module) if module is not None else None


def map_summary(output: np.ndarray) -> str:
    """ "min · max · mean" of one layer's maps ``[C, H, W]``, and the share of exact zeros."""
    zero = float((output == 0).mean())
    return f"min {output.min():.3g} · max {output.max():.3g} · mean {output.mean():.3g}" + (
        f" · {100 * zero:.0f} % zeros" if zero > 0 else ""
    )


def shape_text(shape: Sequence[int]) -> str:
    """A tensor shape as torch users read it: ``[1, 6, 28, 28]``."""
    return "[" + ", ".join(str(d) for d in shape) + "]"


def receptive_field_text(layer: str, field: ReceptiveField, y: int, x: int) -> str:
    """What pixel (y, x) of ``layer`` sees, in words (markdown), from its receptive field."""
    h, w = field.h, field.w
    return (
        f"Receptive field of `{layer}`: **{h.size}×{w.size}** input pixels; "
        f"neighbouring pixels of this map are **{h.jump}** input pixels apart (jump); "
        f"pixel (0, 0) is centred on input ({h.start:g}, {w.start:g}). "
        f"So pixel ({y}, {x}) is centred on ({h.start + y * h.jump:g}, "
        f"{w.start + x * w.jump:g}); where the window passes the border it "
        "sees zero padding, and the outline is clipped to the image."
    )


def _count_forward() -> None:
    global _forward_passes
    _forward_passes += 1


@contextmanager
def _hooked(targets: list[tuple[str, nn.Module]], make_hook) -> Iterator[None]:
    """Register ``make_hook(name)`` on each target; always remove them all."""
    handles = []
    try:
        for name, module in targets:
            handles.append(module.register_forward_hook(make_hook(name)))
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def _one_thread() -> Iterator[None]:
    """One intra-op thread for a single image, then the previous count.

    A batch of one through these small nets takes about a millisecond; with several
    OpenMP threads on a busy machine (a training run in the background) the threads
    wait on each other and the same pass took 50-150 ms in the benchmark.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def _eval(model: nn.Module) -> Iterator[None]:
    """Eval mode (BatchNorm uses running stats, Dropout is off), then the previous mode."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
