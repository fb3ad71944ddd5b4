"""The sliding window has one stepper: the figure's outline, its title and the equation
under it always name the same output cell, for every cell, while stepping and playing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from cnnlab.seed_examples import example_id

PAGE = Path(__file__).resolve().parents[2] / "pages" / "output_size.py"
PADDING_000 = example_id("seed 000: padding=1 with kernel 1..9")


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.syspath_prepend(str(PAGE.parents[1]))
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.query_params["example"] = PADDING_000
    app.run()
    assert not app.exception
    return app


def _figure(at: AppTest) -> dict[str, Any]:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def _outlined(figure: dict[str, Any], axis: str) -> set[tuple[int, int]]:
    """The (row, col) cells outlined (closed squares) on one panel's axis."""
    cells = set()
    for trace in figure["data"]:
        if trace["type"] != "scatter" or trace.get("xaxis", "x") != axis:
            continue
        xs, ys = trace["x"], trace["y"]
        for i in range(0, len(xs) - 5, 6):  # each square: 5 corners and a None
            if xs[i] is not None:
                cells.add((round(min(ys[i : i + 5]) + 0.5), round(min(xs[i : i + 5]) + 0.5)))
    return cells


def _shown(at: AppTest) -> tuple[int, int, str]:
    """The cell and the arithmetic the equation under the figure names."""
    text = next(m.value for m in at.markdown if m.value.startswith("**out["))
    match = re.fullmatch(r"\*\*out\[(\d+), (\d+)\]\*\* = `(.*)`", text)
    assert match, text
    return int(match[1]), int(match[2]), match[3]


def _assert_agree(at: AppTest) -> tuple[int, int]:
    figure = _figure(at)
    assert "frames" not in figure and not figure["layout"].get("sliders")  # no second stepper
    for trace in figure["data"]:  # no blank heatmap
        if trace["type"] == "heatmap" and trace["name"] != "pad":
            assert any(v is not None for row in trace["z"] for v in row), trace["name"]
    title = re.fullmatch(r"out\[(\d+),(\d+)\] = (.*)", figure["layout"]["title"]["text"])
    assert title, figure["layout"]["title"]["text"]
    row, col = int(title[1]), int(title[2])
    if at.session_state["os_playing"]:  # the equation lives in the title alone
        assert not [m for m in at.markdown if m.value.startswith("**out[")]
    else:
        assert _shown(at) == (row, col, title[3])
    assert _outlined(figure, "x3") == {(row, col)}  # the output cell
    window = {(row + r, col + c) for r in range(3) for c in range(3)}  # stride 1, 3x3 kernel
    assert _outlined(figure, "x") == window  # the input window that makes it
    return row, col


def test_every_position_shows_one_cell_in_figure_and_equation(at: AppTest) -> None:
    seen = []
    for step in range(25):  # the 5x5 output of seed 000 with padding 1
        at.slider(key="os_step").set_value(step).run()
        assert not at.exception
        seen.append(_assert_agree(at))
    assert seen == [(r, c) for r in range(5) for c in range(5)]
    at.slider(key="os_step").set_value(2).run()
    assert _shown(at)[2].endswith("= 224")  # seed 000's first row: 91, 168, 224


def test_play_advances_the_same_state_and_stops_at_the_last_cell(at: AppTest) -> None:
    at.slider(key="os_step").set_value(21).run()
    at.button(key="os_play").click().run()  # Play: each run (a timer tick) moves one cell on
    positions = [_assert_agree(at)]
    assert at.button(key="os_play").label == "Pause"
    while at.session_state["os_playing"]:
        at.run()
        assert not at.exception
        positions.append(_assert_agree(at))
        assert at.slider(key="os_step").value == positions[-1][0] * 5 + positions[-1][1]
    assert positions == [(4, 2), (4, 3), (4, 4)]  # then the timer stops
    assert at.button(key="os_play").label == "Play every cell"
    at.button(key="os_play").click().run()  # Play again from the last cell starts over
    assert _assert_agree(at) == (0, 0)
