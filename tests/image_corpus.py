"""Odd-but-valid and broken image files, generated at test time with PIL, numpy and zlib.

Nothing here is committed as a binary: every case is a few lines that build the
bytes, so a reader sees exactly what each file contains.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import numpy as np
from PIL import Image

RED, GREEN, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255,) * 3, (0,) * 3


def encode(image: Image.Image, format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def noise_rgb(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    """Textured RGB so JPEG and PNG files carry real entropy-coded data."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def gradient_png_bytes(width: int = 96, height: int = 64) -> bytes:
    """A colourful PNG for page tests: a red-to-blue gradient with a green disc."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[..., 0] = (255 * (1 - x / (width - 1))).astype(np.uint8)
    pixels[..., 2] = (255 * x / (width - 1)).astype(np.uint8)
    disc = (y - height / 2) ** 2 + (x - width / 2) ** 2 < (min(width, height) / 4) ** 2
    pixels[disc] = (40, 200, 60)
    return encode(Image.fromarray(pixels), "PNG")


# --- odd but valid -------------------------------------------------------------------------


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG", quality=95)  # red


def png_16bit() -> bytes:
    """I;16 gradient from 1000 to 3000: clipping to 8 bits would make every pixel white."""
    values = np.linspace(1000, 3000, 64 * 16).reshape(16, 64).astype(np.uint16)
    image = Image.fromarray(values)
    assert image.mode.startswith("I;16")
    return encode(image, "PNG")


def float_tiff() -> bytes:
    values = np.linspace(-2.0, 6.0, 32 * 8, dtype=np.float32).reshape(8, 32)
    return encode(Image.fromarray(values), "TIFF")  # mode F


def palette_png_transparent() -> bytes:
    """Palette image: index 0 (black) is transparent, index 1 is red; left half transparent."""
    image = Image.new("P", (20, 10), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
    image.paste(1, (10, 0, 20, 10))
    return encode(image, "PNG", transparency=0)


def grey_alpha_png() -> bytes:
    """LA: black everywhere, transparent on the left half, opaque on the right."""
    image = Image.new("LA", (20, 10), (0, 0))
    image.paste((0, 255), (10, 0, 20, 10))
    return encode(image, "PNG")


def rgba_png_half_transparent() -> bytes:
    return encode(Image.new("RGBA", (8, 8), (0, 0, 255, 128)), "PNG")


def exif_rotated_jpeg() -> bytes:
    """Stored 40x20, left half red, right half blue, orientation 6 (display rotated 90° CW)."""
    image = Image.new("RGB", (40, 20), BLUE)
    image.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(image, "JPEG", quality=95, exif=exif)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (16, 16), colour) for colour in (RED, GREEN, BLUE)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def multipage_tiff() -> bytes:
    pages = [Image.new("RGB", (16, 12), RED), Image.new("RGB", (30, 30), GREEN)]
    return encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])


def webp() -> bytes:
    return encode(Image.new("RGB", (24, 24), GREEN), "WEBP", lossless=True)


def bmp() -> bytes:
    return encode(Image.new("RGB", (24, 12), BLUE), "BMP")


def one_pixel_png() -> bytes:
    return encode(Image.new("RGB", (1, 1), RED), "PNG")


def strip_png() -> bytes:
    return encode(noise_rgb(4, 3000, seed=1), "PNG")


def grey_jpeg() -> bytes:
    return encode(Image.new("L", (10, 10), 100), "JPEG")


def bilevel_png() -> bytes:
    return encode(Image.new("1", (10, 10), 1), "PNG")


VALID: dict[str, Callable[[], bytes]] = {
    "cmyk_jpeg": cmyk_jpeg,
    "png_16bit": png_16bit,
    "float_tiff": float_tiff,
    "palette_png_transparent": palette_png_transparent,
    "grey_alpha_png": grey_alpha_png,
    "rgba_png_half_transparent": rgba_png_half_transparent,
    "exif_rotated_jpeg": exif_rotated_jpeg,
    "animated_gif": animated_gif,
    "multipage_tiff": multipage_tiff,
    "webp": webp,
    "bmp": bmp,
    "one_pixel_png": one_pixel_png,
    "strip_png": strip_png,
    "grey_jpeg": grey_jpeg,
    "bilevel_png": bilevel_png,
}


# --- broken ----------------------------------------------------------------------------------


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png_header_bomb(width: int, height: int) -> bytes:
    """A well-formed PNG claiming ``width`` x ``height`` greyscale pixels.

    The IDAT is a few KB of zlib-compressed zero rows: valid as far as it goes,
    so only a decoder that trusted the header would try to allocate the whole image.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = b"\x00" * (width + 1)  # filter byte + one row of black
    idat = zlib.compress(row * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)


def bmp_header_claiming(width: int, height: int) -> bytes:
    """A 24-bit BMP header claiming ``width`` x ``height`` with only a few bytes of pixels."""
    pixels = b"\x00" * 64
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    header = struct.pack("<2sIHHI", b"BM", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
    return header + info + pixels


def truncated_png() -> bytes:
    data = encode(noise_rgb(), "PNG")
    return data[: len(data) // 2]


def truncated_jpeg() -> bytes:
    data = encode(noise_rgb(), "JPEG", quality=90)
    return data[: len(data) // 2]


BROKEN: dict[str, Callable[[], bytes]] = {
    "empty": lambda: b"",
    "truncated_png": truncated_png,
    "truncated_jpeg": truncated_jpeg,
    "png_signature_only": lambda: b"\x89PNG\r\n\x1a\n",
    "text": lambda: b"this is not an image, it is a text file\n" * 50,
    "random_bytes": lambda: np.random.default_rng(7).integers(0, 256, 4096, np.uint8).tobytes(),
    "png_bomb_40000": lambda: png_header_bomb(40_000, 40_000),
    "bmp_claims_100000": lambda: bmp_header_claiming(100_000, 100_000),
    "png_over_budget_7000": lambda: png_header_bomb(7_000, 7_000),  # 49 MP: under PIL's limit
    "svg": lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    "pdf": lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
}
