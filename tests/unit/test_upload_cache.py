"""Uploads are decoded once into a small copy, cached by content in a cache bounded by bytes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from upload_corpus import big_png, large_live_images

from cnnlab import gallery, images
from cnnlab.bytecache import ByteLRU
from cnnlab.data import DATASETS


def test_large_uploads_are_reduced_and_the_full_image_freed() -> None:
    pictures = [gallery.upload_picture(f"big{seed}.png", big_png(seed)) for seed in range(6)]
    assert len({p.key for p in pictures}) == 6
    for picture in pictures:
        assert picture.size == (3000, 2000)  # what the caption shows
        assert min(picture.image.size) == gallery.WORK_SIDE
        assert images.image_bytes(picture.image) <= gallery.WORK_SIDE**2 * gallery.MAX_ASPECT * 3
    assert large_live_images() == 0  # measured: no 6-megapixel image is alive any more
    assert gallery.upload_cache_bytes() <= gallery.UPLOAD_CACHE_BYTES
    again = gallery.upload_picture("renamed.png", big_png(3))
    assert again.image is pictures[3].image and again.caption == "renamed.png"  # decoded once


def test_the_reduced_copy_gives_the_same_model_input() -> None:
    data = big_png(1, 1200, 900)
    full = images.load_image(data)
    small = gallery.upload_picture("a.png", data).image
    for info in (DATASETS["cifar10"], DATASETS["mnist"]):
        exact = np.asarray(images.model_view(full, info), dtype=np.int16)
        kept = np.asarray(images.model_view(small, info), dtype=np.int16)
        assert exact.shape == kept.shape
        assert np.abs(exact - kept).mean() < 4  # out of 255: one more resampling step


def test_extreme_aspect_is_center_cropped_around_the_model_view() -> None:
    image = Image.new("RGB", (20_000, 300), "white")
    kept = images.reduced(image, 256, 4)
    assert kept.size == (1024, 256)


def test_a_jpeg_is_decoded_at_reduced_scale_with_its_real_size_reported() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), (200, 30, 30)).save(buffer, format="JPEG")
    picture = gallery.upload_picture("photo.jpg", buffer.getvalue())
    assert picture.size == (4000, 3000) and min(picture.image.size) == gallery.WORK_SIDE


def test_byte_lru_evicts_least_recent_and_expires_old() -> None:
    cache: ByteLRU[bytes] = ByteLRU(max_bytes=10, size_of=len, ttl_s=3600)
    for key in "abc":
        cache.get_or_make(key, lambda: b"1234")  # 4 bytes each: c pushes a out
    assert cache.total_bytes == 8 and len(cache) == 2
    assert cache.get_or_make("b", lambda: pytest.fail("b was cached")) == b"1234"
    cache.get_or_make("d", lambda: b"1234")  # b was used last: c goes
    assert cache.get_or_make("b", lambda: b"x") == b"1234"
    assert cache.get_or_make("c", lambda: b"new") == b"new"
    assert cache.get_or_make("huge", lambda: b"x" * 11) == b"x" * 11  # returned, not kept
    assert cache.total_bytes <= 10
    expiring: ByteLRU[bytes] = ByteLRU(max_bytes=10, size_of=len, ttl_s=-1)
    expiring.get_or_make("a", lambda: b"1")
    assert expiring.get_or_make("a", lambda: b"2") == b"2"  # expired at the next access
