"""cnnlab.seed_examples and the output-size helpers in cnnlab.windows, without the page."""

from __future__ import annotations

import pytest
import torch

from cnnlab.seed_examples import DEFAULTS, GRID_001, KERNEL_001, PRESETS, example_state
from cnnlab.windows import (
    PADDING_MODES,
    GridLayer,
    PaddedGrid,
    build_layer,
    grid_text,
    layer_call,
    pad_every_mode,
    pad_image_every_mode,
    resize_grid,
    slide,
)


def test_every_example_sets_every_widget_and_a_float_grid() -> None:
    for name in PRESETS:
        state = example_state(name)
        assert set(DEFAULTS) | {"os_grid", "os_kernel"} == set(state)
        assert all(isinstance(v, float) for row in state["os_grid"] for v in row)


def test_the_first_example_is_seed_001_and_slides_to_its_output() -> None:
    state = example_state(next(iter(PRESETS)))
    assert state["os_grid"] == [[float(v) for v in row] for row in GRID_001]
    result = slide(state["os_grid"], GridLayer.conv(state["os_kernel"]))
    assert state["os_kernel"] == [[float(v) for v in row] for row in KERNEL_001]
    assert result.output[0] == [10.0, 12.0, 12.0]  # seed 001's printed first row
    # an example's own values win over the defaults
    assert example_state("seed 001: the same at stride 2")["os_sh"] == 2


@pytest.mark.parametrize(
    ("layer_type", "params", "code"),
    [
        ("Conv2d", {"in_channels": 3, "out_channels": 6, "kernel_size": (3, 3),
                    "stride": (1, 1), "padding": (0, 0), "bias": True}, "nn.Conv2d(3, 6, kernel_size=3)"),
        ("MaxPool2d", {"kernel_size": (3, 3), "stride": None, "ceil_mode": True},
         "nn.MaxPool2d(kernel_size=3, ceil_mode=True)"),
        ("Conv2d", {"in_channels": 1, "out_channels": 1, "kernel_size": (3, 5),
                    "padding": "same"}, "nn.Conv2d(1, 1, kernel_size=(3, 5), padding='same')"),
    ],
)  # fmt: skip
def test_layer_call_is_the_shortest_torch_spelling(
    layer_type: str, params: dict[str, object], code: str
) -> None:
    assert layer_call(layer_type, params) == code
    built = build_layer(layer_type, **params)
    x = torch.zeros(1, int(params.get("in_channels", 1)), 7, 9)  # type: ignore[call-overload]
    assert eval(code, {"nn": torch.nn})(x).shape == built(x).shape  # the same layer


def test_resize_grid_keeps_what_fits() -> None:
    assert resize_grid([[1, 2], [3, 4]], 3, 1) == [[1.0], [3.0], [0.0]]


def test_every_padding_mode_or_its_refusal() -> None:
    padded = pad_every_mode([[1, 2], [3, 4]], 2)
    assert list(padded) == list(PADDING_MODES)
    assert isinstance(padded["zeros"], PaddedGrid) and padded["zeros"].values[0][0] == 0.0
    assert isinstance(padded["reflect"], str)  # reflect needs padding < size
    images = pad_image_every_mode(torch.zeros(3, 4, 4, dtype=torch.uint8), 1)
    assert images["circular"].shape == (3, 6, 6)


def test_grid_text_aligns_columns() -> None:
    assert grid_text([[1.0, 10.5], [-2.0, 3.0]]).splitlines() == ["    1   10.5", "   -2      3"]
