"""The app served for real, and Debian's Chromium: shared by the browser tests and bench/."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CNNLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class AppServer(NamedTuple):
    url: str  # http://127.0.0.1:<port>
    pid: int  # the Streamlit server process (bench/ reads its CPU time)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout:.0f} s")


@contextmanager
def serve(script: str | Path, env: dict[str, str] | None = None, log: Path | None = None
          ) -> Iterator[AppServer]:  # fmt: skip
    """Serve a Streamlit script on a free loopback port, run from the repo (its config)."""
    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    with open(log or os.devnull, "w") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env={**os.environ, **(env or {})}, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process)
            yield AppServer(url, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def serve_app(runs_dir: Path) -> Iterator[AppServer]:
    """Serve app.py with its run store in runs_dir (the server's log in runs_dir/streamlit.log)."""
    with serve("app.py", {"CNNLAB_RUNS_DIR": str(runs_dir)}, runs_dir / "streamlit.log") as app:
        yield app
