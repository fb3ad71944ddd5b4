"""The trainer's own record of a run, beside the store: ``<run>/metrics.jsonl``.

The run store (one SQLite file) can be deleted, overwritten, made read-only or fill the
disk while a run trains. The trainer therefore also appends what it writes to the store
to a journal in the run folder (one JSON object a line, written at every store flush),
and checks at every flush that the store file is still the one it opened. When the store
is lost it says so once, keeps training and journaling, and re-imports its run into the
new store; :func:`import_orphans` brings back every run folder a fresh store lacks.

Journal lines: ``{"t": "m", "rows": [[step, epoch, key, value, wall_time], ...]}``,
``{"t": "run", "fields": {...}}`` (the run's columns), ``{"t": "eval", "epoch", "step",
"wall_time", "payload"}`` and ``{"t": "cut", "step", "epoch"}`` (a resume forgets later
points).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cnnlab.errors import CNNLabError, RunError
from cnnlab.store import _RUN_ID, MetricWriter, RunStore, open_connection
from cnnlab.store_errors import is_disk_full, store_error

JOURNAL = "metrics.jsonl"
REIMPORTED = "re-imported from its run folder after the run store was lost"


class Journal:
    """Appends lines to ``<run_dir>/metrics.jsonl`` (flushed to the OS at each write)."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / JOURNAL

    def write(self, *records: dict[str, Any]) -> None:
        text = "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(text)

    def records(self) -> list[dict[str, Any]]:
        """Every complete line (a line cut by a crash is skipped)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


def _identity(path: Path) -> tuple[int, int] | None:
    """The store file's (device, inode); None when it is gone.

    Only ``stat``: opening and closing the file here would drop SQLite's POSIX locks on it
    (they belong to the process, not the descriptor). Garbage written in place keeps the
    inode; SQLite reports it when it next reads the file, and the writer stops using it.
    """
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


class JournaledWriter(MetricWriter):
    """MetricWriter that journals every write and survives a lost or damaged store.

    A full disk is the one store failure that ends the run: it raises RunError (once)
    with what to do; the final status flush never raises.
    """

    def __init__(self, store: RunStore, run_id: str, log: Callable[[str], None]) -> None:
        super().__init__(store, run_id)
        self.journal = Journal(store.run_dir(run_id))
        self.log = log
        self.identity = _identity(store.path)
        self.lost: str | None = None  # why the store cannot be written, while it cannot

    def start(self, previous_status: str, **fields: Any) -> None:
        """The run (re)starts: its columns; a stop request from an earlier life is forgotten.

        A queued run was just (re)started by cnnlab.runs, which cleared the flag already: a
        flag set since then is a Stop pressed while the trainer was starting, and stays.
        """
        if previous_status != "queued":
            fields = {**fields, "stop_requested": 0}
        self.journal.write({"t": "run", "fields": fields})
        self.store.update(self.run_id, **fields)

    def flush(self, **run_fields: Any) -> bool:
        final = "status" in run_fields
        rows = list(self.buffer)
        record_fields = {**run_fields, "updated_at": time.time()}
        pending = self._journal_safely(
            {"t": "m", "rows": [list(row) for row in rows]}, {"t": "run", "fields": record_fields}
        )
        if self._reconnect_if_replaced():
            self.buffer.clear()  # the re-import read them from the journal
            return False
        if self.lost is None:
            try:
                stop = super().flush(**run_fields)
            except sqlite3.Error as error:
                self.buffer.clear()
                if is_disk_full(error) and not final:
                    raise store_error(self.store.path, error) from None
                stop = False
                if not (final and self._record_ending(run_fields)):
                    self._lose(error)
        else:
            self.buffer.clear()
            stop = False
        if pending is not None and not final:
            raise pending
        return stop

    def _record_ending(self, run_fields: dict[str, Any]) -> bool:
        """The ending without the buffered points (on a full disk it may still fit)."""
        try:
            super().flush(**run_fields)
        except sqlite3.Error:
            return False
        return True

    def add_evaluation(self, epoch: int, step: int, payload: dict[str, Any]) -> None:
        self._journal_safely(
            {
                "t": "eval",
                "epoch": epoch,
                "step": step,
                "wall_time": time.time(),
                "payload": payload,
            }
        )
        if self.lost is None:
            try:
                super().add_evaluation(epoch, step, payload)
            except sqlite3.Error as error:
                self._lose(error)

    def truncate_after(self, step: int, epoch: int) -> None:
        self._journal_safely({"t": "cut", "step": step, "epoch": epoch})
        super().truncate_after(step, epoch)

    # ---- losing and finding the store ----------------------------------------------------
    def _journal_safely(self, *records: dict[str, Any]) -> RunError | None:
        try:
            self.journal.write(*records)
        except OSError as error:
            return store_error(self.journal.path, error)
        return None

    def _lose(self, error: BaseException) -> None:
        if self.lost is None:
            self.lost = str(store_error(self.store.path, error))
            self.log(
                f"the run store cannot be written any more ({self.lost}); training goes on "
                f"and its metrics are kept in {self.journal.path}"
            )

    def _reconnect_if_replaced(self) -> bool:
        """True when this flush's rows need no write: the store is gone, or was just re-imported
        from the journal (which holds them); False while the store is the one opened."""
        now = _identity(self.store.path)
        if now == self.identity and now is not None:
            return False
        if self.lost is None:
            self.log(
                f"the run store {self.store.path} was deleted, replaced or overwritten while "
                "training; "
                f"metrics are kept in {self.journal.path} and the run is re-imported"
            )
            self.lost = "the run store was deleted or replaced"
        try:
            store = RunStore(self.store.root)  # a fresh store imports orphan run folders
            imported = import_run(store, self.store.run_dir(self.run_id))
            conn = open_connection(store.path)
        except (CNNLabError, sqlite3.Error, OSError):
            return True  # still gone or unusable: journal only, try again next flush
        self.conn.close()
        self.conn, self.store = conn, store
        self.identity, self.lost = _identity(store.path), None
        self.log(f"the run is back in the run store {store.path}")
        return imported  # else the row was there already: this flush writes as usual


# ---- re-import ----------------------------------------------------------------------------
def import_orphans(store: RunStore) -> list[str]:
    """Import every run folder (with config.json) that has no row; their ids."""
    imported = []
    try:
        folders = sorted(p for p in store.root.iterdir() if _RUN_ID.match(p.name) and p.is_dir())
    except OSError:
        return imported
    for folder in folders:
        try:
            if import_run(store, folder):
                imported.append(folder.name)
        except (CNNLabError, OSError, ValueError):
            continue  # an unreadable folder stays out; the others come back
    return imported


def import_run(store: RunStore, run_dir: Path) -> bool:
    """Insert ``run_dir``'s run from config.json and its journal unless the store has it."""
    run_id = run_dir.name
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    with store.connect() as conn:
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
            return False
    has_checkpoint = any((run_dir / name).is_file() for name in ("last.pt", "best.pt"))
    fields: dict[str, Any] = {
        "status": "stopped" if has_checkpoint else "failed",
        "error": REIMPORTED,
        "epochs": config.get("epochs"),
    }
    metrics: list[list[Any]] = []
    evaluations: dict[int, tuple[int, float, str]] = {}
    for record in Journal(run_dir).records():
        kind = record.get("t")
        if kind == "run":
            fields.update(record.get("fields", {}))
        elif kind == "m":
            metrics += record.get("rows", [])
        elif kind == "eval":
            evaluations[int(record["epoch"])] = (
                int(record["step"]), float(record["wall_time"]), json.dumps(record["payload"])
            )  # fmt: skip
        elif kind == "cut":
            metrics = [row for row in metrics if row[0] <= record["step"]]
            evaluations = {e: v for e, v in evaluations.items() if e <= record["epoch"]}
    fields = {key: value for key, value in fields.items() if key in _IMPORTED_COLUMNS}
    created = time.mktime(time.strptime(run_id[:15], "%Y%m%d-%H%M%S"))
    columns = ["id", "name", "config", "created_at", *fields]
    values = [run_id, config.get("name", ""), json.dumps(config), created, *fields.values()]
    with store.connect() as conn, conn:
        conn.execute(
            f"INSERT OR IGNORE INTO runs ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            values,
        )
        conn.executemany(
            "INSERT INTO metrics (run_id, step, epoch, key, value, wall_time) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, *row) for row in metrics],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO evaluations (run_id, epoch, step, wall_time, payload) "
            "VALUES (?, ?, ?, ?, ?)",
            [(run_id, epoch, *value) for epoch, value in evaluations.items()],
        )
    return True


_IMPORTED_COLUMNS = (
    "status", "device", "pid", "pid_start", "started_at", "ended_at", "updated_at", "error",
    "epochs", "epoch", "step", "steps_per_epoch", "total_steps", "best_acc", "final_acc",
    "train_loss", "images_per_s", "train_seconds",
)  # fmt: skip
