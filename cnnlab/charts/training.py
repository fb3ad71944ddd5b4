"""Training charts: live curves, the confusion matrix, per-class accuracy, mistakes, overlays.

Pure functions: plain sequences in, a plotly Figure out. Accuracies are fractions in
[0, 1] and shown as percentages. The pages feed them what ``cnnlab.runs`` reads from
the run store; the unit tests feed them synthetic numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# One colour per role, the same on every chart, so "train" and "test" read the same everywhere.
RAW_COLOR = "rgba(99, 110, 250, 0.30)"
SMOOTH_COLOR = "#636EFA"
TRAIN_COLOR = "#636EFA"
TEST_COLOR = "#EF553B"
LR_COLOR = "#00CC96"
SPEED_COLOR = "#AB63FA"
MEMORY_COLOR = "#FFA15A"
RUN_COLORS = (
    "#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A",
    "#19D3F3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52",
)  # fmt: skip

CHART_HEIGHT = 300


def _layout(
    title: str, x_title: str, y_title: str, xaxis: Mapping[str, Any] | None = None,
    yaxis: Mapping[str, Any] | None = None, **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    """The shared look of the training charts as one layout dict.

    Figures are built in one constructor call from it: the live charts are rebuilt every
    second while a run streams, and plotly's per-call validation (update_layout,
    update_xaxes, ...) cost several times more than the whole store read.
    """
    return {
        "title": {"text": title, "x": 0.0, "xanchor": "left"},
        "height": CHART_HEIGHT,
        "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        "hovermode": "x unified",
        "xaxis": {"title": {"text": x_title}, **(xaxis or {})},
        "yaxis": {"title": {"text": y_title}, **(yaxis or {})},
        **extra,
    }


def _finite(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float | None]]:
    """Pairs with NaN/inf values replaced by gaps (plotly cannot draw them; a diverged run has them)."""
    if len(xs) != len(ys):
        raise ValueError(f"x and y differ in length: {len(xs)} != {len(ys)}")
    return [float(x) for x in xs], [float(y) if math.isfinite(y) else None for y in ys]


def _mode(ys: Sequence[float | None], lines: str = "lines") -> str:
    """Markers where a line alone would hide the data: one point draws no line at all."""
    return lines if sum(y is not None for y in ys) >= 3 else "lines+markers"


def _fit_empty(
    layout: dict[str, Any], traces: Sequence[go.Scatter], y_range: Sequence[float],
    x_range: Sequence[float] = (0, 1),
) -> dict[str, Any]:  # fmt: skip
    """Fixed, sensible axes and a "no points yet" note while no trace has a finite point
    (plotly's own empty axes read -1…4, or -100 %…400 % on a percentage axis)."""
    if any(y is not None for trace in traces for y in (trace.y or ())):
        return layout
    layout["xaxis"] = {**layout["xaxis"], "range": list(x_range)}
    layout["yaxis"] = {**layout["yaxis"], "range": list(y_range)}
    layout["annotations"] = [{
        "text": "no points yet", "showarrow": False, "xref": "paper", "yref": "paper",
        "x": 0.5, "y": 0.5, "font": {"color": "gray", "size": 14},
    }]  # fmt: skip
    return layout


def ema(values: Sequence[float], weight: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction (TensorBoard's "smoothing").

    ``weight`` 0 returns the values unchanged; 0.99 is very smooth. The correction
    ``/(1 - weight**n)`` keeps the first points from being pulled towards zero. Non-finite
    values (a diverged step) are skipped: the average keeps its last value there.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    smoothed: list[float] = []
    average, count = 0.0, 0
    for value in values:
        if math.isfinite(value):
            average = weight * average + (1.0 - weight) * value
            count += 1
        smoothed.append(average / (1.0 - weight**count) if count else math.nan)
    return smoothed


def loss_chart(
    steps: Sequence[float], losses: Sequence[float], smoothing: float = 0.9
) -> go.Figure:
    """Training loss per logged step: the raw points, faint, and their EMA, bold."""
    xs, ys = _finite(steps, losses)
    raw = go.Scatter(x=xs, y=ys, name="raw", mode=_mode(ys), line={"color": RAW_COLOR, "width": 1})
    smoothed = _finite(steps, ema(losses, smoothing))[1]
    smooth = go.Scatter(
        x=xs,
        y=smoothed,
        name=f"smoothed (EMA {smoothing:g})",
        mode=_mode(smoothed),
        line={"color": SMOOTH_COLOR, "width": 2.5},
        marker={"size": 8},
    )
    layout = _layout("Training loss", "step", "cross-entropy loss", yaxis={"rangemode": "tozero"})
    return go.Figure(data=[raw, smooth], layout=_fit_empty(layout, [raw, smooth], (0, 2.5)))


def accuracy_chart(
    train_epochs: Sequence[float],
    train_acc: Sequence[float],
    test_epochs: Sequence[float],
    test_acc: Sequence[float],
) -> go.Figure:
    """Train and test accuracy per epoch; the gap between them is overfitting."""
    traces = []
    for name, xs, ys, color in (
        ("train", train_epochs, train_acc, TRAIN_COLOR),
        ("test", test_epochs, test_acc, TEST_COLOR),
    ):
        x, y = _finite(xs, ys)
        traces.append(
            go.Scatter(
                x=x,
                y=y,
                name=name,
                mode="lines+markers",
                line={"color": color, "width": 2.5},
                marker={"size": 9 if len(x) < 3 else 6},
            )
        )
    dtick = 1 if max([*train_epochs, *test_epochs, 1]) <= 20 else None
    layout = _layout(
        "Accuracy per epoch", "epoch", "accuracy",
        # 0–100 % always: a lone point sits where it belongs, not on the axis edge
        xaxis={"dtick": dtick, "rangemode": "tozero"},
        yaxis={"tickformat": ".0%", "range": [0, 1.04]},
    )  # fmt: skip
    return go.Figure(data=traces, layout=_fit_empty(layout, traces, (0, 1.04)))


def _single_series(
    xs: Sequence[float], ys: Sequence[float], title: str, y_title: str, name: str, color: str,
    yaxis: Mapping[str, Any],
) -> go.Figure:  # fmt: skip
    x, y = _finite(xs, ys)
    trace = go.Scatter(
        x=x, y=y, name=name, mode=_mode(y), line={"color": color, "width": 2}, marker={"size": 8}
    )
    layout = _layout(title, "step", y_title, yaxis=yaxis, showlegend=False)
    return go.Figure(data=[trace], layout=_fit_empty(layout, [trace], (0, 1)))


def lr_chart(steps: Sequence[float], lrs: Sequence[float]) -> go.Figure:
    """The learning rate the scheduler set at each logged step."""
    yaxis = {"exponentformat": "e", "rangemode": "tozero"}
    return _single_series(steps, lrs, "Learning rate", "lr", "lr", LR_COLOR, yaxis)


def throughput_chart(steps: Sequence[float], images_per_s: Sequence[float]) -> go.Figure:
    """Training images per second at each logged step (evaluation excluded)."""
    yaxis = {"rangemode": "tozero"}
    return _single_series(
        steps, images_per_s, "Throughput", "images / s", "images/s", SPEED_COLOR, yaxis
    )


def gpu_memory_chart(steps: Sequence[float], gib: Sequence[float]) -> go.Figure:
    """GPU memory allocated by the run (CUDA only), in GiB."""
    yaxis = {"rangemode": "tozero"}
    return _single_series(steps, gib, "GPU memory", "GiB", "memory", MEMORY_COLOR, yaxis)


def confusion_heatmap(confusion: Sequence[Sequence[int]], classes: Sequence[str]) -> go.Figure:
    """Counts of (true class, predicted class); colour is the row share, text the count.

    Colouring by row share (recall) keeps classes of different sizes comparable; the
    diagonal is what the network got right.
    """
    counts = np.asarray(confusion, dtype=np.int64)  # [K, K]: rows true, columns predicted
    k = len(classes)
    if counts.shape != (k, k):
        raise ValueError(f"confusion matrix is {counts.shape}, expected ({k}, {k}) for {k} classes")
    totals = counts.sum(axis=1, keepdims=True)  # [K, 1]
    share = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)  # [K, K]
    labels = list(classes)
    figure = go.Figure(
        go.Heatmap(
            z=share.tolist(),
            x=labels,
            y=labels,
            text=counts.tolist(),
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0.0,
            zmax=1.0,
            colorbar={"title": {"text": "row share"}, "tickformat": ".0%"},
            hovertemplate="true %{y}<br>predicted %{x}<br>%{text} images (%{z:.1%} of row)"
            "<extra></extra>",
        )
    )
    figure.update_layout(
        title={"text": "Confusion matrix", "x": 0.0, "xanchor": "left"},
        height=max(380, 40 * k + 140),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    figure.update_xaxes(title_text="predicted", side="bottom", tickangle=-40)
    figure.update_yaxes(title_text="true", autorange="reversed")
    return figure


def per_class_accuracy_chart(
    per_class_acc: Sequence[float], classes: Sequence[str], overall: float | None = None
) -> go.Figure:
    """One bar per class: which classes the network finds hard. A dashed line marks the mean."""
    if len(per_class_acc) != len(classes):
        raise ValueError(f"{len(per_class_acc)} accuracies for {len(classes)} classes")
    values = [float(a) for a in per_class_acc]
    figure = go.Figure(
        go.Bar(
            x=list(classes),
            y=values,
            marker={"color": values, "colorscale": "RdYlGn", "cmin": 0.0, "cmax": 1.0},
            text=[f"{a:.0%}" for a in values],
            textposition="outside",
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    )
    if overall is not None:
        # the label sits above the plot, right of the title: inside, it covered the bars' labels
        figure.add_hline(y=overall, line_dash="dash", line_color="gray")
        figure.add_annotation(
            text=f"– – overall {overall:.1%}", showarrow=False, xref="paper", yref="paper",
            x=1.0, y=1.0, xanchor="right", yanchor="bottom", font={"color": "gray"},
        )  # fmt: skip
    figure.update_layout(
        _layout(
            "Accuracy per class", "class", "accuracy",
            xaxis={"tickangle": -40}, yaxis={"tickformat": ".0%", "range": [0, 1.1]},
            showlegend=False, hovermode="closest",
        )
    )  # fmt: skip
    return figure


def misclassified_grid(
    images: np.ndarray,
    true_labels: Sequence[int],
    predicted_labels: Sequence[int],
    classes: Sequence[str],
    columns: int = 8,
) -> go.Figure:
    """Misclassified test images in a grid, each titled with its true and predicted class.

    ``images`` is uint8 ``[N, C, H, W]`` (C = 1 or 3), the layout datasets use.
    """
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ValueError(f"images must be [N, C, H, W] with C 1 or 3, got {array.shape}")
    n = array.shape[0]
    if not n == len(true_labels) == len(predicted_labels):
        raise ValueError("one true and one predicted label per image")
    if n == 0:
        figure = go.Figure()
        figure.add_annotation(text="No misclassified images", showarrow=False)
        figure.update_layout(height=120, xaxis_visible=False, yaxis_visible=False)
        return figure
    rgb = np.repeat(array, 3, axis=1) if array.shape[1] == 1 else array  # [N, 3, H, W]
    rgb = rgb.transpose(0, 2, 3, 1).astype(np.uint8)  # [N, H, W, 3]
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    titles = [
        # two lines: "automobile → airplane" on one line overruns its neighbour's title
        f"<span style='color:#2ca02c'>{classes[t]}</span><br>"
        f"→ <span style='color:#d62728'>{classes[p]}</span>"
        for t, p in zip(true_labels, predicted_labels, strict=True)
    ]
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=titles,
        horizontal_spacing=0.01,
        vertical_spacing=0.4 / rows,
    )
    for i in range(n):
        figure.add_trace(
            go.Image(z=rgb[i], hovertemplate=f"{titles[i]}<extra></extra>"),
            row=i // columns + 1,
            col=i % columns + 1,
        )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.update_annotations(font_size=11)
    figure.update_layout(
        title={
            "text": "Misclassified test images: true → predicted",
            "x": 0.0,
            "xanchor": "left",
        },
        height=110 + 165 * rows,
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
    )
    return figure


def spread_mistakes(
    misclassified: Sequence[tuple[int, int, int]], limit: int
) -> list[tuple[int, int, int]]:
    """Up to ``limit`` of the (index, true, predicted) mistakes, taken in turn from each true
    class, so the grid shows every class's confusions rather than the first class's."""
    by_class: dict[int, list[tuple[int, int, int]]] = {}
    for item in misclassified:
        by_class.setdefault(int(item[1]), []).append(tuple(item))  # type: ignore[arg-type]
    queues = [by_class[k] for k in sorted(by_class)]
    picked: list[tuple[int, int, int]] = []
    depth = 0
    while len(picked) < limit and any(depth < len(q) for q in queues):
        picked += [q[depth] for q in queues if depth < len(q)][: limit - len(picked)]
        depth += 1
    return picked


def mistakes_rows(
    mistakes: Sequence[tuple[int, int, int]], classes: Sequence[str]
) -> list[dict[str, Any]]:
    """The (index, true, predicted) mistakes as table rows, when the images are not at hand."""
    return [
        {"test image": index, "true": classes[true], "predicted": classes[predicted]}
        for index, true, predicted in mistakes
    ]


def headline_metrics(summary: Any) -> list[tuple[str, str]]:
    """(label, value) of a ``RunSummary``'s results for metric tiles; "–" where unknown."""
    return [
        (
            "Final test accuracy",
            "–" if summary.final_acc is None else f"{summary.final_acc:.1%}",
        ),
        ("Best test accuracy", "–" if summary.best_acc is None else f"{summary.best_acc:.1%}"),
        (
            "Training speed",
            "–" if not summary.images_per_s else f"{summary.images_per_s:,.0f} img/s",
        ),
        ("Duration", "–" if summary.duration_s is None else f"{summary.duration_s:,.0f} s"),
    ]


@dataclass
class RunCurves:
    """The curves of one run for an overlay: ``series[key] = (epochs, values)``."""

    label: str
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]] = field(default_factory=dict)


METRIC_TITLES = {
    "train/loss": "training loss",
    "test/loss": "test loss",
    "test/acc": "test accuracy",
    "train/acc": "train accuracy",
    "train/lr": "learning rate",
    "train/images_per_s": "images / s",
}


def runs_overlay(runs: Sequence[RunCurves], keys: Sequence[str]) -> go.Figure:
    """Several runs on shared axes: one panel per metric, x = epoch, one colour per run."""
    if not keys:
        raise ValueError("choose at least one metric to compare")
    figure = make_subplots(
        rows=len(keys),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08 if len(keys) > 1 else 0.0,
        subplot_titles=[METRIC_TITLES.get(key, key) for key in keys],
    )
    for index, run in enumerate(runs):
        color = RUN_COLORS[index % len(RUN_COLORS)]
        for row, key in enumerate(keys, start=1):
            if key not in run.series:
                continue
            xs, ys = run.series[key]
            x, y = _finite(xs, ys)
            many = len(x) > 40
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    name=run.label,
                    legendgroup=run.label,
                    showlegend=row == 1,
                    mode="lines" if many else "lines+markers",
                    line={"color": color, "width": 2},
                ),
                row=row,
                col=1,
            )
    for row, key in enumerate(keys, start=1):
        accuracy = key.endswith("/acc")
        if accuracy:  # 0–100 % always, as on the Train page
            figure.update_yaxes(tickformat=".0%", range=[0, 1.04], row=row, col=1)
        drawn = any(math.isfinite(v) for run in runs for v in run.series.get(key, ((), ()))[1])
        if not drawn:  # plotly's empty axes read -1…4 (-100 %…400 %)
            figure.update_yaxes(range=[0, 1.04 if accuracy else 1], row=row, col=1)
            figure.update_xaxes(range=[0, 1], row=row, col=1)
            suffix = "" if row == 1 else str(row)
            figure.add_annotation(
                text="no points yet", showarrow=False, xref=f"x{suffix} domain",
                yref=f"y{suffix} domain", x=0.5, y=0.5, font={"color": "gray", "size": 14},
            )  # fmt: skip
    figure.update_xaxes(title_text="epoch", row=len(keys), col=1)
    figure.update_layout(
        height=60 + 260 * len(keys),
        margin={"l": 10, "r": 10, "t": 90, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "left", "x": 0.0},
        hovermode="x unified",
    )
    return figure
