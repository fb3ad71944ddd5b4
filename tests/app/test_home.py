"""The home page: what the app does, a link to every page, and the training device."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.syspath_prepend(str(APP.parent))
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.run()
    assert not app.exception
    return app


def test_home_names_the_training_device(at: AppTest) -> None:
    messages = [element.value for element in (*at.info, *at.success)]
    if torch.cuda.is_available():
        assert any(torch.cuda.get_device_name(0) in message for message in messages)
    else:
        assert any("CPU" in message and "cores" in message for message in messages)


def test_home_links_every_page(at: AppTest) -> None:
    links = {link.proto.page: link.proto.label for link in at.get("page_link")}
    assert links == {
        "output_size": "Output size",
        "network": "Network",
        "feature_maps": "Feature maps",
        "train": "Train",
        "runs": "Runs",
    }
