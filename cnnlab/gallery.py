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

from cnnlab.bytecache import ByteLRU
from cnnlab.data import DatasetInfo, TensorSplit, available_datasets, load_split
from cnnlab.images import image_bytes, reduced, upright_size, validate_upload
from cnnlab.samples import load_sample

SAMPLE = "sample"  # the 100 bundled images (cnnlab/assets), always there
TEST = "test"  # the full CIFAR-10 test split, when it is on disk
SOURCE_TITLES = {SAMPLE: "Bundled sample (100)", TEST: "Full test split (10,000)"}
PER_PAGE = 10
# An upload is kept only as a copy with its short side at most WORK_SIDE pixels (the model
# view of any dataset here is at most 32 px; a checkpoint's may be larger) and a long side
# at most MAX_ASPECT times that: at most 256 x 1024 x 3 bytes = 768 KiB an upload.
WORK_SIDE = 256
MAX_ASPECT = 4
UPLOAD_CACHE_BYTES = 32 * 2**20  # every session's uploads together
UPLOAD_TTL_S = 15 * 60  # an upload nobody looked at for 15 minutes is dropped
_UPLOADS: ByteLRU[tuple[Image.Image, tuple[int, int]]] = ByteLRU(
    UPLOAD_CACHE_BYTES, lambda entry: image_bytes(entry[0]), UPLOAD_TTL_S
)


@dataclass(frozen=True)
class Picture:
    key: str  # content identity: "sample:17", "test:4031" or "upload:<sha256 prefix>"
    image: Image.Image  # RGB; an upload's reduced copy (see WORK_SIDE)
    caption: str
    label: str | None = None  # the true class of a CIFAR-10 image
    original_size: tuple[int, int] | None = None  # (width, height) of an upload as sent

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the picture as it was uploaded or stored."""
        return self.original_size or self.image.size

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
    """An uploaded file checked on the server (``images.validate_upload``); ImageError if not.

    Decoded once per content: the full image is reduced at once (see WORK_SIDE) and only
    the small copy is cached, in a cache bounded by bytes shared by every session.
    """
    key = f"upload:{hashlib.sha256(data).hexdigest()[:20]}"
    image, size = _UPLOADS.get_or_make(key, lambda: _decode(name, data))
    return Picture(key, image, name, original_size=size)


def upload_cache_bytes() -> int:
    """The bytes the cached uploads hold now (at most UPLOAD_CACHE_BYTES)."""
    return _UPLOADS.total_bytes


def _decode(name: str, data: bytes) -> tuple[Image.Image, tuple[int, int]]:
    full = validate_upload(name, data, min_short_side=WORK_SIDE)  # RGB, possibly huge
    return reduced(full, WORK_SIDE, MAX_ASPECT), upright_size(data)  # only the copy is kept
