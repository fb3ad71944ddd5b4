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
    links = {
        link.proto.page: link.proto.label
        for link in at.get("page_link")
        if not link.proto.query_string and link.proto.icon != ":material/subdirectory_arrow_right:"
    }
    assert links == {
        "output_size": "Output size",
        "network": "Network",
        "feature_maps": "Feature maps",
        "train": "Train",
        "runs": "Runs",
    }


def test_home_guides_each_course_note_to_its_page(at: AppTest) -> None:
    notes = [m.value for m in at.markdown if m.value.startswith("**Note ")]
    assert [note.split(" ·")[0] for note in notes] == [f"**Note {n:03d}" for n in range(5)]
    opened = [
        link.proto.page
        for link in at.get("page_link")
        if link.proto.icon == ":material/arrow_forward:"
    ]
    assert opened == ["output_size", "network", "output_size", "network", "output_size"]
    assert "91, 168, 224" in notes[0] and "145,578" in notes[1] and "62,006" in notes[3]
