"""``python -m cnnlab.supervise RUNS_DIR RUN_ID -- python -m cnnlab.train ...``

A run started from the app trains in a child of this small process, which only waits.
When the trainer dies without recording an ending (SIGKILL, the OOM killer, a crash in
native code), the run would read ``running`` until some page next read the store; the
supervisor records it as failed at once, with the signal or exit code. It holds no
torch and no data, so it costs a few megabytes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from cnnlab.checkpoints import clean_stale_tmp
from cnnlab.errors import CNNLabError
from cnnlab.store import ACTIVE, RunStore


def ending_message(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return (
            f"the training process was killed by signal {-returncode} ({name}); resume the "
            "run to continue from its last checkpoint"
        )
    return (
        f"the training process exited with code {returncode} without recording an ending; "
        "see train.log in the run folder"
    )


def record_death(runs_dir: str, run_id: str, returncode: int, pids: tuple[int, ...]) -> bool:
    """Mark ``run_id`` failed if it is still queued/running under one of ``pids``; whether it was.

    ``pids`` are this supervisor's and its trainer's: the row names one of them while this
    launch owns the run. A reader may have reaped the dead trainer first and the run been
    resumed under a new launch since; that launch's row must not be marked failed.
    """
    try:
        store = RunStore(runs_dir)
        row = store.get(run_id)
        if row["status"] not in ACTIVE:
            return False
        with store.connect() as conn, conn:
            updated = conn.execute(
                "UPDATE runs SET status = 'failed', error = ?, ended_at = ? "
                "WHERE id = ? AND status IN ('queued', 'running') "
                f"AND pid IN ({', '.join('?' * len(pids))})",
                (ending_message(returncode), time.time(), run_id, *pids),
            ).rowcount
        clean_stale_tmp(store.run_dir(run_id))
    except CNNLabError:
        return False  # the store is gone or damaged: the readers' reaping still applies
    return updated > 0


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: python -m cnnlab.supervise RUNS_DIR RUN_ID -- COMMAND...", file=sys.stderr)
        return 2
    runs_dir, run_id, command = argv[0], argv[1], argv[3:]
    child = subprocess.Popen(command)
    # a stop request (SIGTERM) meant for the run reaches the trainer, which saves and ends
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, _frame: child.send_signal(number))
    returncode = child.wait()
    if returncode != 0:
        record_death(runs_dir, run_id, returncode, (os.getpid(), child.pid))
    return 0 if returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
