"""cnnlab.runs.start_once and saved_checkpoint, against a real run store."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnlab import runs
from cnnlab.config import RunConfig
from cnnlab.errors import RunError
from cnnlab.store import RunStore


def test_the_same_settings_sent_again_while_their_run_is_active_start_nothing(
    runs_dir: Path,
) -> None:
    config = RunConfig(epochs=1)
    store = RunStore(runs_dir)
    active = store.create_run(config.to_dict(), "", 1)  # queued, just created
    started = {config.fingerprint(): active}
    assert runs.start_once(config, started) == active
    started = {config.fingerprint(): "pending"}  # another rerun is starting it right now
    assert runs.start_once(config, started) == ""
    assert [r.id for r in runs.list_runs()] == [active]


def test_saved_checkpoint_prefers_best_then_last(runs_dir: Path) -> None:
    run_id = RunStore(runs_dir).create_run(RunConfig().to_dict(), "", 1)
    assert runs.saved_checkpoint(run_id) is None
    last = runs.checkpoint_path(run_id, "last")
    last.write_bytes(b"x")
    assert runs.saved_checkpoint(run_id) == last
    best = runs.checkpoint_path(run_id, "best")
    best.write_bytes(b"x")
    assert runs.saved_checkpoint(run_id) == best


def test_a_start_that_fails_can_be_sent_again(runs_dir: Path) -> None:
    config = RunConfig(epochs=1)
    (runs_dir / "runs.sqlite").write_bytes(b"\x00garbage" * 512)  # the store cannot be opened
    started: dict[str, str] = {}
    with pytest.raises(RunError):
        runs.start_once(config, started)
    assert config.fingerprint() not in started  # not left "pending": a retry really starts
