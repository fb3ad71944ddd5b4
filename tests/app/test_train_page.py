"""The Train page in AppTest, against a real SQLite run store in a temporary directory.

Runs are prepared with the real ``cnnlab.store`` API (the trainer's own writer), so the
page reads exactly what a training process would have written (builders in conftest.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from cnnlab import runs
from cnnlab.data import CIFAR10_CLASSES

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "train.py")
TIMEOUT = 60


def plotly_figures(at: AppTest) -> dict[str, dict[str, Any]]:
    """Every plotly chart on the page, by its title (or its first trace type)."""
    figures = {}
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        title = spec["layout"].get("title", {}).get("text") or spec["data"][0]["type"]
        figures[title] = spec
    return figures


def open_page(run_id: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    if run_id:
        at.query_params["run"] = run_id
    return at.run()


def submit(at: AppTest) -> AppTest:
    [button] = [b for b in at.button if b.label == "Start training"]
    return button.click().run()


def test_form_refuses_lr_zero_and_starts_nothing(runs_dir: Path) -> None:
    at = open_page()
    assert not at.exception
    at.number_input(key="train_form_lr").set_value(0.0)
    at = submit(at)
    errors = [e.value for e in at.sidebar.error]
    assert errors and "lr" in errors[0] and "above 0" in errors[0]
    assert runs.list_runs() == []
    assert "run" not in at.query_params


def test_form_explains_a_model_that_does_not_fit_the_dataset(runs_dir: Path) -> None:
    at = open_page()
    at.selectbox(key="train_dataset").set_value("mnist").run()
    at.selectbox(key="train_model").set_value("custom").run()
    # the seed-001 CIFAR-10 network prefilled for custom models expects 3x32x32 images
    at = submit(at)
    [error] = at.sidebar.error
    # the ledger's diagnosis (or torch's words where the ledger is silent): the channel clash
    assert "does not fit MNIST (1x28x28)" in error.value and "channel" in error.value
    assert runs.list_runs() == []


def test_changing_the_model_loads_its_recipe(runs_dir: Path) -> None:
    at = open_page()
    at.selectbox(key="train_model").set_value("seq_cifar").run()
    assert at.selectbox(key="train_form_optimizer").value == "adam"
    assert at.number_input(key="train_form_lr").value == pytest.approx(0.001)
    assert at.selectbox(key="train_form_scheduler").value == "step"
    at.number_input(key="train_form_lr").set_value(0.05).run()
    [reset] = [b for b in at.button if b.label == "Reset to recommended settings"]
    reset.click().run()
    assert at.number_input(key="train_form_lr").value == pytest.approx(0.001)


def test_finished_run_renders_every_chart_and_the_confusion_matrix(
    runs_dir: Path, data_dir: Path, make_run: Callable[..., Any]
) -> None:
    run_id = make_run(runs_dir)
    at = open_page(run_id)
    assert not at.exception
    figures = plotly_figures(at)
    assert {
        "Training loss",
        "Accuracy per epoch",
        "Learning rate",
        "Throughput",
        "Confusion matrix",
        "Accuracy per class",
        "Misclassified test images: true → predicted",
    } <= set(figures)
    heatmap = figures["Confusion matrix"]["data"][0]
    assert heatmap["x"] == list(CIFAR10_CLASSES) and heatmap["text"][0][0] == 5
    assert len(figures["Training loss"]["data"][0]["x"]) == 20  # every other of 40 steps
    assert figures["Accuracy per epoch"]["data"][1]["y"] == pytest.approx([0.35, 0.5])
    mistakes = figures["Misclassified test images: true → predicted"]
    assert len(mistakes["data"]) == 12 and all(t["type"] == "image" for t in mistakes["data"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Final test accuracy"] == "50.0%"
    assert [b for b in at.get("download_button") if "best.pt" in b.proto.label]
    assert at.get("badge") or any("finished" in str(m.value) for m in at.markdown)


def test_running_run_fragment_picks_up_new_metrics(
    runs_dir: Path, make_run: Callable[..., Any], add_points: Callable[..., Any]
) -> None:
    run_id = make_run(runs_dir, status="running", epochs=3, logged_steps=30)
    at = open_page(run_id)
    assert not at.exception
    before = plotly_figures(at)["Training loss"]["data"][0]["x"]
    assert before[-1] == 28
    assert "Confusion matrix" not in plotly_figures(at)  # results only when it ends
    add_points(runs_dir, run_id, range(30, 40))
    at.run()
    after = plotly_figures(at)["Training loss"]["data"][0]["x"]
    assert after[: len(before)] == before and after[len(before) :] == list(range(30, 40))
    progress = at.get("progress")[0]
    assert "step 39/60" in progress.proto.text
    # a second tab (a fresh session) with the same URL shows the same run in progress
    other = open_page(run_id)
    assert plotly_figures(other)["Training loss"]["data"][0]["x"] == after


def test_stop_button_requests_a_stop(runs_dir: Path, make_run: Callable[..., Any]) -> None:
    run_id = make_run(runs_dir, status="running", epochs=3, logged_steps=30)
    at = open_page(run_id)
    at.button(key="train_stop").click().run()
    assert runs.get_run(run_id).stop_requested
    assert at.button(key="train_stopping").disabled


def test_failed_run_shows_why(runs_dir: Path, make_run: Callable[..., Any]) -> None:
    message = "CUDA out of memory: lower the batch size"
    run_id = make_run(runs_dir, status="failed", error=message, logged_steps=25)
    at = open_page(run_id)
    assert any(message in e.value for e in at.error)


def test_unknown_run_in_the_url_is_an_error_not_a_crash(runs_dir: Path) -> None:
    at = open_page("../../etc/passwd")
    assert not at.exception
    assert "not a run id" in at.error[0].value


@pytest.mark.slow
def test_submitting_the_same_settings_twice_starts_one_run(runs_dir: Path, data_dir: Path) -> None:
    at = open_page()
    at.number_input(key="train_form_epochs").set_value(50)
    at.number_input(key="train_form_batch_size").set_value(64)
    at.number_input(key="train_form_limit_train").set_value(512)
    at.number_input(key="train_form_limit_test").set_value(128)
    at.selectbox(key="train_form_device").set_value("cpu")
    at = submit(at)
    assert not at.exception
    run_id = at.query_params["run"]
    at = submit(at)  # a double click, or the form sent again while that run is going
    try:
        assert [r.id for r in runs.list_runs()] == [run_id]
        assert at.query_params["run"] == run_id
    finally:
        runs.request_stop(run_id)
        deadline = time.monotonic() + 60
        while runs.get_run(run_id).active and time.monotonic() < deadline:
            time.sleep(0.5)
    assert runs.get_run(run_id).status in ("stopped", "finished")


def test_start_with_an_unreadable_run_store_says_why(runs_dir: Path) -> None:
    at = open_page()
    (runs_dir / "runs.sqlite").write_bytes(b"\x00garbage" * 512)  # corrupt after the page opened
    at = submit(at)
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert errors and "Not started" in errors[0] and "move it aside" in errors[0]
    assert "run" not in at.query_params
