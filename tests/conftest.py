"""Shared test fixtures: where the offline datasets are, and a scratch run store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The data root that `make test` prepares (CNNLAB_DATA_DIR, else ./data).

    Tests that need real datasets use this; outside CI a missing copy skips them
    with the command that prepares it, in CI it fails so nothing passes silently.
    """
    root = Path(os.environ.get("CNNLAB_DATA_DIR", REPO / "data"))
    if not (root / "cifar10-jpeg" / "test").is_dir():
        message = f"offline CIFAR-10 copy missing under {root}: run `make data`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return root


@pytest.fixture
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty run store directory, also exported as CNNLAB_RUNS_DIR for pages and subprocesses."""
    path = tmp_path / "checkpoints"
    path.mkdir()
    monkeypatch.setenv("CNNLAB_RUNS_DIR", str(path))
    return path


@pytest.fixture
def quick_run(data_dir: Path) -> Callable[[Path, str], str]:
    """Train one quick epoch of lenet5 with the real trainer process; returns the run id."""

    def train(runs_dir: Path, name: str = "quick") -> str:
        result = subprocess.run(
            [sys.executable, "-m", "cnnlab.train", "--runs-dir", str(runs_dir),
             "--data-dir", str(data_dir), "--model", "lenet5", "--epochs", "1",
             "--limit-train", "256", "--limit-test", "128", "--name", name],
            cwd=REPO, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout.strip().splitlines()[-1])["run_id"]

    return train
