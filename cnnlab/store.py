"""The run store: one SQLite file (WAL) for runs and metrics, plus atomic checkpoint files.

The training process writes, pages read; nothing else connects them, so a closed tab or
a restarted app loses nothing. Layout under the runs directory::

    runs.sqlite             tables runs, metrics, evaluations
    <run_id>/config.json    the RunConfig as JSON
    <run_id>/last.pt        after every epoch (and at a stop)
    <run_id>/best.pt        the epoch with the best test accuracy
    <run_id>/train.log      stdout/stderr of a run started by cnnlab.runs

Run ids are generated here (``20261124-141500-ab12cd``) and checked against that pattern
before they are ever used in a path.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from cnnlab.checkpoints import (  # noqa: F401  (re-exported: the store's file contract)
    CHECKPOINT_FORMAT,
    CHECKPOINT_KEYS,
    clean_stale_tmp,
    load_checkpoint,
    save_checkpoint,
)
from cnnlab.errors import RunError
from cnnlab.prep import add_missing_columns
from cnnlab.store_errors import translated

STATUSES = ("queued", "running", "finished", "stopped", "failed", "diverged")
ACTIVE = ("queued", "running")
KILLED_MESSAGE = "the training process ended without reporting (killed?)"
_RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
_RUN_COLUMNS = (
    "id", "name", "config", "status", "device", "pid", "pid_start", "created_at",
    "started_at", "ended_at", "updated_at", "error", "stop_requested", "epochs", "epoch",
    "step", "steps_per_epoch", "total_steps", "best_acc", "final_acc", "train_loss",
    "images_per_s", "train_seconds", "phase",
)  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    device TEXT,
    pid INTEGER,
    pid_start TEXT,              -- start time of pid (/proc/<pid>/stat), guards pid reuse
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    updated_at REAL,
    error TEXT,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    epochs INTEGER,              -- planned epochs
    epoch REAL NOT NULL DEFAULT 0,  -- fractional epochs done
    step INTEGER NOT NULL DEFAULT 0,
    steps_per_epoch INTEGER,
    total_steps INTEGER,
    best_acc REAL,
    final_acc REAL,
    train_loss REAL,
    images_per_s REAL,           -- training throughput (latest interval while running)
    train_seconds REAL,
    phase TEXT                   -- JSON while the trainer decodes the dataset (cnnlab.prep)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    epoch REAL NOT NULL,
    key TEXT NOT NULL,
    value REAL,
    wall_time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_by_run ON metrics (run_id, step);
CREATE TABLE IF NOT EXISTS evaluations (
    run_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    step INTEGER NOT NULL,
    wall_time REAL NOT NULL,
    payload TEXT NOT NULL,       -- JSON: test_loss, test_acc, per_class_acc, confusion, ...
    PRIMARY KEY (run_id, epoch)
);
"""

MetricRow = tuple[int, float, str, float, float]  # (step, epoch, key, value, wall_time)


def runs_dir(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """``--runs-dir``, else ``$CNNLAB_RUNS_DIR``, else ``./checkpoints``."""
    value = cli_value or os.environ.get("CNNLAB_RUNS_DIR") or "checkpoints"
    return Path(value).expanduser().resolve()


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def check_run_id(run_id: Any) -> str:
    """Return ``run_id`` if it has the generated form, else RunError (never a path)."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise RunError(f"{run_id!r} is not a run id (they look like 20261124-141500-ab12cd)")
    return run_id


class RunStore:
    """Access to ``<root>/runs.sqlite``; one short connection per call (thread-safe)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = runs_dir(root)
        self.path = self.root / "runs.sqlite"
        with translated(self.path):  # pages show one RunError per case, not a traceback
            self.root.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.exists()
            if fresh:  # a WAL left by a deleted store would be replayed into the new one
                for suffix in ("-wal", "-shm"):
                    self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
            with self.connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
                add_missing_columns(conn)  # stores made before a column was added
        if fresh:  # a lost store: bring back the runs whose folders survive
            from cnnlab.journal import import_orphans

            import_orphans(self)

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection; writes go in ``with conn:`` blocks (one transaction each).

        SQLite and OS errors inside the block become RunErrors (cnnlab.store_errors).
        """
        with translated(self.path):
            conn = open_connection(self.path)
            try:
                yield conn
            finally:
                conn.close()

    def run_dir(self, run_id: str) -> Path:
        return self.root / check_run_id(run_id)

    # ---- runs ----------------------------------------------------------------------
    def create_run(self, config: dict[str, Any], name: str, epochs: int) -> str:
        """Insert a queued run and write its config.json; returns the new id."""
        run_id = new_run_id()
        run_dir = self.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=False)
        write_text_atomic(run_dir / "config.json", json.dumps(config, indent=2) + "\n")
        with self.connect() as conn, conn:
            conn.execute(
                "INSERT INTO runs (id, name, config, status, created_at, epochs) "
                "VALUES (?, ?, ?, 'queued', ?, ?)",
                (run_id, name, json.dumps(config), time.time(), epochs),
            )
        return run_id

    def get(self, run_id: str) -> dict[str, Any]:
        check_run_id(run_id)
        with self.connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunError(f"no run {run_id} in {self.root}")
        return dict(row)

    def all(self) -> list[dict[str, Any]]:
        with self.connect() as conn:
            rows = conn.execute("SELECT * FROM runs ORDER BY created_at DESC").fetchall()
        return [dict(row) for row in rows]

    def update(self, run_id: str, **fields: Any) -> None:
        unknown = set(fields) - set(_RUN_COLUMNS)
        if unknown:
            raise ValueError(f"unknown run column(s) {sorted(unknown)}")
        assignments = ", ".join(f"{column} = ?" for column in fields)
        with self.connect() as conn, conn:
            conn.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*fields.values(), run_id))

    def request_stop(self, run_id: str) -> None:
        self.get(run_id)
        with self.connect() as conn, conn:
            conn.execute("UPDATE runs SET stop_requested = 1 WHERE id = ?", (run_id,))

    def stop_requested(self, run_id: str) -> bool:
        with self.connect() as conn:
            row = conn.execute("SELECT stop_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    def delete(self, run_id: str) -> None:
        with self.connect() as conn, conn:
            for table, column in (("metrics", "run_id"), ("evaluations", "run_id"), ("runs", "id")):
                conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (run_id,))

    def reap_dead(self) -> list[str]:
        """Mark failed every queued/running run whose process is gone; return their ids."""
        now = time.time()
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT id, pid, pid_start, created_at FROM runs WHERE status IN ('queued', 'running')"
            ).fetchall()
        dead = [
            row["id"]
            for row in rows
            if (row["pid"] is None and now - row["created_at"] > 120)
            or (row["pid"] is not None and not process_alive(row["pid"], row["pid_start"]))
        ]
        if dead:
            with self.connect() as conn, conn:
                conn.executemany(
                    "UPDATE runs SET status = 'failed', error = ?, ended_at = ? "
                    "WHERE id = ? AND status IN ('queued', 'running')",
                    [(KILLED_MESSAGE, now, run_id) for run_id in dead],
                )
            for run_id in dead:  # a kill during a save leaves .last.pt.<pid>.tmp behind
                clean_stale_tmp(self.run_dir(run_id))
        return dead

    # ---- metrics and evaluations -------------------------------------------------------
    def metrics(
        self,
        run_id: str,
        since_step: int = -1,
        keys: Sequence[str] | None = None,
        after_row: int = 0,
    ) -> list[tuple[int, int, float, str, float, float]]:
        """Rows (row, step, epoch, key, value, wall_time) with step > since_step, row > after_row."""
        sql = (
            "SELECT rowid, step, epoch, key, value, wall_time FROM metrics "
            "WHERE run_id = ? AND step > ? AND rowid > ?"
        )
        params: list[Any] = [run_id, since_step, after_row]
        if keys:
            sql += f" AND key IN ({', '.join('?' * len(keys))})"
            params += list(keys)
        with self.connect() as conn:
            return [tuple(row) for row in conn.execute(sql + " ORDER BY rowid", params)]

    def evaluation(self, run_id: str, epoch: int | None = None) -> dict[str, Any] | None:
        """The evaluation payload of ``epoch`` (default: the latest), or None."""
        sql = "SELECT epoch, step, wall_time, payload FROM evaluations WHERE run_id = ?"
        params: list[Any] = [run_id]
        if epoch is not None:
            sql += " AND epoch = ?"
            params.append(epoch)
        with self.connect() as conn:
            row = conn.execute(sql + " ORDER BY epoch DESC LIMIT 1", params).fetchone()
        if row is None:
            return None
        return {"epoch": row["epoch"], "step": row["step"], **json.loads(row["payload"])}


def open_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; a crash loses no committed row
    return conn


class MetricWriter:
    """The trainer's side: one long-lived connection, metrics buffered and flushed together.

    ``flush`` writes the buffered points and the run's progress columns in one
    transaction and returns whether a stop was requested (read in the same visit).
    """

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = check_run_id(run_id)
        self.conn = open_connection(store.path)
        self.buffer: list[MetricRow] = []

    def add(self, step: int, epoch: float, key: str, value: float) -> None:
        self.buffer.append((step, epoch, key, float(value), time.time()))

    def flush(self, **run_fields: Any) -> bool:
        unknown = set(run_fields) - set(_RUN_COLUMNS)
        if unknown:
            raise ValueError(f"unknown run column(s) {sorted(unknown)}")
        run_fields["updated_at"] = time.time()
        assignments = ", ".join(f"{column} = ?" for column in run_fields)
        with self.conn:
            if self.buffer:
                self.conn.executemany(
                    "INSERT INTO metrics (run_id, step, epoch, key, value, wall_time) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(self.run_id, *row) for row in self.buffer],
                )
            self.conn.execute(
                f"UPDATE runs SET {assignments} WHERE id = ?", (*run_fields.values(), self.run_id)
            )
            row = self.conn.execute(
                "SELECT stop_requested FROM runs WHERE id = ?", (self.run_id,)
            ).fetchone()
        self.buffer.clear()
        return bool(row and row[0])

    def add_evaluation(self, epoch: int, step: int, payload: dict[str, Any]) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO evaluations (run_id, epoch, step, wall_time, payload) "
                "VALUES (?, ?, ?, ?, ?)",
                (self.run_id, epoch, step, time.time(), json.dumps(payload)),
            )

    def truncate_after(self, step: int, epoch: int) -> None:
        """Forget metrics past ``step`` and evaluations past ``epoch`` (before a resume)."""
        with self.conn:
            self.conn.execute(
                "DELETE FROM metrics WHERE run_id = ? AND step > ?", (self.run_id, step)
            )
            self.conn.execute(
                "DELETE FROM evaluations WHERE run_id = ? AND epoch > ?", (self.run_id, epoch)
            )

    def close(self) -> None:
        self.conn.close()


# ---- processes ------------------------------------------------------------------------
def process_start_token(pid: int) -> str | None:
    """The kernel start time of ``pid`` (Linux /proc), None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after "pid (comm)"


def process_alive(pid: int, start_token: str | None = None) -> bool:
    """Whether ``pid`` is still our trainer: exists, not a zombie, same start time, right cmdline."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else: cannot tell more
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return True  # no /proc (not Linux): existence is all we can check
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes()
    except OSError:
        return False
    fields_after_comm = stat.rsplit(")", 1)[1].split()
    if fields_after_comm[0] in ("Z", "X"):
        return False
    if start_token is not None and fields_after_comm[19] != start_token:
        return False
    return b"cnnlab.train" in cmdline


# ---- files ----------------------------------------------------------------------------
def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
