"""A new run decoding its dataset for the first time: the Train page shows that step with its own
progress instead of "starting… step 0/?", from what the trainer's callback wrote to the store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from streamlit.testing.v1 import AppTest

from cnnlab import prep
from cnnlab.store import RunStore
from tests.app.conftest import build_run

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "train.py")


def _progress_texts(at: AppTest) -> list[str]:
    return [element.proto.text for element in at.get("progress")]


def test_train_page_shows_the_decoding_progress_of_a_new_run(runs_dir: Path) -> None:
    run_id = build_run(runs_dir, status="running", logged_steps=0)
    store = RunStore(runs_dir)
    store.update(run_id, step=0, epoch=0.0)
    report = prep.reporter(store, run_id, "CIFAR-10", "train", interval_s=0)
    report(12_000, 50_000)  # as cnnlab.data.load_split calls it while decoding

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    [text] = _progress_texts(at)
    assert text == "Preparing CIFAR-10 (first time only): decoding 12,000/50,000 train images"
    assert [e.proto.value for e in at.get("progress")] == [24]  # 12,000 of 50,000

    report(50_000, 50_000)  # decoded: the phase is cleared, the usual progress returns
    at.run()
    [text] = _progress_texts(at)
    assert text.startswith("Epoch 1/2 · step 0/")


def test_a_split_read_from_its_cache_writes_nothing(runs_dir: Path) -> None:
    run_id = build_run(runs_dir, status="running", logged_steps=0)
    store = RunStore(runs_dir)
    prep.reporter(store, run_id, "CIFAR-10", "test")(10_000, 10_000)
    assert store.get(run_id)["phase"] is None
    assert prep.current(run_id, runs_dir) is None


def test_a_store_made_before_the_phase_column_gains_it(tmp_path: Path) -> None:
    old = tmp_path / "runs.sqlite"
    with sqlite3.connect(old) as conn:  # the runs table as it was before `phase`
        conn.execute(
            "CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', config TEXT "
            "NOT NULL, status TEXT NOT NULL, device TEXT, pid INTEGER, pid_start TEXT, "
            "created_at REAL NOT NULL, started_at REAL, ended_at REAL, updated_at REAL, "
            "error TEXT, stop_requested INTEGER NOT NULL DEFAULT 0, epochs INTEGER, "
            "epoch REAL NOT NULL DEFAULT 0, step INTEGER NOT NULL DEFAULT 0, "
            "steps_per_epoch INTEGER, total_steps INTEGER, best_acc REAL, final_acc REAL, "
            "train_loss REAL, images_per_s REAL, train_seconds REAL)"
        )
    run_id = build_run(tmp_path, status="running", logged_steps=0)
    prep.reporter(RunStore(tmp_path), run_id, "MNIST", "train", interval_s=0)(1, 4)
    assert prep.current(run_id, tmp_path) == prep.DataPhase("MNIST", "train", 1, 4)
