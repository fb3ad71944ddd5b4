"""Runs that ended early, as the Train and Runs pages show them: what was evaluated when,
Resume only where a checkpoint exists, and no raw "None" anywhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from cnnlab import runs
from cnnlab.config import RunConfig
from cnnlab.data import CIFAR10_CLASSES
from cnnlab.store import MetricWriter, RunStore, save_checkpoint

PAGES = Path(__file__).resolve().parents[2] / "pages"


def _open(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=60)
    at.query_params.update(query)
    at.run()
    assert not at.exception
    return at


def _text(at: AppTest) -> str:
    kinds = ("markdown", "caption", "error", "warning", "info", "subheader", "text")
    parts = [str(e.value) for kind in kinds for e in at.get(kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [b.label for b in at.button]
    return "\n".join(parts)


def _stopped_mid_epoch(root: Path) -> str:
    """A run stopped after 13 of its 20 steps per epoch, evaluated then, as the trainer
    records it: the evaluation row says epoch 1, the metric rows say 0.65 epochs."""
    store = RunStore(root)
    cfg = RunConfig(epochs=2, limit_train=1280, limit_test=100, name="stopped early")
    run_id = store.create_run(cfg.to_dict(), cfg.name, 2)
    writer = MetricWriter(store, run_id)
    writer.add(12, 0.6, "train/loss", 2.0)
    writer.add(13, 0.65, "test/acc", 0.31)
    writer.add(13, 0.65, "test/loss", 1.9)
    writer.add(13, 0.65, "train/acc", 0.3)
    writer.add_evaluation(1, 13, {
        "test_loss": 1.9, "test_acc": 0.31, "per_class_acc": [0.31] * 10,
        "confusion": [[1] * 10 for _ in range(10)], "misclassified": [],
        "classes": list(CIFAR10_CLASSES),
    })  # fmt: skip
    writer.flush(status="stopped", device="cpu", started_at=1.0, ended_at=2.0, step=13,
                 epoch=0.65, steps_per_epoch=20, total_steps=40)  # fmt: skip
    writer.close()
    save_checkpoint(store.run_dir(run_id) / "last.pt", {"model": {}, "epoch": 0, "step": 13})
    return run_id


def test_a_run_stopped_mid_epoch_says_when_it_was_evaluated(runs_dir: Path) -> None:
    at = _open("train.py", run=_stopped_mid_epoch(runs_dir))
    text = _text(at)
    assert "after 0.65 epochs (step 13)" in text
    assert "after epoch 1" not in text
    charts = {json.loads(c.proto.spec)["layout"]["title"]["text"]: json.loads(c.proto.spec)
              for c in at.get("plotly_chart")}  # fmt: skip
    test_acc = charts["Accuracy per epoch"]["data"][1]
    assert test_acc["x"] == [0.65] and "markers" in test_acc["mode"]  # a visible single point


def _failed_before_any_checkpoint(root: Path) -> str:
    store = RunStore(root)
    cfg = RunConfig(epochs=2, name="failed at start")
    run_id = store.create_run(cfg.to_dict(), cfg.name, 2)
    store.update(run_id, status="failed", error="DatasetUnavailable: put the files in ./data")
    return run_id


def _select(at: AppTest, run_id: str) -> AppTest:
    run = runs.get_run(run_id)
    at.multiselect(key="runs_selected").set_value([f"{run.name} · {run.id}"]).run()
    assert not at.exception
    return at


def test_failed_run_without_checkpoint_offers_no_resume_and_shows_no_none(
    runs_dir: Path, make_run: Callable[..., Any]
) -> None:
    make_run(runs_dir, status="running", logged_steps=5, name="still running")
    run_id = _failed_before_any_checkpoint(runs_dir)
    at = _select(_open("runs.py"), run_id)
    assert "Resume" not in [b.label for b in at.button]
    assert "Nothing to resume" in _text(at)
    [table] = at.dataframe
    assert table.proto.placeholder == "—"  # unknown accuracies and devices read "—"
    frame = table.value
    assert frame["epochs"].map(type).eq(str).all()  # one type: no ArrowTypeError
    assert "None" not in _text(at) and not frame.isin(["None"]).any().any()
    train = _open("train.py", run=run_id)
    assert "None" not in _text(train)
    assert "starting…" not in _text(train)  # it will not start: it failed


def test_stopped_run_with_last_checkpoint_offers_resume(runs_dir: Path) -> None:
    run_id = _stopped_mid_epoch(runs_dir)
    at = _select(_open("runs.py"), run_id)
    assert "Resume" in [b.label for b in at.button]
