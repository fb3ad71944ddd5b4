"""Rebuild cnnlab/assets/cifar10_sample.npz from the shared offline CIFAR-10 copy.

Takes the first N test images of every class (files 0000.jpg ... in each class
folder of cifar10-jpeg/test/) straight from ../shared/datasets/cifar10-jpeg.tar.gz,
decodes them with Pillow and stores them as one compressed uint8 array, so the
app has real CIFAR-10 pictures to show even when no dataset is on disk.

    python scripts/make_sample.py [--tarball PATH] [--per-class 10]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from cnnlab.data import CIFAR10_CLASSES
from cnnlab.samples import SAMPLE_PATH

DEFAULT_TARBALL = (
    Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-jpeg.tar.gz"
)


def build(tarball: Path, per_class: int) -> dict[str, np.ndarray]:
    wanted = {
        f"cifar10-jpeg/test/{name}/{index:04d}.jpg": (label, index)
        for label, name in enumerate(CIFAR10_CLASSES)
        for index in range(per_class)
    }
    found: dict[str, np.ndarray] = {}
    with tarfile.open(tarball) as archive:
        for member in archive:
            if member.name in wanted:
                data = archive.extractfile(member).read()
                found[member.name] = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise SystemExit(f"{tarball} lacks {len(missing)} sample files, e.g. {missing[0]}")
    names = sorted(wanted, key=lambda name: wanted[name])  # class-major, then file index
    return {
        "images": np.stack([found[name] for name in names]),  # uint8 [N, 32, 32, 3]
        "labels": np.array([wanted[name][0] for name in names], dtype=np.int64),
        "test_index": np.array([wanted[name][1] for name in names], dtype=np.int64),
        "classes": np.array(CIFAR10_CLASSES),
        "source": np.array(f"{tarball.name} sha256={_sha256(tarball)}"),
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, default=DEFAULT_TARBALL)
    parser.add_argument("--per-class", type=int, default=10)
    args = parser.parse_args()
    arrays = build(args.tarball, args.per_class)
    SAMPLE_PATH.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(SAMPLE_PATH, **arrays)
    print(
        f"wrote {SAMPLE_PATH} ({SAMPLE_PATH.stat().st_size / 1024:.0f} KiB, "
        f"{len(arrays['labels'])} images)"
    )


if __name__ == "__main__":
    main()
