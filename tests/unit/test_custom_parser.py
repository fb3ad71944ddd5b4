"""The custom nn.Sequential parser: what it builds, and everything it refuses (with the line)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from cnnlab.errors import ModelSpecError
from cnnlab.models import parse_sequential, to_code


def test_parses_the_seed_001_network_into_real_layers() -> None:
    source = """
import torch.nn as nn

model = nn.Sequential(
    nn.Conv2d(3, 32, 5, padding=2),  # keeps 32x32
    nn.MaxPool2d(2),
    nn.Conv2d(32, 32, 5, padding=2),
    nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 5, padding=2),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(64 * 4 * 4, 64),
    nn.Linear(64, 10),
)
"""
    model = parse_sequential(source)
    expected = nn.Sequential(
        nn.Conv2d(3, 32, 5, padding=2), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 5, padding=2), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1024, 64), nn.Linear(64, 10),
    )  # fmt: skip
    assert repr(model) == repr(expected)
    assert sum(p.numel() for p in model.parameters()) == 145_578
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_accepts_torch_nn_bare_names_ordered_dict_and_literal_forms() -> None:
    source = """from collections import OrderedDict
from torch import nn
import torch
net = torch.nn.Sequential(OrderedDict([
    ("conv", Conv2d(1, 8, (3, 5), stride=[1, 2], padding=(1, 2), bias=False)),
    ("act", nn.LeakyReLU(negative_slope=-0.1 + 0.2)),
    ("pool", nn.AvgPool2d(2, ceil_mode=True, divisor_override=None)),
    ("block", nn.Sequential(nn.Dropout2d(p=0.25), nn.GELU(approximate="tanh"))),
    ("gap", nn.AdaptiveAvgPool2d((None, 1))),
    ("flat", nn.Flatten(start_dim=1, end_dim=-1)),
    ("fc", nn.Linear(8 * 14 // 1, 2 ** 3)),
]))
"""
    model = parse_sequential(source)
    assert list(model._modules) == ["conv", "act", "pool", "block", "gap", "flat", "fc"]
    assert model.conv.kernel_size == (3, 5) and model.conv.stride == (1, 2)
    assert model.conv.bias is None
    assert model.act.negative_slope == pytest.approx(0.1)
    assert model.fc.in_features == 112 and model.fc.out_features == 8
    assert model(torch.randn(1, 1, 28, 28)).shape == (1, 8)


def refused(source: str) -> ModelSpecError:
    with pytest.raises(ModelSpecError) as caught:
        parse_sequential(source)
    return caught.value


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        ("__import__('os')", 1, "`__import__` is not allowed"),
        ("nn.Sequential(\n  nn.ReLU(),\n  __import__('os').system('x'),\n)", 3, "is not a torch.nn layer"),
        ("os.system('x')", 1, "`os.system` is not a torch.nn layer"),
        ("nn.Sequential(nn.ReLU(), os.system('echo hi'))", 1, "`os.system` is not a torch.nn layer"),
        ("nn.Sequential(torch.load('weights.pt'))", 1, "`torch.load` is not a torch.nn layer"),
        ("nn.Sequential(nn.Conv2d.__init__(3, 1, 1))", 1, "not a torch.nn layer"),
        ("nn.Sequential(nn.__dict__())", 1, "`__dict__` is not allowed"),
        ("nn.Sequential(torch.nn.modules.conv.Conv2d(1, 1, 1))", 1, "not a torch.nn layer"),
        ("import os\nnn.Sequential(nn.ReLU())", 1, "`import os` is not allowed"),
        ("from os import system\nnn.Sequential(nn.ReLU())", 1, "`import os` is not allowed"),
        ("size = 3\nnn.Sequential(nn.Conv2d(3, 16, size))", 1, "variables cannot be used"),
        ("nn.Sequential(nn.Conv2d(3, 16, size))", 1, "argument 3 of nn.Conv2d must be a literal number, not a name"),
        ("nn.Sequential(\n  nn.Linear(in_features=n, out_features=10))", 2, "argument `in_features` must be a literal number, not a name"),
        ("nn.Sequential(nn.Linear(int('3'), 10))", 1, "must be a literal, not a call"),
        ("nn.Sequential(nn.Linear(len([1]), 10))", 1, "not a call"),
        ("nn.Sequential(nn.Dropout(p=(lambda: 0.5)))", 1, "lambdas are not allowed"),
        ("nn.Sequential(*[nn.ReLU() for _ in range(3)])", 1, "*arguments are not allowed"),
        ("nn.Sequential(nn.Conv2d(*[3, 16, 3]))", 1, "*arguments are not allowed"),
        ("nn.Sequential(nn.Conv2d(3, 16, [k for k in (3,)]))", 1, "comprehensions are not allowed"),
        ("nn.Sequential(nn.Conv2d(**{'in_channels': 3}))", 1, "**keyword arguments are not allowed"),
        ("nn.Sequential(nn.Linear(3, 10, device='cuda'))", 1, "`device=` is not accepted"),
        ("nn.Sequential(nn.Conv2d(3, 16, nn.ReLU))", 1, "not an attribute"),
        ("nn.Sequential(nn.Linear(10 ** 10 ** 10, 1))", 1, "too large"),
        ("def f():\n    pass", 1, "FunctionDef statement is not supported"),
        ("nn.Sequential(nn.ReLU())\nnn.Sequential(nn.ReLU())", 2, "second network"),
    ],
)  # fmt: skip
def test_refuses_anything_but_literal_nn_layers_and_points_at_the_line(
    source: str, line: int, words: str
) -> None:
    error = refused(source)
    assert error.line == line
    assert str(error).startswith(f"line {line}: ")
    assert words in str(error)


def test_nothing_in_the_source_is_ever_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    sources = [
        f"nn.Sequential(open({str(marker)!r}, 'w'))",
        f"nn.Sequential(nn.Linear(open({str(marker)!r}, 'w').write('x'), 1))",
        f"__import__('pathlib').Path({str(marker)!r}).touch()",
        f"nn.Sequential(nn.ReLU())\n__import__('pathlib').Path({str(marker)!r}).touch()",
    ]
    for source in sources:
        refused(source)
    assert not marker.exists()


def test_syntax_error_gives_the_line_and_column() -> None:
    error = refused("nn.Sequential(\n    nn.Conv2d(3, 16, 3),\n    nn.ReLU() nn.Flatten(),\n)")
    assert error.line == 3
    assert error.col is not None
    assert "syntax error" in str(error)


def test_unknown_layer_names_the_line_and_lists_the_allowed_layers() -> None:
    error = refused("nn.Sequential(\n    nn.Conv2d(3, 16, 3),\n    nn.Conv3d(16, 16, 3),\n)")
    assert str(error).startswith("line 3: nn.Conv3d is not available here; allowed layers are")
    assert "nn.Conv2d" in str(error) and "nn.Linear" in str(error)
    assert error.col == 4


def test_unknown_keyword_says_which_arguments_exist() -> None:
    error = refused("nn.Sequential(\n  nn.Conv2d(3, 16, 3, size=2))")
    assert error.line == 2
    assert "nn.Conv2d has no argument `size`" in str(error)
    assert "kernel_size" in str(error)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("nn.Sequential(nn.Conv2d(3, 16, 0))", "`kernel_size` must be at least 1"),
        ("nn.Sequential(nn.Conv2d(3, 16, 3, stride=0))", "`stride` must be at least 1"),
        ("nn.Sequential(nn.Conv2d(3, 16, 3, padding=-1))", "`padding` cannot be negative"),
        ("nn.Sequential(nn.Conv2d(3, 16, 3, groups=2))", "refuses these arguments"),
        ("nn.Sequential(nn.Conv2d(3, 16, 3, padding='same', stride=2))", "refuses these arguments"),
        ("nn.Sequential(nn.Dropout(1.5))", "refuses these arguments"),
        ("nn.Sequential(nn.Conv2d(3, 16))", "missing a required argument"),
        ("nn.Sequential(nn.Linear(100000, 100000))", "parameters"),
        ("nn.Sequential(nn.Conv2d(3.5, 16, 3))", "whole number"),
        ("nn.Sequential()", "empty"),
        ("nn.Conv2d(3, 16, 3)", "must be an nn.Sequential"),
        ("", "empty"),
    ],
)
def test_bad_layer_arguments_become_model_spec_errors(source: str, words: str) -> None:
    error = refused(source)
    assert words in str(error)
    if source:
        assert error.line == 1


def test_to_code_of_a_parsed_network_parses_back_identically() -> None:
    source = (
        "nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, dilation=2, groups=1), nn.BatchNorm2d(8,"
        " momentum=0.2), nn.ELU(alpha=0.5), nn.MaxPool2d(3, stride=1, ceil_mode=True), nn.Sequential("
        "nn.ConvTranspose2d(8, 4, 2, stride=2, output_padding=1), nn.SiLU()), nn.AdaptiveMaxPool2d(2), "
        "nn.Flatten(), nn.Dropout(0.1), nn.Linear(16, 5, bias=False), nn.BatchNorm1d(5), nn.Identity(), "
        "nn.Softmax(dim=1))"
    )
    model = parse_sequential(source)
    code = to_code(model)
    assert "import torch.nn as nn" in code and "OrderedDict" not in code
    again = parse_sequential(code)
    assert repr(again) == repr(model)
    assert again(torch.randn(2, 3, 16, 16)).shape == (2, 5)
