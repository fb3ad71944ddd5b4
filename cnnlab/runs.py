"""What the pages call: start, list, follow, stop, resume and delete training runs.

A run is a separate process (``python -m cnnlab.train``) in its own session, so it
outlives the page that started it; everything here reads or writes the run store
(``cnnlab.store``), never the process. Every read first marks failed the runs whose
process is gone while they were marked running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from cnnlab.checkpoints import (
    MAX_CHECKPOINT_BYTES,
    MODEL_FILE,
    check_input_shape,
    resume_payload,
)
from cnnlab.config import RunConfig, build_model
from cnnlab.errors import CheckpointError, CNNLabError, ConfigError, RunError
from cnnlab.store import (
    ACTIVE,
    RunStore,
    check_run_id,
    load_checkpoint,
    process_alive,
    process_start_token,
)
from cnnlab.train_setup import check_data_dir

_PACKAGE_PARENT = Path(__file__).resolve().parents[1]
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # started here; polled so none stays a zombie


@dataclass(frozen=True)
class RunSummary:
    """One row of the Runs table."""

    id: str
    name: str
    status: str
    model: str
    dataset: str
    config: dict[str, Any]
    device: str | None
    created_at: float
    started_at: float | None
    ended_at: float | None
    duration_s: float | None  # started -> ended (or now while running)
    epochs: int
    epoch: float  # fractional epochs done
    step: int
    total_steps: int | None
    progress: float  # 0..1
    best_acc: float | None
    final_acc: float | None
    train_loss: float | None
    images_per_s: float | None
    error: str | None
    stop_requested: bool

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class MetricPoint:
    row: int  # cursor: pass the last one as ``after_row`` to read only newer points
    step: int
    epoch: float
    key: str
    value: float
    wall_time: float


@dataclass(frozen=True)
class Progress:
    status: str
    epoch: float
    epochs: int
    step: int
    total_steps: int | None
    fraction: float
    eta_s: float | None


@dataclass(frozen=True)
class Evaluation:
    epoch: int
    step: int
    test_loss: float
    test_acc: float
    per_class_acc: list[float]
    confusion: list[list[int]]  # [true][predicted] counts
    misclassified: list[tuple[int, int, int]]  # (test index, true label, predicted label)
    classes: list[str]


def start(config: RunConfig, runs_dir: str | os.PathLike[str] | None = None) -> str:
    """Validate ``config``, record a queued run and launch its training process; the run id."""
    config.validate()
    check_data_dir(config)
    store = RunStore(runs_dir)
    run_id = store.create_run(config.to_dict(), config.name, config.epochs)
    _launch(store, run_id, ["--run-id", run_id])
    return run_id


def start_once(
    config: RunConfig,
    started: MutableMapping[str, str],
    runs_dir: str | os.PathLike[str] | None = None,
) -> str:
    """Start ``config`` once per submission: the same settings sent again while their run is
    still active (a double click, a resubmitted form) give that run's id, not a second run.

    ``started`` is the caller's record (config fingerprint -> run id, kept across reruns);
    "" means the same submission is being started right now by another rerun.
    """
    key = config.fingerprint()
    previous = started.get(key)
    if previous is not None:
        if previous == "pending":
            return ""
        try:
            if get_run(previous, runs_dir).active:
                return previous
        except CNNLabError:
            pass
    started[key] = "pending"  # nothing between marking and starting can be interrupted
    try:
        run_id = start(config, runs_dir)
    except BaseException:
        del started[key]  # a failed start must not block the next submission
        raise
    started[key] = run_id
    return run_id


def list_runs(runs_dir: str | os.PathLike[str] | None = None) -> list[RunSummary]:
    """Every run, newest first."""
    store = _store(runs_dir)
    return [_summary(row) for row in store.all()]


def get_run(run_id: str, runs_dir: str | os.PathLike[str] | None = None) -> RunSummary:
    return _summary(_store(runs_dir).get(run_id))


def metrics(
    run_id: str,
    since_step: int = -1,
    keys: list[str] | tuple[str, ...] | None = None,
    after_row: int = 0,
    runs_dir: str | os.PathLike[str] | None = None,
) -> list[MetricPoint]:
    """Metric points with step > ``since_step`` and row > ``after_row`` (cheap to poll)."""
    store = RunStore(runs_dir)
    return [
        MetricPoint(*row)
        for row in store.metrics(check_run_id(run_id), since_step, keys, after_row)
    ]


def progress(run: str | RunSummary, runs_dir: str | os.PathLike[str] | None = None) -> Progress:
    """Where a run stands, with its ETA; given a RunSummary already read, no store read."""
    if isinstance(run, str):
        run = get_run(run, runs_dir)
    eta = None
    if run.active and run.total_steps and run.images_per_s:
        remaining = max(0, run.total_steps - run.step) * int(run.config.get("batch_size", 1))
        eta = remaining / run.images_per_s
    return Progress(run.status, run.epoch, run.epochs, run.step, run.total_steps, run.progress, eta)


def latest_evaluation(
    run_id: str, runs_dir: str | os.PathLike[str] | None = None
) -> Evaluation | None:
    data = RunStore(runs_dir).evaluation(check_run_id(run_id))
    if data is None:
        return None
    return Evaluation(
        epoch=data["epoch"],
        step=data["step"],
        test_loss=data["test_loss"],
        test_acc=data["test_acc"],
        per_class_acc=list(data["per_class_acc"]),
        confusion=[list(row) for row in data["confusion"]],
        misclassified=[tuple(item) for item in data["misclassified"]],  # type: ignore[misc]
        classes=list(data["classes"]),
    )


def request_stop(run_id: str, runs_dir: str | os.PathLike[str] | None = None) -> None:
    """Ask a run to stop: a flag in the store, and SIGTERM to a running trainer.

    Either way the trainer finishes its current step, saves last.pt and ends as stopped.
    """
    store = _store(runs_dir)
    store.request_stop(run_id)
    row = store.get(run_id)
    if row["status"] == "running" and row["pid"] and process_alive(row["pid"], row["pid_start"]):
        with contextlib.suppress(ProcessLookupError):
            os.kill(row["pid"], signal.SIGTERM)


def delete(run_id: str, runs_dir: str | os.PathLike[str] | None = None) -> None:
    """Remove a run's rows and files; RunError while it is still running."""
    store = _store(runs_dir)
    row = store.get(run_id)
    if row["status"] in ACTIVE:
        raise RunError(f"run {run_id} is still {row['status']}: stop it before deleting")
    shutil.rmtree(store.run_dir(run_id), ignore_errors=True)
    store.delete(run_id)


def resume(
    run_id: str, epochs: int | None = None, runs_dir: str | os.PathLike[str] | None = None
) -> str:
    """Continue a stopped/failed/finished run from its last.pt (same id); returns the id.

    ``epochs`` raises the planned number of epochs (to train a finished run further).
    """
    store = _store(runs_dir)
    row = store.get(run_id)
    if row["status"] in ACTIVE:
        raise RunError(f"run {run_id} is already {row['status']}")
    # last.pt, else best.pt, else from scratch (a kill during the first save leaves none)
    payload = resume_payload(store.run_dir(run_id), lambda _line: None)
    planned = row["epochs"] if epochs is None else epochs
    if payload is not None and payload["epoch"] >= planned:
        raise RunError(
            f"run {run_id} has completed all {planned} epochs: resume it with more epochs"
        )
    argv = ["--resume", run_id]
    if epochs is not None:
        argv += ["--epochs", str(epochs)]
    store.update(run_id, status="queued", error=None, ended_at=None, stop_requested=0, pid=None)
    _launch(store, run_id, argv)
    return run_id


def checkpoint_path(
    run_id: str, which: str = "best", runs_dir: str | os.PathLike[str] | None = None
) -> Path:
    if which not in ("best", "last"):
        raise RunError(f"checkpoint must be 'best' or 'last', not {which!r}")
    return RunStore(runs_dir).run_dir(run_id) / f"{which}.pt"


def saved_checkpoint(run_id: str, runs_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The run's best.pt, else its last.pt; None while it has saved neither."""
    for which in ("best", "last"):
        path = checkpoint_path(run_id, which, runs_dir)
        if path.is_file():
            return path
    return None


def model_file(run_id: str, runs_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The run's ``model.pt`` (best weights as a plain state dict), None until saved."""
    path = RunStore(runs_dir).run_dir(run_id) / MODEL_FILE
    return path if path.is_file() else None


def load_trained_model(
    run_id: str, which: str = "best", runs_dir: str | os.PathLike[str] | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """The trained network in eval mode on the CPU, and its checkpoint payload."""
    path = checkpoint_path(run_id, which, runs_dir)
    payload = load_checkpoint(path, checkpoint_cap(path.parent))
    return model_from_checkpoint(payload), payload


def checkpoint_cap(run_dir: Path) -> int:
    """The most a checkpoint of this run can inflate to: a few times its network's weights.

    The network is built from the run's config.json on the meta device (no memory), so a
    crafted checkpoint is refused before torch.load reads it; 1 GiB when unknown.
    """
    import json

    import torch

    from cnnlab.data import DATASETS

    try:
        config = RunConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
        info = DATASETS[config.dataset]
        with torch.device("meta"):
            model = build_model(config, info.input_shape, info.num_classes)
        weights = sum(p.numel() * p.element_size() for p in model.state_dict().values())
    except Exception:  # unknown network: the absolute cap applies
        return MAX_CHECKPOINT_BYTES
    # weights + optimizer state (Adam: 2x) + the unpickled structure
    return min(MAX_CHECKPOINT_BYTES, 4 * weights + 16 * 2**20)


def model_from_checkpoint(payload: dict[str, Any]) -> nn.Module:
    """Rebuild the network a checkpoint payload describes and load its weights."""
    input_shape = check_input_shape(payload)  # before building: the shape sizes the model
    try:
        config = RunConfig.from_dict(payload["config"])
        model = build_model(config, input_shape, len(payload["classes"]))  # type: ignore[arg-type]
        model.load_state_dict(payload["model"])
    except (ConfigError, KeyError, TypeError, ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise CheckpointError(
            f"the checkpoint's weights do not match its network ({type(error).__name__}: {first})"
        ) from None
    return model.eval()


# ---- internals ----------------------------------------------------------------------
def _store(runs_dir: str | os.PathLike[str] | None) -> RunStore:
    for pid, child in list(_CHILDREN.items()):
        if child.poll() is not None:
            del _CHILDREN[pid]
    store = RunStore(runs_dir)
    store.reap_dead()
    return store


def _launch(store: RunStore, run_id: str, argv: list[str]) -> None:
    """Start ``python -m cnnlab.train`` in its own session, output to <run>/train.log."""
    log_path = store.run_dir(run_id) / "train.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_PACKAGE_PARENT), env.get("PYTHONPATH")) if p
    )
    trainer = [
        sys.executable,
        "-m",
        "cnnlab.train",
        *argv,
        "--runs-dir",
        str(store.root),
        "--quiet",
    ]
    with open(log_path, "ab") as log:  # the supervisor records a killed trainer as failed
        child = subprocess.Popen(
            [sys.executable, "-m", "cnnlab.supervise", str(store.root), run_id, "--", *trainer],
            cwd=_PACKAGE_PARENT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    _CHILDREN[child.pid] = child
    store.update(run_id, pid=child.pid, pid_start=process_start_token(child.pid))


def _summary(row: dict[str, Any]) -> RunSummary:
    import json

    config = json.loads(row["config"])
    started, ended = row["started_at"], row["ended_at"]
    duration = None
    if started is not None:
        duration = (ended if ended is not None else time.time()) - started
    epochs = int(row["epochs"] or config.get("epochs", 1))
    total = row["total_steps"]
    fraction = min(1.0, row["step"] / total) if total else min(1.0, row["epoch"] / epochs)
    return RunSummary(
        id=row["id"],
        name=row["name"] or f"{config.get('model')} on {config.get('dataset')}",
        status=row["status"],
        model=config.get("model", "?"),
        dataset=config.get("dataset", "?"),
        config=config,
        device=row["device"],
        created_at=row["created_at"],
        started_at=started,
        ended_at=ended,
        duration_s=duration,
        epochs=epochs,
        epoch=float(row["epoch"]),
        step=int(row["step"]),
        total_steps=total,
        progress=fraction,
        best_acc=row["best_acc"],
        final_acc=row["final_acc"],
        train_loss=row["train_loss"],
        images_per_s=row["images_per_s"],
        error=row["error"],
        stop_requested=bool(row["stop_requested"]),
    )
