"""cnnlab.runs: real training subprocesses started, stopped, killed and resumed via the API."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from cnnlab import runs
from cnnlab.config import RunConfig
from cnnlab.errors import CheckpointError, RunError
from cnnlab.store import CHECKPOINT_FORMAT, KILLED_MESSAGE, load_checkpoint


def quick(data_dir: Path, **changes: object) -> RunConfig:
    values: dict[str, object] = {
        "model": "lenet5", "dataset": "cifar10", "epochs": 2, "lr": 0.01,
        "limit_train": 640, "limit_test": 256, "data_dir": str(data_dir),
    }  # fmt: skip
    values.update(changes)
    return RunConfig(**values)  # type: ignore[arg-type]


def wait_for(condition: Callable[[], bool], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def wait_done(run_id: str, timeout: float = 180.0) -> runs.RunSummary:
    wait_for(lambda: not runs.get_run(run_id).active, timeout)
    return runs.get_run(run_id)


class Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_two_runs_at_once_keep_their_own_metrics(runs_dir: Path, data_dir: Path) -> None:
    first = runs.start(quick(data_dir, name="a", lr=0.01))
    second = runs.start(quick(data_dir, name="b", lr=0.02, optimizer="adam"))
    assert first != second
    assert {r.id for r in runs.list_runs()} == {first, second}
    a, b = wait_done(first), wait_done(second)
    assert (a.status, b.status) == ("finished", "finished"), (a.error, b.error)
    for run, lr in ((a, 0.01), (b, 0.02)):
        points = runs.metrics(run.id, keys=["train/lr", "test/acc"])
        assert {p.value for p in points if p.key == "train/lr"} == {lr}
        assert len([p for p in points if p.key == "test/acc"]) == 2
    assert runs.progress(first).fraction == 1.0
    assert (runs_dir / first / "train.log").is_file()
    runs.delete(first)
    assert [r.id for r in runs.list_runs()] == [second]
    assert not (runs_dir / first).exists()


def test_stop_request_ends_the_run_stopped_with_a_checkpoint(
    runs_dir: Path, data_dir: Path
) -> None:
    run_id = runs.start(quick(data_dir, epochs=50, limit_train=6400))
    wait_for(lambda: runs.get_run(run_id).step > 0)
    with pytest.raises(RunError, match="still running"):
        runs.delete(run_id)
    runs.request_stop(run_id)
    run = wait_done(run_id, timeout=60)
    assert run.status == "stopped" and run.stop_requested and run.epoch < 50
    payload = load_checkpoint(runs.checkpoint_path(run_id, "last"))
    assert payload["step"] == run.step


def test_killed_run_is_failed_and_resume_continues(runs_dir: Path, data_dir: Path) -> None:
    config = quick(
        data_dir, epochs=3, limit_train=6400, optimizer="adam", lr=0.001,
        scheduler="step", step_size=1, gamma=0.5,
    )  # fmt: skip
    run_id = runs.start(config)
    last = runs.checkpoint_path(run_id, "last")
    wait_for(last.exists)
    pid = runs._store(None).get(run_id)["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: runs.get_run(run_id).status == "failed", timeout=30)
    run = runs.get_run(run_id)
    # the supervisor records the signal; a reader polling first reaps the dead pid
    assert run.error == KILLED_MESSAGE or "killed by signal 9 (SIGKILL)" in run.error
    saved = load_checkpoint(last)  # the last checkpoint survives the kill
    done_epochs = saved["epoch"]
    assert 1 <= done_epochs <= 2
    model, _ = runs.load_trained_model(run_id, "last")
    assert isinstance(model, torch.nn.Module)

    assert runs.resume(run_id) == run_id
    run = wait_done(run_id)
    assert run.status == "finished", run.error
    steps_per_epoch = 6400 // 64
    final = load_checkpoint(last)
    assert final["epoch"] == 3 and final["step"] == 3 * steps_per_epoch
    # Adam counts its steps: restored state continues the count instead of restarting it
    adam_steps = {float(s["step"]) for s in final["optimizer"]["state"].values()}
    assert adam_steps == {3.0 * steps_per_epoch}
    # one evaluation per epoch, epochs continue, steps never repeat
    accs = runs.metrics(run_id, keys=["test/acc"])
    assert [round(p.epoch) for p in accs] == [1, 2, 3]
    losses = runs.metrics(run_id, keys=["train/loss"])
    steps = [p.step for p in losses]
    assert steps == sorted(set(steps))
    # the step schedule resumed too: lr halves every epoch across the kill
    for point in runs.metrics(run_id, keys=["train/lr"]):
        assert point.value == pytest.approx(0.001 * 0.5 ** (point.step // steps_per_epoch))
    with pytest.raises(RunError, match="completed all 3 epochs"):
        runs.resume(run_id)


def test_code_running_last_pt_is_refused_and_never_runs(
    runs_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    run_id = runs.start(quick(data_dir, epochs=1))
    assert wait_done(run_id).status == "finished"
    marker = tmp_path / "pwned"
    torch.save(
        {"format": CHECKPOINT_FORMAT, "model": Evil(marker)}, runs.checkpoint_path(run_id, "last")
    )
    with pytest.raises(CheckpointError):
        runs.load_trained_model(run_id, "last")
    assert not marker.exists()
    assert runs.get_run(run_id).status == "finished"  # the store is untouched, the app goes on
    # a resume refuses the hostile last.pt unread and continues from best.pt instead
    runs.resume(run_id, epochs=2)
    assert wait_done(run_id).status == "finished"
    assert not marker.exists()
    log = (runs_dir / run_id / "train.log").read_text()
    assert "cannot resume from last.pt" in log and "resuming" in log
