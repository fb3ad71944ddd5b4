"""cnnlab.images: odd-but-valid files load as RGB, broken ones raise ImageError without decoding."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from image_corpus import (
    BLUE,
    BROKEN,
    GREEN,
    RED,
    VALID,
    WHITE,
    encode,
    gradient_png_bytes,
    png_header_bomb,
)
from PIL import Image

from cnnlab.data import DATASETS
from cnnlab.errors import ImageError
from cnnlab.images import load_image, model_view, to_model_input, validate_upload

REPO = Path(__file__).resolve().parents[2]


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)  # signed so differences do not wrap


def close(colour: np.ndarray, expected: tuple[int, int, int], tolerance: int = 12) -> bool:
    return bool(np.all(np.abs(colour.astype(int) - np.array(expected)) <= tolerance))


@pytest.mark.parametrize("name", sorted(VALID))
def test_odd_but_valid_images_load_as_8bit_rgb(name: str) -> None:
    image = load_image(VALID[name]())
    assert image.mode == "RGB"
    assert image.width >= 1 and image.height >= 1
    assert pixels(image).shape == (image.height, image.width, 3)


def test_cmyk_jpeg_keeps_its_colour() -> None:
    image = load_image(VALID["cmyk_jpeg"]())
    assert close(pixels(image)[15, 20], RED, tolerance=30)


def test_16bit_png_is_stretched_by_its_range_not_clipped() -> None:
    image = pixels(load_image(VALID["png_16bit"]()))[..., 0]  # stored values 1000..3000
    assert image.min() == 0 and image.max() == 255
    row = image[0]
    assert np.all(np.diff(row) >= 0)  # the gradient survives, monotone left to right
    assert len(np.unique(image)) > 200  # and keeps ~all 256 levels, not a white slab


def test_float_image_is_stretched_by_its_range() -> None:
    image = pixels(load_image(VALID["float_tiff"]()))[..., 0]  # stored values -2.0..6.0
    assert image.min() == 0 and image.max() == 255
    assert image[0, 0] == 0 and image[-1, -1] == 255


def test_palette_transparency_is_composited_on_white() -> None:
    image = pixels(load_image(VALID["palette_png_transparent"]()))
    assert close(image[5, 2], WHITE, 0)  # transparent index
    assert close(image[5, 15], RED, 0)


def test_grey_alpha_is_composited_on_white() -> None:
    image = pixels(load_image(VALID["grey_alpha_png"]()))
    assert close(image[5, 2], WHITE, 0)
    assert close(image[5, 15], (0, 0, 0), 0)


def test_half_transparent_blue_becomes_light_blue() -> None:
    image = pixels(load_image(VALID["rgba_png_half_transparent"]()))
    assert close(image[4, 4], (127, 127, 255), 2)


def test_exif_orientation_6_is_applied() -> None:
    image = load_image(VALID["exif_rotated_jpeg"]())
    assert image.size == (20, 40)  # stored 40x20, displayed rotated 90° clockwise
    array = pixels(image)
    assert close(array[5, 10], RED, 40)  # the stored left half is now on top
    assert close(array[35, 10], BLUE, 40)


def test_first_frame_of_animation_and_first_page_of_tiff() -> None:
    assert close(pixels(load_image(VALID["animated_gif"]()))[8, 8], RED, 0)
    tiff = load_image(VALID["multipage_tiff"]())
    assert tiff.size == (16, 12)
    assert close(pixels(tiff)[6, 8], RED, 0)
    assert close(pixels(load_image(VALID["webp"]()))[0, 0], GREEN, 0)


def test_strip_and_single_pixel_become_model_inputs() -> None:
    info = DATASETS["cifar10"]
    strip = load_image(VALID["strip_png"]())
    assert strip.size == (4, 3000)
    for data in (VALID["strip_png"](), VALID["one_pixel_png"]()):
        x = to_model_input(load_image(data), info)
        assert x.shape == (1, 3, 32, 32) and x.dtype == torch.float32
        assert torch.isfinite(x).all()


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_raise_image_error(name: str) -> None:
    with pytest.raises(ImageError) as caught:
        load_image(BROKEN[name]())
    message = str(caught.value)
    assert message and "Traceback" not in message


def test_over_budget_message_names_the_size_and_the_limit() -> None:
    with pytest.raises(ImageError, match=r"7000x7000 .*limit is 40 megapixels"):
        load_image(png_header_bomb(7_000, 7_000))


def test_bombs_are_refused_without_allocating_the_claimed_size() -> None:
    """A fresh interpreter's peak RSS must barely move while every broken file is refused.

    Decoding the 40000x40000 bomb would need 1.6 GB; the budget here is 50 MB.
    """
    script = textwrap.dedent(
        """
        import resource, sys
        sys.path.insert(0, "tests")
        from image_corpus import BROKEN, VALID
        from cnnlab.errors import ImageError
        from cnnlab.images import load_image
        blobs = {name: make() for name, make in BROKEN.items()}
        load_image(VALID["one_pixel_png"]())  # warm up PIL's plugins before measuring
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for name, data in blobs.items():
            try:
                load_image(data)
            except ImageError:
                continue
            raise SystemExit(f"{name} was accepted")
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) // 1024)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr + result.stdout
    grown_mb = int(result.stdout.strip().splitlines()[-1])
    assert grown_mb < 50, f"peak RSS grew by {grown_mb} MB while refusing bombs"


def test_type_is_decided_by_content_not_name() -> None:
    png = gradient_png_bytes()
    assert validate_upload("photo.jpg", png).size == (96, 64)  # misnamed but a real PNG
    with pytest.raises(ImageError, match=r"notes\.png"):
        validate_upload("notes.png", b"plain text pretending to be a png")


def test_upload_size_limit_is_checked_before_decoding() -> None:
    with pytest.raises(ImageError, match=r"limit is 1 MB"):
        validate_upload("big.png", b"\0" * (2 * 2**20), max_bytes=2**20)


def test_model_view_resizes_short_side_then_center_crops() -> None:
    # 64x32: left quarter red, middle half green, right quarter blue.
    image = Image.new("RGB", (64, 32), GREEN)
    image.paste(RED, (0, 0, 16, 32))
    image.paste(BLUE, (48, 0, 64, 32))
    view = model_view(image, DATASETS["cifar10"])
    assert view.size == (32, 32) and view.mode == "RGB"
    assert close(pixels(view)[16, 16], GREEN, 0)  # the crop keeps the centre
    assert not np.any(np.all(pixels(view) == RED, axis=-1))  # and drops the sides

    grey = model_view(image, DATASETS["mnist"])
    assert grey.size == (28, 28) and grey.mode == "L"


def test_to_model_input_normalises_like_training() -> None:
    info = DATASETS["cifar10"]
    image = Image.new("RGB", (32, 32), (255, 0, 128))
    x = to_model_input(image, info)  # [1, 3, 32, 32]
    expected = [
        (1.0 - info.mean[0]) / info.std[0],
        (0.0 - info.mean[1]) / info.std[1],
        (128 / 255 - info.mean[2]) / info.std[2],
    ]
    assert torch.allclose(x[0, :, 5, 5], torch.tensor(expected), atol=1e-5)

    mnist = to_model_input(image.convert("L"), DATASETS["mnist"])
    assert mnist.shape == (1, 1, 28, 28)


def test_jpeg_roundtrip_of_a_real_photo_like_image() -> None:
    data = encode(Image.new("RGB", (300, 200), (10, 20, 30)), "JPEG", quality=90)
    image = load_image(data)
    assert image.size == (300, 200)
    assert close(pixels(image)[100, 150], (10, 20, 30), 4)


def test_enlarged_keeps_crisp_pixels_when_growing() -> None:
    from cnnlab.images import enlarged

    small = Image.fromarray(np.array([[0, 255], [255, 0]], dtype=np.uint8)).convert("RGB")
    big = enlarged(small, target=8)
    assert big.size == (8, 8)
    assert set(np.asarray(big).reshape(-1).tolist()) == {0, 255}  # nearest: no greys
    assert enlarged(Image.new("RGB", (480, 240)), target=240).size == (240, 120)


def test_pipeline_text_states_size_mode_and_normalisation() -> None:
    from cnnlab.images import pipeline_text

    text = pipeline_text(DATASETS["mnist"])
    assert "**28×28** (grayscale)" in text and "mean `(0.131)`, std `(0.308)`" in text
    assert "**[1, 1, 28, 28]**" in text
    assert "mean `(0.491, 0.482, 0.447)`" in pipeline_text(DATASETS["cifar10"])
