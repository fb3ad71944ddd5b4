"""`make run` on first use: offline datasets prepared first (never blocking the app), the
server bound to this machine unless asked otherwise, and no tracebacks shown to users.

The real Makefile runs under real make; only the server binary is a script that prints the
command it was given, so the test sees exactly how `make run` would start Streamlit.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make_run(tmp_path: Path, shared: Path, *variables: str) -> subprocess.CompletedProcess:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    server = venv / "bin" / "streamlit"
    server.write_text('#!/bin/sh\necho "SERVER: streamlit $*"\n')
    server.chmod(0o755)
    (venv / ".runtime-installed").touch()  # newer than requirements.txt: nothing to install
    env = {**os.environ, "CNNLAB_DATA_DIR": str(tmp_path / "data")}
    env.pop("MAKEFLAGS", None)
    return subprocess.run(
        ["make", "--no-print-directory", "run", f"VENV={venv}", f"SHARED_DATASETS={shared}",
         *variables],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _shared_copy(root: Path) -> Path:
    mnist = root / "shared" / "mnist"
    mnist.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (mnist / name).write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\0"))
    return mnist.parent


def test_make_run_prepares_the_data_then_serves_on_loopback(tmp_path: Path) -> None:
    shared = _shared_copy(tmp_path)
    done = _make_run(tmp_path, shared)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz").is_file()
    [server] = [line for line in done.stdout.splitlines() if line.startswith("SERVER:")]
    assert "run app.py" in server and "--server.address 127.0.0.1" in server
    again = _make_run(tmp_path, shared)  # idempotent and quiet the second time
    assert again.returncode == 0 and "extracting" not in again.stdout


def test_make_run_serves_every_interface_only_when_asked(tmp_path: Path) -> None:
    done = _make_run(tmp_path, tmp_path / "no-shared-copy", "ADDRESS=0.0.0.0")
    assert done.returncode == 0, done.stderr
    assert "--server.address 0.0.0.0" in done.stdout
    assert not (tmp_path / "data").exists()  # nothing to prepare without the shared copy


def test_make_run_starts_even_when_preparing_the_data_fails(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "cifar10-jpeg.tar.gz").write_bytes(b"not a tarball")
    done = _make_run(tmp_path, shared)
    assert done.returncode == 0, done.stderr
    assert "could not prepare the offline datasets" in done.stdout + done.stderr
    assert "SERVER: streamlit run app.py" in done.stdout


def test_an_unexpected_error_shows_no_traceback_but_our_errors_show_in_full() -> None:
    script = (
        "import streamlit as st\n"
        "st.error('Not started: put `cifar10-jpeg/{train,test}/<class>/*.jpg` in `/data`')\n"
        "raise RuntimeError('secret server path /work/main/cnnlab/data.py')\n"
    )
    cwd = os.getcwd()
    os.chdir(REPO)  # Streamlit reads .streamlit/config.toml from the working directory
    try:
        at = AppTest.from_string(script).run()
    finally:
        os.chdir(cwd)
    assert at.error[0].value.startswith("Not started: put `cifar10-jpeg/{train,test}/<class>/")
    [exception] = at.exception
    assert "secret server path" not in exception.value and "/work/main" not in exception.value
    assert not any("data.py" in line for line in exception.stack_trace)
