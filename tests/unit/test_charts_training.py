"""The training charts on synthetic data: what each figure shows, not only that it builds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnlab.charts.training import (
    RunCurves,
    accuracy_chart,
    confusion_heatmap,
    ema,
    gpu_memory_chart,
    loss_chart,
    lr_chart,
    misclassified_grid,
    per_class_accuracy_chart,
    runs_overlay,
    spread_mistakes,
    throughput_chart,
)

CLASSES = ("cat", "dog", "ship")


def test_ema_is_bias_corrected_so_a_constant_stays_constant() -> None:
    assert ema([2.0] * 5, 0.9) == pytest.approx([2.0] * 5)


def test_ema_weight_zero_is_identity_and_heavy_weight_lags_a_step() -> None:
    values = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert ema(values, 0.0) == values
    smoothed = ema(values, 0.6)
    assert smoothed[2] == pytest.approx(1.0)
    # after the drop it decreases monotonically but stays above the raw value
    assert 1.0 > smoothed[3] > smoothed[4] > smoothed[5] > 0.0


def test_ema_skips_non_finite_values_and_rejects_bad_weights() -> None:
    smoothed = ema([1.0, math.nan, 1.0, math.inf], 0.5)
    assert smoothed == pytest.approx([1.0, 1.0, 1.0, 1.0])
    assert math.isnan(ema([math.nan], 0.5)[0])
    with pytest.raises(ValueError):
        ema([1.0], 1.0)


def test_loss_chart_has_raw_and_smoothed_traces_over_the_steps() -> None:
    steps = list(range(0, 100, 10))
    losses = [2.3 - 0.1 * i + (0.3 if i % 2 else -0.3) for i in range(10)]
    figure = loss_chart(steps, losses, smoothing=0.8)
    raw, smooth = figure.data
    assert list(raw.x) == steps and list(raw.y) == pytest.approx(losses)
    assert list(smooth.y) == pytest.approx(ema(losses, 0.8))
    # smoothing removes the zig-zag: the smoothed curve varies less than the raw one
    assert np.std(np.diff(smooth.y)) < np.std(np.diff(raw.y))
    assert figure.layout.xaxis.title.text == "step"


def test_a_diverged_loss_becomes_a_gap_not_a_crash() -> None:
    figure = loss_chart([0, 1, 2], [2.0, math.nan, math.inf])
    assert list(figure.data[0].y) == [2.0, None, None]


def test_accuracy_chart_shows_train_and_test_per_epoch_as_percentages() -> None:
    figure = accuracy_chart([1, 2, 3], [0.4, 0.6, 0.8], [1, 2, 3], [0.35, 0.5, 0.55])
    names = [trace.name for trace in figure.data]
    assert names == ["train", "test"]
    assert list(figure.data[1].y) == pytest.approx([0.35, 0.5, 0.55])
    assert figure.layout.yaxis.tickformat == ".0%"


def test_step_series_charts_plot_their_values() -> None:
    steps = [0, 10, 20]
    for chart, values in (
        (lr_chart, [0.1, 0.05, 0.01]),
        (throughput_chart, [900.0, 1000.0, 1100.0]),
        (gpu_memory_chart, [1.5, 1.6, 1.6]),
    ):
        figure = chart(steps, values)
        assert len(figure.data) == 1
        assert list(figure.data[0].y) == pytest.approx(values)
    with pytest.raises(ValueError):
        lr_chart([0, 1], [0.1])


def test_confusion_heatmap_colours_by_row_share_and_labels_with_counts() -> None:
    confusion = [[8, 2, 0], [1, 3, 0], [0, 0, 0]]
    figure = confusion_heatmap(confusion, CLASSES)
    heatmap = figure.data[0]
    assert list(heatmap.x) == list(CLASSES) and list(heatmap.y) == list(CLASSES)
    z = np.asarray(heatmap.z)
    assert z[0] == pytest.approx([0.8, 0.2, 0.0])
    assert z[1] == pytest.approx([0.25, 0.75, 0.0])
    assert z[2] == pytest.approx([0.0, 0.0, 0.0])  # an empty class is zeros, not NaN
    assert np.asarray(heatmap.text).tolist() == confusion
    with pytest.raises(ValueError):
        confusion_heatmap([[1, 2], [3, 4]], CLASSES)


def test_per_class_bars_one_per_class_with_overall_line() -> None:
    figure = per_class_accuracy_chart([0.9, 0.5, 0.1], CLASSES, overall=0.5)
    bars = figure.data[0]
    assert list(bars.x) == list(CLASSES)
    assert list(bars.y) == pytest.approx([0.9, 0.5, 0.1])
    assert list(bars.text) == ["90%", "50%", "10%"]
    assert figure.layout.shapes[0].y0 == pytest.approx(0.5)
    with pytest.raises(ValueError):
        per_class_accuracy_chart([0.5], CLASSES)


def test_misclassified_grid_titles_each_image_with_true_and_predicted_class() -> None:
    images = np.random.default_rng(0).integers(0, 255, (5, 3, 32, 32), dtype=np.uint8)
    figure = misclassified_grid(images, [0, 1, 2, 0, 1], [1, 2, 0, 2, 0], CLASSES, columns=3)
    assert len(figure.data) == 5
    assert all(trace.type == "image" for trace in figure.data)
    first = np.asarray(figure.data[0].z)
    assert first.shape == (32, 32, 3)
    assert np.array_equal(first, images[0].transpose(1, 2, 0))
    titles = [annotation.text for annotation in figure.layout.annotations]
    assert "cat" in titles[0] and "dog" in titles[0]
    assert titles[0].index("cat") < titles[0].index("dog")  # true before predicted
    # 5 images in 3 columns need two rows: the fifth sits in row 2
    assert figure.data[4].xaxis == "x5" and figure.layout.xaxis5.domain[0] > 0.3


def test_misclassified_grid_shows_grayscale_as_rgb_and_handles_none() -> None:
    gray = np.full((1, 1, 28, 28), 200, dtype=np.uint8)
    figure = misclassified_grid(gray, [3], [5], [str(i) for i in range(10)])
    z = np.asarray(figure.data[0].z)
    assert z.shape == (28, 28, 3) and (z == 200).all()
    empty = misclassified_grid(np.zeros((0, 3, 32, 32), np.uint8), [], [], CLASSES)
    assert len(empty.data) == 0 and "No misclassified" in empty.layout.annotations[0].text
    with pytest.raises(ValueError):
        misclassified_grid(np.zeros((2, 32, 32), np.uint8), [0, 1], [1, 0], CLASSES)


def test_runs_overlay_puts_runs_on_shared_axes_with_one_colour_each() -> None:
    runs = [
        RunCurves(
            "a", {"test/acc": ([1, 2], [0.3, 0.5]), "train/loss": ([0.5, 1, 2], [2, 1.5, 1])}
        ),
        RunCurves("b", {"test/acc": ([1, 2, 3], [0.2, 0.4, 0.6])}),
    ]
    figure = runs_overlay(runs, ["test/acc", "train/loss"])
    traces = [(trace.name, trace.yaxis) for trace in figure.data]
    assert traces == [("a", "y"), ("a", "y2"), ("b", "y")]
    a_colors = {trace.line.color for trace in figure.data if trace.name == "a"}
    b_colors = {trace.line.color for trace in figure.data if trace.name == "b"}
    assert len(a_colors) == 1 and a_colors != b_colors
    assert [trace.showlegend for trace in figure.data] == [True, False, True]
    assert figure.layout.xaxis.matches == "x2" or figure.layout.xaxis2.matches == "x"
    with pytest.raises(ValueError):
        runs_overlay(runs, [])


def test_spread_mistakes_takes_each_true_class_in_turn() -> None:
    mistakes = [(i, 0, 1) for i in range(10)] + [(100, 2, 0), (101, 2, 1), (200, 5, 3)]
    assert spread_mistakes(mistakes, 5) == [
        (0, 0, 1),
        (100, 2, 0),
        (200, 5, 3),
        (1, 0, 1),
        (101, 2, 1),
    ]
    assert len(spread_mistakes(mistakes, 100)) == len(mistakes)
    assert spread_mistakes([], 4) == []
