"""cnnlab.charts.runs / charts.training helpers the Runs and Train pages show as text."""

from __future__ import annotations

from types import SimpleNamespace

from cnnlab.charts.runs import COMPARE_KEYS, filter_runs, run_label, status_line
from cnnlab.charts.training import headline_metrics, mistakes_rows


def _run(
    name: str, status: str, dataset: str = "cifar10", model: str = "lenet5"
) -> SimpleNamespace:
    return SimpleNamespace(id=f"id-{name}", name=name, status=status, dataset=dataset, model=model)


RUNS = [
    _run("Good LR", "finished"),
    _run("bad", "failed", model="seq_cifar"),
    _run("mnist try", "running", dataset="mnist"),
]


def test_filters_combine_and_empty_choices_let_all_through() -> None:
    assert filter_runs(RUNS) == RUNS
    assert [r.name for r in filter_runs(RUNS, statuses=["finished", "failed"])] == [
        "Good LR",
        "bad",
    ]
    assert [r.name for r in filter_runs(RUNS, models=["lenet5"], text="lr")] == ["Good LR"]
    assert filter_runs(RUNS, datasets=["mnist"], statuses=["finished"]) == []


def test_status_line_counts_only_present_statuses_in_a_fixed_order() -> None:
    assert status_line(RUNS) == "🏃 1 running · ✅ 1 finished · ❌ 1 failed"
    assert status_line([]) == ""
    assert run_label(RUNS[0]) == "Good LR · id-Good LR"


def test_compare_keys_offer_the_smoothed_loss_after_test_accuracy() -> None:
    assert list(COMPARE_KEYS)[:2] == ["test/acc", "train/loss"]
    assert COMPARE_KEYS["train/loss"] == "training loss (smoothed)"


def test_headline_metrics_show_dashes_where_unknown() -> None:
    done = SimpleNamespace(final_acc=0.5, best_acc=0.625, images_per_s=1234.4, duration_s=61.2)
    assert headline_metrics(done) == [
        ("Final test accuracy", "50.0%"),
        ("Best test accuracy", "62.5%"),
        ("Training speed", "1,234 img/s"),
        ("Duration", "61 s"),
    ]
    empty = SimpleNamespace(final_acc=None, best_acc=None, images_per_s=0.0, duration_s=None)
    assert [value for _, value in headline_metrics(empty)] == ["–"] * 4


def test_mistakes_rows_name_the_classes() -> None:
    assert mistakes_rows([(7, 0, 2)], ["cat", "dog", "frog"]) == [
        {"test image": 7, "true": "cat", "predicted": "frog"}
    ]
