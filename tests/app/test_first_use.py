"""First use: a run whose dataset is missing says where to put the files, with every path shown
as code on the Train page (Markdown would otherwise italicise ``<class>/*.jpg``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
PAGE = str(REPO / "pages" / "train.py")


def test_missing_cifar10_message_shows_its_paths_as_code(tmp_path: Path, runs_dir: Path) -> None:
    empty = tmp_path / "no data here"
    empty.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "cnnlab.train", "--dataset", "cifar10", "--model", "lenet5",
         "--epochs", "1", "--quiet", "--no-download", "--data-dir", str(empty),
         "--runs-dir", str(runs_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    run_id = json.loads(done.stdout.strip().splitlines()[-1])["run_id"]

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    [message] = [e.value for e in at.error if "CIFAR-10" in e.value]
    assert "`cifar10-jpeg/{train,test}/<class>/*.jpg`" in message
    assert f"`{empty}`" in message
    # outside code spans no path is left for Markdown to garble: no <class>, no *.jpg, no /
    outside = re.sub(r"`[^`]*`", "", message)
    outside = re.sub(r"\(https?://[^)]*\)", "", outside)
    assert "<class>" not in outside and "*" not in outside and "/" not in outside, outside
