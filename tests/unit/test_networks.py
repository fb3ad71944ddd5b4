"""cnnlab.networks: the network a page inspects, its identity key, and trained checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from cnnlab import networks
from cnnlab.config import CUSTOM, RunConfig
from cnnlab.data import DATASETS
from cnnlab.errors import ModelSpecError
from cnnlab.features import build_seeded, checkpoint_input
from cnnlab.models import build
from cnnlab.models.examples import SMALL_CONVS
from cnnlab.store import CHECKPOINT_FORMAT, RunStore, save_checkpoint

CIFAR = DATASETS["cifar10"]


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_key_follows_the_network_not_the_training_settings() -> None:
    base = RunConfig(model="lenet5")
    key = networks.network_key(base, (3, 32, 32), 10)
    assert networks.network_key(base.replace(lr=0.5, epochs=3), (3, 32, 32), 10) == key
    others = {
        networks.network_key(base.replace(seed=1), (3, 32, 32), 10),
        networks.network_key(base.replace(batchnorm=True), (3, 32, 32), 10),
        networks.network_key(base.replace(width=0.5), (3, 32, 32), 10),
        networks.network_key(base, (1, 28, 28), 10),
        networks.network_key(base, (3, 32, 32), 100),
        networks.network_key(base, (3, 32, 32), 10, CIFAR),
        networks.network_key(RunConfig(model=CUSTOM, custom_source=SMALL_CONVS), (3, 32, 32), 10),
    }
    assert key not in others and len(others) == 7


def test_random_preset_is_the_seeded_native_preset() -> None:
    net = networks.random_network(RunConfig(model="lenet5", seed=3), CIFAR)
    assert same_weights(net.model, build_seeded(lambda: build("lenet5"), 3))
    again = networks.random_network(RunConfig(model="lenet5", seed=3), CIFAR)
    assert net.key == again.key and same_weights(net.model, again.model)
    other = networks.random_network(RunConfig(model="lenet5", seed=4), CIFAR)
    assert other.key != net.key and not same_weights(other.model, net.model)
    assert not net.model.training and net.info == CIFAR and net.run_id is None


def test_mnist_preset_takes_one_channel() -> None:
    net = networks.random_network(RunConfig(model="mnist_cnn"), DATASETS["mnist"])
    assert net.model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)  # [1, classes]


def test_custom_source_and_a_refused_one() -> None:
    net = networks.random_network(RunConfig(model=CUSTOM, custom_source=SMALL_CONVS), CIFAR)
    assert net.model(torch.zeros(1, 3, 32, 32)).shape == (1, 32, 8, 8)  # [1, C, H, W]
    with pytest.raises(ModelSpecError, match="line 1"):
        networks.random_network(RunConfig(model=CUSTOM, custom_source="import os"), CIFAR)


def fake_run(runs_dir: Path, config: RunConfig, best_acc: float | None = 0.42) -> str:
    """A run row and a best.pt as the trainer writes them (weights: seed + 1, i.e. trained)."""
    store = RunStore(runs_dir)
    run_id = store.create_run(config.to_dict(), "quick", 1)
    store.update(run_id, status="finished", best_acc=best_acc)
    model = build_seeded(lambda: build(config.model), config.seed + 1)
    payload = {
        **config_payload(config),
        **{"format": CHECKPOINT_FORMAT, "run_id": run_id, "epoch": 1, "step": 8},
        "model": model.state_dict(),
    }
    save_checkpoint(store.run_dir(run_id) / "best.pt", payload)
    return run_id


def test_trained_network_with_its_random_twin(runs_dir: Path) -> None:
    config = RunConfig(model="lenet5", seed=5)
    run_id = fake_run(runs_dir, config)
    net = networks.trained_network(run_id)
    assert net.run_id == run_id and net.info.classes == CIFAR.classes
    assert net.info == checkpoint_input(config_payload(config))
    assert same_weights(net.model, build_seeded(lambda: build("lenet5"), 6))
    assert same_weights(net.random_twin, build_seeded(lambda: build("lenet5"), 5))
    assert net.random_key == networks.random_network(config, net.info).key
    assert str(networks.checkpoint_version(run_id)) in net.key
    with pytest.raises(OSError):
        networks.trained_network(run_id, "last")


def config_payload(config: RunConfig) -> dict:
    return {
        "config": config.to_dict(),
        "input_shape": [3, 32, 32],
        "classes": list(CIFAR.classes),
        "mean": list(CIFAR.mean),
        "std": list(CIFAR.std),
    }


def test_finished_runs_lists_only_runs_with_a_best_checkpoint(runs_dir: Path) -> None:
    assert networks.finished_runs() == {}
    run_id = fake_run(runs_dir, RunConfig(model="lenet5"))
    RunStore(runs_dir).create_run(RunConfig().to_dict(), "no weights yet", 1)
    assert networks.finished_runs() == {run_id: "quick · lenet5 on cifar10 · 42.0 %"}
