"""What the pages share with app.py: the guard that keeps deep links inside app.py's navigation."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def ensure_app_navigation() -> None:
    """Hand a page opened by URL over to app.py's ``st.navigation``.

    Because a ``pages/`` folder sits beside app.py, Streamlit starts in its old
    multipage mode: until app.py has run once, a first visit to ``/train`` runs
    ``pages/train.py`` on its own (no page config, no navigation, a lowercase
    sidebar). Leaving that mode and rerunning lets app.py route the same URL.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
