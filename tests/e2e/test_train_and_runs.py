"""A real browser starts a quick CPU run from the Train form, watches it, stops it, finds it.

The served app's run store is the ``e2e_runs_dir`` fixture, so the test also checks the
store itself: the run ended as stopped and left a checkpoint.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from cnnlab import runs

pytestmark = pytest.mark.e2e

LOSS_POINTS_JS = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const title = el.layout && el.layout.title && String(el.layout.title.text);
    if (title && title.includes('Training loss')) return el.data[0].x.length;
  }
  return -1;
}"""


def _loss_points(page) -> int:
    return page.evaluate(LOSS_POINTS_JS)


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def start_quick_run(page, app_url: str) -> str:
    """Fill the sidebar form for a small CPU run and press Start; returns the run id."""
    page.goto(f"{app_url}/train")
    side = page.get_by_test_id("stSidebar")
    start = side.get_by_test_id("stBaseButton-primaryFormSubmit")
    start.wait_for(timeout=90_000)
    # many epochs of a few hundred images: it keeps running until the test stops it
    side.get_by_role("spinbutton", name="Epochs", exact=True).fill("100")
    side.get_by_role("spinbutton", name="Batch size", exact=True).fill("32")
    side.get_by_role("spinbutton", name="Learning rate", exact=True).fill("0.01")
    side.get_by_text("Data", exact=True).click()
    side.get_by_role("spinbutton", name="Train images", exact=True).fill("512")
    side.get_by_role("spinbutton", name="Test images", exact=True).fill("256")
    side.get_by_text("Hardware and run", exact=True).click()
    device = side.get_by_test_id("stSelectbox").filter(has_text="Device").locator("input")
    device.click()
    device.fill("cpu")
    device.press("Enter")
    side.get_by_role("textbox", name="Run name").fill("e2e quick run")
    start.click()
    page.wait_for_url(re.compile(r"[?&]run=\d{8}-\d{6}-[0-9a-f]{6}"), timeout=60_000)
    return re.search(r"run=([0-9a-f-]+)", page.url).group(1)


def test_start_watch_stop_and_find_the_run(page, app_url: str, e2e_runs_dir: Path) -> None:
    run_id = start_quick_run(page, app_url)

    # the loss chart gains points while the run trains, without any click
    _wait_for(lambda: _loss_points(page) >= 1, 120, "the first loss point")
    first = _loss_points(page)
    _wait_for(lambda: _loss_points(page) > first, 60, "new loss points")
    assert runs.get_run(run_id, runs_dir=e2e_runs_dir).status == "running"

    page.get_by_role("button", name="Stop").click()
    _wait_for(
        lambda: runs.get_run(run_id, runs_dir=e2e_runs_dir).status == "stopped",
        60,
        "the run to stop",
    )
    # the page notices by itself: the results replace the live view
    page.get_by_text("Run stopped on request").wait_for(timeout=30_000)
    assert runs.checkpoint_path(run_id, "last", runs_dir=e2e_runs_dir).is_file()

    # the Runs page lists it as stopped, with its checkpoint to download
    page.goto(f"{app_url}/runs")
    picker = page.get_by_test_id("stMultiSelect").filter(has_text="Select runs to compare")
    picker.locator("input").click()
    page.get_by_role("option", name=re.compile(run_id)).click()
    page.keyboard.press("Escape")
    manage = page.get_by_text(re.compile(rf"{run_id}.*stopped|stopped.*{run_id}"))
    manage.first.wait_for(timeout=30_000)
    download = page.get_by_test_id("stDownloadButton").filter(
        has_text=re.compile(r"(best|last)\.pt")
    )
    download.first.wait_for(timeout=30_000)
    with page.expect_download() as info:
        download.first.click()
    assert info.value.suggested_filename.startswith(run_id)
