"""What the trainer sets up before its loop: data subsets, optimizer, schedule, mistakes kept.

Split out of ``cnnlab.train`` (which re-exports these names) to keep the loop module short.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnlab.config import RunConfig
from cnnlab.errors import ConfigError


def first_of_each_class(
    mask: torch.Tensor, labels: torch.Tensor, limit: int, num_classes: int
) -> torch.Tensor:
    """Indices where ``mask`` holds, at most ``ceil(limit / num_classes)`` per true class.

    Test splits are stored class by class, so the first ``limit`` mistakes would all be
    airplanes; the results page wants every class's confusions.
    """
    quota = math.ceil(limit / num_classes)
    candidates = mask.nonzero().flatten().cpu()  # [M] in test order
    seen = [0] * num_classes
    kept = []
    for index, true in zip(candidates.tolist(), labels.cpu()[candidates].tolist(), strict=True):
        if seen[true] < quota:
            seen[true] += 1
            kept.append(index)
    return torch.tensor(kept[:limit], dtype=torch.long)


LIMIT_SUBSET_SEED = 1234  # --limit-train picks the same images whatever the run seed


def _subset(n: int, limit: int | None) -> torch.Tensor | None:
    """Sorted indices of a fixed random subset of ``limit`` out of ``n`` (None: keep all).

    Splits are stored class by class, so the first N would be one class; the subset is
    drawn with a fixed seed so every run with the same limit sees the same images.
    """
    if limit is None or limit >= n:
        return None
    generator = torch.Generator().manual_seed(LIMIT_SUBSET_SEED)
    return torch.randperm(n, generator=generator)[:limit].sort().values


def make_optimizer(cfg: RunConfig, model: nn.Module, device: torch.device) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov), Adam or AdamW; fused kernels on CUDA."""
    params = [p for p in model.parameters() if p.requires_grad]
    fast: dict[str, bool] = {"fused": True} if device.type == "cuda" else {"foreach": True}
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
            weight_decay=cfg.weight_decay, **fast,
        )  # fmt: skip
    kind = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
    return kind(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fast)


def make_scheduler(
    cfg: RunConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int, total_steps: int
) -> Any:
    """A per-step learning-rate schedule (None for a constant lr).

    - step: multiply by ``gamma`` every ``step_size`` epochs;
    - cosine: cosine decay from lr to 0 over the run;
    - onecycle: linear warm-up from lr/5 to lr over the first 20 % of steps, then linear
      decay to ~0 (the triangular schedule of fast CIFAR-10 scripts).
    """
    sched = torch.optim.lr_scheduler
    if cfg.scheduler == "step":
        return sched.StepLR(optimizer, step_size=cfg.step_size * steps_per_epoch, gamma=cfg.gamma)
    if cfg.scheduler == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
    if cfg.scheduler == "onecycle":
        return sched.OneCycleLR(
            optimizer, max_lr=cfg.lr, total_steps=max(1, total_steps), pct_start=0.2,
            anneal_strategy="linear", div_factor=5.0, final_div_factor=1e4, cycle_momentum=False,
        )  # fmt: skip
    return None


def check_data_dir(cfg: RunConfig) -> None:
    """ConfigError for a --data-dir that does not exist: a typo must not create folders.

    The default root (``$CNNLAB_DATA_DIR`` or ./data) is still created for a download.
    """
    if cfg.data_dir is None:
        return
    path = Path(cfg.data_dir).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"the data folder {cfg.data_dir} does not exist: create it first (mkdir -p "
            f"{cfg.data_dir}), or leave --data-dir out to use $CNNLAB_DATA_DIR or ./data"
        )
