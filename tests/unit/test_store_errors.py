"""Every way the run store fails reaches the user as one RunError saying what to do."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab import runs, store
from cnnlab.config import RunConfig
from cnnlab.errors import RunError
from cnnlab.store import RunStore
from cnnlab.store_errors import store_error

REPO = Path(__file__).resolve().parents[2]


def _malform(store_file: Path) -> None:
    with sqlite3.connect(store_file) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = store_file.stat().st_size
    with open(store_file, "r+b") as handle:
        handle.seek(4096)
        handle.write(os.urandom(size - 4096))


def test_a_full_disk_while_a_page_starts_a_run_says_free_space(
    runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_store = RunStore(runs_dir)
    real_open = store.open_connection

    def full_disk(path: Path) -> sqlite3.Connection:  # SQLite's own "disk is full", for real
        conn = real_open(path)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(store, "open_connection", full_disk)
    big = RunConfig(model="custom", custom_source="#" * 200_000).to_dict()  # needs new pages
    with pytest.raises(RunError, match="is full: free some space"):
        run_store.create_run(big, "too big", 1)


def test_a_malformed_store_is_a_run_error_in_the_api_and_one_line_in_the_cli(
    runs_dir: Path,
) -> None:
    run_id = RunStore(runs_dir).create_run(RunConfig().to_dict(), "x", 1)
    _malform(runs_dir / "runs.sqlite")
    with pytest.raises(RunError, match=r"damaged.*move it aside"):
        runs.list_runs()
    with pytest.raises(RunError, match="damaged"):
        runs.get_run(run_id)
    done = subprocess.run(
        [sys.executable, "-m", "cnnlab.train", "--runs-dir", str(runs_dir), "--resume", run_id],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "is damaged" in done.stderr and "move it aside" in done.stderr


def test_a_read_only_store_says_make_it_writable(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore(tmp_path)
    read_only = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # what a read-only mount gives
    with pytest.raises(sqlite3.OperationalError) as raised:
        read_only.execute(
            "INSERT INTO runs (id, config, status, created_at) VALUES ('a', '', '', 0)"
        )
    read_only.close()
    message = str(store_error(path, raised.value))
    assert "is read-only" in message and "CNNLAB_RUNS_DIR" in message
    assert "writable" in str(store_error(path, PermissionError(13, "Permission denied")))
