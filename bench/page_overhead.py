"""Does watching a run slow it down? Images/s with the Train page open and streaming vs none.

The same quick run is trained from the command line with no page open, and started the
way the Train page starts it (``cnnlab.runs.start``) while a headless Chromium shows it on
the served app, its fragment re-reading the store every second. CLI and page runs
alternate so drift on a shared machine hits both, and each side reports its best run (the
one least disturbed by other work on the machine). Target: the page run within 5 % of the
command-line run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from cnnlab import runs
from cnnlab.config import RunConfig
from tests.e2e.server import CHROMIUM, serve_app

REPO = Path(__file__).resolve().parents[1]
REPEATS = 3
LOSS_POINTS_JS = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title && String(el.layout.title.text);
    if (t && t.includes('Training loss')) return el.data[0].x.length;
  }
  return -1;
}"""


def _config() -> RunConfig:
    """A run of roughly 10-20 s: a CIFAR-10 subset on CPU, the full set on a GPU."""
    if torch.cuda.is_available():
        return RunConfig(model="lenet5", epochs=3, batch_size=64, lr=0.01, limit_test=1000)
    return RunConfig(
        model="lenet5", epochs=2, batch_size=64, lr=0.01, limit_train=8192, limit_test=256
    )


def _cli_images_per_s(config: RunConfig, runs_dir: Path) -> float:
    command = [sys.executable, "-m", "cnnlab.train", *config.to_argv(), "--runs-dir", str(runs_dir)]
    done = subprocess.run(
        [*command, "--quiet"], cwd=REPO, capture_output=True, text=True, check=True
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["images_per_s"])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), 0 where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _page_images_per_s(
    config: RunConfig, runs_dir: Path, page, url: str, server_pid: int
) -> tuple[float, int, float]:
    """Start the run as the form does and watch it on the Train page until it ends.

    Returns its images/s, the loss points the browser showed, and the server's CPU use
    while streaming (fraction of one core).
    """
    run_id = runs.start(config, runs_dir)
    page.goto(f"{url}/train?run={run_id}")
    cpu0, wall0 = _cpu_seconds(server_pid), time.monotonic()
    while runs.get_run(run_id, runs_dir).status in ("queued", "running"):
        time.sleep(0.5)
    server_cpu = (_cpu_seconds(server_pid) - cpu0) / (time.monotonic() - wall0)
    points = page.evaluate(LOSS_POINTS_JS)
    speed = runs.get_run(run_id, runs_dir).images_per_s
    if speed is None:
        raise RuntimeError(f"run {run_id} recorded no throughput")
    return float(speed), int(points), server_cpu


def run() -> None:
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} not found (make browser)")
        return
    from playwright.sync_api import sync_playwright

    config = _config()
    print(f"run: {' '.join(config.to_argv())}")
    cli: list[float] = []
    page_runs: list[float] = []
    server_cpu: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = Path(tmp)
        with serve_app(runs_dir) as (url, server_pid), sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/train")  # warm the server (imports) before timing anything
            page.get_by_test_id("stSidebar").wait_for(timeout=90_000)
            for _ in range(REPEATS):
                page.goto("about:blank")  # no page open while the CLI run trains
                cli.append(_cli_images_per_s(config, runs_dir))
                speed, points, cpu = _page_images_per_s(config, runs_dir, page, url, server_pid)
                page_runs.append(speed)
                server_cpu.append(cpu)
                if points <= 0:
                    print("warning: the page showed no loss points; was it streaming?")
            browser.close()
    cli_ips, page_ips = max(cli), max(page_runs)
    ratio = page_ips / cli_ips
    print(
        f"command line, no page : {cli_ips:9.1f} images/s  (runs: {', '.join(f'{v:.0f}' for v in cli)})"
    )
    print(
        f"Train page streaming  : {page_ips:9.1f} images/s  (runs: {', '.join(f'{v:.0f}' for v in page_runs)})"
    )
    print(f"app server CPU while streaming: {max(server_cpu):.1%} of one core (worst run)")
    verdict = "ok" if ratio >= 0.95 else "SLOWER than the 5% target"
    print(f"ratio page / CLI      : {ratio:9.3f}  ({verdict})")


if __name__ == "__main__":
    run()
