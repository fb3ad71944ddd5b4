"""cnnlab.supervise: a dead trainer's launch marks only its own run row failed (real SQLite)."""

from __future__ import annotations

from pathlib import Path

from cnnlab.store import RunStore
from cnnlab.supervise import record_death


def test_a_dead_launch_never_fails_the_run_a_resume_started_since(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_id = store.create_run({"model": "lenet5", "epochs": 3}, "resumed", 3)
    # the old trainer (pid 4001, under supervisor 4000) was killed, a reader reaped it, and
    # the run was resumed: the row now names the new launch's trainer
    store.update(run_id, status="running", pid=5001)
    assert not record_death(str(tmp_path), run_id, -9, (4000, 4001))
    row = store.get(run_id)
    assert row["status"] == "running" and row["error"] is None


def test_a_dead_launch_fails_its_own_run_with_the_signal(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_id = store.create_run({"model": "lenet5", "epochs": 3}, "killed", 3)
    store.update(run_id, status="running", pid=4001)
    assert record_death(str(tmp_path), run_id, -9, (4000, 4001))
    row = store.get(run_id)
    assert row["status"] == "failed" and "signal 9 (SIGKILL)" in row["error"]
