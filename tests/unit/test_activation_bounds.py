"""Networks with few parameters but enormous activations are refused from the shape
arithmetic before any forward pass runs (issue 9: 52 parameters, 8 GB of RSS)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from cnnlab import features, models
from cnnlab.config import RunConfig
from cnnlab.data import DATASETS
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.networks import random_network
from cnnlab.shapes import trace
from cnnlab.shapes.memory import SERVER_LIMIT, TRAIN_LIMIT, footprint

REPO = Path(__file__).resolve().parents[2]
TRANSPOSED = (
    "nn.Sequential(nn.ConvTranspose2d(3, 3, 1, stride=300), nn.AdaptiveAvgPool2d(1), "
    "nn.Flatten(), nn.Linear(3, 10))"
)
ADAPTIVE = "nn.Sequential(nn.AdaptiveAvgPool2d(6000), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 10))"
HOSTILE = [TRANSPOSED, ADAPTIVE]


@pytest.mark.parametrize("source", HOSTILE)
def test_validation_refuses_with_layer_shape_bytes_and_limit(source: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RunConfig(model="custom", custom_source=source, dataset="cifar10").validate()
    message = str(caught.value)
    assert "layer 0" in message and "256 MiB" in message
    assert "GiB" in message or "MiB" in message
    assert "(2, 3, 9301, 9301)" in message or "(2, 3, 6000, 6000)" in message
    assert len(message) < 400


_MEASURE = """
import json, resource, sys
from cnnlab.config import RunConfig
from cnnlab.errors import CNNLabError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    RunConfig(model="custom", custom_source=sys.argv[1], dataset="cifar10").validate()
    outcome = "accepted"
except CNNLabError as error:
    outcome = str(error)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_kib": after - before, "outcome": outcome}))
"""


@pytest.mark.parametrize("source", HOSTILE)
def test_validation_peak_rss_stays_small(source: str) -> None:
    """A real measurement: the process's peak RSS (ru_maxrss, KiB on Linux) barely moves."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, source],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "limit" in result["outcome"]
    assert result["grew_kib"] < 100 * 1024  # the old forward pass peaked at 2-8 GB


@pytest.mark.parametrize("source", HOSTILE)
def test_feature_maps_network_is_refused_before_it_runs(source: str) -> None:
    config = RunConfig(model="custom", custom_source=source)
    with pytest.raises(ShapeError, match="256 MiB"):
        random_network(config, DATASETS["cifar10"])
    model = models.parse_sequential(source)
    before = features.forward_passes()
    with pytest.raises(ShapeError, match="feature maps"):
        features.feature_maps(model, torch.zeros(1, 3, 32, 32))
    with pytest.raises(ShapeError):
        features.predict(model, torch.zeros(1, 3, 32, 32), DATASETS["cifar10"].classes)
    if source == TRANSPOSED:  # Grad-CAM needs a convolution
        with pytest.raises(ShapeError, match="Grad-CAM"):
            features.grad_cam(model, torch.zeros(1, 3, 32, 32), 0)
    assert features.forward_passes() == before


class _Blowup(nn.Module):
    """A custom forward() (traced by running it) that blows a 32x32 image up to 9301x9301."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 3, 1, stride=300)
        self.head = nn.Linear(3, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.up(x).mean(dim=(2, 3)))


def test_ledger_does_not_run_a_custom_forward_that_is_too_large() -> None:
    ledger = trace(_Blowup(), (3, 32, 32))
    assert ledger.error is not None
    assert "up (ConvTranspose2d)" in ledger.error.message and "256 MiB" in ledger.error.message
    assert ledger.rows == ()


def test_ledger_of_a_chain_still_shows_a_large_network_by_formulas() -> None:
    """The Network page keeps explaining big networks: formulas hold no memory."""
    ledger = trace(models.parse_sequential(TRANSPOSED), (1, 3, 32, 32))
    assert ledger.error is None and ledger.totals.activation_bytes > SERVER_LIMIT


@pytest.mark.parametrize("name", models.list_models())
def test_every_preset_fits_the_app_and_its_own_training_batch(name: str) -> None:
    info = models.model_info(name)
    model = models.build(name)
    assert footprint(model, (2, *info.native_input)).total_bytes < SERVER_LIMIT
    batch = (info.recipe.batch_size, *info.native_input)
    assert footprint(model, batch).total_bytes < TRAIN_LIMIT


def test_training_batch_over_the_limit_names_a_batch_size_that_fits() -> None:
    source = "nn.Sequential(nn.Conv2d(3, 256, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10))"
    config = RunConfig(model="custom", custom_source=source, batch_size=4096)
    with pytest.raises(ConfigError, match="limit for training") as caught:
        config.validate()
    fitting = int(str(caught.value).rsplit("batch size of at most ", 1)[1].split()[0])
    assert 1 < fitting < 4096
    config.replace(batch_size=fitting).validate()


def test_trainer_cli_refuses_before_loading_anything(runs_dir: Path) -> None:
    """The trainer validates the same way: one line, exit 2, no run recorded."""
    done = subprocess.run(
        [sys.executable, "-m", "cnnlab.train", "--model", "custom", "--custom-source",
         TRANSPOSED, "--runs-dir", str(runs_dir), "--quiet"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and "256 MiB" in done.stderr
    assert not (runs_dir / "runs.sqlite").exists()
