"""How fast do the pages paint and answer? Each page against an empty Streamlit page, same run.

The app is served for real (``tests/e2e/server.py``) beside an empty Streamlit page (a title,
nothing else) on a second server; headless Chromium opens each in a fresh browser context:

- **first paint**: from ``goto`` until the page's title and its first chart (where it has
  one) are visible and the script has finished;
- **interaction**: a typical change per page (a number on Output size, a preset on Network,
  a class on Feature maps, the dataset on Train, a filter on Runs), from committing it
  (Enter, the click on the option) until the rerun has finished;
- **in-app navigation**: one tab moving between pages by the sidebar's links, as a learner
  does once the first page has loaded Streamlit's and plotly's JavaScript;
- **cold start**: the first page the server ever shows (home), and the first torch page
  right after it: torch and friends are imported then, once per server process.

Each figure is the median of REPEATS tries; the empty page is measured between the app's
pages so load from other work hits both. Targets on the 2-core build machine: first paint
under 3 s, interactions under 1 s (absolute), reported with the ratio to the empty page.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, serve, serve_app

REPEATS = int(os.environ.get("CNNLAB_BENCH_REPEATS", "5"))
FIRST_PAINT_TARGET_S = 3.0
INTERACTION_TARGET_S = 1.0
TIMEOUT_MS = 120_000
EMPTY_PAGE = 'import streamlit as st\n\nst.title("Empty")\nst.number_input("n", 0, 10, 0)\n'
# The same with one small plotly chart: the browser's own cost of plotly.js (a 4.7 MB chunk
# loaded with the first chart), which no change to the app's Python removes.
PLOTLY_PAGE = EMPTY_PAGE + (
    "import plotly.graph_objects as go\n"
    "st.plotly_chart(go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 3, 2])))\n"
)
IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app && app.getAttribute('data-test-script-state') === 'notRunning';
}"""


@contextmanager
def serve_script(source: str) -> Iterator[str]:
    """A Streamlit server showing ``source``, configured like the app (same config dir)."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "page.py"
        script.write_text(source)
        with serve(script) as server:
            yield server.url


def _settle(page: Any, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the script run started by the last action has finished."""
    # a fast rerun may finish before we look, so 'running' is never seen: playwright's
    # TimeoutError then, which is fine
    with contextlib.suppress(Exception):
        page.wait_for_function(
            "() => document.querySelector('[data-testid=\"stApp\"]')"
            "?.getAttribute('data-test-script-state') === 'running'",
            timeout=1500,
        )
    page.wait_for_function(IDLE_JS, timeout=timeout_ms)


def _first_paint(context: Any, url: str, chart: bool) -> float:
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    page.locator("h1").first.wait_for(timeout=TIMEOUT_MS)
    if chart:
        page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(IDLE_JS, timeout=TIMEOUT_MS)
    return time.perf_counter() - started


Action = Callable[[Any], Callable[[], None]]  # prepares the change, returns what commits it


def _timed(page: Any, action: Action) -> float:
    """Seconds from committing the change (Enter, the option's or the pill's click) until the
    rerun has finished; opening a dropdown or typing is the harness's time, not the app's."""
    commit = action(page)
    started = time.perf_counter()
    commit()
    _settle(page)
    return time.perf_counter() - started


def _type_number(label: str, values: list[int]) -> Action:
    state = {"i": 0}

    def act(page: Any) -> Callable[[], None]:
        box = page.get_by_label(label, exact=True).first
        box.fill(str(values[state["i"] % len(values)]))
        state["i"] += 1
        return lambda: box.press("Enter")

    return act


def _pick_option(label: str, options: list[str]) -> Action:
    state = {"i": 0}

    def act(page: Any) -> Callable[[], None]:
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
        box.locator("input").click()
        option = page.get_by_role("option").filter(has_text=options[state["i"] % len(options)])
        option.first.wait_for()
        state["i"] += 1
        return option.first.click

    return act


def _click_pill(names: list[str]) -> Action:
    state = {"i": 0}

    def act(page: Any) -> Callable[[], None]:
        pill = page.locator('[data-testid="stButtonGroup"] button')
        target = pill.filter(has_text=names[state["i"] % len(names)]).first
        target.wait_for()
        state["i"] += 1
        return target.click

    return act


# page path, has a chart on first paint, the typical interaction
PAGES: dict[str, tuple[str, bool, Action]] = {
    "Output size": ("output_size", True, _type_number("kernel H", [5, 3])),
    "Network": ("network", True, _pick_option("Preset", ["Sequential CIFAR-10", "LeNet-5"])),
    "Feature maps": ("feature_maps", True, _click_pill(["ship", "cat"])),
    "Train": ("train", False, _pick_option("Dataset", ["MNIST", "CIFAR-10"])),  # not the form
    "Runs": ("runs", False, _type_number("placeholder", [])),  # replaced in run()
}


def _runs_filter(page: Any) -> Callable[[], None]:
    box = page.get_by_label("Name contains", exact=True)
    box.fill("bench" if box.input_value() != "bench" else "")
    return lambda: box.press("Enter")


def _measure(
    browser: Any, app_url: str, empty_url: str, plotly_url: str
) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {}
    for title in ("Empty page", "Plotly page", *PAGES):
        results[title] = {"paint": [], "act": []}
    for _ in range(REPEATS):
        for title, (path, chart, action) in PAGES.items():
            # a baseline before each page: alternating, so other work on the machine hits both
            baseline = ("Empty page", empty_url, False, _type_number("n", [3, 1]))
            if title in ("Network", "Runs"):
                baseline = ("Plotly page", plotly_url, True, _type_number("n", [3, 1]))
            for name, url, has_chart, act in (
                baseline,
                (title, f"{app_url}/{path}", chart, action),
            ):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                try:
                    results[name]["paint"].append(_first_paint(context, url, has_chart))
                    page = context.pages[0]
                    results[name]["act"].append(_timed(page, act))
                except Exception as error:  # reported; the bench goes on
                    print(f"  {name}: {type(error).__name__}: {str(error).splitlines()[0]}")
                finally:
                    context.close()
    return results


def _navigate(browser: Any, app_url: str) -> dict[str, list[float]]:
    """In-app navigation, as a learner moves between pages: one tab, a click on the sidebar's
    link, until the page's title (and first chart) show and its script has finished. The
    browser has loaded Streamlit's and plotly's JavaScript once, as it would after the first page.
    """
    times: dict[str, list[float]] = {title: [] for title in PAGES}
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(f"{app_url}/network")  # a first chart page loads plotly.js once
        page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=TIMEOUT_MS)
        page.wait_for_function(IDLE_JS, timeout=TIMEOUT_MS)
        order = [*PAGES, "Home"]
        for _ in range(REPEATS):
            for title in order:
                link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title)
                started = time.perf_counter()
                link.first.click()
                if title != "Home":
                    path, chart, _action = PAGES[title]
                    page.wait_for_url(f"**/{path}", timeout=TIMEOUT_MS)
                    page.locator("h1").first.wait_for(timeout=TIMEOUT_MS)
                    if chart:
                        page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=TIMEOUT_MS)
                _settle(page)
                if title != "Home":
                    times[title].append(time.perf_counter() - started)
    except Exception as error:  # reported; the bench goes on
        print(f"  navigation: {type(error).__name__}: {str(error).splitlines()[0]}")
    finally:
        context.close()
    return times


def _cold(browser: Any, app_url: str) -> tuple[float, float]:
    """The server's first page (home), then its first torch page (Network), seconds."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        home = _first_paint(context, app_url, chart=False)
        network = _first_paint(context, f"{app_url}/network", chart=True)
    finally:
        context.close()
    return home, network


def _line(name: str, values: list[float], empty: float, target: float) -> str:
    if not values:
        return f"{name:<14} (no measurement)"
    median = statistics.median(values)
    verdict = "ok" if median < target else f"OVER the {target:.0f} s target"
    return (
        f"{name:<14} {median:6.2f} s  x{median / empty:5.1f} of empty  "
        f"(min {min(values):.2f}, max {max(values):.2f})  {verdict}"
    )


def run() -> None:
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} not found (make browser)")
        return
    from playwright.sync_api import sync_playwright

    from tests.app.conftest import build_run

    PAGES["Runs"] = ("runs", False, _runs_filter)
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = Path(tmp)
        for index in range(3):
            build_run(runs_dir, name=f"bench run {index}")
        with (
            serve_app(runs_dir) as server,
            serve_script(EMPTY_PAGE) as empty_url,
            serve_script(PLOTLY_PAGE) as plotly_url,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            home, network = _cold(browser, server.url)
            results = _measure(browser, server.url, empty_url, plotly_url)
            navigation = _navigate(browser, server.url)
            browser.close()
    plotly = results.pop("Plotly page")
    empty = results.pop("Empty page")
    empty_paint = statistics.median(empty["paint"]) if empty["paint"] else float("nan")
    empty_act = statistics.median(empty["act"]) if empty["act"] else float("nan")
    print(f"cold server: home painted in {home:.2f} s, then Network in {network:.2f} s")
    print(f"(repeats: {REPEATS}; medians; the empty page: paint {empty_paint:.2f} s, "
          f"interaction {empty_act:.2f} s)")  # fmt: skip
    if plotly["paint"]:
        print(
            f"(a page with one small plotly chart: paint {statistics.median(plotly['paint']):.2f} s"
            f" = x{statistics.median(plotly['paint']) / empty_paint:.1f} of empty: the browser's"
            " plotly.js)"
        )
    print(f"first paint, target < {FIRST_PAINT_TARGET_S:.0f} s:")
    for title, measured in results.items():
        print("  " + _line(title, measured["paint"], empty_paint, FIRST_PAINT_TARGET_S))
    print(f"in-app navigation (sidebar link, JavaScript already loaded), target < "
          f"{FIRST_PAINT_TARGET_S:.0f} s:")  # fmt: skip
    for title, measured in navigation.items():
        print("  " + _line(title, measured, empty_paint, FIRST_PAINT_TARGET_S))
    print(f"interaction, target < {INTERACTION_TARGET_S:.0f} s:")
    for title, measured in results.items():
        print("  " + _line(title, measured["act"], empty_act, INTERACTION_TARGET_S))


if __name__ == "__main__":
    run()
