"""The home page starts importing what the other pages need, once per server process.

In a fresh process (as a fresh server): after the home page has run, the warm-up thread
imports torch, torch._dynamo (the first meta-device op loads it), plotly, pandas and the
cnnlab modules the pages use, so the first page opened afterwards does not wait for them.
How much time that saves is measured by bench/page_speed.py, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys, threading
from streamlit.testing.v1 import AppTest
before = {name: name in sys.modules for name in ("torch", "torch._dynamo", "pandas")}
at = AppTest.from_file("app.py", default_timeout=120).run()
from cnnlab import warmup
warmup.wait()
threads = [t.name for t in threading.enumerate() if t.name == "cnnlab-warm-up"]
at.run()  # a rerun starts no second warm-up
print(json.dumps({
    "before": before,
    "after": {name: name in sys.modules for name in warmup.MODULES + ("torch._dynamo",)},
    "timed": sorted(warmup.timings),
    "titles": [t.value for t in at.title],
    "exceptions": [e.value for e in at.exception],
    "device_info": [i.value for i in at.info] + [s.value for s in at.success],
    "alive_after_wait": threads,
    "same_thread": warmup.start() is warmup._thread,
}))
"""


def test_home_page_warms_up_the_imports_of_the_other_pages(runs_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert not any(result["before"].values())  # a fresh process: nothing imported yet
    assert not result["exceptions"]
    assert result["titles"] and "CNN Lab" in result["titles"][0]
    assert any("Training runs on" in text for text in result["device_info"])
    assert all(result["after"].values()), result["after"]
    assert "first meta op" in result["timed"]
    assert result["alive_after_wait"] == [] and result["same_thread"]
