"""How much cheaper the formulas are than running the layer, and what a ledger costs.

Baselines are measured in the same run: output_shape against one real forward on
zeros (what the output-size page's torch badge does), and the formula ledger of
seed 001's net against the hooks ledger of the same net wrapped in a custom forward.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

from cnnlab.shapes import explain, output_shape, trace


def _per_call(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm up (imports, allocator)
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


class _Wrapped(nn.Module):
    def __init__(self, body: nn.Sequential) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def run() -> None:
    conv = nn.Conv2d(3, 64, 7, stride=2, padding=3)
    shape = (1, 3, 224, 224)
    x = torch.zeros(shape)  # [1, 3, 224, 224]
    with torch.no_grad():
        real = _per_call(lambda: conv(x), 20)
    formula = _per_call(lambda: output_shape(conv, shape), 2000)
    explained = _per_call(lambda: explain(conv, shape), 2000)
    print(f"Conv2d(3,64,7,s2,p3) on 224x224: forward {real * 1e3:.2f} ms")
    print(f"  output_shape {formula * 1e6:.1f} us ({real / formula:.0f}x faster than forward)")
    print(f"  explain      {explained * 1e6:.1f} us ({real / explained:.0f}x faster than forward)")

    seq = nn.Sequential(
        nn.Conv2d(3, 32, 5, padding=2), nn.MaxPool2d(2), nn.Conv2d(32, 32, 5, padding=2),
        nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(1024, 64), nn.Linear(64, 10),
    )  # fmt: skip
    chain = _per_call(lambda: trace(seq, (1, 3, 32, 32)), 20)
    hooks = _per_call(lambda: trace(_Wrapped(seq), (1, 3, 32, 32)), 20)
    print(f"ledger of seed 001's net: formulas {chain * 1e3:.1f} ms, hooks {hooks * 1e3:.1f} ms")
    print(f"  formula ledger / hooks ledger = {chain / hooks:.2f}")
