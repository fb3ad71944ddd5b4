"""Example ``nn.Sequential`` sources the pages offer as a starting point for your own network.

The working and the broken example share seed 001's convolutions and differ only in the
classifier, so the broken one shows exactly the classic mistake and nothing else.
"""

from __future__ import annotations

_SEED_001_CONVS = (
    "nn.Conv2d(3, 32, 5, padding=2)",
    "nn.ReLU()",
    "nn.MaxPool2d(2)",
    "nn.Conv2d(32, 32, 5, padding=2)",
    "nn.ReLU()",
    "nn.MaxPool2d(2)",
    "nn.Conv2d(32, 64, 5, padding=2)",
    "nn.ReLU()",
    "nn.MaxPool2d(2)",
    "nn.Flatten()",
)


def sequential_source(layers: tuple[str, ...], comment: str = "", header: bool = True) -> str:
    """``model = nn.Sequential(...)`` with one layer a line (what the parser accepts)."""
    body = "".join(f"    {layer},\n" for layer in layers)
    lines = ["import torch.nn as nn\n\n"] if header else []
    lines += [f"# {line}\n" for line in comment.splitlines()]
    lines.append(f"model = nn.Sequential(\n{body})\n" if header else f"nn.Sequential(\n{body})")
    return "".join(lines)


SEED_001 = sequential_source(
    (*_SEED_001_CONVS, "nn.Linear(64 * 4 * 4, 64)", "nn.ReLU()", "nn.Linear(64, 10)"),
    "The CIFAR-10 network of seed 001, with ReLUs added as it recommends.",
)
"""Seed 001's CIFAR-10 network with ReLUs: it fits 3×32×32 inputs and 10 classes."""

BROKEN_LINEAR = sequential_source(
    (*_SEED_001_CONVS, "nn.Linear(400, 120)", "nn.ReLU()", "nn.Linear(120, 10)"),
    "LeNet's classifier glued onto seed 001's convolutions: the classic\n"
    '"mat1 and mat2 shapes cannot be multiplied (64x1024 and 400x120)".',
)
"""Linear(400, 120) after a 64×4×4 map: the mat1/mat2 error the ledger diagnoses."""

SMALL_CONVS = sequential_source(
    (
        "nn.Conv2d(3, 16, 3, padding=1)",
        "nn.ReLU()",
        "nn.MaxPool2d(2)",
        "nn.Conv2d(16, 32, 3, padding=1)",
        "nn.ReLU()",
        "nn.MaxPool2d(2)",
    ),
    header=False,
)
"""Two small conv blocks and no classifier: enough to look at feature maps."""
