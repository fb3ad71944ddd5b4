"""Shared builders for the page tests: a run as the trainer records it, and its next points.

Runs are prepared with the real ``cnnlab.store`` API (the trainer's own writer), so a page
reads exactly what a training process would have written. The fixtures hand out the
builder functions, called as ``make_run(runs_dir, status=..., ...)``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from cnnlab.config import RunConfig
from cnnlab.data import CIFAR10_CLASSES
from cnnlab.store import MetricWriter, RunStore, save_checkpoint


def build_run(
    root: Path,
    status: str = "finished",
    epochs: int = 2,
    steps_per_epoch: int = 20,
    logged_steps: int | None = None,
    error: str | None = None,
    name: str = "prepared run",
    **config: Any,
) -> str:
    """A run as the trainer records it: rows, metrics, evaluations and a checkpoint."""
    store = RunStore(root)
    cfg = RunConfig(epochs=epochs, limit_train=1280, limit_test=100, name=name, **config)
    run_id = store.create_run(cfg.to_dict(), cfg.name, epochs)
    now = time.time()
    total = epochs * steps_per_epoch
    done = total if logged_steps is None else logged_steps
    writer = MetricWriter(store, run_id)
    for step in range(0, done, 2):
        epoch = step / steps_per_epoch
        writer.add(step, epoch, "train/loss", 2.3 * math.exp(-step / 30) + 0.1 * (step % 3))
        writer.add(step, epoch, "train/lr", 0.01)
        writer.add(step, epoch, "train/images_per_s", 900.0 + step)
    accs = []
    for epoch in range(1, done // steps_per_epoch + 1):
        step = epoch * steps_per_epoch
        acc = 0.2 + 0.15 * epoch
        accs.append(acc)
        writer.add(step, epoch, "train/acc", acc + 0.05)
        writer.add(step, epoch, "test/acc", acc)
        writer.add(step, epoch, "test/loss", 2.0 - epoch * 0.3)
        confusion = [[0] * 10 for _ in range(10)]
        for k in range(10):
            confusion[k][k] = 5 + k
            confusion[k][(k + 1) % 10] = 5
        writer.add_evaluation(
            epoch,
            step,
            {
                "test_loss": 2.0 - epoch * 0.3,
                "test_acc": acc,
                "per_class_acc": [(5 + k) / (10 + k) for k in range(10)],
                "confusion": confusion,
                "misclassified": [(i, i % 10, (i + 1) % 10) for i in range(12)],
                "classes": list(CIFAR10_CLASSES),
            },
        )
    ended = None if status in ("running", "queued") else now
    writer.flush(
        status=status,
        device="cpu",
        started_at=now - 30,
        ended_at=ended,
        step=done,
        epoch=done / steps_per_epoch,
        steps_per_epoch=steps_per_epoch,
        total_steps=total,
        best_acc=max(accs) if accs else None,
        final_acc=accs[-1] if accs else None,
        images_per_s=1000.0,
        error=error,
    )
    writer.close()
    if accs:
        save_checkpoint(
            store.run_dir(run_id) / "best.pt",
            {
                "format": "cnnlab-checkpoint-v1",
                "run_id": run_id,
                "config": cfg.to_dict(),
                "model": {"w": torch.zeros(3)},
                "epoch": len(accs),
                "step": done,
            },
        )
    return run_id


def write_points(root: Path, run_id: str, steps: range) -> None:
    """What the trainer's next flush writes: new loss points for ``steps``."""
    writer = MetricWriter(RunStore(root), run_id)
    for step in steps:
        writer.add(step, step / 20, "train/loss", 1.0)
    writer.flush(step=steps[-1], epoch=steps[-1] / 20)
    writer.close()


@pytest.fixture
def make_run() -> Callable[..., str]:
    """``make_run(root, status="finished", epochs=2, ...)``: a prepared run's id."""
    return build_run


@pytest.fixture
def add_points() -> Callable[[Path, str, range], None]:
    """``add_points(root, run_id, steps)``: the trainer's next flush of loss points."""
    return write_points
