"""At 1280x800 in real Chromium: no label is cut or broken mid-word, the ledger's
receptive field is on screen without scrolling, and the app's own requests all succeed."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import open_page

pytestmark = pytest.mark.e2e

# Labels cut with an ellipsis (overflowing their box) or with a word wider than the box,
# which the browser breaks mid-word ("torch.compil" / "e").
CUT_LABELS = """() => {
  const canvas = document.createElement('canvas').getContext('2d');
  return [...document.querySelectorAll(
      '[data-testid="stWidgetLabel"] p, [data-testid="stMetricLabel"] p')]
    .filter(e => e.clientWidth > 0)
    .filter(e => {
      canvas.font = getComputedStyle(e).font;
      const widest = Math.max(...e.innerText.split(/\\s+/).map(w => canvas.measureText(w).width));
      return e.scrollWidth > e.clientWidth + 1 || widest > e.clientWidth + 1;
    })
    .map(e => e.innerText);
}"""
OPEN_SIDEBAR_EXPANDERS = """() => document.querySelectorAll(
    '[data-testid="stSidebar"] details:not([open]) summary').forEach(s => s.click())"""
# The data grid draws only the columns on screen into its accessible table.
LEDGER_HEADERS = """() => [...document.querySelector('[data-testid="stDataFrame"]')
    .querySelectorAll('th')].map(h => h.innerText)"""


@pytest.fixture
def small_page(browser, app_url: str):
    yield from open_page(browser, 1280, 800, 90_000)


def test_train_form_labels_fit_on_one_line(small_page, app_url: str) -> None:
    small_page.goto(f"{app_url}/train")
    small_page.get_by_text("Start training").first.wait_for()
    small_page.evaluate(OPEN_SIDEBAR_EXPANDERS)
    small_page.get_by_text("torch.compile", exact=True).first.wait_for()
    assert small_page.evaluate(CUT_LABELS) == []


def test_output_size_labels_fit(small_page, app_url: str) -> None:
    small_page.goto(f"{app_url}/output_size")
    small_page.get_by_text("The sliding window, cell by cell").first.wait_for()
    assert small_page.evaluate(CUT_LABELS) == []


def test_network_ledger_shows_the_receptive_field_without_scrolling(
    small_page, app_url: str
) -> None:
    small_page.goto(f"{app_url}/network")
    small_page.get_by_text("Layer ledger").first.wait_for()
    grid = small_page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    small_page.wait_for_function(
        """() => document.querySelector('[data-testid="stDataFrame"] th') !== null"""
    )
    headers = small_page.evaluate(LEDGER_HEADERS)
    assert {"layer", "input", "output", "params", "receptive field"} <= set(headers), headers
    assert small_page.evaluate(CUT_LABELS) == []


def test_opening_a_note_card_loads_without_failed_requests(small_page, app_url: str) -> None:
    """Followed from the home page (as a user does), a card's page makes no request that
    fails. Opening a page's URL directly still shows two 404s in the console: Streamlit's
    frontend probes ``/<page>/_stcore/health`` and ``/<page>/_stcore/host-config`` to
    find the app's base path (streamlit/streamlit#7074), which the app cannot change."""
    failed: list[str] = []
    small_page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    small_page.goto(app_url)
    small_page.get_by_text("224x224 → 4x4: how many layers?").first.click()
    small_page.get_by_text("55 layers").first.wait_for()
    small_page.get_by_text("The sliding window, cell by cell").first.wait_for()
    assert failed == []
