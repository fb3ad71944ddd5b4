"""Which device training and inference run on, described for people."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from cnnlab.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class DeviceInfo:
    """What the home page and run records say about the hardware."""

    kind: str  # "cuda" or "cpu"
    name: str  # "NVIDIA H100 80GB HBM3" or "CPU"
    memory_gib: float | None  # GPU memory; None on CPU
    cores: int

    @property
    def summary(self) -> str:
        if self.kind == "cuda":
            return f"{self.name} ({self.memory_gib:.0f} GiB)"
        return f"CPU ({self.cores} cores)"


def describe_device() -> DeviceInfo:
    """The device a run with ``--device auto`` would use."""
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return DeviceInfo("cuda", props.name, props.total_memory / 2**30, cores)
    return DeviceInfo("cpu", "CPU", None, cores)


def pick_device(preference: str = "auto") -> torch.device:
    """Turn the ``--device`` choice into a torch.device, refusing cuda where there is none."""
    if preference not in DEVICE_CHOICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICE_CHOICES)}, not {preference!r}")
    if preference == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device 'cuda' was asked for but no CUDA GPU is visible; choose auto or cpu"
        )
    if preference == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")
