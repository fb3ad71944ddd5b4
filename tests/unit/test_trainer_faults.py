"""The real trainer under faults: a stop flag from before, a kill, a lost or overwritten store,
a full disk; and what it leaves behind (mid-epoch checkpoints, a plain model.pt)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab import runs
from cnnlab.config import RunConfig
from cnnlab.errors import RunError
from cnnlab.store import RunStore
from cnnlab.train import Trainer

REPO = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], object], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def train_cli(runs_dir: Path, data_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cnnlab.train", "--runs-dir", str(runs_dir),
            "--data-dir", str(data_dir), "--model", "lenet5", "--quiet", *extra]  # fmt: skip


def run_cli(command: list[str]) -> tuple[dict, str]:
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout + done.stderr


def raw_row(runs_dir: Path, run_id: str) -> dict:
    """The store row as written, without the readers' reaping of dead processes."""
    return RunStore(runs_dir).get(run_id)


def started_run(runs_dir: Path, process: subprocess.Popen) -> str:
    """The id of the run a CLI trainer created (the only run folder), once it has steps."""

    def has_steps() -> bool:
        ids = [p.name for p in runs_dir.iterdir() if p.is_dir()]
        try:
            return bool(ids) and raw_row(runs_dir, ids[0])["step"] > 0
        except RunError:  # the folder is made just before the row
            return False

    wait_for(lambda: has_steps() or process.poll() is not None)
    assert process.poll() is None, "the trainer ended before it trained"
    return next(p.name for p in runs_dir.iterdir() if p.is_dir())


def test_cli_resume_of_a_run_stopped_from_the_app_trains_to_the_end(
    runs_dir: Path, quick_run: Callable[[Path, str], str], data_dir: Path
) -> None:
    run_id = quick_run(runs_dir, "stopped in the app")
    RunStore(runs_dir).request_stop(run_id)  # the flag the Stop button leaves behind
    summary, output = run_cli(
        [sys.executable, "-m", "cnnlab.train", "--runs-dir", str(runs_dir), "--quiet",
         "--resume", run_id, "--epochs", "3"]
    )  # fmt: skip
    assert summary["status"] == "finished", output[-2000:]
    assert summary["epochs"] == 3
    assert not raw_row(runs_dir, run_id)["stop_requested"]


def test_a_killed_app_run_is_marked_failed_without_any_reader(
    runs_dir: Path, data_dir: Path
) -> None:
    config = RunConfig(model="lenet5", epochs=50, limit_train=6400, limit_test=128,
                       data_dir=str(data_dir))  # fmt: skip
    run_id = runs.start(config)
    wait_for(lambda: raw_row(runs_dir, run_id)["step"] > 0)
    pid = raw_row(runs_dir, run_id)["pid"]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = runs_dir / run_id / f".last.pt.{int(dead.stdout)}.tmp"  # as a kill mid-save leaves
    stale.write_bytes(b"half a checkpoint")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: raw_row(runs_dir, run_id)["status"] != "running", timeout=60)
    row = raw_row(runs_dir, run_id)
    assert row["status"] == "failed"
    assert "killed by signal 9 (SIGKILL)" in row["error"]
    assert not stale.exists()


def test_a_checkpoint_is_written_inside_the_epoch_and_resume_continues_there(
    runs_dir: Path, data_dir: Path
) -> None:
    command = train_cli(runs_dir, data_dir, "--epochs", "1", "--limit-train", "50000",
                        "--limit-test", "128", "--checkpoint-minutes", "0.001")  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        run_id = started_run(runs_dir, process)
        last = runs_dir / run_id / "last.pt"
        wait_for(lambda: last.exists() or process.poll() is not None)
        payload = torch.load(last, weights_only=True)
        process.kill()
    finally:
        process.kill()
        process.wait()
    where = (payload["epoch"], payload["step"], payload["batch_in_epoch"])
    assert payload["epoch"] == 0 and payload["batch_in_epoch"] > 0, where  # saved mid-epoch
    summary, output = run_cli(
        [sys.executable, "-m", "cnnlab.train", "--runs-dir", str(runs_dir), "--quiet",
         "--resume", run_id]
    )  # fmt: skip
    assert summary["status"] == "finished", output[-2000:]
    assert f"resuming {run_id} at epoch 1, step {payload['step']}" in output


def test_a_deleted_store_is_noticed_and_the_run_reimported(runs_dir: Path, data_dir: Path) -> None:
    command = train_cli(runs_dir, data_dir, "--epochs", "2", "--limit-train", "6400",
                        "--limit-test", "128")  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    run_id = started_run(runs_dir, process)
    for suffix in ("", "-wal", "-shm"):
        (runs_dir / f"runs.sqlite{suffix}").unlink(missing_ok=True)
    output, _ = process.communicate(timeout=300)
    summary = json.loads(output.strip().splitlines()[-1])
    assert summary["status"] == "finished"
    assert "was deleted, replaced or overwritten while training" in output
    row = raw_row(runs_dir, run_id)
    assert row["status"] == "finished" and row["best_acc"] is not None
    accs = runs.metrics(run_id, keys=["test/acc"])
    assert [round(p.epoch) for p in accs] == [1, 2]  # the points before the loss too
    assert runs.saved_checkpoint(run_id) is not None


def test_garbage_over_the_store_says_what_to_do_and_moving_it_aside_brings_runs_back(
    runs_dir: Path, data_dir: Path
) -> None:
    command = train_cli(runs_dir, data_dir, "--epochs", "1", "--limit-train", "6400",
                        "--limit-test", "128")  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    run_id = started_run(runs_dir, process)
    store_file = runs_dir / "runs.sqlite"
    with open(store_file, "r+b") as handle:  # same file, same inode, garbage inside
        handle.write(os.urandom(store_file.stat().st_size))
    output, _ = process.communicate(timeout=300)
    assert json.loads(output.strip().splitlines()[-1])["status"] == "finished"
    assert "Traceback" not in output
    with pytest.raises(RunError, match=r"damaged.*move it aside"):
        runs.list_runs()
    store_file.rename(store_file.with_name("runs.sqlite.damaged"))
    (listed,) = runs.list_runs()
    assert (listed.id, listed.status) == (run_id, "finished")
    assert runs.metrics(run_id, keys=["test/acc"])
    assert runs.saved_checkpoint(run_id) is not None


def test_a_full_disk_ends_the_run_failed_with_what_to_do(runs_dir: Path, data_dir: Path) -> None:
    config = RunConfig(model="lenet5", epochs=3, limit_train=2560, limit_test=128,
                       data_dir=str(data_dir))  # fmt: skip
    store = RunStore(runs_dir)
    run_id = store.create_run(config.to_dict(), "", config.epochs)
    trainer = Trainer(config, store, run_id, quiet=True, flush_interval_s=0.0)
    pages = trainer.writer.conn.execute("PRAGMA page_count").fetchone()[0]
    trainer.writer.conn.execute(f"PRAGMA max_page_count = {pages + 1}")  # the disk fills up
    outcome = trainer.run()
    assert outcome.status == "failed"
    assert "is full: free some space" in outcome.error
    row = raw_row(runs_dir, run_id)
    assert row["status"] == "failed" and "is full" in row["error"]


def test_download_into_a_missing_data_dir_is_refused_without_creating_it(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    done = subprocess.run(
        [sys.executable, "-m", "cnnlab.train", "--runs-dir", str(tmp_path / "runs"),
         "--data-dir", str(missing), "--download", "--epochs", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"the data folder {missing} does not exist" in done.stderr
    assert not missing.exists() and not missing.parent.exists()


class Net(nn.Module):  # seed 003's network, exactly as the note writes it
    def __init__(self):
        super(Net, self).__init__()  # noqa: UP008
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def test_model_pt_loads_the_way_note_003_loads_weights(
    runs_dir: Path, quick_run: Callable[[Path, str], str]
) -> None:
    run_id = quick_run(runs_dir, "note 003")
    PATH = runs.model_file(run_id)
    assert PATH is not None
    net = Net()
    net.load_state_dict(torch.load(PATH))
    trained, _ = runs.load_trained_model(run_id, "best")
    x = torch.randn(2, 3, 32, 32)  # [B, C, H, W]
    assert torch.allclose(net.eval()(x), trained(x), atol=1e-6)


def test_a_fresh_store_reimports_orphan_run_folders(runs_dir: Path) -> None:
    """A fresh store re-imports run folders that have only config.json and a checkpoint."""
    store = RunStore(runs_dir)
    run_id = store.create_run(RunConfig(model="lenet5").to_dict(), "orphan", 1)
    (store.run_dir(run_id) / "last.pt").write_bytes(b"kept")
    store.path.unlink()
    for suffix in ("-wal", "-shm"):
        store.path.with_name(f"runs.sqlite{suffix}").unlink(missing_ok=True)
    (run,) = runs.list_runs()
    assert (run.id, run.status) == (run_id, "stopped")
    assert "re-imported" in (run.error or "")
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
