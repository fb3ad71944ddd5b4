"""Uploads on the Feature maps page are kept as small copies in a cache bounded by bytes
(issue 9: 15 big PNGs grew the server by 2 GB, still held after every session closed)."""

from __future__ import annotations

from pathlib import Path

from streamlit.runtime.caching import (
    get_data_cache_stats_provider,
    get_resource_cache_stats_provider,
)
from streamlit.testing.v1 import AppTest
from upload_corpus import big_png, large_live_images

from cnnlab import gallery

REPO = Path(__file__).resolve().parents[2]
PAGE = str(REPO / "pages" / "feature_maps.py")


def streamlit_cache_bytes() -> int:
    """What every st.cache_data / st.cache_resource of this process holds, as Streamlit counts."""
    families = get_data_cache_stats_provider().get_stats()
    families |= get_resource_cache_stats_provider().get_stats()
    return sum(stat.byte_length for stats in families.values() for stat in stats)


def test_big_uploads_are_kept_small_and_bounded(runs_dir: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    at.segmented_control(key="fm_source").set_value("Upload an image").run()
    before, cached_before = streamlit_cache_bytes(), gallery.upload_cache_bytes()
    count = 5
    for seed in range(count):  # 3000x2000 each: 18 MB of pixels decoded
        at.file_uploader(key="fm_upload").upload(f"big{seed}.png", big_png(100 + seed), "image/png")
        at.run()
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        captions = " ".join(caption for image in at.image for caption in image.captions)
        assert f"big{seed}.png · 3000×2000" in captions
    # Streamlit's own caches did not take the uploads (they used to hold each full image)
    assert streamlit_cache_bytes() - before < 8 * 2**20
    # the cnnlab cache holds one small copy per upload (3:2 at 256 px high), within its bound
    grown = gallery.upload_cache_bytes() - cached_before
    assert 0 < grown <= count * 384 * 256 * 3
    assert gallery.upload_cache_bytes() <= gallery.UPLOAD_CACHE_BYTES
    assert large_live_images() == 0  # no full-size image outlives its decoding
