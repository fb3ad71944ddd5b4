"""Which pictures the Feature maps page offers: CIFAR-10 test images and uploads.

Every :class:`Picture` carries a content identity (``key``) that caches of what a
network makes of it key on: ``"sample:17"`` and ``"test:4031"`` name an image of the
bundled sample or of the full test split, ``"upload:<sha256>"`` the bytes of an upload.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from cnnlab.data import DatasetInfo, TensorSplit, available_datasets, load_split
from cnnlab.images import validate_upload
from cnnlab.samples import load_sample

SAMPLE = "sample"  # the 100 bundled images (cnnlab/assets), always there
TEST = "test"  # the full CIFAR-10 test split, when it is on disk
SOURCE_TITLES = {SAMPLE: "Bundled sample (100)", TEST: "Full test split (10,000)"}
PER_PAGE = 10


@dataclass(frozen=True)
class Picture:
    key: str  # content identity: "sample:17", "test:4031" or "upload:<sha256 prefix>"
    image: Image.Image  # RGB, any size
    caption: str
    label: str | None = None  # the true class of a CIFAR-10 image

    def view_key(self, info: DatasetInfo) -> str:
        """Identity of what a network with ``info``'s input pipeline receives of this picture."""
        return f"{self.key}|{info.channels}x{info.size}"


def sources() -> list[str]:
    """The image sets to offer: the bundled sample, and the full test split if it is on disk."""
    return [SAMPLE] + ([TEST] if available_datasets().get("cifar10") is True else [])


def load_source(source: str) -> TensorSplit:
    """The images of ``source`` (uint8 [N, 3, 32, 32]); DatasetUnavailable if not on disk."""
    return load_sample() if source == SAMPLE else load_split("cifar10", "test")


def class_indices(split: TensorSplit, class_index: int) -> list[int]:
    """Indices of the images of one class, in split order."""
    return torch.nonzero(split.labels == class_index).flatten().tolist()


def page_count(indices: list[int]) -> int:
    return (len(indices) + PER_PAGE - 1) // PER_PAGE


def page_of(indices: list[int], page: int) -> list[int]:
    """The indices on 0-based ``page`` (PER_PAGE a page)."""
    return indices[page * PER_PAGE : page * PER_PAGE + PER_PAGE]


def picture_key(source: str, index: int) -> str:
    return f"{source}:{index}"


def index_of(key: str) -> int:
    """The image index inside a ``"source:index"`` key."""
    return int(key.split(":")[1])


def thumbnail(split: TensorSplit, index: int) -> np.ndarray:
    """One image of ``split`` as uint8 [32, 32, 3] for st.image."""
    return split.images[index].permute(1, 2, 0).numpy()  # [32, 32, 3]


def split_picture(split: TensorSplit, key: str) -> Picture:
    """The picture ``"source:index"`` of ``split``, captioned with its class."""
    index = index_of(key)
    label = split.classes[int(split.labels[index])]
    image = Image.fromarray(thumbnail(split, index))
    return Picture(key, image, f"{label} · test image {key}", label)


def upload_picture(name: str, data: bytes) -> Picture:
    """An uploaded file checked on the server (``images.validate_upload``); ImageError if not."""
    image = validate_upload(name, data)
    return Picture(f"upload:{hashlib.sha256(data).hexdigest()[:20]}", image, name)
