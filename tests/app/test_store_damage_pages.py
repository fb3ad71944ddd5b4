"""Train and Runs pages over a damaged or lost run store: one clear message, no traceback,
and the runs whose folders survive come back with their checkpoints."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from cnnlab import runs

PAGES = Path(__file__).resolve().parents[2] / "pages"


def corrupt_after_the_schema(store_file: Path) -> None:
    """Garbage over every page but the first: the store opens, reading runs is 'malformed'."""
    with sqlite3.connect(store_file) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every row in the main file
    size = store_file.stat().st_size
    with open(store_file, "r+b") as handle:
        handle.seek(4096)
        handle.write(os.urandom(size - 4096))


def test_a_malformed_store_is_one_message_on_the_train_and_runs_pages(
    runs_dir: Path, make_run: Callable[..., Any]
) -> None:
    run_id = make_run(runs_dir, name="before the damage")
    corrupt_after_the_schema(runs_dir / "runs.sqlite")
    train = AppTest.from_file(str(PAGES / "train.py"), default_timeout=60)
    train.query_params["run"] = run_id
    train.run()
    runs_page = AppTest.from_file(str(PAGES / "runs.py"), default_timeout=60).run()
    for at in (train, runs_page):
        assert not at.exception, at.exception
        messages = [e.value for e in at.error] + [e.value for e in at.sidebar.error]
        damaged = [m for m in messages if "is damaged" in m]
        assert len(damaged) == 1, messages
        assert "move it aside" in damaged[0] and "re-imported" in damaged[0]


def test_a_deleted_store_brings_its_runs_back_with_their_checkpoints(
    runs_dir: Path, make_run: Callable[..., Any]
) -> None:
    run_id = make_run(runs_dir, name="kept on disk")
    for suffix in ("", "-wal", "-shm"):
        (runs_dir / f"runs.sqlite{suffix}").unlink(missing_ok=True)
    at = AppTest.from_file(str(PAGES / "runs.py"), default_timeout=60).run()
    assert not at.exception
    run = runs.get_run(run_id)
    assert run.status == "stopped" and "re-imported" in (run.error or "")
    at.multiselect(key="runs_selected").set_value([f"{run.name} · {run.id}"]).run()
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(label.startswith("best.pt") for label in labels), labels
    assert "no checkpoint yet" not in [c.value for c in at.caption]
