"""The Runs page's tables and overlay data: pure functions of run summaries and metric points.

Inputs are duck-typed (``cnnlab.runs.RunSummary`` and ``MetricPoint`` in the app, plain
objects in tests); outputs are plain rows for ``st.dataframe`` or the overlay figure.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from cnnlab.charts.training import METRIC_TITLES, RunCurves, ema, runs_overlay

STATUS_ICONS = {
    "queued": "⏳",
    "running": "🏃",
    "finished": "✅",
    "stopped": "⏹️",
    "failed": "❌",
    "diverged": "💥",
}
STATUSES = tuple(STATUS_ICONS)
# st.badge (label, colour, Material icon) of each status on the Train page.
STATUS_BADGES = {
    "queued": ("queued", "gray", ":material/schedule:"),
    "running": ("running", "blue", ":material/directions_run:"),
    "finished": ("finished", "green", ":material/check_circle:"),
    "stopped": ("stopped", "orange", ":material/stop_circle:"),
    "failed": ("failed", "red", ":material/error:"),
    "diverged": ("diverged", "violet", ":material/trending_up:"),
}
# The curves the overlay offers, in the order offered (the training loss is smoothed there).
_COMPARED = ("test/acc", "train/loss", "test/loss", "train/acc", "train/lr", "train/images_per_s")
COMPARE_KEYS = {key: METRIC_TITLES[key] for key in _COMPARED} | {
    "train/loss": "training loss (smoothed)"
}
# Settings that describe a run at a glance (columns of the table), in reading order.
KEY_SETTINGS = ("epochs", "batch_size", "optimizer", "lr", "scheduler", "augment")
# Settings that never make runs "differ" in a way worth showing.
IGNORED_SETTINGS = ("name", "data_dir")


def run_label(run: Any) -> str:
    """How a run is named where several are listed: ``name · id`` (names need not be unique)."""
    return f"{run.name} · {run.id}"


def filter_runs(
    summaries: Iterable[Any],
    statuses: Sequence[str] = (),
    datasets: Sequence[str] = (),
    models: Sequence[str] = (),
    text: str = "",
) -> list[Any]:
    """The runs that pass every filter; an empty choice lets all through, ``text`` is matched
    case-insensitively within the run's name."""
    return [
        r
        for r in summaries
        if (not statuses or r.status in statuses)
        and (not datasets or r.dataset in datasets)
        and (not models or r.model in models)
        and (text.lower() in r.name.lower())
    ]


def status_line(summaries: Sequence[Any]) -> str:
    """How many runs have each status, e.g. ``✅ 3 finished · 🏃 1 running`` (none: "")."""
    counts = {s: sum(r.status == s for r in summaries) for s in STATUSES}
    return " · ".join(f"{STATUS_ICONS[s]} {n} {s}" for s, n in counts.items() if n)


def _number(value: Any, scale: float = 1.0) -> float:
    """A table number; NaN where unknown (shown as "—": the page sets the placeholder)."""
    return math.nan if value is None else scale * float(value)


def _epochs_done(run: Any) -> str:
    """``done/planned``, e.g. ``0.66/2``: one type for every row, active or ended."""
    return f"{round(float(run.epoch), 2):g}/{run.epochs}"


def table_rows(summaries: Iterable[Any]) -> list[dict[str, Any]]:
    """One row per run for the runs table (accuracies as percentages, durations in seconds).

    Every column holds one type in every row (numbers as floats with NaN where unknown,
    text as str), so Arrow converts the table as it is, with no ArrowTypeError.
    """
    rows = []
    for run in summaries:
        config = run.config
        rows.append(
            {
                "status": f"{STATUS_ICONS.get(run.status, '')} {run.status}",
                "name": run.name,
                "dataset": run.dataset,
                "model": run.model,
                "best acc": _number(run.best_acc, 100.0),
                "final acc": _number(run.final_acc, 100.0),
                "epochs": _epochs_done(run),
                "batch": _number(config.get("batch_size")),
                "optimizer": str(config.get("optimizer") or "—"),
                "lr": _number(config.get("lr")),
                "scheduler": str(config.get("scheduler") or "—"),
                "augment": bool(config.get("augment")),
                "images/s": _number(run.images_per_s),
                "duration (s)": _number(run.duration_s),
                "device": run.device or "—",
                "started": _number(run.created_at),
                "id": run.id,
            }
        )
    return rows


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def differing_settings(configs: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Only the settings in which the runs differ: one row per setting, one column per run.

    ``configs`` maps a run label to its config dict. A setting missing from a config
    counts as ``None``. Run names and data paths are left out.
    """
    labels = list(configs)
    keys = sorted({key for config in configs.values() for key in config} - set(IGNORED_SETTINGS))
    rows = []
    for key in keys:
        values = [configs[label].get(key) for label in labels]
        if all(_same(values[0], value) for value in values[1:]):
            continue
        rows.append(
            {"setting": key, **{label: _show(v) for label, v in zip(labels, values, strict=True)}}
        )
    return rows


def _show(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, str) and "\n" in value:
        return value.strip().splitlines()[0] + " …"
    return str(value)


def metrics_csv(points: Iterable[Any]) -> str:
    """The metric points as CSV (step, epoch, key, value, wall_time), ready to download."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", "epoch", "key", "value", "wall_time"])
    for p in points:
        writer.writerow(
            [p.step, f"{p.epoch:.6g}", p.key, repr(float(p.value)), f"{p.wall_time:.3f}"]
        )
    return out.getvalue()


def run_curves(
    label: str, points: Iterable[Any], keys: Sequence[str], smoothing: float = 0.9
) -> RunCurves:
    """One run's series for the overlay, x = epoch; the per-step training loss is EMA-smoothed
    so several runs stay readable on one axis."""
    series: dict[str, tuple[list[float], list[float]]] = {key: ([], []) for key in keys}
    for p in points:
        if p.key in series:
            series[p.key][0].append(float(p.epoch))
            series[p.key][1].append(float(p.value))
    if "train/loss" in series and smoothing > 0:
        xs, ys = series["train/loss"]
        series["train/loss"] = (xs, ema(ys, smoothing))
    return RunCurves(label, {key: xy for key, xy in series.items() if xy[0]})


def overlay(runs: Sequence[RunCurves], keys: Sequence[str]) -> go.Figure:
    """Selected runs on shared axes (see ``training.runs_overlay``)."""
    return runs_overlay(runs, keys)


def evaluation_when(step: int, points: Iterable[Any]) -> str:
    """When the shown evaluation ran, in the epochs the run had done then.

    The evaluation row stores the epoch it belongs to (1 for the first, even when a stop
    cut that epoch short); the ``test/acc`` metric row written with it at the same
    ``step`` holds the real fractional epoch.
    """
    fraction = next(
        (float(p.epoch) for p in points if p.key == "test/acc" and int(p.step) == step), None
    )
    if fraction is None:
        return f"From the evaluation at step {step:,}."
    whole = round(fraction)
    if math.isclose(fraction, whole, abs_tol=1e-6):
        return f"From the evaluation after epoch {whole} (step {step:,})."
    return (
        f"From the evaluation after {fraction:.2f} epochs (step {step:,}): the run ended "
        "partway through an epoch."
    )
