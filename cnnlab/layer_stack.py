"""How many copies of one layer, stacked, bring an input down to a target size.

Seed 004 asks: "224x224 input, 5x5 kernels: how many layers to reach 4x4?" (answer: 55,
with 55·5·5 weights). ``layers_to_reach`` answers it for any layer of the output-size lab
by applying ``cnnlab.shapes.output_shape`` again and again; no layer is run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from cnnlab.errors import ShapeError
from cnnlab.shapes import output_shape

MAX_LAYERS = 1000


@dataclass(frozen=True)
class LayerStack:
    """The spatial sizes ``(H, W)`` of the input and after each stacked layer."""

    sizes: list[tuple[int, int]]
    target: int
    reached: bool  # both sides at or below the target
    reason: str  # why the stack stopped short ("" when it reached the target)

    @property
    def layers(self) -> int:
        return len(self.sizes) - 1

    def text(self, shown: int = 6) -> str:
        """``224 → 220 → 216 → … → 8 → 4`` (square sizes), or ``(H, W)`` pairs."""
        labels = [str(h) if h == w else f"{h}x{w}" for h, w in self.sizes]
        if len(labels) > 2 * shown:
            labels = [*labels[:shown], "…", *labels[-shown:]]
        return " → ".join(labels)


def layers_to_reach(layer: nn.Module, input_shape: Sequence[int], target: int) -> LayerStack:
    """Stack ``layer`` on ``input_shape`` (``(N, C, H, W)`` or ``(C, H, W)``) until H and W
    are both at most ``target``.

    A conv keeps its input's channels from one copy to the next (the question is about
    the spatial size only). Stops early, with ``reason``, when the layer no longer
    shrinks the map or torch would refuse the next copy.
    """
    if target < 1:
        raise ShapeError(f"The target size must be at least 1, not {target}.")
    shape = tuple(int(s) for s in input_shape)
    if len(shape) not in (3, 4):
        raise ShapeError(f"Stacking needs a (C, H, W) or (N, C, H, W) input, not {shape}.")
    sizes = [shape[-2:]]
    reason = ""
    while max(sizes[-1]) > target:
        if len(sizes) > MAX_LAYERS:
            reason = f"more than {MAX_LAYERS} layers would be needed"
            break
        try:
            out = output_shape(layer, (*shape[:-2], *sizes[-1]))
        except ShapeError as error:
            reason = f"layer {len(sizes)} cannot be applied: {error}"
            break
        size = (int(out[-2]), int(out[-1]))
        if size[0] >= sizes[-1][0] and size[1] >= sizes[-1][1]:
            reason = "this layer does not shrink the map, so no number of copies reaches it"
            break
        sizes.append(size)
    reached = max(sizes[-1]) <= target
    return LayerStack([(h, w) for h, w in sizes], target, reached, reason)
