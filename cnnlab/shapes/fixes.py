"""Fixes the calculator suggests, written as the corrected layer with every argument kept.

A channel mismatch in ``nn.Conv2d(16, 64, 5, padding=2)`` after a 32-channel layer is
fixed by ``nn.Conv2d(32, 64, 5, padding=2)``; dropping ``padding=2`` would break the
next layer. :func:`layer_code` writes any torch.nn layer the way a person does (required
arguments positionally, then the keywords that differ from torch's defaults; it is also
what :func:`cnnlab.models.to_code` uses), and :func:`suggest` puts the corrected layer
into a fix sentence whose ``replacement`` attribute holds the layers to write instead.
"""

from __future__ import annotations

import inspect
from typing import Any, NoReturn

from torch import nn

from cnnlab.errors import ModelSpecError, ShapeError

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class Fix(str):
    """A fix sentence; ``replacement`` is the source of the layer(s) that replace the broken
    one, in order (empty when the fix is advice rather than a layer)."""

    replacement: tuple[str, ...] = ()


def fail(problem: str, fix: str) -> NoReturn:
    """Raise a ShapeError whose message is "problem: fix" (both kept as attributes, and the
    fix's ``replacement`` layers when it is a :class:`Fix`)."""
    error = ShapeError(f"{problem}: {fix}")
    error.problem = problem  # type: ignore[attr-defined]
    error.fix = fix  # type: ignore[attr-defined]
    error.replacement = getattr(fix, "replacement", ())  # type: ignore[attr-defined]
    raise error


def suggest(
    template: str, layer: nn.Module, *before: str, fallback: str = "", **changes: Any
) -> Fix:
    """``template`` with ``{layer}`` replaced by ``layer``'s code after ``changes``.

    ``before`` are layers to insert ahead of it (``"nn.Flatten()"``). A layer that cannot
    be written out (an argument torch does not store) gets ``fallback`` in the sentence
    and no replacement.
    """
    try:
        code = layer_code(layer, **changes)
    except ModelSpecError:
        return Fix(template.format(layer=fallback or type(layer).__name__))
    fix = Fix(template.format(layer=code))
    fix.replacement = (*before, code)
    return fix


def layer_code(layer: nn.Module, **changes: Any) -> str:
    """``nn.Name(args)`` for ``layer``, with ``changes`` (argument name -> value) applied.

    ModelSpecError when an argument cannot be read back from the layer.
    """
    name = type(layer).__name__
    positional: list[str] = []
    keywords: list[str] = []
    for parameter in inspect.signature(type(layer)).parameters.values():
        if parameter.name in ("device", "dtype") or parameter.kind in _VARIADIC:
            continue
        if parameter.name in changes:
            value = _collapse(changes[parameter.name])
        else:
            value = _current_value(layer, parameter.name)
        if parameter.default is inspect.Parameter.empty:
            positional.append(_literal(value))
        elif not _is_default(layer, parameter.name, value, parameter.default, changes):
            keywords.append(f"{parameter.name}={_literal(value)}")
    return f"nn.{name}({', '.join(positional + keywords)})"


def _collapse(value: Any) -> Any:
    if isinstance(value, tuple | list) and value and all(v == value[0] for v in value):
        return value[0]  # (5, 5) -> 5
    return value


def _current_value(layer: nn.Module, name: str) -> Any:
    if name == "bias":  # stored as a tensor or None; without affine weights it is moot
        affine = getattr(layer, "affine", getattr(layer, "elementwise_affine", True))
        return getattr(layer, "bias", None) is not None or not affine
    if not hasattr(layer, name):
        raise ModelSpecError(f"cannot read `{name}` of {type(layer).__name__} to export it")
    return _collapse(getattr(layer, name))


def _is_default(
    layer: nn.Module, name: str, value: Any, default: Any, changes: dict[str, Any]
) -> bool:
    if name == "stride" and default is None:  # pools store stride = kernel_size when omitted
        kernel = changes.get("kernel_size", _current_value(layer, "kernel_size"))
        return value == _collapse(kernel)
    default = _collapse(default)
    return type(value) is type(default) and value == default


def _literal(value: Any) -> str:
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, str):
        return '"' + value + '"' if '"' not in value and "\\" not in value else repr(value)
    return repr(value)
