"""Datasets as uint8 tensors: CIFAR-10, MNIST, Fashion-MNIST and image folders.

Every split is decoded once into ``<root>/.cnnlab-cache/<name>-<split>.pt`` (a dict of
uint8 tensors, the class names and a fingerprint of the source files), so the second
load only reads one file. Where each dataset is looked for, in order:

- CIFAR-10: torchvision's layout ``<root>/cifar-10-batches-py/`` (original pixels), an
  image-folder copy ``<root>/cifar10-jpeg/{train,test}/<class>/*.jpg``, the tarball
  ``<root>/cifar10-jpeg.tar.gz`` (extracted on first use), then a torchvision download
  when ``download=True``.
- MNIST / Fashion-MNIST: the official idx archives in ``<root>/MNIST/raw/`` and
  ``<root>/FashionMNIST/raw/`` (``.gz`` or extracted), read here directly so that one
  split works without the other; torchvision downloads them when ``download=True``.
- ``folder:<path>``: a user's images in ``<path>/train/<class>/*`` and
  ``<path>/test/<class>/*`` (relative paths are relative to the data root). Classes are the
  sorted folder names of ``train/``. Images become RGB and are resized (shorter side) and
  center-cropped to ``FOLDER_IMAGE_SIZE`` (32) pixels. Files that cannot be decoded are
  skipped with a warning naming them; a class left without images is an error.

The cache notices sources that gain, lose or rename files (inode, mtime and ctime of each
class folder; size and mtime of archive files) without listing 60,000 files; overwriting one
image in place under the same name is not noticed: delete ``.cnnlab-cache`` then. A cache
file that is truncated or foreign is rebuilt; it is written to a temp file and renamed, so a
crash never leaves half of one.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import math
import os
import pickle
import shutil
import struct
import tarfile
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch

from cnnlab.atomic import atomic_torch_save
from cnnlab.errors import ConfigError, DatasetUnavailable

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
MNIST_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


@dataclass(frozen=True)
class DatasetInfo:
    """What a model and the input pipeline need to know about a dataset."""

    name: str  # "cifar10", "mnist", "fashion_mnist", or "folder:<path>"
    title: str  # "CIFAR-10"
    channels: int
    size: int  # square images: size x size
    classes: tuple[str, ...]
    mean: tuple[float, ...]  # per channel, in [0, 1] units
    std: tuple[float, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.size, self.size)


DATASETS: dict[str, DatasetInfo] = {
    "cifar10": DatasetInfo(
        "cifar10", "CIFAR-10", 3, 32, CIFAR10_CLASSES,
        (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
    ),
    "mnist": DatasetInfo("mnist", "MNIST", 1, 28, MNIST_CLASSES, (0.1307,), (0.3081,)),
    "fashion_mnist": DatasetInfo(
        "fashion_mnist", "Fashion-MNIST", 1, 28, FASHION_MNIST_CLASSES, (0.2860,), (0.3530,),
    ),
}  # fmt: skip


class TensorSplit(NamedTuple):
    """One split of a dataset, decoded once."""

    images: torch.Tensor  # uint8 [N, C, H, W]
    labels: torch.Tensor  # int64 [N]
    classes: tuple[str, ...]


Progress = Callable[[int, int], None]  # (items done, items in all)

SPLITS = ("train", "test")
FOLDER_PREFIX = "folder:"
FOLDER_IMAGE_SIZE = 32
FOLDER_DEFAULT_STAT = 0.5  # mean and std of a folder whose train split cannot be read
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
CACHE_DIRNAME = ".cnnlab-cache"
CACHE_VERSION = 1
CIFAR_JPEG_DIR = "cifar10-jpeg"
CIFAR_TARBALL = "cifar10-jpeg.tar.gz"
CIFAR_PICKLE_DIR = "cifar-10-batches-py"
CIFAR_PICKLES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
IDX_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}  # torchvision's class names
IDX_PREFIX = {"train": "train", "test": "t10k"}
_DECODE_CHUNK = 2000  # images per progress report


def data_root(cli_value: str | Path | None = None) -> Path:
    """The data root: the ``--data-dir`` value, else ``$CNNLAB_DATA_DIR``, else ``./data``."""
    value = cli_value or os.environ.get("CNNLAB_DATA_DIR") or "data"
    return Path(value).expanduser()


def valid_names() -> str:
    return ", ".join(DATASETS) + ", or `folder:<path>` (an image folder with `train/<class>/*`)"


# ----------------------------------------------------------------------------- public API


def dataset_info(name: str, root: str | Path | None = None) -> DatasetInfo:
    """The DatasetInfo of a built-in dataset or of ``folder:<path>``.

    For an image folder the mean and std are measured on its train split, which decodes
    (and caches) that split on the first call; an unreadable train split gives 0.5.
    """
    if name in DATASETS:
        return DATASETS[name]
    if not name.startswith(FOLDER_PREFIX):
        raise DatasetUnavailable(f"Unknown dataset {name!r}. Choose one of {valid_names()}.")
    root = data_root(root)
    folder = _folder_path(name, root)
    classes = _folder_classes(folder)
    mean, std = _folder_stats(name, root)
    title = f"Image folder {folder.name}"
    return DatasetInfo(name, title, 3, FOLDER_IMAGE_SIZE, classes, mean, std)


def load_split(
    name: str,
    split: str,
    root: str | Path | None = None,
    download: bool = False,
    progress: Progress | None = None,
    *,
    cache_dir: str | Path | None = None,
) -> TensorSplit:
    """One split as uint8 [N, C, H, W] images and int64 [N] labels, from the cache if fresh.

    ``cache_dir`` overrides ``<root>/.cnnlab-cache``. Raises DatasetUnavailable saying which
    files to put where when the split is neither on disk nor downloadable.
    """
    if split not in SPLITS:
        raise ConfigError(f"Unknown split {split!r}: use 'train' or 'test'.")
    root = data_root(root)
    source = _locate(name, split, root, download=download)
    cache = Path(cache_dir) if cache_dir is not None else root / CACHE_DIRNAME
    cache_file = cache / _cache_name(name, root, split)
    cached = _read_cache(cache_file, source.fingerprint, source.classes)
    if cached is not None:
        if progress is not None:
            progress(len(cached.labels), len(cached.labels))
        return cached
    images, labels = source.decode(progress)
    result = TensorSplit(images, labels, source.classes)
    extra: dict[str, object] = {}
    if name.startswith(FOLDER_PREFIX) and split == "train":  # for dataset_info, read cheaply
        extra = dict(zip(("mean", "std"), _channel_stats(images), strict=True))
    _write_cache(cache_file, result, source.fingerprint, extra)
    return result


def available_datasets(root: str | Path | None = None) -> dict[str, bool | str]:
    """Built-in name -> True when both splits are on disk, else the reason (what to put where).

    Nothing is decoded, extracted or downloaded: a form can call this to grey out choices.
    """
    root = data_root(root)
    status: dict[str, bool | str] = {}
    for name in DATASETS:
        try:
            for split in SPLITS:
                _locate(name, split, root, download=False, extract=False)
            status[name] = True
        except DatasetUnavailable as error:
            status[name] = str(error)
    return status


def normalize(x: torch.Tensor, info: DatasetInfo) -> torch.Tensor:
    """uint8 [..., C, H, W] images (any device) -> float32 ``(x / 255 - mean) / std``.

    Float input is taken to be in [0, 1] already. Training, evaluation and the feature-map
    page all go through this function, so a model always sees the same scale.
    """
    if x.shape[-3] != info.channels:
        raise ValueError(f"{info.title} images have {info.channels} channels, got {x.shape}")
    x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    mean = torch.tensor(info.mean, device=x.device).view(-1, 1, 1)  # [C, 1, 1]
    std = torch.tensor(info.std, device=x.device).view(-1, 1, 1)
    return (x - mean) / std


def denormalize(x: torch.Tensor, info: DatasetInfo) -> torch.Tensor:
    """The inverse of ``normalize``: float [..., C, H, W] -> float in [0, 1] for display."""
    mean = torch.tensor(info.mean, device=x.device).view(-1, 1, 1)  # [C, 1, 1]
    std = torch.tensor(info.std, device=x.device).view(-1, 1, 1)
    return (x * std + mean).clamp(0, 1)


# ----------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class _Source:
    """Where one split lives on disk, found without decoding anything."""

    classes: tuple[str, ...]
    fingerprint: str  # changes when the files change; stored in the cache
    decode: Callable[[Progress | None], tuple[torch.Tensor, torch.Tensor]]


def _locate(name: str, split: str, root: Path, *, download: bool, extract: bool = True) -> _Source:
    if name == "cifar10":
        return _locate_cifar(split, root, download=download, extract=extract)
    if name in IDX_FOLDERS:
        return _locate_idx(name, split, root, download=download)
    if name.startswith(FOLDER_PREFIX):
        folder = _folder_path(name, root)
        classes = _folder_classes(folder)
        split_dir = folder / split
        if not split_dir.is_dir():
            raise DatasetUnavailable(
                f"Image folder `{folder}` has no `{split}/` folder. Put images in "
                f"`{split_dir}/<class>/` using the class folder names of `train/`."
            )
        return _image_folder_source(
            split_dir, classes, FOLDER_IMAGE_SIZE, strict=False, require_all=(split == "train")
        )
    raise DatasetUnavailable(f"Unknown dataset {name!r}. Choose one of {valid_names()}.")


def _cifar_missing(
    root: Path, split: str, failed: BaseException | None = None
) -> DatasetUnavailable:
    return DatasetUnavailable(
        f"CIFAR-10 ({split}) not found under `{root}`. Put the folder `{CIFAR_PICKLE_DIR}/` "
        "from `cifar-10-python.tar.gz` (https://www.cs.toronto.edu/~kriz/cifar.html) there, "
        f"or extract `{CIFAR_TARBALL}` there (giving `{CIFAR_JPEG_DIR}/{{train,test}}/<class>/"
        f"*.jpg`), or place `{CIFAR_TARBALL}` itself in `{root}`{_download_hint(failed)}"
    )


def _locate_cifar(split: str, root: Path, *, download: bool, extract: bool) -> _Source:
    pickles = [root / CIFAR_PICKLE_DIR / f for f in CIFAR_PICKLES[split]]
    if all(p.is_file() for p in pickles):
        return _Source(
            CIFAR10_CLASSES, _files_fingerprint(pickles), lambda pr: _read_cifar(pickles, pr)
        )
    jpeg_dir = root / CIFAR_JPEG_DIR / split
    tarball = root / CIFAR_TARBALL
    if not jpeg_dir.is_dir() and tarball.is_file():
        if not extract:
            return _Source(CIFAR10_CLASSES, "", lambda pr: _no_decode())
        _extract_cifar_tarball(tarball, root)
    if jpeg_dir.is_dir():
        return _image_folder_source(jpeg_dir, CIFAR10_CLASSES, 32, strict=True, require_all=True)
    if not download:
        raise _cifar_missing(root, split)
    try:
        from torchvision.datasets import CIFAR10

        CIFAR10(root=str(root), train=(split == "train"), download=True)
    except (OSError, RuntimeError) as error:
        raise _cifar_missing(root, split, error) from error
    return _locate_cifar(split, root, download=False, extract=False)


def _no_decode() -> tuple[torch.Tensor, torch.Tensor]:
    raise RuntimeError("availability checks never decode")


def _extract_cifar_tarball(tarball: Path, root: Path) -> None:
    """Extract the image-folder tarball beside itself, safely and all-or-nothing."""
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=root))
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for member in archive.getmembers():
                top = member.name.lstrip("./").split("/", 1)[0]
                if top != CIFAR_JPEG_DIR:
                    raise DatasetUnavailable(
                        f"`{tarball}` holds {member.name!r} outside `{CIFAR_JPEG_DIR}/`: not "
                        f"the CIFAR-10 image-folder copy. Remove it or extract the right one."
                    )
            archive.extractall(tmp, filter="data")  # refuses absolute paths, .., device files
        with contextlib.suppress(OSError):  # another process may have finished first
            os.replace(tmp / CIFAR_JPEG_DIR, root / CIFAR_JPEG_DIR)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DatasetUnavailable(
            f"`{tarball}` could not be extracted ({_first_line(error)}). Replace it with a "
            f"complete copy or extract it by hand into `{root}`."
        ) from error
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10 batches while refusing anything but numpy arrays and plain data."""

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR-10 batch")
        return super().find_class(module, name)


def _read_cifar(files: list[Path], progress: Progress | None) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = [], []
    for done, path in enumerate(files, 1):
        try:
            with open(path, "rb") as f, warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # numpy.core alias
                batch = _CifarUnpickler(f, encoding="latin1").load()
            batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
            data = torch.from_numpy(batch["data"].copy()).view(-1, 3, 32, 32)  # [N, 3, 32, 32]
            target = torch.tensor(batch["labels"], dtype=torch.int64)  # [N]
        except (pickle.UnpicklingError, EOFError, KeyError, ValueError, RuntimeError) as error:
            raise DatasetUnavailable(
                f"`{path}` is not a readable CIFAR-10 batch ({_first_line(error)}). Replace "
                f"`{path.parent}` with a fresh copy from `cifar-10-python.tar.gz`."
            ) from error
        images.append(data)
        labels.append(target)
        if progress is not None:
            progress(done, len(files))
    return torch.cat(images), torch.cat(labels)


def _idx_files(name: str, split: str) -> tuple[str, str]:
    prefix = IDX_PREFIX[split]
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _locate_idx(name: str, split: str, root: Path, *, download: bool) -> _Source:
    info = DATASETS[name]
    raw = root / IDX_FOLDERS[name] / "raw"
    found = []
    for stem in _idx_files(name, split):
        candidates = [raw / f"{stem}.gz", raw / stem]
        found.append(next((p for p in candidates if p.is_file()), None))
    if None not in found:
        paths = [p for p in found if p is not None]
        return _Source(info.classes, _files_fingerprint(paths), lambda pr: _read_idx_pair(*paths))
    wanted = " and ".join(f"`{stem}.gz`" for stem in _idx_files(name, split))
    message = (
        f"{info.title} {split} split not found under `{root}`. Put {wanted} (the official "
        f"archives) into `{raw}/`"
    )
    if not download:
        raise DatasetUnavailable(message + _download_hint(None))
    try:
        import torchvision.datasets

        dataset_class = getattr(torchvision.datasets, IDX_FOLDERS[name])
        dataset_class(root=str(root), train=(split == "train"), download=True)
    except (OSError, RuntimeError) as error:
        raise DatasetUnavailable(message + _download_hint(error)) from error
    return _locate_idx(name, split, root, download=False)


def _read_idx(path: Path) -> torch.Tensor:
    """An idx file (``.gz`` or not) as a uint8 tensor of the shape its header states."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
        zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
        dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
        body = raw[4 + 4 * ndim :]
        if zero != 0 or dtype != 0x08 or len(body) != math.prod(dims):
            raise ValueError(f"header says {dims} bytes of type {dtype:#x}, found {len(body)}")
    except (OSError, EOFError, struct.error, ValueError) as error:
        raise DatasetUnavailable(
            f"`{path}` is not a complete idx file ({_first_line(error)}). Replace it with the "
            "official archive."
        ) from error
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).view(dims)


def _read_idx_pair(images: Path, labels: Path) -> tuple[torch.Tensor, torch.Tensor]:
    x = _read_idx(images).unsqueeze(1)  # [N, 1, 28, 28]
    y = _read_idx(labels).long()  # [N]
    if len(x) != len(y):
        raise DatasetUnavailable(f"`{images}` has {len(x)} images but `{labels}` {len(y)} labels.")
    return x, y


# ----------------------------------------------------------------------------- image folders


def _folder_path(name: str, root: Path) -> Path:
    path = Path(name[len(FOLDER_PREFIX) :]).expanduser()
    if not str(path).strip() or str(path) == ".":
        raise DatasetUnavailable("Give the image folder as `folder:<path>`.")
    return path if path.is_absolute() else root / path


def _subdirs(path: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))


def _folder_classes(folder: Path) -> tuple[str, ...]:
    train = folder / "train"
    classes = _subdirs(train) if train.is_dir() else []
    if not classes:
        raise DatasetUnavailable(
            f"Image folder `{folder}` needs `train/<class>/` and `test/<class>/` folders of "
            f"images (one folder per class); none found in `{train}`."
        )
    return tuple(classes)


def _image_files(class_dir: Path) -> list[str]:
    """Sorted image file names (plain strings: 60,000 Path objects cost a second)."""
    return sorted(
        e.name
        for e in os.scandir(class_dir)
        if not e.name.startswith(".")
        and os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES
        and e.is_file()
    )


def _image_folder_source(
    split_dir: Path, classes: tuple[str, ...], size: int, *, strict: bool, require_all: bool
) -> _Source:
    """``split_dir/<class>/*`` with label = index of the folder name in ``classes``.

    ``strict`` (the CIFAR-10 copy): a corrupt file is an error, not a warning.
    ``require_all``: every class needs a folder (train splits); else a subset may be present.
    """
    found = _subdirs(split_dir)
    unknown = [c for c in found if c not in classes]
    missing = [c for c in classes if c not in found]
    if unknown or (require_all and missing):
        raise DatasetUnavailable(
            f"`{split_dir}` has class folders {found}; expected {list(classes)}. Rename or "
            "remove the folders that differ."
        )
    # Adding, removing or renaming a file changes its folder's mtime and ctime; stat-ing the
    # class folders costs microseconds where listing 60,000 files costs 0.15 s.
    stamp: list[object] = [CACHE_VERSION, str(split_dir.resolve()), size]
    labelled: list[tuple[Path, int]] = []
    for label, name in enumerate(classes):
        if name in found:
            st = (split_dir / name).stat()
            stamp.append([name, st.st_ino, st.st_mtime_ns, st.st_ctime_ns])
            labelled.append((split_dir / name, label))
    fingerprint = json.dumps(stamp)

    def decode(progress: Progress | None) -> tuple[torch.Tensor, torch.Tensor]:
        files = [
            (os.path.join(class_dir, f), label)
            for class_dir, label in labelled
            for f in _image_files(class_dir)
        ]  # (path, label)
        if not files:
            suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
            raise DatasetUnavailable(f"`{split_dir}` has no image files ({suffixes}).")
        return _decode_folder(files, size, strict, progress)

    return _Source(classes, fingerprint, decode)


def _decode_folder(
    files: list[tuple[str, int]], size: int, strict: bool, progress: Progress | None
) -> tuple[torch.Tensor, torch.Tensor]:
    decode_jpegs = _batch_jpeg_decoder()
    images: list[torch.Tensor] = []
    labels: list[int] = []
    skipped: list[str] = []
    for start in range(0, len(files), _DECODE_CHUNK):
        chunk = files[start : start + _DECODE_CHUNK]
        raw = [_read_bytes(path) for path, _ in chunk]
        decoded: list[torch.Tensor | None]
        is_jpeg = [path.lower().endswith((".jpg", ".jpeg")) for path, _ in chunk]
        jpegs = [r for r, j in zip(raw, is_jpeg, strict=True) if j]
        try:  # batched libjpeg decode: ~3x faster than Pillow on 32x32 images
            out = iter(decode_jpegs(jpegs) if jpegs and decode_jpegs else [])
            decoded = [next(out) if j and decode_jpegs else None for j in is_jpeg]
        except RuntimeError:  # one bad file fails the batch: decode one by one below
            decoded = [None] * len(chunk)
        for (path, label), data, image in zip(chunk, raw, decoded, strict=True):
            if image is None:
                image = _decode_with_pil(data)
            if image is None:
                skipped.append(path)
                continue
            images.append(_fit(image, size))  # [3, size, size]
            labels.append(label)
        if progress is not None:
            progress(min(start + _DECODE_CHUNK, len(files)), len(files))
    if skipped:
        listed = ", ".join(f"`{path}`" for path in skipped[:5]) + (
            f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        )
        if strict:
            raise DatasetUnavailable(f"Cannot decode {listed}. Replace the copy with a fresh one.")
        warnings.warn(f"Skipped {len(skipped)} file(s) that are not images: {listed}", stacklevel=3)
    if not images:
        raise DatasetUnavailable(f"No decodable images among {len(files)} files.")
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64)


def _batch_jpeg_decoder() -> Callable[[list[torch.Tensor]], list[torch.Tensor]] | None:
    """torchvision's batched JPEG decoder, or None where it is gone (deprecated in 0.29)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from torchvision.io import ImageReadMode, decode_jpeg
    except ImportError:
        return None

    def decode(jpegs: list[torch.Tensor]) -> list[torch.Tensor]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return decode_jpeg(jpegs, mode=ImageReadMode.RGB, apply_exif_orientation=True)

    return decode


def _read_bytes(path: str) -> torch.Tensor:
    with open(path, "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)  # [bytes]


def _decode_with_pil(data: torch.Tensor) -> torch.Tensor | None:
    """Any format Pillow reads -> uint8 [3, H, W], or None when the bytes are not an image."""
    import io

    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data.numpy().tobytes())) as image:
            rgb = ImageOps.exif_transpose(image).convert("RGB")
            return torch.from_numpy(np.array(rgb)).permute(2, 0, 1).contiguous()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def _fit(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resize the shorter side to ``size`` and center-crop: uint8 [3, h, w] -> [3, size, size]."""
    if image.shape[-2:] == (size, size):
        return image
    from torchvision.transforms.v2 import functional as F

    image = F.resize(image, [size], antialias=True)
    return F.center_crop(image, [size, size])


Stats = tuple[tuple[float, ...], tuple[float, ...]]  # per-channel mean, std


def _folder_stats(name: str, root: Path) -> Stats:
    """Mean and std of an image folder's train split, stored in its cache beside the tensors."""
    default = (FOLDER_DEFAULT_STAT,) * 3, (FOLDER_DEFAULT_STAT,) * 3
    try:
        source = _locate(name, "train", root, download=False)
        cache_file = root / CACHE_DIRNAME / _cache_name(name, root, "train")
        payload = _load_cache(cache_file, source.fingerprint, source.classes, mmap=True)
        if payload is None:  # decode once; this writes the stats into the cache
            images = load_split(name, "train", root).images
            payload = _load_cache(cache_file, source.fingerprint, source.classes, mmap=True)
            if payload is None:  # the cache could not be written
                return _channel_stats(images)
    except DatasetUnavailable:
        return default
    return tuple(payload["mean"]), tuple(payload["std"])


def _channel_stats(images: torch.Tensor) -> Stats:
    """Per-channel mean and std in [0, 1] units of uint8 images [N, C, H, W]."""
    channels = images.shape[1]
    total = torch.zeros(channels, dtype=torch.float64)
    squares = torch.zeros(channels, dtype=torch.float64)
    for chunk in images.split(4096):
        x = chunk.double() / 255  # [n, C, H, W]
        total += x.sum(dim=(0, 2, 3))
        squares += (x * x).sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    std = (squares / count - mean * mean).clamp_min(1e-12).sqrt()
    return tuple(round(v, 4) for v in mean.tolist()), tuple(
        round(max(v, 1e-3), 4) for v in std.tolist()
    )


# ----------------------------------------------------------------------------- cache


def _files_fingerprint(paths: list[Path]) -> str:
    stamp: list[object] = [CACHE_VERSION]
    for path in paths:
        st = path.stat()
        stamp.append([str(path.resolve()), st.st_size, st.st_mtime_ns])
    return json.dumps(stamp)


def _cache_name(name: str, root: Path, split: str) -> str:
    if name.startswith(FOLDER_PREFIX):
        folder = _folder_path(name, root).resolve()
        digest = hashlib.sha1(str(folder).encode()).hexdigest()[:10]
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in folder.name)[:40]
        return f"folder-{safe}-{digest}-{split}.pt"
    return f"{name}-{split}.pt"


def _read_cache(path: Path, fingerprint: str, classes: tuple[str, ...]) -> TensorSplit | None:
    """The cached split when it exists, is intact and matches the source; else None."""
    payload = _load_cache(path, fingerprint, classes)
    return None if payload is None else TensorSplit(payload["images"], payload["labels"], classes)


def _load_cache(
    path: Path, fingerprint: str, classes: tuple[str, ...], *, mmap: bool = False
) -> dict[str, object] | None:
    """The cache payload when intact and fresh. ``mmap`` reads tensor data only when used."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, weights_only=True, mmap=mmap)
        images, labels = payload["images"], payload["labels"]
        fresh = (
            payload["version"] == CACHE_VERSION
            and payload["fingerprint"] == fingerprint
            and tuple(payload["classes"]) == classes
            and images.dtype == torch.uint8
            and images.dim() == 4
            and labels.dtype == torch.int64
            and labels.shape == (images.shape[0],)
        )
    except Exception:  # a truncated or foreign file is rebuilt, never fatal
        return None
    return payload if fresh else None


def _write_cache(path: Path, data: TensorSplit, fingerprint: str, extra: dict[str, object]) -> None:
    """Write atomically: a temp file beside the cache, fsync, then rename over it.

    A crash leaves either the old cache or the new one, never half a file. A cache that
    cannot be written (read-only data root) only costs speed, so it is a warning.
    """
    payload = {
        "version": CACHE_VERSION,
        "fingerprint": fingerprint,
        "classes": list(data.classes),
        "images": data.images.contiguous(),
        "labels": data.labels,
        **extra,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(path)
        atomic_torch_save(path, payload, unique=True)  # sessions share one server process
    except OSError as error:
        warnings.warn(f"Could not write the dataset cache {path}: {error}", stacklevel=3)


def _remove_stale_temps(path: Path, older_than_s: float = 3600) -> None:
    """Temp files left by writers that were killed mid-write."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            if time.time() - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()


def _download_hint(failed: BaseException | None) -> str:
    """The end of a not-found message: offer downloading, or say why it failed."""
    if failed is None:
        return ", or allow downloading."
    reason = " ".join(str(failed).split())[:300] or type(failed).__name__
    return f". Downloading failed ({reason}): check the network or put the files there by hand."


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
