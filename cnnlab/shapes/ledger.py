"""The layer ledger: one row per leaf layer with shapes, formula, cost and receptive field.

`trace(model, input_shape)` follows (nested) nn.Sequential models with the formulas
alone, nothing run, and stops at the first layer torch would refuse, with a concrete
fix. Models with their own forward() (residual blocks, LeNet with .view) are run once
on a batch-1 zeros input under torch.no_grad() in eval mode, with forward hooks on
the leaves (removed afterwards) recording the shapes; the model's train/eval state is
restored. Either way FLOPs come from torch.utils.flop_counter on each single layer
(meta tensors, so nothing is computed) and are reported per image, FLOPs = 2·MACs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from torch.utils import _pytree as pytree

from cnnlab.errors import ShapeError
from cnnlab.shapes.explain import Explanation, explain, groups_note
from cnnlab.shapes.fixes import suggest
from cnnlab.shapes.flops import layer_flops
from cnnlab.shapes.formulas import Shape, fmt_shape, output_shape, window_axes
from cnnlab.shapes.memory import SERVER_LIMIT, check_activations, is_chain, leaves
from cnnlab.shapes.receptive import IDENTITY, AxisRF, ReceptiveField, step


@dataclass(frozen=True)
class LedgerRow:
    """One leaf layer. Costs are per image (batch 1); `output_shape` is None for the
    broken layer; `formula` is None for layers the calculator does not explain."""

    index: int
    name: str
    type: str
    input_shape: Shape
    output_shape: Shape | None
    formula: Explanation | None
    params: int
    flops: int | None
    macs: int | None
    activation_bytes: int | None
    receptive_field: ReceptiveField | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LedgerError:
    """The first broken layer: `message` says what is wrong, `fix` what to write instead;
    `replacement` is the source of the layer(s) to put in its place, when the fix is one."""

    row: int
    layer: str
    message: str
    fix: str
    replacement: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.message}: {self.fix}"


@dataclass(frozen=True)
class Totals:
    params: int
    flops: int
    macs: int
    activation_bytes: int


@dataclass(frozen=True)
class Ledger:
    input_shape: Shape
    rows: tuple[LedgerRow, ...]
    totals: Totals
    error: LedgerError | None
    method: str  # "formulas" (nothing run) or "forward hooks" (one batch-1 forward pass)
    notes: tuple[str, ...] = ()

    @property
    def output_shape(self) -> Shape | None:
        """What the network outputs; None when a layer breaks (or there is no layer)."""
        return self.rows[-1].output_shape if self.rows and self.error is None else None

    @property
    def receptive_field(self) -> ReceptiveField | None:
        """The receptive field of the last layer that still has a spatial map."""
        return next((r.receptive_field for r in reversed(self.rows) if r.receptive_field), None)

    def explained_rows(self) -> list[LedgerRow]:
        """The rows whose output size has a formula to show (conv, pool, ...)."""
        return [r for r in self.rows if r.formula is not None and r.formula.dims]

    def headline(self) -> list[tuple[str, str]]:
        """(label, value) of the totals worth a metric: parameters, MACs, activations per image,
        the final receptive field and the output shape ("broken" when a layer breaks)."""
        t, rf, out = self.totals, self.receptive_field, self.output_shape
        return [
            ("Parameters", f"{t.params:,}"),
            ("MACs per image", f"{t.macs / 1e6:,.2f} M"),
            ("Activations per image", f"{t.activation_bytes / 2**20:,.2f} MiB"),
            ("Receptive field", f"{rf.h.size}×{rf.w.size}" if rf else "—"),
            ("Output", "×".join(str(d) for d in out[1:]) if out else "broken"),
        ]

    def to_rows(self) -> list[dict[str, object]]:
        """Plain dicts for st.dataframe, with human units, and a totals row at the end.

        Every "#" is text (the totals row has none), so the column has a single type.
        """
        table: list[dict[str, object]] = []
        for row in self.rows:
            table.append(
                {
                    "#": str(row.index),
                    "layer": row.name,
                    "type": row.type,
                    "input": _shape_text(row.input_shape),
                    "output": _shape_text(row.output_shape) if row.output_shape else "error",
                    "formula": _formula_text(row.formula),
                    "params": f"{row.params:,}",
                    "FLOPs": _si(row.flops, "FLOPs"),
                    "MACs": _si(row.macs, "MACs"),
                    "activations": _bytes(row.activation_bytes),
                    "receptive field": _rf_text(row.receptive_field),
                    "notes": "; ".join(row.notes),
                }
            )
        t = self.totals
        table.append(
            {
                "#": "",
                "layer": "total",
                "type": "",
                "input": _shape_text(self.input_shape),
                "output": "",
                "formula": "",
                "params": f"{t.params:,}",
                "FLOPs": _si(t.flops, "FLOPs"),
                "MACs": _si(t.macs, "MACs"),
                "activations": _bytes(t.activation_bytes),
                "receptive field": "",
                "notes": str(self.error) if self.error else "",
            }
        )
        return table


def _shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape)


def _si(value: int | None, unit: str) -> str:
    if value is None:
        return ""
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if value >= scale:
            return f"{value / scale:.1f} {prefix}{unit}"
    return f"{value} {unit}"


def _bytes(value: int | None) -> str:
    if value is None:
        return ""
    for scale, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= scale:
            amount = value / scale
            return f"{amount:.0f} {unit}" if amount >= 10 else f"{amount:.1f} {unit}"
    return f"{value} B"


def _formula_text(formula: Explanation | None) -> str:
    if formula is None or not formula.dims:
        return ""
    texts = [d.plain for d in formula.dims]
    if len(texts) == 2 and texts[0][1:] == texts[1][1:]:
        return "H_out, W_out" + texts[0][len("H_out") :]  # same numbers for both: once
    return "; ".join(texts)


def _rf_text(rf: ReceptiveField | None) -> str:
    if rf is None:
        return ""

    def axis(a: AxisRF) -> tuple[str, str, str]:
        return str(a.size), str(a.jump), f"{a.start:g}"

    h, w = axis(rf.h), axis(rf.w)
    if h == w:
        return f"{h[0]}×{h[0]} (jump {h[1]}, start {h[2]})"
    return f"{h[0]}×{w[0]} (jump {h[1]}×{w[1]}, start {h[2]}, {w[2]})"


def _notes(layer: nn.Module, shape: Shape, out: Shape, previous: Shape | None) -> list[str]:
    notes = []
    axes = window_axes(layer)
    if axes is not None and not isinstance(layer, nn.ConvTranspose2d):
        dropped, partial = [], []
        for axis, size, a, o in zip(("row", "column"), shape[-2:], axes, out[-2:], strict=True):
            padded = size + a.pad_before + a.pad_after
            end = (o - 1) * a.stride + a.span
            if end > padded:
                partial.append(f"{axis}s")
            elif (real := min(padded - end, size) - a.pad_after) > 0:
                dropped.append(f"{real} {axis}" + ("s" if real > 1 else ""))
        if dropped:
            notes.append("floor drops the last " + " and ".join(dropped))
        if partial:
            notes.append("ceil_mode keeps a partial window (" + " and ".join(partial) + ")")
    if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d) and layer.groups > 1:
        notes.append(groups_note(layer))
    if isinstance(layer, nn.Linear) and len(shape) >= 3:
        notes.append(
            f"Linear acts on the last size only ({shape[-1]}); add nn.Flatten() before it "
            "if it should see every value"
        )
    return notes


class _FieldTracker(TorchFunctionMode):
    """Carries receptive fields through the functional code of a custom forward().

    Leaf layers set their output's field in a forward hook; everything else (x + y,
    torch.cat, F.relu) gives its output the union of its inputs' fields when the
    spatial size is unchanged, and no field otherwise.
    """

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[int, tuple[Tensor, ReceptiveField | None]] = {}

    def get(self, t: object) -> ReceptiveField | None:
        entry = self.fields.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else None

    def set(self, t: Tensor, rf: ReceptiveField | None) -> None:
        self.fields[id(t)] = (t, rf)  # the tensor is kept so its id is not reused

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        if isinstance(out, Tensor) and out.dim() >= 3:
            inputs = [a for a in pytree.tree_leaves((args, kwargs)) if isinstance(a, Tensor)]
            known = [(a, self.get(a)) for a in inputs if id(a) in self.fields]
            if known:
                same = all(a.dim() >= 3 and a.shape[-2:] == out.shape[-2:] for a, _ in known)
                fields = [rf for _, rf in known]
                ok = same and all(rf is not None for rf in fields)
                self.set(out, _union(fields) if ok else None)  # type: ignore[arg-type]
        return out


def _union(fields: list[ReceptiveField]) -> ReceptiveField:
    def axis(axes: list[AxisRF]) -> AxisRF:
        lo = min(a.start - (a.size - 1) / 2 for a in axes)
        hi = max(a.start + (a.size - 1) / 2 for a in axes)
        return AxisRF(int(hi - lo) + 1, max(a.jump for a in axes), (lo + hi) / 2)

    widest = max(fields, key=lambda rf: rf.h.size * rf.w.size)
    return ReceptiveField(axis([f.h for f in fields]), axis([f.w for f in fields]), widest.windows)


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def _diagnose(
    layer: nn.Module, error: ShapeError, previous: nn.Module | None, before_previous: Shape | None
) -> tuple[str, str]:
    """(message, fix), naming where a Linear's features come from when a Flatten feeds it."""
    problem = getattr(error, "problem", str(error))
    fix = getattr(error, "fix", "change the layer's settings to match its input")
    if isinstance(layer, nn.Linear) and isinstance(previous, nn.Flatten) and before_previous:
        rank = len(before_previous)
        start, end = previous.start_dim % rank, previous.end_dim % rank
        dims = before_previous[start : end + 1]
        features = math.prod(dims)
        if features != layer.in_features:
            problem = (
                f"Linear expects {layer.in_features} inputs but receives {features} = "
                + "x".join(str(d) for d in dims)
            )
            fix = suggest("use {layer}", layer, in_features=features)
    return problem, fix


def _row(
    index: int,
    name: str,
    layer: nn.Module,
    shape: Shape,
    out: Shape,
    batch: int,
    rf: ReceptiveField | None,
    extra: Sequence[str] = (),
    count_params: bool = True,
) -> LedgerRow:
    try:
        formula: Explanation | None = explain(layer, shape)
    except ShapeError:
        formula = None
    flops = layer_flops(layer, shape, out)  # shape arithmetic; FlopCounterMode only for others
    per_image = None if flops is None else flops // batch
    return LedgerRow(
        index=index,
        name=name,
        type=type(layer).__name__,
        input_shape=shape,
        output_shape=out,
        formula=formula,
        params=sum(p.numel() for p in layer.parameters()) if count_params else 0,
        flops=per_image,
        macs=None if per_image is None else per_image // 2,
        activation_bytes=4 * math.prod(out) // batch,
        receptive_field=rf,
        notes=tuple([*_notes(layer, shape, out, None), *extra]),
    )


def _batch(shape: Shape) -> int:
    return shape[0] if len(shape) == 4 else 1


def _break(
    rows: list[LedgerRow],
    index: int,
    name: str,
    layer: nn.Module,
    shape: Shape,
    message: str,
    fix: str,
) -> LedgerError:
    """Append the broken layer's row (no output, its diagnosis as the note) and its error."""
    rows.append(
        LedgerRow(
            index, name, type(layer).__name__, shape, None, None,
            sum(p.numel() for p in layer.parameters()), None, None, None, None,
            (f"{message}: {fix}",),
        )
    )  # fmt: skip
    return LedgerError(index, name, message, fix, getattr(fix, "replacement", ()))


def _trace_chain(model: nn.Module, shape: Shape) -> tuple[list[LedgerRow], LedgerError | None]:
    batch = _batch(shape)
    rows: list[LedgerRow] = []
    rf: ReceptiveField | None = IDENTITY
    previous: tuple[nn.Module, Shape] | None = None
    for index, (name, layer) in enumerate(leaves(model)):
        try:
            out = output_shape(layer, shape)
        except ShapeError as error:
            prev_layer, prev_shape = previous if previous else (None, None)
            message, fix = _diagnose(layer, error, prev_layer, prev_shape)
            return rows, _break(rows, index, name, layer, shape, message, fix)
        why = None
        if rf is not None:
            rf, why = step(rf, layer, shape)
        rows.append(_row(index, name, layer, shape, out, batch, rf, [why] if why else ()))
        previous, shape = (layer, shape), out
    return rows, None


def _trace_forward(model: nn.Module, shape: Shape) -> tuple[list[LedgerRow], LedgerError | None]:
    records: list[tuple[str, nn.Module, Shape, Shape, ReceptiveField | None, str | None]] = []
    open_calls: list[tuple[str, nn.Module, Shape]] = []
    tracker = _FieldTracker()
    handles = []

    def pre_hook(name: str):  # type: ignore[no-untyped-def]
        def hook(module: nn.Module, args: tuple[object, ...]) -> None:
            if args and isinstance(args[0], Tensor):
                open_calls.append((name, module, tuple(args[0].shape)))

        return hook

    def post_hook(name: str):  # type: ignore[no-untyped-def]
        def hook(module: nn.Module, args: tuple[object, ...], out: object) -> None:
            if not (args and isinstance(args[0], Tensor)):
                return
            open_calls.pop()
            if not isinstance(out, Tensor):
                return
            rf_in, why = tracker.get(args[0]), None
            rf = None
            if rf_in is not None:
                rf, why = step(rf_in, module, tuple(args[0].shape))
            tracker.set(out, rf)
            records.append((name, module, tuple(args[0].shape), tuple(out.shape), rf, why))

        return hook

    for name, leaf in leaves(model):
        handles.append(leaf.register_forward_pre_hook(pre_hook(name)))
        handles.append(leaf.register_forward_hook(post_hook(name)))
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    x = torch.zeros(shape, device=device, dtype=dtype)  # [1, C, H, W]
    failure: Exception | None = None
    try:
        with torch.no_grad(), _eval_mode(model), tracker:
            tracker.set(x, IDENTITY)
            model(x)
    except Exception as exc:  # any torch error becomes the ledger's diagnosis
        failure = exc
    finally:
        for handle in handles:
            handle.remove()

    rows: list[LedgerRow] = []
    seen: set[int] = set()
    for index, (name, layer, shape_in, out, rf, why) in enumerate(records):
        first = id(layer) not in seen
        seen.add(id(layer))
        extra = [why] if why else []
        if not first:
            extra.append("called again: its parameters are counted at its first call")
        rows.append(_row(index, name, layer, shape_in, out, 1, rf, extra, count_params=first))
    if failure is None:
        return rows, None
    return rows, _forward_error(failure, rows, open_calls, records)


def _forward_error(
    failure: Exception,
    rows: list[LedgerRow],
    open_calls: list[tuple[str, nn.Module, Shape]],
    records: list,  # type: ignore[type-arg]
) -> LedgerError:
    text = str(failure).strip().splitlines()[0] if str(failure).strip() else type(failure).__name__
    index = len(rows)
    if open_calls:
        name, layer, shape = open_calls[-1]
        message, fix = text, f"check {name}'s settings against its input {fmt_shape(shape)}"
        try:
            output_shape(layer, shape)
        except ShapeError as error:
            previous = records[-1] if records else None
            message, fix = _diagnose(
                layer,
                error,
                previous[1] if previous else None,
                previous[2] if previous else None,
            )
        return _break(rows, index, name, layer, shape, message, fix)
    if rows:
        last = rows[-1]
        values = math.prod(last.output_shape or ())
        where = f"forward() after {last.name}"
        fix = (
            f"the tensor after {last.name} has shape {fmt_shape(last.output_shape or ())}, "
            f"{values} values for one image: reshape with x.flatten(1) and size the next layer "
            "to match"
        )
    else:
        where, fix = "forward()", "check the input shape the model expects"
    return LedgerError(index, where, text, fix)


def trace(model: nn.Module, input_shape: Sequence[int]) -> Ledger:
    """The ledger of `model` for inputs of `input_shape` ((N, C, H, W) or (C, H, W))."""
    shape = tuple(int(s) for s in input_shape)
    notes: list[str] = []
    if is_chain(model):
        with _eval_mode(model):
            rows, error = _trace_chain(model, shape)
        method = "formulas"
    else:
        shape = (1, *shape[1:]) if len(shape) == 4 else (1, *shape)
        try:  # the forward pass below is real: bound its memory first
            check_activations(model, shape, SERVER_LIMIT, "the ledger's forward pass")
            rows, error = _trace_forward(model, shape)
        except ShapeError as too_large:
            problem, fix = too_large.problem, too_large.fix  # type: ignore[attr-defined]
            rows, error = [], LedgerError(0, "forward()", problem, fix)
        method = "forward hooks"
        notes.append("shapes recorded from one forward pass of a zeros batch of 1")
    total_params = sum(p.numel() for p in model.parameters())
    if error is None and sum(r.params for r in rows) != total_params:
        notes.append("some parameters belong to modules without their own row")
    flops = sum(r.flops or 0 for r in rows)
    totals = Totals(
        params=total_params,
        flops=flops,
        macs=sum(r.macs or 0 for r in rows),
        activation_bytes=sum(r.activation_bytes or 0 for r in rows),
    )
    return Ledger(shape, tuple(rows), totals, error, method, tuple(notes))
