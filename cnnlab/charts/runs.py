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

from cnnlab.charts.training import RunCurves, ema, runs_overlay

STATUS_ICONS = {
    "queued": "⏳",
    "running": "🏃",
    "finished": "✅",
    "stopped": "⏹️",
    "failed": "❌",
    "diverged": "💥",
}
# Settings that describe a run at a glance (columns of the table), in reading order.
KEY_SETTINGS = ("epochs", "batch_size", "optimizer", "lr", "scheduler", "augment")
# Settings that never make runs "differ" in a way worth showing.
IGNORED_SETTINGS = ("name", "data_dir")


def table_rows(summaries: Iterable[Any]) -> list[dict[str, Any]]:
    """One row per run for the runs table (accuracies as percentages, durations in seconds)."""
    rows = []
    for run in summaries:
        config = run.config
        rows.append(
            {
                "status": f"{STATUS_ICONS.get(run.status, '')} {run.status}",
                "name": run.name,
                "dataset": run.dataset,
                "model": run.model,
                "best acc": None if run.best_acc is None else 100.0 * run.best_acc,
                "final acc": None if run.final_acc is None else 100.0 * run.final_acc,
                "epochs": f"{run.epoch:g}/{run.epochs}" if run.active else run.epochs,
                "batch": config.get("batch_size"),
                "optimizer": config.get("optimizer"),
                "lr": config.get("lr"),
                "scheduler": config.get("scheduler"),
                "augment": bool(config.get("augment")),
                "images/s": run.images_per_s,
                "duration (s)": run.duration_s,
                "device": run.device,
                "started": run.created_at,
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
