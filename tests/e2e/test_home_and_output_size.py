"""The real app in headless Chromium: the home page, then the output-size lab."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_home_page_links_to_the_output_size_lab(page, app_url: str) -> None:
    page.goto(app_url)
    page.get_by_role("heading", name="CNN Lab").wait_for()
    link = page.locator('a[href$="/output_size"]').first
    link.wait_for()
    assert "Output size" in link.inner_text()


def test_output_size_page_renders_formula_and_torch_badge(page, app_url: str) -> None:
    page.goto(f"{app_url}/output_size")
    page.get_by_role("heading", name="Output size").first.wait_for()
    katex = page.locator(".katex").first
    katex.wait_for()
    sources = page.locator(".katex-mathml annotation").evaluate_all(
        "nodes => nodes.map(node => node.textContent)"
    )  # the TeX source KaTeX keeps beside what it drew
    formulas = " ".join(sources)
    assert r"\frac{5 + 2\cdot 0 - 3}{1}" in formulas  # seed 001: ⌊(5 + 2·0 − 3)/1⌋ + 1 = 3
    assert "= 3" in formulas
    page.get_by_text("checked against torch: (1, 1, 3, 3)").first.wait_for()
    # the sliding-window chart with its one stepper, and the written-out sum
    page.locator(".js-plotly-plot").first.wait_for()
    page.get_by_text("Play every cell").first.wait_for()
    page.get_by_text("1·1 + 2·2 + 0·1 + 0·0 + 1·1 + 2·0 + 1·2 + 2·1 + 1·0 = 10").first.wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
