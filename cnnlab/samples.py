"""The bundled CIFAR-10 sample: 10 test images per class, always available.

Made by ``scripts/make_sample.py`` from the offline CIFAR-10 copy (a JPEG
re-encoding of the official test set, so pixels differ from the originals by a
few grey levels); see ``cnnlab/assets/PROVENANCE.md``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from cnnlab.data import TensorSplit

SAMPLE_PATH = Path(__file__).resolve().parent / "assets" / "cifar10_sample.npz"


@lru_cache(maxsize=1)
def load_sample() -> TensorSplit:
    """All sample images, class-major (10 airplanes, then 10 automobiles, ...)."""
    with np.load(SAMPLE_PATH, allow_pickle=False) as arrays:
        images = (
            torch.from_numpy(arrays["images"]).permute(0, 3, 1, 2).contiguous()
        )  # [N, 3, 32, 32]
        labels = torch.from_numpy(arrays["labels"])  # int64 [N]
        classes = tuple(str(name) for name in arrays["classes"])
    return TensorSplit(images, labels, classes)


def sample_test_indices() -> list[int]:
    """For each sample image, its file number within its class folder of the test split."""
    with np.load(SAMPLE_PATH, allow_pickle=False) as arrays:
        return [int(i) for i in arrays["test_index"]]
