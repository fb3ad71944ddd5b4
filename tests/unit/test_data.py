"""cnnlab.data on real files: the offline copies, tiny datasets built here, and the cache."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import shutil
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab import data
from cnnlab.data import (
    CIFAR10_CLASSES,
    DATASETS,
    available_datasets,
    data_root,
    dataset_info,
    load_split,
)
from cnnlab.errors import ConfigError, DatasetUnavailable

REPO = Path(__file__).resolve().parents[2]
SHARED_TARBALL = REPO.parent / "shared" / "datasets" / "cifar10-jpeg.tar.gz"


# ----------------------------------------------------------------------------- builders


def colour(label: int, index: int) -> tuple[int, int, int]:
    """A flat colour that identifies an image: red = class, green = index."""
    return (20 * label + 10, 40 * index + 20, 128)


def make_cifar_tree(root: Path, per_class: dict[str, int] | None = None) -> Path:
    """A tiny cifar10-jpeg/{train,test}/<class>/NNNN.jpg tree of flat-coloured images."""
    per_class = per_class or {"train": 2, "test": 1}
    for split, count in per_class.items():
        for label, name in enumerate(CIFAR10_CLASSES):
            folder = root / "cifar10-jpeg" / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                image = Image.new("RGB", (32, 32), colour(label, i))
                image.save(folder / f"{i:04d}.jpg", quality=95)
    return root / "cifar10-jpeg"


def make_tarball(source_root: Path, tarball: Path) -> None:
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(source_root / "cifar10-jpeg", arcname="cifar10-jpeg")


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)


def make_user_folder(folder: Path) -> None:
    """2 classes, PNG and JPEG of several sizes, one corrupt file in train/cats."""
    (folder / "train" / "dogs").mkdir(parents=True)
    (folder / "train" / "cats").mkdir(parents=True)
    (folder / "test" / "cats").mkdir(parents=True)
    Image.new("RGB", (50, 20), (255, 0, 0)).save(folder / "train" / "cats" / "a.png")
    Image.new("L", (32, 32), 200).save(folder / "train" / "cats" / "b.jpg")
    Image.new("RGB", (64, 64), (0, 0, 255)).save(folder / "train" / "dogs" / "c.jpeg")
    Image.new("RGBA", (10, 40), (0, 255, 0, 255)).save(folder / "train" / "dogs" / "d.PNG")
    (folder / "train" / "cats" / "broken.jpg").write_bytes(b"not an image at all")
    (folder / "train" / "dogs" / "notes.txt").write_text("ignored: not an image suffix")
    Image.new("RGB", (33, 33), (255, 0, 0)).save(folder / "test" / "cats" / "e.png")


# ----------------------------------------------------------------------------- data root


def test_data_root_prefers_cli_then_env_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNNLAB_DATA_DIR", "/from/env")
    assert data_root("/from/cli") == Path("/from/cli")
    assert data_root() == Path("/from/env")
    monkeypatch.delenv("CNNLAB_DATA_DIR")
    assert data_root() == Path("data")


# ----------------------------------------------------------------------------- CIFAR-10


@pytest.mark.slow
def test_cifar10_offline_copy_full_splits_and_cache(data_dir: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    train = load_split(
        "cifar10", "train", data_dir, cache_dir=tmp_path, progress=lambda *a: seen.append(a)
    )
    test = load_split("cifar10", "test", data_dir, cache_dir=tmp_path)
    assert train.images.shape == (50_000, 3, 32, 32) and train.images.dtype == torch.uint8
    assert test.images.shape == (10_000, 3, 32, 32) and test.images.dtype == torch.uint8
    assert train.labels.dtype == torch.int64 and train.labels.shape == (50_000,)
    assert train.classes == test.classes == CIFAR10_CLASSES
    assert torch.bincount(test.labels).tolist() == [1000] * 10
    assert torch.bincount(train.labels).tolist() == [5000] * 10
    assert seen[-1] == (50_000, 50_000) and len(seen) > 1  # reported while decoding
    # Channel means of the JPEG copy sit within 1% of the originals' published statistics.
    mean = train.images.float().mean(dim=(0, 2, 3)) / 255
    assert torch.allclose(mean, torch.tensor(DATASETS["cifar10"].mean), atol=0.01)

    cache = tmp_path / "cifar10-test.pt"
    stamp = cache.stat().st_mtime_ns
    again = load_split("cifar10", "test", data_dir, cache_dir=tmp_path)
    assert cache.stat().st_mtime_ns == stamp  # served from the cache, not rewritten
    assert torch.equal(again.images, test.images) and torch.equal(again.labels, test.labels)


def test_cifar10_image_folder_labels_follow_official_order(tmp_path: Path) -> None:
    make_cifar_tree(tmp_path)
    split = load_split("cifar10", "train", tmp_path)
    assert split.images.shape == (20, 3, 32, 32)
    assert split.classes == CIFAR10_CLASSES
    for image, label in zip(split.images, split.labels, strict=True):
        red = image[0].float().mean().item()  # the class is encoded in the red channel
        assert abs(red - colour(int(label), 0)[0]) < 4
    assert (tmp_path / ".cnnlab-cache" / "cifar10-train.pt").is_file()


def test_cifar10_wrong_class_folders_are_refused(tmp_path: Path) -> None:
    tree = make_cifar_tree(tmp_path, {"test": 1})
    (tree / "test" / "truck").rename(tree / "test" / "lorry")
    with pytest.raises(DatasetUnavailable, match="lorry"):
        load_split("cifar10", "test", tmp_path)


def test_tarball_in_empty_root_is_extracted(tmp_path: Path) -> None:
    make_cifar_tree(tmp_path / "build")
    root = tmp_path / "root"
    root.mkdir()
    make_tarball(tmp_path / "build", root / "cifar10-jpeg.tar.gz")
    assert available_datasets(root)["cifar10"] is True  # the tarball counts, unextracted
    assert not (root / "cifar10-jpeg").exists()
    split = load_split("cifar10", "test", root)
    assert split.images.shape == (10, 3, 32, 32)
    assert sorted(p.name for p in (root / "cifar10-jpeg" / "test").iterdir()) == list(
        CIFAR10_CLASSES
    )
    assert [p.name for p in root.iterdir() if p.name.startswith(".extract")] == []


@pytest.mark.slow
def test_shared_tarball_in_empty_root(tmp_path: Path) -> None:
    if not SHARED_TARBALL.is_file():
        pytest.skip(f"{SHARED_TARBALL} not here")
    shutil.copy(SHARED_TARBALL, tmp_path / "cifar10-jpeg.tar.gz")
    split = load_split("cifar10", "test", tmp_path)
    assert split.images.shape == (10_000, 3, 32, 32)
    assert torch.bincount(split.labels).tolist() == [1000] * 10


@pytest.mark.parametrize("evil", ["../escaped.txt", "cifar10-jpeg/../../escaped.txt"])
def test_tarball_with_path_traversal_is_refused(tmp_path: Path, evil: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(root / "cifar10-jpeg.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo(evil)
        payload = b"gotcha"
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    with pytest.raises(DatasetUnavailable, match=r"cifar10-jpeg\.tar\.gz"):
        load_split("cifar10", "test", root)
    assert not (tmp_path / "escaped.txt").exists()
    assert list(root.iterdir()) == [root / "cifar10-jpeg.tar.gz"]  # no temp folder left


def write_cifar_pickles(root: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """torchvision's cifar-10-batches-py layout with 4 random images per batch."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    made = {}
    for name in [*data.CIFAR_PICKLES["train"], *data.CIFAR_PICKLES["test"]]:
        pixels = rng.integers(0, 256, size=(4, 3072), dtype=np.uint8)
        batch = {"batch_label": name, "labels": [0, 3, 9, 1], "data": pixels}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        made[name] = pixels
    return made


def test_cifar10_pickles_are_read_first(tmp_path: Path) -> None:
    made = write_cifar_pickles(tmp_path, np.random.default_rng(0))
    make_cifar_tree(tmp_path, {"test": 1})  # present too, but the originals win
    test = load_split("cifar10", "test", tmp_path)
    assert test.images.shape == (4, 3, 32, 32)
    assert test.labels.tolist() == [0, 3, 9, 1]
    expected = torch.from_numpy(made["test_batch"]).view(4, 3, 32, 32)  # R plane, G, B
    assert torch.equal(test.images, expected)
    assert load_split("cifar10", "train", tmp_path).images.shape == (20, 3, 32, 32)


class Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch pwned",))


def test_cifar10_pickle_with_code_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_cifar_pickles(tmp_path, np.random.default_rng(0))
    batch = tmp_path / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(pickle.dumps({"data": Boom(), "labels": [0]}, protocol=2))
    with pytest.raises(DatasetUnavailable, match="not allowed"):
        load_split("cifar10", "test", tmp_path)
    assert not (tmp_path / "pwned").exists()


# ----------------------------------------------------------------------------- cache


def test_cache_is_rebuilt_when_the_source_changes(tmp_path: Path) -> None:
    tree = make_cifar_tree(tmp_path, {"test": 1})
    first = load_split("cifar10", "test", tmp_path)
    Image.new("RGB", (32, 32), colour(4, 1)).save(tree / "test" / "deer" / "0001.jpg")
    second = load_split("cifar10", "test", tmp_path)
    assert len(first.labels) == 10 and len(second.labels) == 11
    assert (second.labels == CIFAR10_CLASSES.index("deer")).sum() == 2
    (tree / "test" / "deer" / "0001.jpg").unlink()
    assert len(load_split("cifar10", "test", tmp_path).labels) == 10


@pytest.mark.parametrize("damage", ["truncate", "garbage", "foreign"])
def test_corrupt_cache_is_rebuilt(tmp_path: Path, damage: str) -> None:
    make_cifar_tree(tmp_path, {"test": 1})
    good = load_split("cifar10", "test", tmp_path)
    cache = tmp_path / ".cnnlab-cache" / "cifar10-test.pt"
    if damage == "truncate":
        cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    elif damage == "garbage":
        cache.write_bytes(b"\x00" * 100)
    else:  # loads fine, but is not a split
        torch.save({"images": torch.zeros(3)}, cache)
    again = load_split("cifar10", "test", tmp_path)
    assert torch.equal(again.images, good.images)
    payload = torch.load(cache, weights_only=True)  # rewritten whole
    assert torch.equal(payload["images"], good.images)


def test_interrupted_decode_leaves_no_cache_file(tmp_path: Path) -> None:
    make_user_folder(tmp_path / "pets")
    for i in range(2500):  # more than one decode chunk, so progress fires mid-way
        Image.new("RGB", (8, 8), (i % 256, 0, 0)).save(
            tmp_path / "pets" / "train" / "dogs" / f"{i}.png"
        )

    def crash(done: int, total: int) -> None:
        if done < total:
            raise KeyboardInterrupt  # the user stops the app mid-decode

    with pytest.raises(KeyboardInterrupt):
        load_split("folder:pets", "train", tmp_path, progress=crash)
    cache = tmp_path / ".cnnlab-cache"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_failed_cache_write_keeps_the_old_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = make_cifar_tree(tmp_path, {"test": 1})
    old = load_split("cifar10", "test", tmp_path)
    Image.new("RGB", (32, 32), colour(0, 1)).save(tree / "test" / "airplane" / "0001.jpg")
    real_save = torch.save

    def save_half_then_fail(obj: object, f: io.BufferedWriter) -> None:
        buffer = io.BytesIO()
        real_save(obj, buffer)
        f.write(buffer.getvalue()[:1000])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", save_half_then_fail)
    with pytest.warns(UserWarning, match="No space left"):
        new = load_split("cifar10", "test", tmp_path)
    assert len(new.labels) == 11  # the caller still gets the fresh data
    cache_dir = tmp_path / ".cnnlab-cache"
    assert [p.name for p in cache_dir.iterdir()] == ["cifar10-test.pt"]  # no temp file left
    kept = torch.load(cache_dir / "cifar10-test.pt", weights_only=True)
    assert torch.equal(kept["images"], old.images)  # the old cache, whole


# ----------------------------------------------------------------------------- MNIST family


def test_mnist_test_split_from_raw_archives(data_dir: Path, tmp_path: Path) -> None:
    if not (data_dir / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("MNIST test archives not placed: run `make data`")
    split = load_split("mnist", "test", data_dir, cache_dir=tmp_path)
    assert split.images.shape == (10_000, 1, 28, 28) and split.images.dtype == torch.uint8
    assert split.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the official order
    assert split.classes == data.MNIST_CLASSES


def test_mnist_train_missing_names_files_and_folder(data_dir: Path, tmp_path: Path) -> None:
    if (data_dir / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("the MNIST training archives are present here")
    with pytest.raises(DatasetUnavailable) as caught:
        load_split("mnist", "train", data_dir, cache_dir=tmp_path)
    message = str(caught.value)
    assert "train-images-idx3-ubyte.gz" in message and "train-labels-idx1-ubyte.gz" in message
    assert str(data_dir / "MNIST" / "raw") in message


def test_fashion_mnist_from_debian_archives(data_dir: Path, tmp_path: Path) -> None:
    if not (data_dir / "FashionMNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("Fashion-MNIST not placed: install dataset-fashion-mnist and run `make data`")
    train = load_split("fashion_mnist", "train", data_dir, cache_dir=tmp_path)
    test = load_split("fashion_mnist", "test", data_dir, cache_dir=tmp_path)
    assert train.images.shape == (60_000, 1, 28, 28) and test.images.shape == (10_000, 1, 28, 28)
    assert torch.bincount(train.labels).tolist() == [6000] * 10
    assert test.classes[9] == "Ankle boot"


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_idx_files_gz_or_extracted(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    raw = tmp_path / "FashionMNIST" / "raw"
    write_idx(raw / f"t10k-images-idx3-ubyte{suffix}", pixels)
    write_idx(raw / f"t10k-labels-idx1-ubyte{suffix}", np.array([3, 1, 4, 1, 5]))
    split = load_split("fashion_mnist", "test", tmp_path)
    assert torch.equal(split.images[:, 0], torch.from_numpy(pixels))
    assert split.labels.tolist() == [3, 1, 4, 1, 5]


def test_truncated_idx_archive_is_reported(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw / "t10k-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.uint8))
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    images = raw / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-20])
    with pytest.raises(DatasetUnavailable, match=r"t10k-images-idx3-ubyte\.gz"):
        load_split("mnist", "test", tmp_path)


# ----------------------------------------------------------------------------- missing data


def test_empty_root_raises_for_every_dataset(tmp_path: Path) -> None:
    for name in DATASETS:
        for split in ("train", "test"):
            with pytest.raises(DatasetUnavailable, match=str(tmp_path)):
                load_split(name, split, tmp_path)
    status = available_datasets(tmp_path)
    assert set(status) == set(DATASETS)
    assert "cifar-10-batches-py" in status["cifar10"] and "cifar10-jpeg.tar.gz" in status["cifar10"]
    assert str(tmp_path / "FashionMNIST" / "raw") in status["fashion_mnist"]
    assert list(tmp_path.iterdir()) == []  # looking wrote nothing


def test_failed_download_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # refuses at once, with or without network
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(DatasetUnavailable, match="Downloading failed") as caught:
        load_split("mnist", "test", tmp_path, download=True)
    assert "t10k-images-idx3-ubyte.gz" in str(caught.value)


def test_unknown_names_list_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(DatasetUnavailable, match="cifar10, mnist, fashion_mnist"):
        dataset_info("imagenet")
    with pytest.raises(DatasetUnavailable, match="folder:<path>"):
        load_split("svhn", "train", tmp_path)
    with pytest.raises(ConfigError, match="'train' or 'test'"):
        load_split("cifar10", "val", tmp_path)


# ----------------------------------------------------------------------------- image folders


def test_user_image_folder(tmp_path: Path) -> None:
    make_user_folder(tmp_path / "pets")
    with pytest.warns(UserWarning, match="broken.jpg"):
        train = load_split("folder:pets", "train", tmp_path)
    assert train.classes == ("cats", "dogs")  # sorted folder names
    assert train.images.shape == (4, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.labels.tolist() == [0, 0, 1, 1]  # broken.jpg and notes.txt are skipped
    a, b, _, d = train.images.float()  # a.png, b.jpg, c.jpeg, d.PNG
    assert torch.allclose(a.mean(dim=(1, 2)), torch.tensor([255.0, 0, 0]), atol=1)
    assert torch.allclose(b.mean(dim=(1, 2)), torch.tensor([200.0] * 3), atol=2)  # grey -> RGB
    assert torch.allclose(d.mean(dim=(1, 2)), torch.tensor([0.0, 255, 0]), atol=1)  # RGBA -> RGB

    test = load_split(f"folder:{tmp_path / 'pets'}", "test", tmp_path / "elsewhere")  # absolute
    assert test.classes == ("cats", "dogs") and test.labels.tolist() == [0]

    caches = list((tmp_path / ".cnnlab-cache").glob("folder-pets-*-train.pt"))
    assert len(caches) == 1
    stamp = caches[0].stat().st_mtime_ns
    info = dataset_info("folder:pets", tmp_path)  # stats read from the cache, no decode
    assert caches[0].stat().st_mtime_ns == stamp
    assert (info.channels, info.size, info.classes) == (3, 32, ("cats", "dogs"))
    expected = train.images.double().div(255).mean(dim=(0, 2, 3))
    assert torch.allclose(torch.tensor(info.mean, dtype=torch.float64), expected, atol=1e-3)
    assert all(0 < s < 0.5 for s in info.std)
    shutil.rmtree(tmp_path / ".cnnlab-cache")
    with pytest.warns(UserWarning, match="broken.jpg"):  # no cache: decodes once
        assert dataset_info("folder:pets", tmp_path) == info


def test_user_folder_errors_say_what_to_fix(tmp_path: Path) -> None:
    with pytest.raises(DatasetUnavailable, match="train/<class>/"):
        dataset_info("folder:nothing", tmp_path)
    make_user_folder(tmp_path / "pets")
    (tmp_path / "pets" / "test" / "horses").mkdir()
    with pytest.raises(DatasetUnavailable, match="horses"):
        load_split("folder:pets", "test", tmp_path)


# ----------------------------------------------------------------------------- tensors


def test_normalize_and_denormalize() -> None:
    info = DATASETS["cifar10"]
    x = torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1).expand(2, 3, 2, 2)
    y = data.normalize(x, info)
    assert y.dtype == torch.float32 and y.shape == (2, 3, 2, 2)
    mean, std = torch.tensor(info.mean), torch.tensor(info.std)
    assert torch.allclose(y[1, :, 0, 0], (1 - mean) / std)
    assert torch.allclose(data.denormalize(y, info) * 255, x.float(), atol=1e-3)
    with pytest.raises(ValueError, match="channels"):
        data.normalize(x, DATASETS["mnist"])


def test_corrupt_jpeg_in_cifar_copy_is_an_error(tmp_path: Path) -> None:
    tree = make_cifar_tree(tmp_path, {"test": 1})
    (tree / "test" / "cat" / "0000.jpg").write_bytes(b"\xff\xd8\xff truncated")
    with pytest.raises(DatasetUnavailable, match=r"cat/0000\.jpg"):
        load_split("cifar10", "test", tmp_path)
    assert not (tmp_path / ".cnnlab-cache" / "cifar10-test.pt").exists()
