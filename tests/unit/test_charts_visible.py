"""What a user sees on the training charts at the edges: a run with one point, a run with
none yet, and the per-class chart's overall label (figure objects, no page)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pytest

from cnnlab.charts.runs import evaluation_when, table_rows
from cnnlab.charts.training import (
    accuracy_chart,
    gpu_memory_chart,
    loss_chart,
    lr_chart,
    per_class_accuracy_chart,
    throughput_chart,
)


def test_a_single_accuracy_point_is_a_visible_marker_inside_a_fixed_0_100_axis() -> None:
    figure = accuracy_chart([], [], [0.66], [0.31])
    test = figure.data[1]
    assert "markers" in test.mode and test.marker.size >= 8
    assert list(figure.layout.yaxis.range) == [0, pytest.approx(1.04)]  # 0–100 %, not autorange
    assert not figure.layout.annotations


@pytest.mark.parametrize("chart", [loss_chart, lr_chart, throughput_chart, gpu_memory_chart])
def test_step_charts_mark_points_while_there_are_too_few_for_a_line(chart) -> None:
    assert all("markers" in trace.mode for trace in chart([5], [0.5]).data)
    assert all(trace.mode == "lines" for trace in chart([1, 2, 3, 4], [4.0, 3, 2, 1]).data)


@pytest.mark.parametrize(
    ("figure", "y_range"),
    [
        (accuracy_chart([], [], [], []), [0, 1.04]),
        (loss_chart([], []), [0, 2.5]),
        (lr_chart([], []), [0, 1]),
        (throughput_chart([], []), [0, 1]),
    ],
)
def test_empty_charts_have_fixed_sensible_ranges_and_say_no_points_yet(figure, y_range) -> None:
    # plotly's own empty axes run -1…4 (-100 %…400 % with a percent format)
    assert list(figure.layout.yaxis.range) == pytest.approx(y_range)
    assert list(figure.layout.xaxis.range) == [0, 1]
    assert [a.text for a in figure.layout.annotations] == ["no points yet"]


def test_a_diverged_only_chart_counts_as_empty() -> None:
    figure = loss_chart([1, 2], [math.nan, math.inf])
    assert [a.text for a in figure.layout.annotations] == ["no points yet"]


def test_per_class_overall_label_sits_above_the_plot_not_on_the_bars() -> None:
    figure = per_class_accuracy_chart([0.9, 0.5, 0.1], ("cat", "dog", "ship"), overall=0.5)
    assert figure.layout.shapes[0].y0 == pytest.approx(0.5)  # the dashed line stays
    [label] = figure.layout.annotations
    assert label.text.endswith("overall 50.0%")
    assert (label.xref, label.yref, label.yanchor) == ("paper", "paper", "bottom")
    assert label.y >= 1.0  # in the top margin, above every bar and bar label


def _point(step: int, epoch: float, key: str = "test/acc") -> SimpleNamespace:
    return SimpleNamespace(step=step, epoch=epoch, key=key, value=0.3)


def test_evaluation_caption_says_when_it_ran_in_epochs_done() -> None:
    stopped = [_point(520, 0.6632653), _point(520, 0.66, "train/acc")]
    assert evaluation_when(520, stopped) == (
        "From the evaluation after 0.66 epochs (step 520): the run ended partway through an epoch."
    )
    assert (
        evaluation_when(784, [_point(784, 1.0)]) == "From the evaluation after epoch 1 (step 784)."
    )
    assert evaluation_when(7, []) == "From the evaluation at step 7."


def _run(**fields) -> SimpleNamespace:
    base = {
        "status": "finished", "name": "n", "dataset": "mnist", "model": "mnist_net",
        "epoch": 2.0, "epochs": 2, "active": False, "config": {"batch_size": 64, "lr": 0.01},
        "best_acc": 0.981, "final_acc": 0.97, "images_per_s": 5000.0, "duration_s": 12.0,
        "device": "cpu", "created_at": 0.0, "id": "x",
    }  # fmt: skip
    return SimpleNamespace(**(base | fields))


def test_run_table_columns_have_one_type_and_no_none() -> None:
    rows = table_rows([
        _run(),
        _run(status="running", active=True, epoch=0.25, best_acc=None, final_acc=None),
        _run(status="failed", epoch=0.0, best_acc=None, final_acc=None, images_per_s=None,
             duration_s=None, device=None, config={}),
    ])  # fmt: skip
    table = pa.Table.from_pandas(pd.DataFrame(rows))  # ArrowTypeError on mixed columns
    assert table.column("epochs").to_pylist() == ["2/2", "0.25/2", "0/2"]
    for name in ("best acc", "final acc", "images/s", "duration (s)", "batch", "lr"):
        assert pa.types.is_floating(table.column(name).type), name
    assert None not in [v for row in rows for v in row.values()]
    assert rows[2]["device"] == rows[2]["optimizer"] == "—"


def test_overlay_panels_without_points_have_fixed_ranges_and_say_so() -> None:
    from cnnlab.charts.training import RunCurves, runs_overlay

    run = RunCurves("a · 1", {"train/loss": ([0.1, 0.2], [2.0, 1.5])})  # no test accuracy yet
    figure = runs_overlay([run], ["test/acc", "train/loss"])
    assert list(figure.layout.yaxis.range) == [0, pytest.approx(1.04)]
    assert figure.layout.yaxis.tickformat == ".0%"
    notes = [a for a in figure.layout.annotations if a.text == "no points yet"]
    assert [(a.xref, a.yref) for a in notes] == [("x domain", "y domain")]
    assert figure.layout.yaxis2.range is None  # the loss panel keeps its autorange
