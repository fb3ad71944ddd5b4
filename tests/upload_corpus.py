"""Large uploads for the upload-memory tests, and a count of the big images still alive."""

from __future__ import annotations

import gc
import io

import numpy as np
from PIL import Image


def big_png(seed: int, width: int = 3000, height: int = 2000) -> bytes:
    """A distinct, well-compressing large PNG (a gradient whose colours depend on ``seed``)."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[..., 0] = (x * 255 // (width - 1) + 37 * seed) % 256
    pixels[..., 1] = (y * 255 // (height - 1) + 71 * seed) % 256
    pixels[..., 2] = ((x // 100 + y // 100) % 2) * (100 + seed)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def large_live_images(min_pixels: int = 1_000_000) -> int:
    """How many PIL images of at least ``min_pixels`` pixels are alive in this process."""
    gc.collect()
    return sum(
        1
        for o in gc.get_objects()
        if issubclass(type(o), Image.Image) and o.width * o.height >= min_pixels
    )
