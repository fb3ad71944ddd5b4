"""Following a live run: its metric series grown poll by poll, and its progress in words.

The Train page keeps one ``MetricSeries`` per run in its session and extends it with
only the rows written since the last poll (``cnnlab.runs.metrics(after_row=...)``).
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
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


@dataclass
class EtaSmoother:
    """A steady ETA for one run, updated on every poll of the page.

    The trainer's ``images_per_s`` is the rate of its last half-second, so an ETA computed
    from it jumps (20:14, 13:27, 38:25, 7:28 ...) with every evaluation pass, checkpoint or
    busy neighbour. Here the rate is the steps done over the last ``window_s`` seconds of
    polls. The previous ETA less the time since is kept while the new estimate is within
    ``dead_band`` of it (a clean countdown), and a new ETA never moves more than
    ``max_change`` (a factor) from it, so one slow or fast moment moves it a little, a lasting
    change fully within a few polls. Until the window spans ``min_span_s`` the trainer's
    rate is used.
    """

    window_s: float = 60.0
    min_span_s: float = 5.0
    max_change: float = 1.15
    dead_band: float = 0.08
    samples: deque[tuple[float, int]] = field(default_factory=deque)  # (poll time, step)
    last: tuple[float, float] | None = None  # (poll time, ETA given then)

    def update(
        self, now: float, step: int, total_steps: int | None, fallback: float | None
    ) -> float | None:
        """The ETA in seconds at time ``now`` with ``step`` of ``total_steps`` done."""
        if not total_steps:
            return fallback
        if self.samples and step < self.samples[-1][1]:  # resumed from an earlier step
            self.samples.clear()
            self.last = None
        self.samples.append((now, step))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window_s:
            self.samples.popleft()
        t0, s0 = self.samples[0]
        span = now - t0
        remaining = max(0, total_steps - step)
        if span >= self.min_span_s and step > s0:
            raw: float | None = remaining * span / (step - s0)
        else:
            raw = fallback
        if raw is None or raw != raw:
            return None if self.last is None else max(0.0, self.last[1] - (now - self.last[0]))
        if self.last is not None:
            expected = max(1.0, self.last[1] - (now - self.last[0]))  # the last ETA, counted down
            if abs(raw - expected) <= self.dead_band * expected:
                raw = expected  # close enough: keep counting down
            raw = min(max(raw, expected / self.max_change), expected * self.max_change)
        eta = 0.0 if remaining == 0 else raw
        self.last = (now, eta)
        return eta


def smooth_eta(progress: Any, smoother: EtaSmoother, now: float | None = None) -> Any:
    """``progress`` (a ``cnnlab.runs.Progress``) with its ETA replaced by the smoothed one."""
    if progress.status not in ACTIVE:
        return progress
    now = time.time() if now is None else now
    eta = smoother.update(now, progress.step, progress.total_steps, progress.eta_s)
    return dataclasses.replace(progress, eta_s=eta)


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


def progress_bar(progress: Any, phase: Any = None) -> tuple[float, str]:
    """The progress bar's fraction and words: the data preparation (a ``cnnlab.prep.DataPhase``)
    while the trainer decodes the dataset, else the run's progress."""
    if phase is not None:
        return phase.fraction, phase.text
    return progress.fraction, progress_text(progress)
