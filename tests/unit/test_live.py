"""cnnlab.live: a run's series grown poll by poll, progress and ETA in words."""

from __future__ import annotations

from cnnlab.live import MetricSeries, eta_text, progress_text
from cnnlab.runs import MetricPoint, Progress


def _point(row: int, step: int, key: str, value: float) -> MetricPoint:
    return MetricPoint(row, step, step / 10, key, value, 0.0)


def test_extend_appends_new_points_and_moves_the_cursor() -> None:
    series = MetricSeries()
    series.extend([_point(1, 0, "train/loss", 2.0), _point(2, 0, "train/lr", 0.1)])
    series.extend([_point(5, 10, "train/loss", 1.5)])
    assert series.cursor == 5
    assert series.xy("train/loss") == ([0, 10], [2.0, 1.5])
    assert series.xy("train/loss", "epoch") == ([0.0, 1.0], [2.0, 1.5])
    assert series.xy("test/acc") == ([], [])
    assert "train/lr" in series and "gpu/mem_gib" not in series
    assert series.extend([]).cursor == 5


def test_eta_text() -> None:
    assert eta_text(125) == "ETA 2:05"
    assert eta_text(3723) == "ETA 1:02:03"
    assert eta_text(None) == eta_text(float("nan")) == eta_text(-1) == "ETA –"


def test_progress_text_for_an_active_and_an_ended_run() -> None:
    running = Progress("running", 1.95, 3, 39, 60, 0.65, 30.0)
    assert progress_text(running) == "Epoch 2/3 · step 39/60 · ETA 0:30"
    assert progress_text(Progress("queued", 0.0, 3, 0, None, 0.0, None)) == (
        "Epoch 1/3 · step 0/? · ETA –"
    )
    assert progress_text(Progress("stopped", 1.5, 3, 30, 60, 0.5, None)) == (
        "30 steps · 1.5 of 3 epochs"
    )
