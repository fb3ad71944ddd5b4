"""Following a live run: its metric series grown poll by poll, and its progress in words.

The Train page keeps one ``MetricSeries`` per run in its session and extends it with
only the rows written since the last poll (``cnnlab.runs.metrics(after_row=...)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cnnlab.store import ACTIVE


@dataclass
class MetricSeries:
    """Every metric of one run so far: ``series[key] = {"step": [...], "epoch": [...],
    "value": [...]}``; ``cursor`` is the last store row read (pass it as ``after_row``)."""

    cursor: int = 0
    series: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def extend(self, points: Iterable[Any]) -> MetricSeries:
        """Append new ``MetricPoint``s (row, step, epoch, key, value) to their series."""
        for point in points:
            columns = self.series.setdefault(point.key, {"step": [], "epoch": [], "value": []})
            columns["step"].append(point.step)
            columns["epoch"].append(point.epoch)
            columns["value"].append(point.value)
            self.cursor = max(self.cursor, point.row)
        return self

    def xy(self, key: str, x: str = "step") -> tuple[list[float], list[float]]:
        """One metric as (x, values) with x = "step" or "epoch"; empty lists before any point."""
        columns = self.series.get(key)
        return (columns[x], columns["value"]) if columns else ([], [])

    def __contains__(self, key: str) -> bool:
        return key in self.series


def eta_text(seconds: float | None) -> str:
    """``ETA 1:02:03`` / ``ETA 2:05``; ``ETA –`` when unknown (None, NaN or negative)."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "ETA –"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"ETA {hours}:{minutes:02d}:{secs:02d}" if hours else f"ETA {minutes}:{secs:02d}"


def progress_text(progress: Any) -> str:
    """The progress bar's words for a ``cnnlab.runs.Progress``: where an active run is and
    when it should end, or how far an ended run got."""
    if progress.status in ACTIVE:
        epoch = min(int(progress.epoch) + 1, progress.epochs)
        return (
            f"Epoch {epoch}/{progress.epochs} · step {progress.step}/"
            f"{progress.total_steps or '?'} · {eta_text(progress.eta_s)}"
        )
    return f"{progress.step} steps · {progress.epoch:.2g} of {progress.epochs} epochs"
