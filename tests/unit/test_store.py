"""The run store: real SQLite file, real checkpoint files, real processes."""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from cnnlab.errors import CheckpointError, RunError
from cnnlab.store import (
    CHECKPOINT_FORMAT,
    KILLED_MESSAGE,
    MetricWriter,
    RunStore,
    check_run_id,
    load_checkpoint,
    process_alive,
    process_start_token,
    save_checkpoint,
)


def _payload(**extra: object) -> dict[str, object]:
    model = torch.nn.Linear(3, 2)
    return {
        "format": CHECKPOINT_FORMAT,
        "run_id": "20260101-000000-abcdef",
        "config": {"model": "lenet5"},
        "model": model.state_dict(),
        "epoch": 1,
        "step": 10,
        **extra,
    }


class Evil:
    """Unpickling this object creates a marker file (stands for 'runs any code')."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_wal_mode_and_schema(runs_dir: Path) -> None:
    store = RunStore(runs_dir)
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "metrics", "evaluations"} <= tables


def test_create_get_and_ids_are_not_paths(runs_dir: Path) -> None:
    store = RunStore(runs_dir)
    run_id = store.create_run({"model": "lenet5", "epochs": 3}, "mine", 3)
    assert check_run_id(run_id) == run_id
    row = store.get(run_id)
    assert row["status"] == "queued" and row["name"] == "mine" and row["epochs"] == 3
    assert (runs_dir / run_id / "config.json").is_file()
    for bad in ("../etc", "/tmp/x", "20260101-000000-ABCDEF", "", None):
        with pytest.raises(RunError):
            store.get(bad)  # type: ignore[arg-type]
    with pytest.raises(RunError, match="no run"):
        store.get("20200101-000000-000000")


def test_metric_writer_batches_and_cursor(runs_dir: Path) -> None:
    store = RunStore(runs_dir)
    run_id = store.create_run({}, "", 1)
    writer = MetricWriter(store, run_id)
    for step in range(1, 6):
        writer.add(step, step / 10, "train/loss", 2.0 / step)
    assert store.metrics(run_id) == []  # buffered, nothing written yet
    assert writer.flush(step=5, epoch=0.5) is False
    rows = store.metrics(run_id)
    assert [r[1] for r in rows] == [1, 2, 3, 4, 5]
    assert store.get(run_id)["step"] == 5
    cursor = rows[-1][0]
    writer.add(5, 0.5, "test/acc", 0.3)  # same step as the last point: a row cursor sees it
    store.request_stop(run_id)
    assert writer.flush() is True
    assert [(r[3], r[4]) for r in store.metrics(run_id, after_row=cursor)] == [("test/acc", 0.3)]
    assert [r[1] for r in store.metrics(run_id, since_step=3, keys=["train/loss"])] == [4, 5]
    writer.truncate_after(step=2, epoch=0)
    assert [r[1] for r in store.metrics(run_id)] == [1, 2]
    writer.close()


def test_reader_during_writes_never_blocks(runs_dir: Path) -> None:
    """A reader polling while another connection writes sees growing data, no lock error."""
    store = RunStore(runs_dir)
    run_id = store.create_run({}, "", 1)
    writer = MetricWriter(store, run_id)
    errors: list[BaseException] = []
    seen: list[int] = []

    def read() -> None:
        try:
            for _ in range(200):
                seen.append(len(store.metrics(run_id)))
        except BaseException as error:  # pragma: no cover - the assertion reports it
            errors.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    for step in range(200):
        writer.add(step, 0.0, "train/loss", 1.0)
        writer.flush(step=step)
    reader.join()
    assert not errors
    assert seen == sorted(seen) and len(store.metrics(run_id)) == 200


def test_checkpoint_round_trip_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    payload = _payload()
    save_checkpoint(path, payload)
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 1
    assert torch.equal(loaded["model"]["weight"], payload["model"]["weight"])
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left beside it


def test_checkpoint_refusals(tmp_path: Path) -> None:
    missing = tmp_path / "none.pt"
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(missing)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(empty)
    good = tmp_path / "good.pt"
    save_checkpoint(good, _payload())
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weight": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a CNN Lab checkpoint"):
        load_checkpoint(foreign)
    partial = tmp_path / "partial.pt"
    payload = _payload()
    del payload["model"]
    torch.save(payload, partial)
    with pytest.raises(CheckpointError, match="lacks model"):
        load_checkpoint(partial)


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_code_running_pickle_is_refused_and_never_runs(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "last.pt"
    if writer == "torch.save":
        torch.save({"format": CHECKPOINT_FORMAT, "model": Evil(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(Evil(marker)))
    # the payload is real: an ordinary unpickle would create the marker
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(Evil(probe))).close()
    assert probe.exists()
    with pytest.raises(CheckpointError, match="could run code") as refused:
        load_checkpoint(path)
    assert not marker.exists()
    assert "can still be loaded" not in str(refused.value)  # torch's nudge to unsafe loading


def test_dead_process_is_marked_failed(runs_dir: Path) -> None:
    store = RunStore(runs_dir)
    run_id = store.create_run({}, "", 1)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "cnnlab.train"])
    store.update(run_id, status="running", pid=child.pid, pid_start=process_start_token(child.pid))
    assert store.reap_dead() == []
    assert process_alive(child.pid, process_start_token(child.pid))
    os.kill(child.pid, signal.SIGKILL)
    time.sleep(0.2)  # not reaped by us yet: a zombie still counts as gone
    assert store.reap_dead() == [run_id]
    row = store.get(run_id)
    assert row["status"] == "failed" and row["error"] == KILLED_MESSAGE
    child.wait()


def test_pid_of_another_program_is_not_our_trainer(runs_dir: Path) -> None:
    """A live pid whose command line is not cnnlab.train (pid reuse) counts as dead."""
    store = RunStore(runs_dir)
    run_id = store.create_run({}, "", 1)
    store.update(
        run_id, status="running", pid=os.getpid(), pid_start=process_start_token(os.getpid())
    )
    assert store.reap_dead() == [run_id]


def test_unreadable_store_is_a_run_error_that_says_what_to_do(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "runs.sqlite").write_bytes(os.urandom(8192))  # random bytes, no SQLite header
    with pytest.raises(RunError, match="move it aside"):
        RunStore(corrupt)
    a_file = tmp_path / "a file"
    a_file.write_text("not a folder")
    with pytest.raises(RunError, match="CNNLAB_RUNS_DIR"):
        RunStore(a_file)
