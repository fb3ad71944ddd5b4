"""Errors meant for the user.

Every class is a ``ValueError`` so callers that only know "bad input" can catch
them, and every message says what to change, not just what went wrong. Pages
show ``str(error)`` in an ``st.error`` box; the CLI prints it and exits 2.
"""

from __future__ import annotations


class CNNLabError(ValueError):
    """Base class of all user-facing errors."""


class ShapeError(CNNLabError):
    """A layer configuration that torch would refuse for this input shape."""


class ModelSpecError(CNNLabError):
    """A network description (preset name, options or custom code) that cannot be built.

    ``line`` and ``col`` point into the user's source when the error comes from the
    custom ``nn.Sequential`` parser (1-based line, 0-based column), else they are None.
    """

    def __init__(self, message: str, line: int | None = None, col: int | None = None) -> None:
        if line is not None:
            message = f"line {line}: {message}"
        super().__init__(message)
        self.line = line
        self.col = col


class ConfigError(CNNLabError):
    """A training configuration value that is out of range or inconsistent."""


class DatasetUnavailable(CNNLabError):
    """A dataset that is neither on disk nor downloadable; the message says which files go where."""


class ImageError(CNNLabError):
    """An uploaded file that is not an image we can safely decode."""


class CheckpointError(CNNLabError):
    """A checkpoint that is missing, truncated, corrupt or not loadable with weights_only=True."""


class RunError(CNNLabError):
    """A run-store request that cannot be honoured (unknown run, run still running, ...)."""
