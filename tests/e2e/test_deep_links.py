"""A page opened by URL on a fresh server still runs inside app.py's navigation."""

from __future__ import annotations

import pytest

from tests.e2e.server import serve_app

pytestmark = pytest.mark.e2e


def test_first_visit_by_url_gets_app_navigation_and_page(browser, tmp_path) -> None:
    # A fresh server: nobody has opened "/" yet, which is when Streamlit would
    # otherwise run pages/network.py on its own with an automatic sidebar.
    with serve_app(tmp_path) as server:
        url = server.url
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"{url}/network")
        page.get_by_role("heading", name="Network").first.wait_for(timeout=60_000)
        nav = page.get_by_test_id("stSidebarNav")
        nav.get_by_text("Output size").wait_for()
        assert "Feature maps" in nav.inner_text()
        assert "feature maps" not in nav.inner_text()  # the automatic, lowercase list
        assert page.title() == "CNN Lab"  # app.py's st.set_page_config ran
        context.close()
