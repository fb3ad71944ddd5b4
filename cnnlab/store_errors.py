"""What went wrong with the run store, in one sentence a user can act on.

SQLite and the file system fail in a few ways a person can cause or fix: the disk is
full, the folder is read-only, the file was deleted or overwritten. Each becomes a
:class:`~cnnlab.errors.RunError` whose message names the file and says what to do; pages
and the CLI show that message instead of a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from cnnlab.errors import RunError

REIMPORT_HINT = (
    "runs whose folders hold config.json are re-imported (metrics from their metrics.jsonl) "
    "when the store is recreated"
)


def store_error(path: Path, error: BaseException) -> RunError:
    """The RunError a user sees for ``error`` raised while using the store at ``path``."""
    text = str(error)
    low = text.lower()
    number = getattr(error, "errno", None)
    if "disk is full" in low or number in (errno.ENOSPC, errno.EDQUOT):
        return RunError(
            f"the disk holding the run store {path} is full: free some space (or set "
            "CNNLAB_RUNS_DIR / --runs-dir to a folder on another disk) and try again"
        )
    if (
        "readonly" in low
        or "read-only" in low
        or number in (errno.EACCES, errno.EROFS, errno.EPERM)
    ):
        return RunError(
            f"the run store {path} is read-only (or its folder {path.parent} is): make the "
            "folder writable, or set CNNLAB_RUNS_DIR / --runs-dir to a writable folder"
        )
    if "malformed" in low or "not a database" in low or "disk i/o error" in low:
        return RunError(
            f"the run store {path} is damaged ({text}): move it aside (for example "
            f"`mv {path} {path}.damaged`) and reload; {REIMPORT_HINT}"
        )
    if "no such table" in low or "unable to open" in low:
        return RunError(
            f"the run store {path} was deleted or replaced while in use: reload the page to "
            f"create a new one; {REIMPORT_HINT}"
        )
    if "locked" in low or "busy" in low:
        return RunError(f"the run store {path} is busy (locked by another process): try again")
    if number in (errno.EEXIST, errno.ENOTDIR):
        return RunError(
            f"the runs folder {path.parent} is a file, not a folder: set CNNLAB_RUNS_DIR / "
            "--runs-dir to a folder"
        )
    return RunError(
        f"the run store {path} cannot be used ({type(error).__name__}: {text}): set "
        "CNNLAB_RUNS_DIR / --runs-dir to a writable folder"
    )


@contextlib.contextmanager
def translated(path: Path) -> Iterator[None]:
    """Re-raise SQLite and OS errors met inside the block as store RunErrors."""
    try:
        yield
    except (sqlite3.Error, OSError) as error:
        raise store_error(path, error) from None


def is_disk_full(error: BaseException) -> bool:
    return "disk is full" in str(error).lower() or getattr(error, "errno", None) in (
        errno.ENOSPC,
        errno.EDQUOT,
    )
