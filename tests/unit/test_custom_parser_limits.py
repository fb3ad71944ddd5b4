"""Hostile network source gets a short ModelSpecError, never a RecursionError, a
MemoryError or a megabyte of echoed text (issue 9)."""

from __future__ import annotations

import pytest

from cnnlab import models
from cnnlab.config import RunConfig
from cnnlab.errors import ConfigError, ModelSpecError
from cnnlab.models.custom import allowed_layers_text
from cnnlab.models.source_limits import MAX_SOURCE_CHARS

X = "x" * 15_000  # under the size cap, far over what a message may quote
CASES = {
    "100k additions": "nn.Sequential(nn.Linear(" + "1+" * 100_000 + "1, 2))",
    "100k unary minus": "nn.Sequential(nn.Linear(" + "-" * 100_000 + "1, 2))",
    "1 MB bad string": 'nn.Sequential(nn.Conv2d(3, 16, 3, padding="' + "x" * 2**20 + '"))',
    # under the size cap: the depth cap and the truncation do the work
    "9k additions": "nn.Sequential(nn.Linear(" + "1+" * 9_000 + "1, 2))",
    "5k unary minus": "nn.Sequential(nn.Linear(" + "-" * 5_000 + "1, 2))",
    "300 unary minus": "nn.Sequential(nn.Linear(" + "-" * 300 + "1, 2))",
    "long padding string": f'nn.Sequential(nn.Conv2d(3, 16, 3, padding="{X}"))',
    "long padding_mode": f'nn.Sequential(nn.Conv2d(3, 16, 3, padding_mode="{X}"))',
    "long layer name": f"nn.Sequential(nn.{X}())",
    "long keyword": f"nn.Sequential(nn.Conv2d(3, 16, 3, {X}=1))",
    "long variable": f"nn.Sequential(nn.Conv2d(3, 16, {X}))",
    "long import": f"import {X}\nnn.Sequential(nn.ReLU())",
    "long OrderedDict key": f'nn.Sequential(OrderedDict([("{X}.", nn.ReLU())]))',
    "long call": f"nn.Sequential(nn.Conv2d(3, 16, {X}()))",
    "unterminated string": f'nn.Sequential(nn.Conv2d(3, 16, 3, "{X}',
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_source_gets_a_short_clear_error(name: str) -> None:
    source = CASES[name]
    with pytest.raises(ModelSpecError) as caught:
        models.parse_sequential(source)
    message = str(caught.value)
    # the list of allowed layers is the lab's own text, not an echo of the input
    assert 20 < len(message.replace(allowed_layers_text(), "")) < 300, message
    assert "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" not in message
    excerpt = models.error_excerpt(source, caught.value)
    assert excerpt is None or len(excerpt) < 200


def test_the_caps_are_named_in_the_message() -> None:
    with pytest.raises(ModelSpecError, match=f"{MAX_SOURCE_CHARS:,}"):
        models.parse_sequential(CASES["1 MB bad string"])
    with pytest.raises(ModelSpecError, match="nested more than 100 levels"):
        models.parse_sequential(CASES["5k unary minus"])


def test_train_form_validation_says_the_same() -> None:
    config = RunConfig(model="custom", custom_source=CASES["100k unary minus"])
    with pytest.raises(ConfigError, match="limit is 20,000"):
        config.validate()


def test_an_ordinary_long_network_is_still_accepted() -> None:
    layers = ",\n".join(
        "    nn.Conv2d(16, 16, kernel_size=3, padding=1), nn.BatchNorm2d(16), nn.ReLU()"
        for _ in range(40)
    )
    source = (
        "import torch.nn as nn\n\nmodel = nn.Sequential(\n    nn.Conv2d(3, 16, 3, padding=1),\n"
        f"{layers},\n    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10),\n)\n"
    )
    assert len(models.parse_sequential(source)) == 1 + 3 * 40 + 3


def test_excerpt_of_a_long_line_is_a_window_around_the_column() -> None:
    source = "nn.Sequential(" + "nn.ReLU(), " * 500 + "nn.Nope())"
    with pytest.raises(ModelSpecError) as caught:
        models.parse_sequential(source)
    excerpt = models.error_excerpt(source, caught.value)
    assert excerpt is not None and "nn.Nope()" in excerpt and len(excerpt) < 200
    code, caret = excerpt.splitlines()
    column = caret.index("^") - len("    | ")
    assert code[len("  1 | ") :][column:].startswith("nn.Nope") or code[
        len("  1 | ") + column :
    ].startswith("Nope")
