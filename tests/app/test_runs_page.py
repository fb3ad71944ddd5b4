"""The Runs page in AppTest, against a real SQLite run store prepared with cnnlab.store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from cnnlab import runs
from cnnlab.charts.runs import differing_settings, metrics_csv, table_rows

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "runs.py")


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def _label(run_id: str) -> str:
    run = runs.get_run(run_id)
    return f"{run.name} · {run.id}"


def test_empty_store_says_how_to_start(runs_dir: Path) -> None:
    at = open_page()
    assert not at.exception
    assert "No runs yet" in at.info[0].value


def test_table_lists_every_run_and_filters_by_status(
    runs_dir: Path, make_run: Callable[..., Any]
) -> None:
    finished = make_run(runs_dir, name="good")
    failed = make_run(runs_dir, status="failed", error="boom", name="bad", logged_steps=10)
    at = open_page()
    table = at.dataframe[0].value
    assert set(table["id"]) == {finished, failed}
    row = table.set_index("id").loc[finished]
    assert row["final acc"] == pytest.approx(50.0) and row["best acc"] == pytest.approx(50.0)
    assert row["dataset"] == "cifar10" and row["model"] == "lenet5" and row["device"] == "cpu"
    at.multiselect(key="runs_status").set_value(["failed"]).run()
    assert list(at.dataframe[0].value["id"]) == [failed]


def test_selected_runs_overlay_on_shared_axes_with_their_differences(
    runs_dir: Path, make_run: Callable[..., Any]
) -> None:
    a = make_run(runs_dir, name="a", lr=0.01)
    b = make_run(runs_dir, name="b", lr=0.05, optimizer="adam")
    at = open_page()
    at.multiselect(key="runs_selected").set_value([_label(a), _label(b)]).run()
    assert not at.exception
    [overlay] = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    names = [trace["name"] for trace in overlay["data"]]
    assert names.count(_label(a)) == 2 and names.count(_label(b)) == 2  # test acc + loss
    diff = at.dataframe[1].value.set_index("setting")
    assert set(diff.index) == {"lr", "optimizer"}
    assert diff.loc["optimizer", _label(b)] == "adam"


def test_delete_asks_for_confirmation_then_removes_rows_and_folder(
    runs_dir: Path, make_run: Callable[..., Any]
) -> None:
    run_id = make_run(runs_dir, name="doomed")
    assert (runs_dir / run_id / "best.pt").is_file()
    at = open_page()
    at.multiselect(key="runs_selected").set_value([_label(run_id)]).run()
    at.button(key="runs_delete").click().run()
    assert runs.list_runs() != []  # nothing deleted before the confirmation
    assert "cannot be undone" in at.warning[0].value
    at.button(key="runs_delete_yes").click().run()
    assert runs.list_runs() == []
    assert not (runs_dir / run_id).exists()
    assert runs.metrics(run_id) == []


def test_download_buttons_for_checkpoint_and_metrics(
    runs_dir: Path, make_run: Callable[..., Any]
) -> None:
    run_id = make_run(runs_dir, name="dl")
    at = open_page()
    at.multiselect(key="runs_selected").set_value([_label(run_id)]).run()
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(label.startswith("best.pt") for label in labels) and "metrics.csv" in labels
    csv_text = metrics_csv(runs.metrics(run_id))
    lines = csv_text.splitlines()
    assert lines[0] == "step,epoch,key,value,wall_time"
    assert len(lines) - 1 == len(runs.metrics(run_id))
    assert any(",test/acc,0.5," in line for line in lines)


def test_a_run_started_elsewhere_appears_and_progresses(
    runs_dir: Path, make_run: Callable[..., Any], add_points: Callable[..., Any]
) -> None:
    at = open_page()
    run_id = make_run(runs_dir, status="running", epochs=3, logged_steps=30, name="cli run")
    at.run()
    table = at.dataframe[0].value.set_index("id")
    assert (
        table.loc[run_id, "status"].endswith("running") and table.loc[run_id, "epochs"] == "1.5/3"
    )
    add_points(runs_dir, run_id, range(30, 45))
    at.run()
    assert at.dataframe[0].value.set_index("id").loc[run_id, "epochs"] == "2.2/3"
    assert "updating every 2 s" in at.caption[0].value


def test_differing_settings_keeps_only_differences() -> None:
    rows = differing_settings(
        {"a": {"lr": 0.1, "seed": 0, "name": "x"}, "b": {"lr": 0.1, "seed": 1, "name": "y"}}
    )
    assert rows == [{"setting": "seed", "a": "0", "b": "1"}]


def test_table_rows_show_accuracy_as_percent() -> None:
    run = SimpleNamespace(
        status="finished", name="n", dataset="mnist", model="mnist_net", epoch=2.0, epochs=2,
        active=False, config={"batch_size": 64, "lr": 0.01}, best_acc=0.981, final_acc=0.97,
        images_per_s=5000.0, duration_s=12.0, device="cpu", created_at=0.0, id="x",
    )  # fmt: skip
    [row] = table_rows([run])
    assert row["best acc"] == pytest.approx(98.1) and row["status"] == "✅ finished"
