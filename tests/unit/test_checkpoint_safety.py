"""Checkpoint files: hostile archives are refused unread, shapes checked before building,
saves are atomic and a full disk says so, stale temporary files of dead writers go away,
and a resume finds the best usable checkpoint."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from cnnlab import runs
from cnnlab.checkpoints import (
    CHECKPOINT_FORMAT,
    clean_stale_tmp,
    load_checkpoint,
    resume_payload,
    save_checkpoint,
)
from cnnlab.config import RunConfig, build_model
from cnnlab.errors import CheckpointError
from cnnlab.store import RunStore


def _payload(model: torch.nn.Module, **changes: object) -> dict:
    payload = {
        "format": CHECKPOINT_FORMAT,
        "run_id": "20261124-141500-ab12cd",
        "config": RunConfig(model="lenet5", dataset="cifar10").to_dict(),
        "model": model.state_dict(),
        "epoch": 1,
        "step": 10,
        "classes": [str(k) for k in range(10)],
        "input_shape": [3, 32, 32],
        "mean": [0.5] * 3,
        "std": [0.5] * 3,
    }
    payload.update(changes)
    return payload


def _deflated(torch_archive: bytes) -> bytes:
    """The same torch zip, recompressed: what an attacker ships to look small."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(torch_archive)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            target.writestr(member.filename, source.read(member.filename))
    return out.getvalue()


def test_a_small_file_that_inflates_past_the_runs_network_is_refused_unread(
    runs_dir: Path,
) -> None:
    store = RunStore(runs_dir)
    run_id = store.create_run(RunConfig(model="lenet5").to_dict(), "bomb", 1)
    model = build_model(RunConfig(model="lenet5"), (3, 32, 32), 10)
    payload = _payload(model, padding=torch.zeros(48 * 2**20 // 4))  # 48 MiB of zeros
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    bomb = _deflated(buffer.getvalue())
    assert len(bomb) < 1 * 2**20  # under a MiB on disk
    (store.run_dir(run_id) / "best.pt").write_bytes(bomb)
    with pytest.raises(CheckpointError, match="refused unread"):
        runs.load_trained_model(run_id, "best")
    # the absolute cap applies to any file, known run or not
    with pytest.raises(CheckpointError, match="refused unread"):
        load_checkpoint(store.run_dir(run_id) / "best.pt", max_bytes=16 * 2**20)


def test_an_input_shape_that_does_not_fit_the_dataset_is_refused_before_building() -> None:
    model = build_model(RunConfig(model="lenet5"), (3, 32, 32), 10)
    for shape in ([3, 3000, 3000], [3, 32], "big"):
        with pytest.raises(CheckpointError, match="claims input shape"):
            runs.model_from_checkpoint(_payload(model, input_shape=shape))
    with pytest.raises(CheckpointError, match="classes"):
        runs.model_from_checkpoint(_payload(model, classes=[str(k) for k in range(10**6)]))
    rebuilt = runs.model_from_checkpoint(_payload(model))  # a sound one still loads
    assert torch.equal(rebuilt.state_dict()["conv1.weight"], model.state_dict()["conv1.weight"])


def test_a_full_disk_during_a_save_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"weights": torch.ones(3)})
    # the temporary file is where the bytes go: /dev/full answers every write with ENOSPC
    tmp = tmp_path / f".last.pt.{os.getpid()}.tmp"
    tmp.symlink_to("/dev/full")
    with pytest.raises(CheckpointError, match=r"disk holding .* is full"):
        save_checkpoint(path, {"weights": torch.zeros(1000)})
    assert torch.equal(torch.load(path, weights_only=True)["weights"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_stale_temporary_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".last.pt.{dead_pid}.tmp"
    stale.write_bytes(b"half a checkpoint")
    live = tmp_path / f".best.pt.{os.getpid()}.tmp"  # a save in progress: kept
    live.write_bytes(b"being written")
    keep = tmp_path / "last.pt"
    keep.write_bytes(b"x")
    assert clean_stale_tmp(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "last.pt"])


def test_resume_falls_back_to_best_then_to_a_fresh_start(tmp_path: Path) -> None:
    lines: list[str] = []
    model = build_model(RunConfig(model="lenet5"), (3, 32, 32), 10)
    save_checkpoint(tmp_path / "best.pt", _payload(model, epoch=1))
    save_checkpoint(tmp_path / "last.pt", _payload(model, epoch=2))
    whole = (tmp_path / "last.pt").read_bytes()
    (tmp_path / "last.pt").write_bytes(whole[: len(whole) // 3])  # killed mid-save
    payload = resume_payload(tmp_path, lines.append)
    assert payload is not None and payload["epoch"] == 1
    assert "cannot resume from last.pt" in lines[0]
    (tmp_path / "best.pt").unlink()
    (tmp_path / "last.pt").unlink()
    assert resume_payload(tmp_path, lines.append) is None
    assert "restarts from epoch 1" in lines[-1]
