"""A dataset that is not on disk: the trainer downloads it through torchvision, or says where
to put the files. (No dataset host is reachable here, so the download itself fails fast.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.store import RunStore

REPO = Path(__file__).resolve().parents[2]


def _train(data_dir: Path, runs_dir: Path, *extra: str) -> tuple[dict, str]:
    command = [sys.executable, "-m", "cnnlab.train", "--dataset", "fashion_mnist"]
    command += ["--model", "mnist_cnn", "--epochs", "1", "--quiet"]
    command += ["--data-dir", str(data_dir), "--runs-dir", str(runs_dir), *extra]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return summary, RunStore(runs_dir).get(summary["run_id"])["error"] or ""


@pytest.mark.parametrize("download", [True, False])
def test_missing_dataset_fails_the_run_with_where_to_put_the_files(
    tmp_path: Path, download: bool
) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    flag = [] if download else ["--no-download"]  # downloading is the default
    summary, error = _train(empty, tmp_path / "runs", *flag)
    assert summary["status"] == "failed"
    assert f"{empty}/FashionMNIST/raw/" in error
    assert "train-images-idx3-ubyte.gz" in error
    if download:  # torchvision tried the official hosts
        assert "Downloading failed" in error
    else:
        assert "or allow downloading" in error and "Downloading failed" not in error
