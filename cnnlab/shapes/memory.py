"""How much memory a forward pass would hold, worked out before anything runs.

A network with a handful of parameters can still produce enormous tensors
(``ConvTranspose2d(3, 3, 1, stride=300)`` turns a 32x32 image into 9301x9301), so the
parameter cap alone does not keep the app's process safe. :func:`check_activations`
adds up the bytes every layer would output for the real batch, without running
anything, and refuses with a ShapeError naming the largest layer when the total is
over the limit:

- chains of layers the calculator knows (every custom ``nn.Sequential``) are walked
  with :func:`cnnlab.shapes.formulas.output_shape`, pure arithmetic;
- anything else (a preset with its own ``forward()``, a layer the calculator does not
  know) is run once on the ``meta`` device, where tensors have shapes but no storage,
  counting every tensor an operation creates.

The estimate is an upper bound: every layer's output is counted as alive at once (what
training keeps for the backward pass), plus the largest convolution's unfold buffer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

from cnnlab.errors import ShapeError
from cnnlab.shapes.formulas import Shape, fmt_shape, output_shape, pair
from cnnlab.shapes.kinds import SUPPORTED

MiB = 2**20
GiB = 2**30
SERVER_LIMIT = 256 * MiB  # one forward pass inside the app's (Streamlit) process
TRAIN_LIMIT = 8 * GiB  # the activations one training batch keeps for the backward pass
_FLOAT_BYTES = 4


@dataclass(frozen=True)
class Footprint:
    """The bytes one forward pass of ``input_shape`` (batched) would hold at most.

    ``largest`` is the layer that contributes most: (name, type, output shape, bytes).
    """

    input_shape: Shape
    total_bytes: int
    largest: tuple[str, str, Shape, int] | None

    @property
    def per_sample_bytes(self) -> int:
        return self.total_bytes // max(1, self.input_shape[0])


def size_text(value: int) -> str:
    """Bytes in the unit a person reads: ``1.9 GiB``, ``256 MiB``, ``12 KiB``."""
    for scale, unit in ((GiB, "GiB"), (MiB, "MiB"), (2**10, "KiB")):
        if value >= scale:
            amount = value / scale
            return (
                f"{amount:.0f} {unit}"
                if amount >= 10 or amount == int(amount)
                else (f"{amount:.1f} {unit}")
            )
    return f"{value} B"


def footprint(model: nn.Module, input_shape: Sequence[int]) -> Footprint:
    """Upper bound of the activation bytes of one forward pass on ``input_shape`` (N, C, H, W).

    Nothing is computed: formulas for chains of known layers, meta tensors otherwise.
    A layer that would be refused (a shape mismatch) ends the count there, since torch
    refuses it before allocating its output.
    """
    shape = tuple(int(s) for s in input_shape)
    if is_chain(model):
        return _chain(leaves(model), shape)
    return _meta(model, shape)


def leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every module without children, in definition order."""
    found = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    return [(n or type(m).__name__, m) for n, m in found]


def is_chain(model: nn.Module) -> bool:
    """A model whose forward is its leaves in order: nested Sequentials of supported layers."""
    containers = [m for m in model.modules() if list(m.children())]
    return all(type(m) is nn.Sequential for m in containers) and all(
        isinstance(m, SUPPORTED) for _, m in leaves(model)
    )


def check_activations(
    model: nn.Module,
    input_shape: Sequence[int],
    limit: int = SERVER_LIMIT,
    where: str = "one forward pass in the app",
) -> Footprint:
    """:func:`footprint`, raising ShapeError when it is over ``limit`` bytes."""
    found = footprint(model, input_shape)
    if found.total_bytes <= limit:
        return found
    batch = found.input_shape[0]
    detail = ""
    if found.largest is not None:
        name, kind, out, size = found.largest
        detail = (
            f"; the largest is layer {name} ({kind}), output {fmt_shape(out)}: {size_text(size)}"
        )
    problem = (
        f"the activations of a batch of {batch} {fmt_shape(found.input_shape[1:])} need "
        f"{size_text(found.total_bytes)}, over the {size_text(limit)} limit for {where}{detail}"
    )
    fix = (
        "make its output smaller (a smaller stride, output_size or channel count, or pool earlier)"
    )
    fitting = batch * limit // found.total_bytes
    if batch > 1 and fitting >= 1:
        fix += f", or use a batch size of at most {fitting}"
    error = ShapeError(f"{problem}: {fix}")
    error.problem = problem  # type: ignore[attr-defined]
    error.fix = fix  # type: ignore[attr-defined]
    raise error


def _workspace(layer: nn.Module, shape: Shape, out: Shape) -> int:
    """Elements of a convolution's unfold (im2col / col2im) buffer for one call."""
    if isinstance(layer, nn.Conv2d):
        kh, kw = pair(layer.kernel_size)
        return shape[0] * layer.in_channels // layer.groups * kh * kw * out[-2] * out[-1]
    if isinstance(layer, nn.ConvTranspose2d):
        kh, kw = pair(layer.kernel_size)
        return shape[0] * layer.out_channels // layer.groups * kh * kw * shape[-2] * shape[-1]
    return 0


def _chain(leaves: list[tuple[str, nn.Module]], shape: Shape) -> Footprint:
    start, total = shape, _FLOAT_BYTES * math.prod(shape)
    workspace = 0
    largest: tuple[str, str, Shape, int] | None = None
    for name, layer in leaves:
        try:
            out = output_shape(layer, shape)
        except ShapeError:
            break  # torch refuses this layer before allocating anything
        size = _FLOAT_BYTES * math.prod(out)
        unfold = _FLOAT_BYTES * _workspace(layer, shape, out)
        total += size
        workspace = max(workspace, unfold)
        if largest is None or size + unfold > largest[3]:
            largest = (name, type(layer).__name__, out, size + unfold)
        shape = out
    return Footprint(start, total + workspace, largest)


class _Allocations(TorchDispatchMode):
    """Counts the bytes of every new (non-view) tensor an operation returns, per layer."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.layer: tuple[str, str] = ("forward()", "forward()")
        self.largest: tuple[str, str, Shape, int] | None = None

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        if not func.is_view:
            for tensor in pytree.tree_leaves(out):
                if isinstance(tensor, torch.Tensor):
                    size = tensor.numel() * tensor.element_size()
                    self.total += size
                    if self.largest is None or size > self.largest[3]:
                        self.largest = (*self.layer, tuple(tensor.shape), size)
        return out


def _meta(model: nn.Module, shape: Shape) -> Footprint:
    """Run ``model`` on meta tensors (no storage) and count what each operation creates."""
    state = {n: torch.empty_like(t, device="meta") for n, t in model.named_parameters()}
    state |= {n: torch.empty_like(t, device="meta") for n, t in model.named_buffers()}
    counter = _Allocations()
    handles = []
    for name, layer in model.named_modules():
        if name and not list(layer.children()):

            def enter(module: nn.Module, args: object, name: str = name) -> None:
                counter.layer = (name, type(module).__name__)

            handles.append(layer.register_forward_pre_hook(enter))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad(), counter:
            x = torch.zeros(shape, device="meta")
            torch.func.functional_call(model, state, (x,))
    except Exception:  # a refused shape: count what came before it
        pass
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return Footprint(shape, counter.total, counter.largest)
