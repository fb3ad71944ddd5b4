"""The network a page inspects: a preset, your own nn.Sequential, or a trained checkpoint.

Every choice is described by a :class:`~cnnlab.config.RunConfig` (model, custom source,
options, seed), the same description training uses, and built by
:func:`cnnlab.config.build_model`. :func:`network_key` names what a config builds for an
input, so page caches (ledgers, feature maps) can key on it instead of on the module.

```python
net = random_network(RunConfig(model="lenet5", seed=0), DATASETS["cifar10"])
net = trained_network(run_id)          # net.random_twin: the weights training started from
ledger_key = network_key(config, (3, 32, 32), 10)
```
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from torch import nn

from cnnlab import features, runs
from cnnlab.config import RunConfig, build_model
from cnnlab.data import DatasetInfo
from cnnlab.errors import CNNLabError
from cnnlab.shapes.memory import check_activations

# The RunConfig fields that decide a network's architecture and initial weights.
NETWORK_FIELDS = ("model", "custom_source", "activation", "batchnorm", "dropout", "width", "seed")
CHECKPOINTS = ("best", "last")


@dataclass(frozen=True)
class Network:
    """A network with weights and the input pipeline it expects.

    ``key`` identifies the weights (what caches of its outputs key on); a trained
    network also carries ``random_twin``, the same architecture with the seeded
    weights its training started from, under ``random_key``.
    """

    key: str
    model: nn.Module
    info: DatasetInfo
    run_id: str | None = None
    random_twin: nn.Module | None = None
    random_key: str | None = None


def network_key(
    config: RunConfig,
    input_shape: Sequence[int],
    num_classes: int,
    info: DatasetInfo | None = None,
) -> str:
    """A short name for the network ``config`` builds for ``(C, H, W)`` inputs.

    Equal keys mean equal architecture and equal seeded weights (and, with ``info``,
    the same input normalisation); the fields of the config that do not change the
    network (epochs, learning rate, ...) do not change the key.
    """
    parts = {name: getattr(config, name) for name in NETWORK_FIELDS}
    parts["input_shape"] = [int(d) for d in input_shape]
    parts["num_classes"] = int(num_classes)
    parts["info"] = asdict(info) if info is not None else None
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    return f"{config.model}:{digest}"


def random_network(config: RunConfig, info: DatasetInfo) -> Network:
    """``config``'s network for ``info``'s inputs with weights seeded by ``config.seed``.

    ModelSpecError when the preset, its options or the custom source cannot be built;
    ShapeError when one forward pass would need more memory than the app allows.
    """
    model = features.build_seeded(
        lambda: build_model(config, info.input_shape, info.num_classes), config.seed
    )
    check_activations(model, (1, *info.input_shape))  # ShapeError before any forward pass
    return Network(network_key(config, info.input_shape, info.num_classes, info), model, info)


def checkpoint_version(
    run_id: str, which: str = "best", runs_dir: str | os.PathLike[str] | None = None
) -> float:
    """The checkpoint file's modification time: a new ``best.pt`` is a new version.

    OSError when the file is missing; RunError for a ``which`` other than best/last.
    """
    return runs.checkpoint_path(run_id, which, runs_dir).stat().st_mtime


def trained_network(
    run_id: str, which: str = "best", runs_dir: str | os.PathLike[str] | None = None
) -> Network:
    """The trained weights of a run (eval mode, CPU) with its random-init twin.

    CheckpointError (a CNNLabError) for an unreadable or mismatched checkpoint,
    OSError when the file is missing.
    """
    version = checkpoint_version(run_id, which, runs_dir)
    model, payload = runs.load_trained_model(run_id, which, runs_dir)
    twin = random_network(  # also bounds the activations of the shared architecture
        RunConfig.from_dict(payload["config"]), features.checkpoint_input(payload)
    )
    return Network(
        key=f"run:{run_id}:{which}:{version}",
        model=model,
        info=twin.info,
        run_id=run_id,
        random_twin=twin.model,
        random_key=twin.key,
    )


def finished_runs(runs_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """run id -> label ("name · model on dataset · 61.2 %"), for runs with a best checkpoint.

    Empty when the run store cannot be read: the page then offers random weights only.
    """
    try:
        listed = runs.list_runs(runs_dir)
    except (CNNLabError, OSError):
        return {}
    labels: dict[str, str] = {}
    for run in listed:
        if runs.checkpoint_path(run.id, "best", runs_dir).exists():
            accuracy = f" · {100 * run.best_acc:.1f} %" if run.best_acc is not None else ""
            labels[run.id] = f"{run.name or run.id} · {run.model} on {run.dataset}{accuracy}"
    return labels
