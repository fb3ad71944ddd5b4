"""cnnlab.windows: the seeds' numbers, and every window checked against torch."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import ShapeError
from cnnlab.windows import (
    GridLayer,
    build_layer,
    check_padding,
    fmt,
    pad_grid,
    pad_image,
    run_on_zeros,
    slide,
    to_code,
)

# seed 001 (and 002): the 5x5 input and the 3x3 kernel
GRID_001 = [[1, 2, 0, 3, 1], [0, 1, 2, 3, 1], [1, 2, 1, 0, 0], [5, 2, 3, 1, 1], [2, 1, 0, 1, 1]]
KERNEL_001 = [[1, 2, 1], [0, 1, 0], [2, 1, 0]]
# seed 000: the 5x5 input written as a flat list, kernel 1..9, and the 4x4 max-pool input
FLAT_000 = [3, 4, 6, 5, 7, 2, 4, 6, 8, 2, 1, 6, 7, 8, 4, 9, 7, 4, 6, 2, 3, 7, 5, 4, 1]
GRID_000 = [FLAT_000[i : i + 5] for i in range(0, 25, 5)]
KERNEL_000 = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
POOL_000 = [[3, 4, 6, 5], [2, 4, 6, 8], [1, 6, 7, 8], [9, 7, 4, 6]]


def test_seed_001_stride_1_and_2() -> None:
    assert slide(GRID_001, GridLayer.conv(KERNEL_001)).output == [
        [10, 12, 12],
        [18, 16, 16],
        [13, 9, 3],
    ]
    assert slide(GRID_001, GridLayer.conv(KERNEL_001, stride=2)).output == [[10, 12], [13, 3]]


def test_seed_001_padding_1_keeps_5x5() -> None:
    result = slide(GRID_001, GridLayer.conv(KERNEL_001, padding=1))
    assert len(result.output) == 5 and len(result.output[0]) == 5
    assert result.output[1][1:4] == [10, 12, 12]  # the unpadded result sits inside
    assert len(result.padded) == 7 and result.pad_mask[0] == [True] * 7
    assert result.pad_mask[1] == [True, False, False, False, False, False, True]


def test_seed_000_padding_1_first_row_and_text() -> None:
    result = slide(GRID_000, GridLayer.conv(KERNEL_000, padding=1))
    assert result.output[0] == [91, 168, 224, 215, 127]
    assert result.output[4] == [96, 112, 110, 68, 31]
    first = result.window(0, 0)
    assert first.text == "0·1 + 0·2 + 0·3 + 0·4 + 3·5 + 4·6 + 0·7 + 2·8 + 4·9 = 91"
    assert first.cells[0] == (0, 0) and first.cells[-1] == (2, 2)
    assert sum(first.products) == 91


def test_seed_000_stride_2() -> None:
    result = slide(GRID_000, GridLayer.conv(KERNEL_000, stride=2))
    assert result.output == [[211, 262], [251, 169]]
    assert result.window(0, 1).cells[0] == (0, 2)  # stride 2: the window starts two columns on


def test_seed_000_maxpool_2() -> None:
    result = slide(POOL_000, GridLayer.max_pool(2))
    assert result.output == [[4, 8], [9, 8]]
    assert result.window(1, 0).text == "max(1, 6, 9, 7) = 9"


def test_seed_001_maxpool_3_ceil_mode() -> None:
    kept = slide(GRID_001, GridLayer.max_pool(3, ceil_mode=True))
    assert kept.output == [[2, 3], [5, 1]]
    assert [w.partial for w in kept.windows] == [False, True, True, True]
    assert kept.window(0, 1).text == "max(3, 1, 3, 1, 0, 0) = 3"
    assert kept.window(0, 1).missing == ((0, 5), (1, 5), (2, 5))  # hangs past the grid
    assert kept.dropped == []
    assert slide(GRID_001, GridLayer.max_pool(3)).output == [[2]]


def test_ceil_mode_drops_a_window_that_would_start_in_the_right_padding() -> None:
    # ceil((5 + 2 - 3) / 3) + 1 = 3, but the third window would start at padded row 6,
    # inside the right padding, so torch keeps 2.
    result = slide(GRID_001, GridLayer.max_pool(3, stride=3, padding=1, ceil_mode=True))
    assert len(result.output) == 2
    assert [d.axis for d in result.dropped] == ["H", "W"]
    assert result.dropped[0].start == 6
    assert F.max_pool2d(torch.zeros(1, 1, 5, 5), 3, 3, 1, ceil_mode=True).shape[-1] == 2


def test_max_pool_padding_is_minus_infinity_and_avg_divisor_follows_torch() -> None:
    result = slide(GRID_001, GridLayer.max_pool(3, stride=2, padding=1))
    assert result.window(0, 0).text == "max(-∞, -∞, -∞, -∞, 1, 2, -∞, 0, 1) = 2"
    avg = slide(GRID_001, GridLayer.avg_pool(2, ceil_mode=True))
    assert avg.window(2, 2).text == "(1) / 1 = 1"  # the partial corner window divides by 1
    exclude = slide(GRID_001, GridLayer.avg_pool(3, stride=2, padding=1, count_include_pad=False))
    assert exclude.window(0, 0).text == "(1 + 2 + 0 + 1) / 4 = 1"


def test_transposed_conv_scatters_and_gathers() -> None:
    layer = GridLayer.conv_transpose(KERNEL_000, stride=2, padding=1, output_padding=1)
    result = slide([[1, 2], [3, 4]], layer)
    expected = F.conv_transpose2d(
        torch.tensor([[[[1.0, 2], [3, 4]]]]),
        torch.tensor(KERNEL_000, dtype=torch.float32)[None, None],
        stride=2,
        padding=1,
        output_padding=1,
    )[0, 0].tolist()
    assert result.output == expected
    assert result.window(0, 1).text == "1·6 + 2·4 = 14"
    first = result.scatters[0]
    assert first.targets == ((0, 0), (0, 1), (1, 0), (1, 1)) and first.cropped == 5
    assert first.text.startswith("in[0,0] = 1 scatters: out[0,0] += 1·5 = 5")


def test_padding_modes_match_torch_and_explain_their_limits() -> None:
    grid = [[1, 2, 3], [4, 5, 6]]
    assert pad_grid(grid, 1, "reflect").values[0] == [5, 4, 5, 6, 5]
    assert pad_grid(grid, 1, "replicate").values[0] == [1, 1, 2, 3, 3]
    assert pad_grid(grid, 1, "circular").values[0] == [6, 4, 5, 6, 4]
    assert pad_grid(grid, 1, "zeros").mask[1] == [True, False, False, False, True]
    with pytest.raises(ShapeError, match="padding < 2"):
        pad_grid(grid, 2, "reflect")
    with pytest.raises(ShapeError, match="padding ≤ 2"):
        pad_grid(grid, (3, 1), "circular")
    pad_grid(grid, (2, 3), "circular")  # wrapping exactly once is allowed
    assert len(pad_grid(grid, 5, "replicate").values) == 12


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_check_padding_refuses_exactly_where_torch_does(mode: str) -> None:
    x = torch.arange(12.0).view(1, 1, 3, 4)
    torch_mode = "constant" if mode == "zeros" else mode
    for ph in range(6):
        for pw in range(6):
            try:
                F.pad(x, (pw, pw, ph, ph), mode=torch_mode)
                torch_ok = True
            except (RuntimeError, ValueError):
                torch_ok = False
            try:
                check_padding(mode, (ph, pw), (3, 4))
                ours_ok = True
            except ShapeError:
                ours_ok = False
            assert ours_ok == torch_ok, (mode, ph, pw)


def test_pad_image_keeps_uint8_and_pads_every_channel() -> None:
    image = torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8, generator=torch.Generator())
    padded = pad_image(image, 2, "reflect")
    assert padded.dtype == torch.uint8 and padded.shape == (3, 12, 12)
    assert torch.equal(padded[:, 0, 2:-2], image[:, 2])  # row -2 mirrors row 2
    assert torch.equal(pad_image(image, 3, "circular")[:, 3:-3, :3], image[:, :, -3:])
    with pytest.raises(ShapeError):
        pad_image(image, 8, "reflect")


def _random_layer(rng: random.Random) -> GridLayer:
    kind = rng.choice(["conv", "conv_transpose", "max_pool", "avg_pool"])
    kh, kw = rng.randint(1, 4), rng.randint(1, 4)
    weights = [[rng.randint(-3, 3) for _ in range(kw)] for _ in range(kh)]
    stride = (rng.randint(1, 3), rng.randint(1, 3))
    padding = (rng.randint(0, 2), rng.randint(0, 2))
    dilation = (rng.randint(1, 2), rng.randint(1, 2))
    if kind == "conv":
        mode = rng.choice(["zeros", "reflect", "replicate", "circular"])
        return GridLayer.conv(weights, stride, padding, dilation, mode)
    if kind == "conv_transpose":
        output_padding = (rng.randint(0, 2), rng.randint(0, 2))
        return GridLayer.conv_transpose(weights, stride, padding, output_padding, dilation)
    if kind == "max_pool":
        return GridLayer.max_pool((kh, kw), stride, padding, dilation, rng.random() < 0.5)
    return GridLayer.avg_pool((kh, kw), stride, padding, rng.random() < 0.5, rng.random() < 0.5)


def _torch_module(layer: GridLayer) -> nn.Module:
    if layer.kind == "conv":
        module = nn.Conv2d(1, 1, layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                           bias=False, padding_mode=layer.padding_mode)  # fmt: skip
    elif layer.kind == "conv_transpose":
        module = nn.ConvTranspose2d(1, 1, layer.kernel_size, layer.stride, layer.padding,
                                    layer.output_padding, bias=False,
                                    dilation=layer.dilation)  # fmt: skip
    elif layer.kind == "max_pool":
        return nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                            ceil_mode=layer.ceil_mode)  # fmt: skip
    else:
        return nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding, layer.ceil_mode,
                            layer.count_include_pad)  # fmt: skip
    module.weight.data = torch.tensor(layer.weights, dtype=torch.float32)[None, None]
    return module


def test_random_configs_agree_with_the_torch_modules() -> None:
    """Every window's arithmetic reproduces torch's value, and we refuse exactly what torch does."""
    rng = random.Random(2)
    checked = refused = 0
    for _ in range(600):
        layer = _random_layer(rng)
        h, w = rng.randint(1, 6), rng.randint(1, 6)
        grid = [[rng.randint(-5, 9) for _ in range(w)] for _ in range(h)]
        try:
            expected = _torch_module(layer)(torch.tensor(grid, dtype=torch.float32)[None, None])
        except (RuntimeError, ValueError):
            with pytest.raises(ShapeError):
                slide(grid, layer)
            refused += 1
            continue
        result = slide(grid, layer)
        torch.testing.assert_close(
            torch.tensor(result.output, dtype=torch.float64),
            expected[0, 0].double(),
            atol=1e-4,
            rtol=0,
        )
        for window in result.windows:
            assert window.text.endswith(f"= {fmt(window.result)}")
            if layer.kind in ("conv", "conv_transpose"):
                assert sum(window.products) == pytest.approx(window.result, abs=1e-9)
                assert window.text.count("·") == len(window.cells)
            elif layer.kind == "max_pool":
                assert max(window.values) == window.result
            else:
                counted = [
                    v
                    for v, (r, c) in zip(window.values, window.cells, strict=True)
                    if layer.count_include_pad or not result.pad_mask[r][c]
                ]
                assert sum(counted) / len(counted) == pytest.approx(window.result, abs=1e-6)
        checked += 1
    assert checked > 200 and refused > 60  # the sweep covers both sides


def test_conv_windows_are_torch_unfold_columns() -> None:
    """The cells of every conv window, read from the padded grid, are F.unfold's columns."""
    rng = random.Random(5)
    for _ in range(100):
        layer = _random_layer(rng)
        if layer.kind != "conv":
            continue
        grid = [[rng.randint(0, 9) for _ in range(6)] for _ in range(6)]
        try:
            result = slide(grid, layer)
        except ShapeError:
            continue
        padded = torch.tensor(result.padded)[None, None]  # [1, 1, Hp, Wp]
        columns = F.unfold(padded, layer.kernel_size, dilation=layer.dilation,
                           stride=layer.stride)[0]  # fmt: skip  # [kh*kw, L]
        for index, window in enumerate(result.windows):
            assert list(window.values) == columns[:, index].tolist()


def test_run_on_zeros_runs_the_real_layer() -> None:
    conv = build_layer("Conv2d", in_channels=3, out_channels=6, kernel_size=3)
    run = run_on_zeros(conv, (64, 3, 32, 32))  # seed 002
    assert run is not None and run.output_shape == (64, 6, 30, 30)
    assert run_on_zeros(build_layer("Flatten"), (64, 64, 4, 4)).output_shape == (64, 1024)
    big = run_on_zeros(conv, (512, 3, 64, 64))  # over the limit: one sample, batch put back
    assert big is not None and big.ran_on == (1, 3, 64, 64)
    assert big.output_shape == (512, 6, 62, 62)
    with pytest.raises(ShapeError, match="torch refuses"):
        run_on_zeros(conv, (1, 4, 32, 32))
    with pytest.raises(ShapeError, match="cannot build"):
        build_layer("Conv2d", in_channels=3, out_channels=6, kernel_size=3, stride=2,
                    padding="same")  # fmt: skip


@pytest.mark.parametrize(
    "layer",
    [
        GridLayer.conv(KERNEL_000, padding=1),
        GridLayer.conv(KERNEL_001, stride=2, dilation=(1, 2), padding_mode="reflect", padding=1),
        GridLayer.conv(KERNEL_001, padding="same"),
        GridLayer.max_pool(3, ceil_mode=True),
        GridLayer.avg_pool((2, 3), stride=(2, 1), padding=1, count_include_pad=False),
        GridLayer.conv_transpose(KERNEL_001, stride=2, padding=1, output_padding=1),
    ],
)
def test_to_code_prints_what_slide_computes(layer: GridLayer) -> None:
    """The "In PyTorch" snippet the page shows runs and gives the same numbers."""
    namespace: dict = {"print": lambda *_: None}
    exec(to_code(GRID_000, layer), namespace)
    expected = torch.tensor(slide(GRID_000, layer).output, dtype=torch.float32)
    torch.testing.assert_close(namespace["out"][0, 0], expected)
