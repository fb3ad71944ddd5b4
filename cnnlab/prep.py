"""A run's data preparation, as the Train page shows it while no step has run yet.

On first use the trainer decodes the dataset into its uint8 cache (``cnnlab.data``): 50,000
CIFAR-10 JPEGs take about 45 s on two cores, during which the run has no step to show. The
trainer passes ``reporter(...)`` as ``load_split``'s progress callback; it writes the phase
into the run's ``phase`` column (JSON, at most every ``interval_s``), and ``read(row)`` gives
the page a ``DataPhase`` back. The column is cleared when the decode ends.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cnnlab.errors import CNNLabError

REPORT_INTERVAL_S = 0.5


@dataclass(frozen=True)
class DataPhase:
    dataset: str  # title: "CIFAR-10"
    split: str  # "train" / "test"
    done: int  # images (or files) decoded so far
    total: int

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def text(self) -> str:
        """``Preparing CIFAR-10 (first time only): decoding 12,000/50,000 images``."""
        return (
            f"Preparing {self.dataset} (first time only): decoding {self.done:,}/{self.total:,} "
            f"{self.split} images"
        )


def reporter(
    store: Any, run_id: str, dataset: str, split: str, interval_s: float = REPORT_INTERVAL_S
) -> Callable[[int, int], None]:
    """A ``load_split`` progress callback that records the decode in the run store.

    A split read from its cache reports (n, n) at once: nothing is written then. A store
    that cannot be written only loses the progress display, never the run.
    """
    state = {"last": 0.0, "written": False}

    def report(done: int, total: int) -> None:
        finished = done >= total
        if finished and not state["written"]:
            return
        now = time.monotonic()
        if not finished and now - state["last"] < interval_s:
            return
        state["last"], state["written"] = now, True
        phase = None if finished else json.dumps([dataset, split, done, total])
        with contextlib.suppress(CNNLabError, sqlite3.Error, OSError):
            store.update(run_id, phase=phase)

    return report


def read(row: dict[str, Any]) -> DataPhase | None:
    """The phase a run row records, or None (not preparing, or an unreadable value)."""
    try:
        dataset, split, done, total = json.loads(row.get("phase") or "null")
        return DataPhase(str(dataset), str(split), int(done), int(total))
    except (TypeError, ValueError):
        return None


def add_missing_columns(conn: sqlite3.Connection) -> None:
    """Bring a run store made by an older version up to date (``phase`` came later)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    if "phase" not in columns:
        with contextlib.suppress(sqlite3.OperationalError):  # another process added it first
            conn.execute("ALTER TABLE runs ADD COLUMN phase TEXT")


def current(run_id: str, runs_dir: Any = None) -> DataPhase | None:
    """What the run with ``run_id`` is preparing now, read from the run store; None if nothing."""
    from cnnlab.store import RunStore  # the store imports this module for its schema

    return read(RunStore(runs_dir).get(run_id))
