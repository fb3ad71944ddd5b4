"""One atomic way to write a torch file: a temporary file beside it, fsync, then rename.

A reader never sees half a file, whatever kills the writer; the temporary file is removed
on every way out of the writer. Callers decide what an ``OSError``/``RuntimeError`` means
(a full disk ends a run; an unwritable dataset cache only costs speed).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

import torch


def temp_path(path: Path, unique: bool = False) -> Path:
    """``.<name>.<pid>.tmp`` beside ``path`` (``.<name>.<pid>-<random>.tmp`` when several
    threads of one process may write the same file): the pid lets cleaners spot dead writers."""
    suffix = f"-{uuid.uuid4().hex[:8]}" if unique else ""
    return path.with_name(f".{path.name}.{os.getpid()}{suffix}.tmp")


def atomic_torch_save(path: Path, payload: Any, unique: bool = False) -> None:
    """``torch.save(payload)`` to ``path`` atomically; errors propagate, the temp file never stays."""
    tmp = temp_path(path, unique)
    try:
        with open(tmp, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
