"""The example sources the pages offer, and the parser-error excerpt shown under the editor."""

from __future__ import annotations

import pytest
import torch

from cnnlab.errors import ModelSpecError
from cnnlab.models import error_excerpt, parse_sequential
from cnnlab.models.examples import BROKEN_LINEAR, SEED_001, SMALL_CONVS
from cnnlab.shapes import trace


def test_seed_001_example_classifies_cifar_images() -> None:
    model = parse_sequential(SEED_001)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)  # [N, classes]
    assert SEED_001.startswith("import torch.nn as nn\n\n# The CIFAR-10 network of seed 001")


def test_broken_example_differs_only_in_its_classifier_and_breaks_there() -> None:
    ledger = trace(parse_sequential(BROKEN_LINEAR), (1, 3, 32, 32))
    assert ledger.error is not None and "nn.Linear(1024, 120)" in ledger.error.fix
    conv_lines = [line for line in SEED_001.splitlines() if "Conv2d" in line or "Pool" in line]
    assert conv_lines and all(line in BROKEN_LINEAR.splitlines() for line in conv_lines)


def test_small_convs_keep_spatial_maps() -> None:
    assert parse_sequential(SMALL_CONVS)(torch.zeros(1, 3, 32, 32)).shape == (1, 32, 8, 8)


def test_error_excerpt_points_a_caret_at_the_column() -> None:
    source = "nn.Sequential(\n    nn.Conv2d(3, 16, 3),\n    __import__('os'),\n)"
    with pytest.raises(ModelSpecError) as caught:
        parse_sequential(source)
    excerpt = error_excerpt(source, caught.value)
    assert excerpt is not None
    numbered, caret = excerpt.splitlines()
    assert numbered == "  3 |     __import__('os'),"
    assert caret.index("^") - len("    | ") == caught.value.col
    assert error_excerpt(source, ModelSpecError("no line")) is None
