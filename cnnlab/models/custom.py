"""Custom networks typed by the user: ``nn.Sequential(...)`` source -> ``nn.Sequential``.

The source is read with :mod:`ast` and walked by hand: only calls to an allow-list of
``torch.nn`` layer classes, with literal arguments, are turned into modules. Nothing
is ever evaluated, executed, compiled or imported, so ``__import__('os')`` or
``torch.load(...)`` are refused before anything runs. Every refusal is a
ModelSpecError pointing at the line (and column) and saying what to write instead.
"""

from __future__ import annotations

import ast
import inspect
import math
import operator
import re
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from cnnlab.errors import ModelSpecError
from cnnlab.models.source_limits import ECHO_CHARS, excerpt_line, parse_limited, short

ALLOWED_LAYERS: dict[str, type[nn.Module]] = {
    name: getattr(nn, name)
    for name in (
        "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
        "AdaptiveMaxPool2d", "BatchNorm1d", "BatchNorm2d", "Dropout", "Dropout2d", "ReLU",
        "LeakyReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "ELU", "Softmax", "Flatten", "Linear",
        "Identity", "Sequential",
    )
}  # fmt: skip
MAX_PARAMETERS = 50_000_000  # keeps a typo like Linear(10**6, 10**6) from eating the machine
_MAX_LITERAL = 10**9
_FORBIDDEN_KEYWORDS = ("device", "dtype")
# Arguments that must be at least 1 (torch would silently build an empty layer for 0).
_POSITIVE = {
    "in_channels", "out_channels", "kernel_size", "stride", "dilation", "groups",
    "in_features", "out_features", "num_features", "output_size",
}  # fmt: skip
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
_ALLOWED_IMPORTS = {"torch", "torch.nn", "collections"}


def allowed_layers_text() -> str:
    return ", ".join(f"nn.{name}" for name in ALLOWED_LAYERS)


def parse_sequential(source: str) -> nn.Sequential:
    """Build the ``nn.Sequential`` described by ``source`` (see module docstring).

    Accepted: one expression ``nn.Sequential(...)`` (also ``torch.nn.X`` or bare ``X``,
    and ``nn.Sequential(OrderedDict([("name", layer), ...]))``), optionally assigned to a
    name and preceded by ``import torch.nn as nn`` style imports (which are not run).
    """
    try:
        tree = parse_limited(source)  # size, depth and node-count caps
    except SyntaxError as error:
        line = error.lineno or 1
        text = (error.msg or "invalid syntax").removesuffix(f" (<unknown>, line {line})")
        raise ModelSpecError(
            f"syntax error: {short(text, 120)}; check brackets, commas and quotes",
            line,
            (error.offset or 1) - 1,
        ) from None
    network: ast.expr | None = None
    for statement in tree.body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            _check_import(statement)
            continue
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            if not isinstance(statement.targets[0], ast.Name):
                _fail(
                    statement,
                    "assign the network to a simple name, e.g. `model = nn.Sequential(...)`",
                )
            expression = statement.value
        elif isinstance(statement, ast.Expr):
            expression = statement.value
        else:
            _fail(
                statement,
                f"a {type(statement).__name__} statement is not supported here; write only "
                "`model = nn.Sequential(...)`",
            )
        if not isinstance(expression, ast.Call):
            _fail(
                statement,
                f"`{_snippet(statement)}` is not a network; names and variables cannot be used "
                "here: write the network as nn.Sequential(...) with the numbers inside the layers",
            )
        if network is not None:
            _fail(statement, "write a single nn.Sequential(...); this is a second network")
        network = expression
    if network is None:
        raise ModelSpecError(
            "the source is empty: write a network such as nn.Sequential(nn.Conv2d(3, 16, 3), ...)"
        )
    parser = _Parser()
    model = parser.module(network)
    if not isinstance(model, nn.Sequential):
        _fail(network, f"the network must be an nn.Sequential(...), not nn.{type(model).__name__}")
    return model


def error_excerpt(source: str, error: ModelSpecError) -> str | None:
    """The line of ``source`` an error points at, numbered, with a caret under its column.

    None when the error has no line (or the line is not in ``source``).
    """
    lines = source.splitlines()
    if error.line is None or not 1 <= error.line <= len(lines):
        return None
    text, col = excerpt_line(lines[error.line - 1], error.col or 0)
    return f"{error.line:>3} | {text}\n    | {' ' * col}^"


def _fail(node: ast.AST, message: str) -> None:
    raise ModelSpecError(message, getattr(node, "lineno", None), getattr(node, "col_offset", None))


def _check_import(statement: ast.Import | ast.ImportFrom) -> None:
    """Imports are read, never run: only torch / torch.nn / collections.OrderedDict."""
    if isinstance(statement, ast.Import):
        modules = [alias.name for alias in statement.names]
    else:
        modules = [statement.module or ""]
        names = {alias.name for alias in statement.names}
        if statement.module == "collections" and names != {"OrderedDict"}:
            _fail(statement, "from collections only OrderedDict can be imported")
        if statement.module == "torch" and names != {"nn"}:
            _fail(statement, "from torch only nn can be imported: `from torch import nn`")
    for module in modules:
        if module not in _ALLOWED_IMPORTS:
            _fail(
                statement,
                f"`import {short(module)}` is not allowed; only torch.nn layers can be used",
            )


class _Parser:
    """Turns checked AST nodes into modules; tracks the parameter budget."""

    def __init__(self) -> None:
        self.parameters = 0

    def layer_name(self, func: ast.expr) -> str:
        """``nn.X`` / ``torch.nn.X`` / ``X`` -> ``"X"``; refuse anything else."""
        if isinstance(func, ast.Name):
            name = func.id
        elif isinstance(func, ast.Attribute) and _is_nn(func.value):
            name = func.attr
        elif isinstance(func, ast.Attribute):
            _fail(
                func,
                f"`{_snippet(func)}` is not a torch.nn layer; only nn.<Layer>(...) calls are "
                f"allowed (allowed layers are {allowed_layers_text()})",
            )
        else:
            _fail(func, f"`{_snippet(func)}` cannot be called here; write nn.<Layer>(...)")
        if name.startswith("__") or name.startswith("_"):
            _fail(func, f"`{short(name)}` is not allowed; only torch.nn layers can be called")
        if name == "OrderedDict":
            _fail(func, "OrderedDict(...) can only be the single argument of nn.Sequential")
        if name not in ALLOWED_LAYERS:
            _fail(
                func,
                f"nn.{short(name)} is not available here; allowed layers are "
                f"{allowed_layers_text()}",
            )
        return name

    def module(self, node: ast.expr) -> nn.Module:
        if not isinstance(node, ast.Call):
            _fail(node, f"expected a layer such as nn.ReLU(), found `{_snippet(node)}`")
        name = self.layer_name(node.func)
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                _fail(argument, "*arguments are not allowed; list the layers one by one")
        for keyword in node.keywords:
            if keyword.arg is None:
                _fail(keyword.value, "**keyword arguments are not allowed; write each one out")
        if name == "Sequential":
            return self.sequential(node)
        return self.leaf(node, name)

    def sequential(self, node: ast.Call) -> nn.Sequential:
        if node.keywords:
            _fail(node, "nn.Sequential takes layers only, no keyword arguments")
        if len(node.args) == 1 and _is_ordered_dict(node.args[0]):
            return nn.Sequential(self.named_layers(node.args[0]))  # type: ignore[arg-type]
        if not node.args:
            _fail(
                node,
                "nn.Sequential() is empty; put layers inside, e.g. nn.Sequential(nn.Flatten())",
            )
        return nn.Sequential(*(self.module(argument) for argument in node.args))

    def named_layers(self, node: ast.Call) -> OrderedDict[str, nn.Module]:
        if (
            len(node.args) != 1
            or node.keywords
            or not isinstance(node.args[0], ast.List | ast.Tuple)
        ):
            _fail(node, 'write OrderedDict([("conv1", nn.Conv2d(...)), ("relu1", nn.ReLU()), ...])')
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for item in node.args[0].elts:  # type: ignore[union-attr]
            if not (isinstance(item, ast.Tuple) and len(item.elts) == 2):
                _fail(item, 'each entry must be a pair ("name", nn.Layer(...))')
            key, value = item.elts  # type: ignore[union-attr]
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                _fail(key, 'a layer name must be a string literal such as "conv1"')
            name = key.value  # type: ignore[union-attr]
            if not name.isidentifier() or name.startswith("__"):
                _fail(key, f"layer name {short(repr(name))} must be a plain identifier like conv1")
            if name in layers:
                _fail(key, f"the layer name {short(repr(name))} is used twice")
            layers[name] = self.module(value)
        if not layers:
            _fail(node, "the OrderedDict is empty; put (name, layer) pairs inside")
        return layers

    def leaf(self, node: ast.Call, name: str) -> nn.Module:
        cls = ALLOWED_LAYERS[name]
        args = [
            _literal(argument, f"argument {i + 1} of nn.{name}")
            for i, argument in enumerate(node.args)
        ]
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            if keyword.arg in _FORBIDDEN_KEYWORDS:
                _fail(keyword.value, f"`{keyword.arg}=` is not accepted here; the lab chooses it")
            kwargs[keyword.arg] = _literal(keyword.value, f"argument `{short(keyword.arg)}`")  # type: ignore[index]
        signature = inspect.signature(cls)
        accepted = [
            p.name
            for p in signature.parameters.values()
            if p.name not in _FORBIDDEN_KEYWORDS and p.kind not in _VARIADIC
        ]
        if name != "Identity":  # Identity(*args, **kwargs) ignores its arguments
            unknown = [k for k in kwargs if k not in accepted]
            if unknown:
                _fail(
                    node,
                    f"nn.{name} has no argument `{short(unknown[0])}`; its arguments are "
                    f"{', '.join(accepted)}",
                )
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as error:
                _fail(node, f"nn.{name}({', '.join(accepted)}): {short(error, 120)}")
            for key, value in bound.arguments.items():
                _check_value(node, name, key, value)
        self.count_parameters(node, cls, args, kwargs)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return cls(*args, **kwargs)
        except (TypeError, ValueError, RuntimeError) as error:
            _fail(node, f"nn.{name} refuses these arguments: {_first_line(error)}")
        raise AssertionError("unreachable")

    def count_parameters(
        self, node: ast.Call, cls: type[nn.Module], args: list[Any], kwargs: dict[str, Any]
    ) -> None:
        """Build the layer on the meta device first to count its parameters for free."""
        try:
            with warnings.catch_warnings(), torch.device("meta"):
                warnings.simplefilter("ignore")
                probe = cls(*args, **kwargs)
        except (TypeError, ValueError, RuntimeError) as error:
            _fail(node, f"nn.{cls.__name__} refuses these arguments: {_first_line(error)}")
        self.parameters += sum(p.numel() for p in probe.parameters())
        if self.parameters > MAX_PARAMETERS:
            _fail(
                node,
                f"the network would have more than {MAX_PARAMETERS:,} parameters at this layer; "
                "use fewer channels or features",
            )


def _is_nn(node: ast.expr) -> bool:
    """``nn`` or ``torch.nn``."""
    if isinstance(node, ast.Name):
        return node.id == "nn"
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "nn"
        and isinstance(node.value, ast.Name)
        and node.value.id == "torch"
    )


def _is_ordered_dict(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "OrderedDict") or (
        isinstance(func, ast.Attribute)
        and func.attr == "OrderedDict"
        and isinstance(func.value, ast.Name)
        and func.value.id == "collections"
    )


def _snippet(node: ast.AST, limit: int = 40) -> str:
    return short(ast.unparse(node), limit)


def _first_line(error: Exception) -> str:
    """torch's own reason, first line, with any value it quotes back cut short."""
    lines = str(error).splitlines()
    line = lines[0] if lines else type(error).__name__
    return short(re.sub(rf"\S{{{ECHO_CHARS + 1},}}", lambda m: short(m[0]), line), 160)


def _literal(node: ast.expr, what: str) -> Any:
    """The value of a literal argument, walking the AST; arithmetic on numbers only."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | int | float | str) or node.value is None:
            if isinstance(node.value, int | float) and abs(node.value) > _MAX_LITERAL:
                _fail(node, f"{what} is too large ({_snippet(node)})")
            return node.value
        _fail(node, f"{what} must be a number, True/False, None or a string, not {_snippet(node)}")
    if isinstance(node, ast.Tuple | ast.List):
        values = [_literal(element, what) for element in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else values
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand, what)
        if not _is_number(value):
            _fail(node, f"{what}: a sign can only go before a number")
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _literal(node.left, what), _literal(node.right, what)
        if not (_is_number(left) and _is_number(right)):
            _fail(node, f"{what}: arithmetic is only allowed on numbers, e.g. 32*7*7")
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > _MAX_LITERAL):
            _fail(node, f"{what}: the power {_snippet(node)} is too large")
        try:
            value = _BINARY[type(node.op)](left, right)
        except (ZeroDivisionError, OverflowError) as error:
            _fail(node, f"{what}: {_snippet(node)} cannot be computed ({error})")
        if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
            _fail(node, f"{what}: {_snippet(node)} is not a finite number")
        if abs(value) > _MAX_LITERAL:
            _fail(node, f"{what} is too large ({_snippet(node)})")
        return value
    if isinstance(node, ast.Name):
        _fail(
            node,
            f"{what} must be a literal number, not a name (`{short(node.id)}`); write the value",
        )
    if isinstance(node, ast.Call):
        _fail(node, f"{what} must be a literal, not a call (`{_snippet(node)}`)")
    if isinstance(node, ast.Lambda):
        _fail(node, f"{what}: lambdas are not allowed")
    if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        _fail(node, f"{what}: comprehensions are not allowed; write the values out")
    if isinstance(node, ast.Attribute):
        _fail(node, f"{what} must be a literal, not an attribute (`{_snippet(node)}`)")
    _fail(
        node,
        f"{what} must be a literal (number, string, True/False/None, tuple), not `{_snippet(node)}`",
    )
    raise AssertionError("unreachable")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_value(node: ast.Call, layer: str, key: str, value: Any) -> None:
    """Catch values torch would accept but that build a useless layer (kernel 0 ...)."""
    values = value if isinstance(value, tuple | list) else (value,)
    numbers = [v for v in values if _is_number(v)]
    if key in _POSITIVE and any(v < 1 for v in numbers):
        _fail(node, f"nn.{layer}: `{key}` must be at least 1, not {short(repr(value))}")
    if key in ("padding", "output_padding") and any(v < 0 for v in numbers):
        _fail(node, f"nn.{layer}: `{key}` cannot be negative ({short(repr(value))})")
    if key in _POSITIVE | {"padding", "output_padding"} and any(
        isinstance(v, float) for v in numbers
    ):
        _fail(node, f"nn.{layer}: `{key}` must be a whole number, not {short(repr(value))}")
