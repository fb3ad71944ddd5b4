"""cnnlab.gallery: which CIFAR-10 pictures the Feature maps page offers, and uploads."""

from __future__ import annotations

import io

import numpy as np
import pytest
from image_corpus import gradient_png_bytes
from PIL import Image

from cnnlab import gallery
from cnnlab.data import DATASETS
from cnnlab.errors import ImageError
from cnnlab.samples import load_sample


def test_sample_pages_and_pictures_of_one_class() -> None:
    sample = gallery.load_source(gallery.SAMPLE)
    cats = gallery.class_indices(sample, sample.classes.index("cat"))
    assert len(cats) == 10 and all(sample.classes[int(sample.labels[i])] == "cat" for i in cats)
    assert gallery.page_count(cats) == 1 and gallery.page_of(cats, 0) == cats
    key = gallery.picture_key(gallery.SAMPLE, cats[2])
    picture = gallery.split_picture(sample, key)
    assert picture.key == f"sample:{cats[2]}" and picture.label == "cat"
    assert picture.caption == f"cat · test image sample:{cats[2]}"
    assert np.array_equal(np.asarray(picture.image), gallery.thumbnail(sample, cats[2]))
    assert gallery.thumbnail(sample, 0).shape == (32, 32, 3)


def test_pages_of_ten() -> None:
    indices = list(range(25))
    assert gallery.page_count(indices) == 3
    assert gallery.page_of(indices, 2) == [20, 21, 22, 23, 24]


def test_full_test_split_is_offered_when_on_disk(data_dir, monkeypatch) -> None:
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(data_dir))
    assert gallery.sources() == [gallery.SAMPLE, gallery.TEST]
    monkeypatch.setenv("CNNLAB_DATA_DIR", "/nonexistent")
    assert gallery.sources() == [gallery.SAMPLE]
    assert gallery.load_source(gallery.SAMPLE) is load_sample()


def test_upload_key_is_its_content_and_view_key_its_pipeline() -> None:
    data = gradient_png_bytes(96, 64)
    first, renamed = gallery.upload_picture("a.png", data), gallery.upload_picture("b.png", data)
    assert first.key == renamed.key and first.key.startswith("upload:")
    assert first.caption == "a.png" and first.image.size == (96, 64) and first.label is None
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), "red").save(buffer, format="PNG")
    assert gallery.upload_picture("a.png", buffer.getvalue()).key != first.key
    assert first.view_key(DATASETS["cifar10"]) != first.view_key(DATASETS["mnist"])
    with pytest.raises(ImageError, match=r"notes\.png"):
        gallery.upload_picture("notes.png", b"plain text")
