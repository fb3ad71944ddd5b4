"""Uploaded bytes -> a safe RGB PIL image -> the tensor a network receives.

Everything a user uploads passes through :func:`load_image`, which decides by
content (never by file name) whether the bytes are an image we accept, refuses
decompression bombs from the header alone (before any pixel is decoded), and
flattens the zoo of PIL modes (16-bit, float, palette, alpha, CMYK, EXIF
rotation, animations) into plain 8-bit RGB.
"""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnlab.data import DatasetInfo
from cnnlab.errors import ImageError

MAX_PIXELS = 40_000_000  # 40 megapixels: any phone photo fits, a decompression bomb does not
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # same as server.maxUploadSize in .streamlit/config.toml
# PIL format names we decode (JPEG includes the MPO files many cameras write).
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "DIB", "GIF", "TIFF")
UPLOAD_TYPES = ("png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff")
_ACCEPTED = "PNG, JPEG, WebP, BMP, GIF or TIFF"
_WHITE = (255, 255, 255)


def load_image(
    data: bytes, max_pixels: int = MAX_PIXELS, min_short_side: int | None = None
) -> Image.Image:
    """Decode ``data`` into an 8-bit RGB image (first frame, EXIF orientation applied).

    Raises ``ImageError`` for empty, truncated, corrupt or non-image data, formats
    outside :data:`FORMATS`, and images with more than ``max_pixels`` pixels. The
    size check uses the header only, so a bomb is refused without decoding it.
    With ``min_short_side`` a JPEG may be decoded at 1/2, 1/4 or 1/8 scale (never
    below that short side), which needs a fraction of the memory.
    """
    if not data:
        raise ImageError("The file is empty: choose a PNG, JPEG, WebP, BMP, GIF or TIFF image.")
    image = _open(data, max_pixels)
    if min_short_side is not None and image.format == "JPEG":
        scale = min_short_side / min(image.size)
        image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    try:
        image.seek(0)  # first frame of an animation or the first page of a TIFF
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as error:
        raise ImageError(
            f"This {image.format} file is truncated or corrupt ({error}); "
            "re-save or re-export it and upload it again."
        ) from error
    image = _upright(image)
    return _to_rgb(image)


def validate_upload(
    name: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, min_short_side: int | None = None
) -> Image.Image:
    """Server-side check of an upload: its size, then its content via :func:`load_image`.

    The uploader widget's file types are a convenience for the browser; this is
    the check that counts (a renamed text file is refused here by its content).
    """
    if len(data) > max_bytes:
        raise ImageError(
            f"{name} is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB. "
            "Upload a smaller or more compressed image."
        )
    try:
        return load_image(data, min_short_side=min_short_side)
    except ImageError as error:
        raise ImageError(f"{name}: {error}") from error


def reduced(image: Image.Image, short_side: int, max_aspect: float) -> Image.Image:
    """A small copy of ``image`` to keep instead of it: the short side at most ``short_side``
    pixels, and a long side beyond ``max_aspect`` times the short one center-cropped.

    :func:`model_view` of the copy is the model view of the original resampled once
    more: the center square it crops is kept whole.
    """
    width, height = image.size
    short = min(width, height)
    keep_w, keep_h = min(width, int(short * max_aspect)), min(height, int(short * max_aspect))
    if (keep_w, keep_h) != (width, height):
        left, top = (width - keep_w) // 2, (height - keep_h) // 2
        image = image.crop((left, top, left + keep_w, top + keep_h))
    scale = short_side / short
    if scale >= 1:
        return image.copy() if image.size == (width, height) else image
    size = (max(1, round(keep_w * scale)), max(1, round(keep_h * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def upright_size(data: bytes) -> tuple[int, int]:
    """(width, height) an already validated image declares, after its EXIF rotation;
    from the header alone (a JPEG decoded at reduced scale has a smaller ``.size``)."""
    with Image.open(io.BytesIO(data), formats=FORMATS) as header:
        width, height = header.size
        try:
            turned = header.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # Orientation: 90°
        except Exception:  # a malformed EXIF block is ignored, as _upright does
            turned = False
    return (height, width) if turned else (width, height)


def image_bytes(image: Image.Image) -> int:
    """The bytes ``image``'s pixels take in memory."""
    return image.width * image.height * len(image.getbands())


def model_view(image: Image.Image, info: DatasetInfo) -> Image.Image:
    """The exact 8-bit image the network receives: short side resized, then center-cropped.

    RGB for 3-channel datasets, grayscale ("L") for 1-channel ones, ``info.size``
    pixels square. :func:`to_model_input` only normalises this image.
    """
    size = info.size
    width, height = image.size
    scale = size / min(width, height)
    new_size = (max(size, round(width * scale)), max(size, round(height * scale)))
    if new_size != image.size:
        image = image.resize(new_size, Image.Resampling.BICUBIC, reducing_gap=3.0)
    left = (new_size[0] - size) // 2
    top = (new_size[1] - size) // 2
    image = image.crop((left, top, left + size, top + size))
    return image.convert("L" if info.channels == 1 else "RGB")


def to_uint8_tensor(image: Image.Image) -> torch.Tensor:
    """A PIL L or RGB image as uint8 ``[C, H, W]``."""
    array = np.asarray(image, dtype=np.uint8)  # [H, W] or [H, W, 3]
    if array.ndim == 2:
        array = array[:, :, None]  # [H, W, 1]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()  # [C, H, W]


def to_model_input(image: Image.Image, info: DatasetInfo) -> torch.Tensor:
    """Resize + center crop + normalise like training: float ``[1, C, H, W]``."""
    pixels = to_uint8_tensor(model_view(image, info)).unsqueeze(0)  # uint8 [1, C, H, W]
    return normalize(pixels, info)


def normalize(x: torch.Tensor, info: DatasetInfo) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` -> float ``(x / 255 - mean) / std``, training's normalisation."""
    from cnnlab import data

    shared = getattr(data, "normalize", None)
    if shared is not None:
        return shared(x, info)
    mean = torch.tensor(info.mean, dtype=torch.float32).view(1, -1, 1, 1)  # [1, C, 1, 1]
    std = torch.tensor(info.std, dtype=torch.float32).view(1, -1, 1, 1)
    return (x.float() / 255.0 - mean) / std  # [N, C, H, W]


def enlarged(image: Image.Image, target: int = 240) -> Image.Image:
    """``image`` with its long side ``target`` px: small ones (CIFAR's 32 px) blown up with
    crisp pixels (nearest), large ones shrunk smoothly (Lanczos)."""
    scale = target / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    method = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS
    return image.resize(size, method)


def pipeline_text(info: DatasetInfo) -> str:
    """What :func:`to_model_input` does to a picture for ``info``, as a markdown list."""
    size, mode = info.size, "grayscale" if info.channels == 1 else "RGB"
    mean, std = (", ".join(f"{v:.3f}" for v in values) for values in (info.mean, info.std))
    return (
        f"- short side resized to **{size}** px, then center-cropped to **{size}×{size}** "
        f"({mode})\n"
        f"- normalised like training: (x/255 − mean) / std with mean `({mean})`, std `({std})`\n"
        f"- tensor shape **[1, {info.channels}, {size}, {size}]**"
    )


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Identify the image from its header (no pixel decoding) and enforce the pixel budget."""
    try:
        with warnings.catch_warnings():
            # PIL warns above MAX_IMAGE_PIXELS and raises above twice that; both are refusals.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError(
            "This image declares an enormous size (a decompression bomb?); "
            f"upload one under {max_pixels / 1e6:.0f} megapixels."
        ) from error
    except UnidentifiedImageError as error:
        raise ImageError(
            f"This file is not an image we can read: upload a {_ACCEPTED} file."
        ) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(
            f"This image's header is truncated or corrupt ({error}); upload a {_ACCEPTED} file."
        ) from error
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(f"This image has no pixels ({width}x{height}); upload a real image.")
    if width * height > max_pixels:
        raise ImageError(
            f"This image is {width}x{height} ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {max_pixels / 1e6:.0f} megapixels. Resize it and upload it again."
        )
    return image


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag; a malformed EXIF block leaves the image as stored."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # broken metadata must not block an otherwise good image
        return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any decoded PIL mode -> 8-bit RGB; transparency is composited on white."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        image = _scale_to_8bit(image)
    if image.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in image.info:
        try:
            rgba = image.convert("RGBA")
        except ValueError as error:
            raise ImageError(f"Unsupported transparent image mode {image.mode}.") from error
        background = Image.new("RGBA", rgba.size, (*_WHITE, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode == "RGB":
        return image
    try:
        return image.convert("RGB")
    except ValueError as error:
        raise ImageError(
            f"Unsupported colour mode {image.mode}: re-save the image as 8-bit RGB."
        ) from error


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float images -> "L", stretched by their actual value range.

    Clipping a 16-bit image to 0..255 would turn almost every pixel white; this
    maps the darkest pixel to 0 and the brightest to 255 instead. A flat image
    keeps its level relative to the format's nominal range.
    """
    values = np.asarray(image).astype(np.float64)  # [H, W]
    finite = np.isfinite(values)
    if not finite.any():
        return Image.new("L", image.size, 0)
    low, high = float(values[finite].min()), float(values[finite].max())
    values = np.where(finite, values, low)
    if high > low:
        scaled = (values - low) / (high - low) * 255.0
    else:
        nominal = (
            65535.0 if image.mode.startswith("I;16") else (1.0 if image.mode == "F" else 255.0)
        )
        scaled = np.full_like(values, np.clip(low / nominal, 0.0, 1.0) * 255.0)
    return Image.fromarray(np.rint(scaled).astype(np.uint8))  # "L"
