"""A real Streamlit server and a real headless Chromium (Debian's) for browser tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, serve_app


@pytest.fixture(scope="session")
def e2e_runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-checkpoints")


@pytest.fixture(scope="session")
def app_url(e2e_runs_dir: Path) -> Iterator[str]:
    """The app, served once for the whole test session."""
    with serve_app(e2e_runs_dir) as server:
        yield server.url


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"{CHROMIUM} not found: `make browser` installs Debian's chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def open_page(browser, width: int, height: int, timeout_ms: int) -> Iterator:
    """A page in a fresh browser context of the given window size, closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    yield page
    context.close()


@pytest.fixture
def page(browser, app_url: str):
    yield from open_page(browser, 1400, 1000, 30_000)
