"""Feature maps in a real browser: upload a PNG, see the grids; open a trained run's link."""

from __future__ import annotations

from pathlib import Path

import pytest
from image_corpus import gradient_png_bytes

pytestmark = pytest.mark.e2e


def test_upload_a_png_and_see_every_layer(page, app_url: str, tmp_path: Path) -> None:
    image = tmp_path / "gradient.png"
    image.write_bytes(gradient_png_bytes(120, 80))
    page.goto(f"{app_url}/feature_maps")
    page.get_by_text("What the network receives").wait_for(timeout=90_000)
    page.get_by_text("Upload an image", exact=True).click()
    page.locator("input[type=file]").set_input_files(str(image))
    page.get_by_text("gradient.png · 120×80").wait_for(timeout=60_000)
    # one tiled heatmap per layer of lenet5, each titled with its channel count
    page.get_by_text("all 16 channels").first.wait_for(timeout=60_000)
    assert page.get_by_text("all 6 channels").count() == 3
    assert page.get_by_text("all 16 channels").count() == 3
    assert page.locator(".js-plotly-plot .heatmaplayer").count() >= 6
    assert page.get_by_text("Traceback").count() == 0


def test_a_text_file_is_refused_with_a_plain_message(page, app_url: str, tmp_path: Path) -> None:
    fake = tmp_path / "holiday.png"
    fake.write_bytes(b"not a picture at all\n" * 10)
    page.goto(f"{app_url}/feature_maps")
    page.get_by_text("What the network receives").wait_for(timeout=90_000)
    page.get_by_text("Upload an image", exact=True).click()
    page.locator("input[type=file]").set_input_files(str(fake))
    page.get_by_text("holiday.png: This file is not an image").wait_for(timeout=60_000)


@pytest.mark.slow
def test_trained_run_link_shows_class_probabilities(
    page, app_url: str, e2e_runs_dir: Path, quick_run
) -> None:
    run_id = quick_run(e2e_runs_dir, "e2e quick")

    page.goto(f"{app_url}/feature_maps?run={run_id}")
    page.get_by_text("Top-5 class probabilities").wait_for(timeout=90_000)
    page.get_by_text("Predicted").first.wait_for()
    bars = page.locator(".js-plotly-plot .barlayer .point")
    assert bars.count() == 5
    assert page.get_by_text("Grad-CAM for").count() == 1
