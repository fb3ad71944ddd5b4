"""Any network of the lab -> clean, runnable PyTorch source.

Each layer is written with its required arguments positionally and only the
keyword arguments that differ from torch's defaults, the way a person writes it:
``nn.Conv2d(3, 32, 5, padding=2)``. The result parses back with
:func:`cnnlab.models.parse_sequential` (the fast net needs its small class, which is
emitted too, and is therefore runnable Python rather than parser input).
"""

from __future__ import annotations

from torch import nn

from cnnlab.errors import ModelSpecError
from cnnlab.models.custom import ALLOWED_LAYERS
from cnnlab.models.fast import CLASS_SOURCE, FastCifarNet
from cnnlab.shapes.fixes import layer_code

_INDENT = "    "


def to_code(model: nn.Module) -> str:
    """Source defining ``model = ...`` for an ``nn.Sequential`` (nested allowed) or the fast net.

    Layer names are kept (``OrderedDict``) when they are not just 0, 1, 2 ...
    """
    if isinstance(model, FastCifarNet):
        body = _sequential_args(model, 0)
        scale = "" if model.logit_scale == 1 / 9 else f", logit_scale={model.logit_scale!r}"
        return (
            "from collections import OrderedDict\n\nimport torch.nn as nn\n\n\n"
            f"{CLASS_SOURCE}\n\nmodel = FastCifarNet({body}{scale})\n"
        )
    if type(model) is not nn.Sequential:
        raise ModelSpecError(
            f"only nn.Sequential networks can be exported as code, not {type(model).__name__}"
        )
    header = "from collections import OrderedDict\n\n" if _named(model) else ""
    return f"{header}import torch.nn as nn\n\nmodel = {_module(model, 0)}\n"


def _named(model: nn.Module) -> bool:
    """True when any Sequential inside has names other than 0, 1, 2 ..."""
    return any(
        type(m) is nn.Sequential and list(m._modules) != [str(i) for i in range(len(m))]
        for m in model.modules()
    ) or isinstance(model, FastCifarNet)


def _module(module: nn.Module, depth: int) -> str:
    if type(module) is nn.Sequential:
        return f"nn.Sequential({_sequential_args(module, depth)})"
    return _leaf(module)


def _sequential_args(model: nn.Sequential, depth: int) -> str:
    """The inside of ``nn.Sequential(...)``: one layer per line, names kept when meaningful."""
    inner = _INDENT * (depth + 1)
    names = list(model._modules)
    if isinstance(model, FastCifarNet) or names != [str(i) for i in range(len(names))]:
        items = "".join(
            f'{inner}("{name}", {_module(child, depth + 1)}),\n'
            for name, child in model.named_children()
        )
        return f"OrderedDict([\n{items}{_INDENT * depth}])"
    items = "".join(f"{inner}{_module(child, depth + 1)},\n" for child in model.children())
    return f"\n{items}{_INDENT * depth}"


def _leaf(layer: nn.Module) -> str:
    name = type(layer).__name__
    if ALLOWED_LAYERS.get(name) is not type(layer):
        raise ModelSpecError(
            f"{name} is not a layer the lab can export; use layers from torch.nn such as "
            "Conv2d, ReLU, MaxPool2d, Linear"
        )
    return layer_code(layer)  # the same writer the calculator's fixes use
