"""Checkpoint files: atomic saves, bounded safe loads, the plain ``model.pt``, resume choice.

A run folder holds ``last.pt`` (the position to resume from), ``best.pt`` (the epoch with
the best test accuracy) — both full checkpoints: a dict with the config, the weights under
``"model"``, the optimizer and scheduler state — and ``model.pt``, the best weights as a
plain ``state_dict`` that ``net.load_state_dict(torch.load(path))`` accepts.

Loading is defensive: only ``torch.load(..., weights_only=True)``, after reading the zip's
central directory so a small file that inflates to gigabytes is refused before it is read,
and a checkpoint's input shape is checked against its dataset before any model is built.
"""

from __future__ import annotations

import errno
import os
import pickle
import re
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from cnnlab.atomic import atomic_torch_save
from cnnlab.errors import CheckpointError

CHECKPOINT_FORMAT = "cnnlab-checkpoint-v1"
CHECKPOINT_KEYS = ("format", "run_id", "config", "model", "epoch", "step")
MODEL_FILE = "model.pt"  # plain state_dict of the best (else last) weights
MAX_CHECKPOINT_BYTES = 2**30  # uncompressed; no CNN Lab network comes near it
MAX_FOLDER_SIDE = 512  # largest image side a folder dataset's checkpoint may claim
MAX_FOLDER_CLASSES = 1000
_TMP = re.compile(r"^\..+\.(\d+)(?:-[0-9a-f]+)?\.tmp$")  # .last.pt.<pid>[-<hex>].tmp (atomic.py)


def disk_full_message(path: Path) -> str:
    return (
        f"the disk holding {path.parent} is full (no space left while writing {path.name}): "
        "free some space (or set CNNLAB_RUNS_DIR / --runs-dir to another disk), then resume "
        "the run"
    )


def save_checkpoint(path: Path, payload: Any) -> None:
    """torch.save to a temporary file beside ``path``, fsync, then rename over it.

    A full disk is a CheckpointError saying so; the temporary file never stays behind.
    """
    path = Path(path)
    try:
        atomic_torch_save(path, payload)
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise CheckpointError(disk_full_message(path)) from None
        raise
    except RuntimeError as error:  # torch wraps the writer's ENOSPC in a RuntimeError
        if "No space left" in str(error) or "file write failed" in str(error):
            raise CheckpointError(disk_full_message(path)) from None
        raise


def save_model_state(run_dir: Path, state_dict: dict[str, torch.Tensor]) -> None:
    """``model.pt``: the weights alone, loadable with ``net.load_state_dict(torch.load(p))``."""
    save_checkpoint(
        Path(run_dir) / MODEL_FILE, {k: v.detach().cpu() for k, v in state_dict.items()}
    )


def check_archive(path: Path, max_bytes: int = MAX_CHECKPOINT_BYTES) -> None:
    """CheckpointError when ``path`` would inflate past ``max_bytes`` (nothing is inflated).

    torch.save writes a zip; its central directory lists every member's uncompressed size.
    A file that is not a zip (torch's legacy format) is stored uncompressed, so its own
    size bounds what loading it allocates.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        total = path.stat().st_size
    if total > max_bytes:
        raise CheckpointError(
            f"{path.name} would take {total / 2**20:,.0f} MiB once loaded, more than the "
            f"{max_bytes / 2**20:,.0f} MiB a checkpoint of this network can need; it is not a "
            "checkpoint CNN Lab wrote: it was refused unread, retrain the run"
        )


def load_checkpoint(path: Path, max_bytes: int = MAX_CHECKPOINT_BYTES) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; CheckpointError if it is not a sound one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: train the run for at least one epoch")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path.name} is empty: delete it and resume or retrain the run")
    check_archive(path, max_bytes)
    try:
        with warnings.catch_warnings():  # foreign pickle protocols warn before failing
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's own text goes on to suggest weights_only=False, which would run the code
        raise CheckpointError(
            f"{path.name} holds Python objects other than tensors and plain values, and "
            "loading it could run code, so it is refused (weights_only=True); it is corrupt "
            "or not a CNN Lab checkpoint: never load it with weights_only=False, retrain the run"
        ) from None
    except Exception as error:  # truncated zip, foreign archive, ...
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise CheckpointError(
            f"{path.name} cannot be loaded safely ({type(error).__name__}: {first}); "
            "it is truncated, corrupt or not a CNN Lab checkpoint: retrain the run"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path.name} is not a CNN Lab checkpoint ({CHECKPOINT_FORMAT})")
    missing = [key for key in CHECKPOINT_KEYS if key not in payload]
    if missing:
        raise CheckpointError(f"{path.name} lacks {', '.join(missing)}: retrain the run")
    return payload


def check_input_shape(payload: dict[str, Any]) -> tuple[int, int, int]:
    """The checkpoint's ``(C, H, W)`` if its dataset takes such inputs, else CheckpointError.

    Checked before a model is built: a crafted ``input_shape`` of [3, 3000, 3000] would
    otherwise size the network's first Linear (gigabytes) from an untrusted number.
    """
    from cnnlab.data import DATASETS, FOLDER_PREFIX

    config = payload.get("config")
    dataset = config.get("dataset") if isinstance(config, dict) else None
    try:
        shape = tuple(int(d) for d in payload["input_shape"])
    except (KeyError, TypeError, ValueError):
        shape = ()
    if dataset in DATASETS:
        expected = DATASETS[dataset].input_shape
        ok = shape == expected
        wanted = "x".join(map(str, expected))
    else:
        ok = (
            isinstance(dataset, str)
            and dataset.startswith(FOLDER_PREFIX)
            and len(shape) == 3
            and shape[0] in (1, 3)
            and 1 <= shape[1] == shape[2] <= MAX_FOLDER_SIDE
        )
        wanted = f"1 or 3 channels, square, at most {MAX_FOLDER_SIDE} px"
    classes = payload.get("classes")
    count = len(classes) if isinstance(classes, list | tuple) else -1
    most = DATASETS[dataset].num_classes if dataset in DATASETS else MAX_FOLDER_CLASSES
    if ok and not (2 <= count <= most and (dataset not in DATASETS or count == most)):
        raise CheckpointError(
            f"the checkpoint lists {count} classes for dataset {dataset!r}, which has "
            f"{most if dataset in DATASETS else f'at most {most}'}: it was not written by "
            "CNN Lab for this dataset, so no model is built from it; retrain the run"
        )
    if not ok:
        raise CheckpointError(
            f"the checkpoint claims input shape {list(shape) or payload.get('input_shape')!r} "
            f"for dataset {dataset!r}, which takes {wanted}: it was not written by CNN Lab "
            "for this dataset, so no model is built from it; retrain the run"
        )
    return shape  # type: ignore[return-value]


def resume_payload(run_dir: Path, log: Callable[[str], None]) -> dict[str, Any] | None:
    """The checkpoint a resume continues from: last.pt, else best.pt, else None (from scratch).

    A kill during the first save leaves no (or a truncated) last.pt; that run still resumes.
    """
    for name in ("last.pt", "best.pt"):
        path = Path(run_dir) / name
        if not path.exists():
            continue
        try:
            return load_checkpoint(path)
        except CheckpointError as error:
            log(f"cannot resume from {name}: {error}")
    log("no usable checkpoint in the run folder: training restarts from epoch 1")
    return None


def clean_stale_tmp(directory: Path) -> list[Path]:
    """Remove ``.<name>.<pid>.tmp`` files whose writer process is gone; the removed paths."""
    removed = []
    try:
        entries = list(Path(directory).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TMP.match(entry.name)
        if match is None or _pid_exists(int(match.group(1))):
            continue
        try:
            entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


class CheckpointClock:
    """When a mid-epoch ``last.pt`` is due: every ``minutes`` of training (0: never).

    Epoch ends save anyway; this bounds what a kill loses inside a long epoch.
    """

    def __init__(self, minutes: float) -> None:
        self.interval_s = minutes * 60.0
        self.next_at = time.perf_counter() + self.interval_s

    def due(self) -> bool:
        if self.interval_s <= 0 or time.perf_counter() < self.next_at:
            return False
        self.next_at = time.perf_counter() + self.interval_s
        return True
