"""CIFAR-10 from the extracted JPEG copy: first load (decode) vs second load (tensor cache).

Target: the second load of train+test is at least 20x faster than the first.
The cache goes to a fresh temporary folder so the first load always decodes.
"""

from __future__ import annotations

import tempfile
import time

from cnnlab.data import CIFAR_JPEG_DIR, data_root, load_split

TARGET_RATIO = 20.0


def _load_both(cache_dir: str) -> tuple[float, int]:
    started = time.perf_counter()
    count = sum(
        len(load_split("cifar10", split, cache_dir=cache_dir).labels) for split in ("train", "test")
    )
    return time.perf_counter() - started, count


def run() -> None:
    root = data_root()
    if not (root / CIFAR_JPEG_DIR / "train").is_dir():
        print(f"skipped: no extracted CIFAR-10 copy under {root} (run `make data`)")
        return
    import torchvision.io  # noqa: F401  # import cost (~2 s) is not decoding: pay it first

    with tempfile.TemporaryDirectory(prefix="cnnlab-bench-cache-") as cache_dir:
        first, count = _load_both(cache_dir)
        second, _ = _load_both(cache_dir)
    ratio = first / second
    verdict = "ok" if ratio >= TARGET_RATIO else f"BELOW the {TARGET_RATIO:.0f}x target"
    print(f"CIFAR-10 train+test, {count:,} images from {root / CIFAR_JPEG_DIR}")
    print(f"first load (decode + write cache): {first:6.2f} s  ({count / first:,.0f} images/s)")
    print(f"second load (tensor cache):        {second:6.2f} s")
    print(f"ratio: {ratio:.1f}x ({verdict})")


if __name__ == "__main__":
    run()
