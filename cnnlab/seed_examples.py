"""The course notes' worked examples for the output-size lab, as the lab's form values.

Each example maps the lab's widget keys (``os_*``) to values, plus the numbers of the
small input ``grid`` and ``kernel`` the sliding window shows; ``example_state`` gives
the whole form for one example. Kernels and grids are copied from the seeds exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

GRID_001 = [[1, 2, 0, 3, 1], [0, 1, 2, 3, 1], [1, 2, 1, 0, 0], [5, 2, 3, 1, 1], [2, 1, 0, 1, 1]]
KERNEL_001 = [[1, 2, 1], [0, 1, 0], [2, 1, 0]]
GRID_000 = [[3, 4, 6, 5, 7], [2, 4, 6, 8, 2], [1, 6, 7, 8, 4], [9, 7, 4, 6, 2], [3, 7, 5, 4, 1]]
KERNEL_000 = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
POOL_000 = [[3, 4, 6, 5], [2, 4, 6, 8], [1, 6, 7, 8], [9, 7, 4, 6]]
GRID_004 = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]

DEFAULTS: dict[str, Any] = {
    "os_layer": "Conv2d", "os_in_c": 1, "os_out_c": 1, "os_kh": 3, "os_kw": 3,
    "os_sh": 1, "os_sw": 1, "os_pad_kind": "number", "os_ph": 0, "os_pw": 0,
    "os_dh": 1, "os_dw": 1, "os_groups": 1, "os_bias": False, "os_pmode": "zeros",
    "os_ceil": False, "os_cip": True, "os_pool_stride_default": True, "os_oph": 0, "os_opw": 0,
    "os_out_h": 1, "os_out_w": 1, "os_in_f": 1024, "os_out_f": 64, "os_start_dim": 1,
    "os_end_dim": -1, "os_batched": True, "os_n": 1, "os_c": 1, "os_h": 5, "os_w": 5,
    "os_f": 1024, "os_step": 0, "os_scatter": 0, "os_pm_pad": 1, "os_pm_img_pad": 6,
    "os_pm_image": 0, "os_target": 4,
}  # fmt: skip


def _conv(kernel: list[list[float]], grid: list[list[float]], **extra: Any) -> dict[str, Any]:
    h, w = len(grid), len(grid[0])
    return {"os_layer": "Conv2d", "os_kh": len(kernel), "os_kw": len(kernel[0]), "os_h": h,
            "os_w": w, "grid": grid, "kernel": kernel, **extra}  # fmt: skip


def _pool(kind: str, k: int, grid: list[list[float]], **extra: Any) -> dict[str, Any]:
    return {"os_layer": kind, "os_kh": k, "os_kw": k, "os_h": len(grid), "os_w": len(grid[0]),
            "grid": grid, **extra}  # fmt: skip


PRESETS: dict[str, dict[str, Any]] = {
    "seed 001: 5x5 with 3x3 kernel": _conv(KERNEL_001, GRID_001),
    "seed 001: the same at stride 2": _conv(KERNEL_001, GRID_001, os_sh=2, os_sw=2),
    "seed 001: padding=1 keeps 5x5": _conv(KERNEL_001, GRID_001, os_ph=1, os_pw=1),
    "seed 000: padding=1 with kernel 1..9": _conv(KERNEL_000, GRID_000, os_ph=1, os_pw=1),
    "seed 000: stride=2 with kernel 1..9": _conv(KERNEL_000, GRID_000, os_sh=2, os_sw=2),
    "seed 000: 4x4 MaxPool2d(2)": _pool("MaxPool2d", 2, POOL_000),
    "seed 001/002: MaxPool2d(3) ceil_mode=True": _pool("MaxPool2d", 3, GRID_001, os_ceil=True),
    "seed 001/002: MaxPool2d(3) ceil_mode=False": _pool("MaxPool2d", 3, GRID_001),
    "ceil_mode drops a window: MaxPool2d(3, stride=3, padding=1)": _pool(
        "MaxPool2d", 3, GRID_001, os_ceil=True, os_pool_stride_default=False, os_sh=3,
        os_sw=3, os_ph=1, os_pw=1,
    ),
    "AvgPool2d(2) ceil_mode: the partial corner window": _pool(
        "AvgPool2d", 2, GRID_001, os_ceil=True
    ),
    "dilation 2: a 3x3 kernel that spans 5x5": _conv(
        KERNEL_001, [[*row, 1, 0] for row in GRID_001] + [[1, 0, 2, 1, 0, 1, 2]] * 2,
        os_dh=2, os_dw=2,
    ),
    "seed 004: 224x224, 5x5 kernels: how many layers to reach 4x4?": _conv(
        [[1] * 5] * 5, [[(r + c) % 5 for c in range(10)] for r in range(10)], os_h=224,
        os_w=224, os_target=4,
    ),
    "seed 004: reflect padding, 1x1 kernel on 1..16": _conv(
        [[1]], GRID_004, os_ph=1, os_pw=1, os_pmode="reflect"
    ),
    "ConvTranspose2d: stride 2 doubles 3x3 to 6x6": {
        "os_layer": "ConvTranspose2d", "os_kh": 3, "os_kw": 3, "os_sh": 2, "os_sw": 2,
        "os_ph": 1, "os_pw": 1, "os_oph": 1, "os_opw": 1, "os_h": 3, "os_w": 3,
        "grid": [[1, 2, 0], [0, 1, 3], [2, 1, 1]], "kernel": KERNEL_001,
    },
    "seed 002: CIFAR-10 [64,3,32,32] -> Conv2d(3, 6, 3)": {
        "os_layer": "Conv2d", "os_in_c": 3, "os_out_c": 6, "os_bias": True, "os_n": 64,
        "os_c": 3, "os_h": 32, "os_w": 32,
    },
    "seed 001: CIFAR-10 Conv2d(3, 32, 5, padding=2)": {
        "os_layer": "Conv2d", "os_in_c": 3, "os_out_c": 32, "os_kh": 5, "os_kw": 5, "os_ph": 2,
        "os_pw": 2, "os_bias": True, "os_n": 64, "os_c": 3, "os_h": 32, "os_w": 32,
    },
    "seed 000: Conv2d(5, 10, 3) on 100x100": {
        "os_layer": "Conv2d", "os_in_c": 5, "os_out_c": 10, "os_bias": True, "os_n": 1,
        "os_c": 5, "os_h": 100, "os_w": 100,
    },
    "seed 001: Flatten [64,64,4,4] -> 1024": {
        "os_layer": "Flatten", "os_n": 64, "os_c": 64, "os_h": 4, "os_w": 4,
    },
    "seed 001: Linear(1024, 64)": {
        "os_layer": "Linear", "os_in_f": 1024, "os_out_f": 64, "os_bias": True, "os_n": 64,
        "os_f": 1024,
    },
}  # fmt: skip
SEED_NOTES = {
    "seed 000: padding=1 with kernel 1..9": (
        "Seed 000 defines `convlayer` but then calls `conv_layer(input)`, which raises a "
        "NameError. The code below uses one name throughout."
    ),
    "seed 004: reflect padding, 1x1 kernel on 1..16": (
        "Seed 004 builds its input with `torch.range(1, 48)`, which is deprecated (and "
        "includes its end); `torch.arange(1, 49.)` gives the same values."
    ),
}

SEED_004_CODE = (
    "import torch\nfrom torch import nn\n\n"
    "x = torch.arange(1, 49.).reshape(1, 3, 4, 4)  # seed 004 used the deprecated "
    "torch.range(1, 48)\n"
    "conv = nn.Conv2d(3, 3, 1, padding=1, padding_mode='reflect', bias=False)\n"
    "conv.weight.data = torch.ones(3, 3, 1, 1)\n"
    "print(conv(x).shape)  # torch.Size([1, 3, 6, 6])\n\n"
    "# the padding alone, without a conv:\n"
    "import torch.nn.functional as F\n"
    "print(F.pad(x, (1, 1, 1, 1), mode='reflect'))  # also 'replicate', 'circular', "
    "'constant'"
)


def example_state(name: str) -> dict[str, Any]:
    """Every form value for the example ``name``: the defaults, the example's own values,
    and its grid and kernel as floats (``os_grid``, ``os_kernel``)."""
    preset = PRESETS[name]
    state = DEFAULTS | {key: value for key, value in preset.items() if key.startswith("os_")}
    state["os_grid"] = [list(map(float, r)) for r in preset.get("grid", GRID_001)]
    state["os_kernel"] = [list(map(float, r)) for r in preset.get("kernel", KERNEL_001)]
    return state


def example_id(name: str) -> str:
    """The URL-safe id of an example (``?example=<id>`` on the output-size page)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


EXAMPLE_IDS: dict[str, str] = {example_id(name): name for name in PRESETS}
OUTPUT_SIZE = "pages/output_size.py"
NETWORK = "pages/network.py"


@dataclass(frozen=True)
class NoteLink:
    """A link from a home-page card to the page set to one of the note's examples."""

    label: str
    page: str
    params: dict[str, str] = field(default_factory=dict)


def _example(label: str, name: str) -> NoteLink:
    return NoteLink(label, OUTPUT_SIZE, {"example": example_id(name)})


def _preset(label: str, model: str) -> NoteLink:
    return NoteLink(label, NETWORK, {"preset": model})


# Where each course note's examples live in the app (the home page's cards): the note,
# what it shows, and links that open a page already set to that example (first = main).
SEED_GUIDE: tuple[tuple[str, str, tuple[NoteLink, ...]], ...] = (
    ("000 · Conv2d, padding, stride, MNIST CNN",
     "the 5x5 grid with kernel 1..9 (padding 1 → 91, 168, 224…; stride 2 → [[211, 262], "
     "[251, 169]]), MaxPool2d(2); the mnist_net preset (8,490 parameters)",
     (_example("padding 1 → 91, 168, 224", "seed 000: padding=1 with kernel 1..9"),
      _example("stride 2 → [[211, 262], …]", "seed 000: stride=2 with kernel 1..9"),
      _example("MaxPool2d(2) → [[4, 8], [9, 8]]", "seed 000: 4x4 MaxPool2d(2)"),
      _preset("mnist_net's ledger", "mnist_net"))),
    ("001 · F.conv2d, the size formula, ceil_mode, Sequential",
     "seq_cifar's shape table (145,578 parameters, 64·4·4 = 1024 into the first Linear); "
     "the 5x5 grid with kernel [[1,2,1],[0,1,0],[2,1,0]] at stride 1 and 2, MaxPool2d(3) "
     "with and without ceil_mode",
     (_preset("seq_cifar's shape table", "seq_cifar"),
      _example("5x5 grid, 3x3 kernel", "seed 001: 5x5 with 3x3 kernel"),
      _example("the same at stride 2", "seed 001: the same at stride 2"))),
    ("002 · Conv2d/MaxPool2d parameters, TensorBoard images",
     "MaxPool2d(3) on a 5x5 input with ceil_mode True (2x2) vs False (1x1); "
     "[64, 3, 32, 32] → Conv(3, 6, 3) → [64, 6, 30, 30]; all six channels shown as "
     "feature maps instead of reshaped to fake RGB",
     (_example("MaxPool2d(3), ceil_mode=True", "seed 001/002: MaxPool2d(3) ceil_mode=True"),
      _example("ceil_mode=False", "seed 001/002: MaxPool2d(3) ceil_mode=False"),
      _example("[64, 3, 32, 32] → Conv(3, 6, 3)",
               "seed 002: CIFAR-10 [64,3,32,32] -> Conv2d(3, 6, 3)"),
      NoteLink("six channels as feature maps", "pages/feature_maps.py"))),
    ("003 · the CIFAR-10 classifier",
     "the lenet5 preset (62,006 parameters, 16·5·5 = 400 into Linear(400, 120)) trained "
     "with the seed's recipe (SGD lr 0.001, momentum 0.9, batch 4, 2 epochs), with the "
     "corrected loop",
     (_preset("LeNet-5's ledger", "lenet5"),
      NoteLink("train it with the seed's recipe", "pages/train.py"))),
    ("004 · why convolution, padding modes, MNIST CNN with Adam",
     "224x224 with 5x5 kernels: how many layers to reach 4x4? (55); zeros/reflect/"
     "replicate/circular padding side by side; padding = (k-1)/2 keeps the size; the "
     "mnist_cnn preset (20,490 parameters)",
     (_example("224x224 → 4x4: how many layers?",
               "seed 004: 224x224, 5x5 kernels: how many layers to reach 4x4?"),
      _example("reflect padding on 1..16", "seed 004: reflect padding, 1x1 kernel on 1..16"),
      _preset("mnist_cnn's ledger", "mnist_cnn"))),
)  # fmt: skip
