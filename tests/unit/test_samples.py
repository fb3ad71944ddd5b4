"""The bundled CIFAR-10 sample is real CIFAR-10 and matches the dataset it came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cnnlab.data import CIFAR10_CLASSES
from cnnlab.samples import SAMPLE_PATH, load_sample, sample_test_indices


def test_sample_has_ten_images_of_every_class_in_official_order() -> None:
    sample = load_sample()
    assert sample.images.shape == (100, 3, 32, 32)
    assert sample.images.dtype == torch.uint8
    assert sample.classes == CIFAR10_CLASSES
    assert torch.equal(torch.bincount(sample.labels), torch.full((10,), 10))
    assert sample.labels.tolist() == sorted(sample.labels.tolist())  # class-major


def test_sample_is_small_enough_to_ship() -> None:
    assert SAMPLE_PATH.stat().st_size < 1024 * 1024


def test_sample_pixels_equal_the_offline_copy(data_dir: Path) -> None:
    sample = load_sample()
    for position in (0, 37, 99):
        label = int(sample.labels[position])
        index = sample_test_indices()[position]
        path = data_dir / "cifar10-jpeg" / "test" / CIFAR10_CLASSES[label] / f"{index:04d}.jpg"
        expected = np.asarray(Image.open(path).convert("RGB"))  # [32, 32, 3]
        assert np.array_equal(sample.images[position].permute(1, 2, 0).numpy(), expected)
