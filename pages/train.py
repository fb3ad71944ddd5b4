"""Train: a sidebar form starts a run; the run's curves stream in live; results when it ends.

The page only reads the run store; the training process writes it. The run's id lives in
the URL (``?run=<id>``), so a refresh, a second tab or a closed-and-reopened tab shows the
same run. While the run is active a fragment re-reads only the new metric rows every
second; when nothing runs, nothing reruns on a timer.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

from app_shell import ensure_app_navigation
from cnnlab import data, models, prep, runs
from cnnlab.charts import training as charts
from cnnlab.charts.runs import STATUS_BADGES, evaluation_when
from cnnlab.config import CUSTOM, RunConfig, settings_line
from cnnlab.errors import CNNLabError
from cnnlab.live import EtaSmoother, MetricSeries, progress_bar, smooth_eta
from cnnlab.models.examples import SEED_001
from cnnlab.run_form import (
    FORM_FIELDS,
    FORM_GROUPS,
    FormField,
    config_from_form,
    model_caption,
    model_label,
    recommended,
)

ensure_app_navigation()

SIDE_BY_SIDE_CHARS = 12  # the longest label half the sidebar holds beside its help icon
LIVE_INTERVAL_S = 1.0  # fragment rerun interval while a run is active (points show within 2 s)


# ---- the form ------------------------------------------------------------------------
def _key(field: str) -> str:
    return f"train_form_{field}"


def _load_defaults() -> None:
    """Put the recommended values into the form's widgets (on model/dataset change, reset)."""
    values = recommended(st.session_state.train_model, st.session_state.train_dataset)
    for field in FORM_FIELDS:
        st.session_state[_key(field)] = values[field]


def _field(where: Any, field: FormField, disabled: bool) -> None:
    """One form widget, its value kept in session_state under ``train_form_<name>``."""
    common = {"key": _key(field.name), "help": field.help, "disabled": disabled}
    if field.kind == "number":
        where.number_input(field.label, step=field.step, format=field.format,
                           placeholder=field.placeholder, **common)  # fmt: skip
    elif field.kind == "choice":
        where.selectbox(field.label, field.options, **common)
    elif field.kind == "check":
        where.checkbox(field.label, **common)
    else:
        where.text_input(field.label, max_chars=field.max_chars,
                         placeholder=field.placeholder, **common)  # fmt: skip


def _places(row: tuple[FormField, ...]) -> list[Any]:
    """Two fields side by side only when both labels fit half the sidebar on one line;
    there "Mixed precision" wrapped and "torch.compile" broke as "torch.compil / e"."""
    if len(row) == 2 and all(len(field.label) <= SIDE_BY_SIDE_CHARS for field in row):
        return list(st.columns(2))
    return [st] * len(row)


def sidebar_form() -> RunConfig | None:
    """Draw the sidebar; return a validated RunConfig when Start was pressed, else None."""
    st.sidebar.header("New run")
    st.session_state.setdefault("train_model", "lenet5")
    st.session_state.setdefault("train_dataset", "cifar10")
    st.sidebar.selectbox(
        "Dataset", list(data.DATASETS), key="train_dataset",
        format_func=lambda name: data.DATASETS[name].title, on_change=_load_defaults,
        help="The images the network learns from. Changing it reloads the recommended settings.",
    )  # fmt: skip
    st.sidebar.selectbox(
        "Model", [*models.list_models(), CUSTOM], key="train_model", format_func=model_label,
        on_change=_load_defaults,
        help="A preset from the course notes, or your own nn.Sequential. Changing it reloads "
        "the settings its source trains with.",
    )  # fmt: skip
    if _key("epochs") not in st.session_state:
        _load_defaults()
    model, dataset = st.session_state.train_model, st.session_state.train_dataset
    if model != CUSTOM:
        st.sidebar.caption(model_caption(model))
    st.sidebar.caption(
        "Dataset and model sit outside the form because they change the recommended "
        "settings below; everything in the form is sent together when you press Start."
    )
    with st.sidebar.form("train_form", border=False):
        custom_source = None
        if model == CUSTOM:
            custom_source = st.text_area(
                "nn.Sequential source",
                value=st.session_state.get("custom_source", SEED_001), height=260,
                help="Only nn layers with literal arguments (no other code runs). The first "
                "Conv2d must take the dataset's channels, the last Linear its classes.",
            )  # fmt: skip
        for group in FORM_GROUPS:
            with st.expander(group.title, expanded=group.expanded):
                disabled = group.model_options and model == CUSTOM
                if disabled:
                    st.caption("A custom network's layers are set in its source.")
                for row in group.rows:
                    for where, field in zip(_places(row), row, strict=True):
                        _field(where, field, disabled)
        submitted = st.form_submit_button(
            "Start training", type="primary", icon=":material/play_arrow:", width="stretch"
        )
    st.sidebar.button(
        "Reset to recommended settings", on_click=_load_defaults, icon=":material/restart_alt:",
        width="stretch", help="Fill the form with the recipe of the chosen model and dataset.",
    )  # fmt: skip
    if not submitted:
        return None
    values = {field: st.session_state[_key(field)] for field in FORM_FIELDS}
    try:
        return config_from_form(model, dataset, values, custom_source).validate()
    except (CNNLabError, TypeError) as error:
        st.sidebar.error(f"Not started: {error}", icon=":material/block:")
        return None


# ---- the run view --------------------------------------------------------------------
def live_charts(series: MetricSeries) -> None:
    """The curves of a run: loss, accuracy, learning rate, throughput (and GPU memory)."""
    on_cuda = "gpu/mem_gib" in series  # only CUDA runs log it
    left, right = st.columns(2)
    left.plotly_chart(charts.loss_chart(*series.xy("train/loss")), key="chart_loss")
    accuracy = charts.accuracy_chart(
        *series.xy("train/acc", "epoch"), *series.xy("test/acc", "epoch")
    )
    right.plotly_chart(accuracy, key="chart_acc")
    columns = st.columns(3 if on_cuda else 2)
    columns[0].plotly_chart(charts.lr_chart(*series.xy("train/lr")), key="chart_lr")
    speed = charts.throughput_chart(*series.xy("train/images_per_s"))
    columns[1].plotly_chart(speed, key="chart_speed")
    if on_cuda:
        memory = charts.gpu_memory_chart(*series.xy("gpu/mem_gib"))
        columns[2].plotly_chart(memory, key="chart_mem")


def live_panel(run_id: str, was_active: bool) -> None:
    """Status, progress and curves; rerun every second by its fragment while the run is active."""
    summary = runs.get_run(run_id)
    eta = st.session_state.setdefault(f"train_eta_{run_id}", EtaSmoother())
    progress = smooth_eta(runs.progress(summary), eta)  # from the summary just read
    # only the rows written since the last rerun are read; the series lives in the session
    series = st.session_state.setdefault(f"train_points_{run_id}", MetricSeries())
    series.extend(runs.metrics(run_id, after_row=series.cursor))
    head, stop = st.columns([5, 1], vertical_alignment="center")
    with head:
        badge, device = st.columns([1, 4], vertical_alignment="center")
        with badge:
            label, color, icon = STATUS_BADGES.get(summary.status, (summary.status, "gray", None))
            st.badge(label, color=color, icon=icon)
        where = "starting…" if summary.active else "ended before it reached a device"
        device.caption(f"on {summary.device}" if summary.device else where)
        phase = prep.current(run_id) if summary.active and not summary.step else None
        st.progress(*progress_bar(progress, phase))  # phase: decoding the data on first use
    if summary.active and summary.stop_requested:
        stop.button("Stopping…", disabled=True, key="train_stopping", width="stretch")
    elif summary.active:
        stop.button(
            "Stop", icon=":material/stop:", key="train_stop", width="stretch",
            on_click=runs.request_stop, args=(run_id,),
            help="Ends the run after the current step and saves a checkpoint.",
        )  # fmt: skip
    live_charts(series)
    if was_active and not summary.active:
        st.rerun()  # the whole page: the timer stops and the results appear


# ---- results -------------------------------------------------------------------------
@st.cache_resource(show_spinner="Loading the test images…", max_entries=2)
def _test_images(dataset: str, data_dir: str | None) -> Any:
    return data.load_split(dataset, "test", root=data_dir)


def _misclassified(summary: Any, evaluation: Any) -> None:
    mistakes = charts.spread_mistakes(evaluation.misclassified, 24)
    if not mistakes:
        st.info("No misclassified test images in the last evaluation.")
        return
    try:
        split = _test_images(summary.dataset, summary.config.get("data_dir"))
        images = split.images[[m[0] for m in mistakes]].numpy()  # uint8 [N, C, H, W]
    except CNNLabError as error:
        st.info(f"The test images are not on this machine, so only labels are listed. {error}")
        st.dataframe(charts.mistakes_rows(mistakes, evaluation.classes), hide_index=True)
        return
    grid = charts.misclassified_grid(
        images, [m[1] for m in mistakes], [m[2] for m in mistakes], evaluation.classes
    )
    st.plotly_chart(grid, key="chart_mistakes")


def results(summary: Any) -> None:
    """What the run learned: accuracy, confusion matrix, per-class bars, mistakes, checkpoint."""
    if summary.error:
        (st.warning if summary.status == "stopped" else st.error)(
            f"Run {summary.status}: {summary.error}"
        )
    elif summary.status == "stopped":
        st.warning("Run stopped on request; its last checkpoint is saved and it can be resumed.")
    tiles = charts.headline_metrics(summary)
    for column, (label, value) in zip(st.columns(len(tiles)), tiles, strict=True):
        column.metric(label, value)
    evaluation = runs.latest_evaluation(summary.id)
    if evaluation is None:
        st.info("No evaluation was recorded: the run ended before its first epoch finished.")
    else:
        test_points = runs.metrics(summary.id, keys=["test/acc"])
        st.caption(evaluation_when(evaluation.step, test_points))
        left, right = st.columns([3, 2])
        confusion = charts.confusion_heatmap(evaluation.confusion, evaluation.classes)
        left.plotly_chart(confusion, key="chart_confusion")
        per_class = charts.per_class_accuracy_chart(
            evaluation.per_class_acc, evaluation.classes, overall=evaluation.test_acc
        )
        right.plotly_chart(per_class, key="chart_per_class")
        _misclassified(summary, evaluation)
    _checkpoint_links(summary.id)


def _checkpoint_links(run_id: str) -> None:
    path = runs.saved_checkpoint(run_id)
    if path is None:
        st.caption("No checkpoint was saved (the run ended before its first epoch).")
        return
    left, right = st.columns(2)
    try:
        left.page_link(
            "pages/feature_maps.py", label="Open this network on the Feature maps page",
            icon=":material/visibility:", query_params={"run": run_id},
        )  # fmt: skip
    except StreamlitAPIException:  # page not registered (e.g. this page run on its own)
        left.markdown(
            f":material/visibility: [Open on the Feature maps page](/feature_maps?run={run_id})"
        )
    right.download_button(
        f"Download {path.name} ({path.stat().st_size / 2**20:.1f} MiB)", data=path.read_bytes,
        file_name=f"{run_id}-{path.name}", mime="application/octet-stream",
        icon=":material/download:", on_click="ignore",
        help="A state dict with optimizer state and metadata; load it with "
        "torch.load(path, weights_only=True).",
    )  # fmt: skip


def show_run(run_id: str) -> None:
    try:
        summary = runs.get_run(run_id)
    except CNNLabError as error:
        st.error(f"{error}. Start a new run from the sidebar.")
        return
    st.subheader(summary.name or summary.id)
    st.caption(f"{settings_line(summary.config)} · run `{summary.id}`")
    # the live panel reruns every second only while the run is active
    interval = LIVE_INTERVAL_S if summary.active else None
    st.fragment(run_every=interval)(live_panel)(summary.id, summary.active)
    if not summary.active:
        st.divider()
        results(summary)


def main() -> None:
    st.title("Train")
    config = sidebar_form()
    if config is not None:
        try:
            run_id = runs.start_once(config, st.session_state.setdefault("train_launched", {}))
        except CNNLabError as error:
            st.sidebar.error(f"Not started: {error}", icon=":material/block:")
            run_id = ""
        if run_id:
            st.query_params["run"] = run_id
    run_id = st.query_params.get("run")
    if run_id:
        show_run(run_id)
    else:
        st.info(
            "Choose a dataset and a model in the sidebar, adjust the settings and press "
            "**Start training**. The run trains in its own process: you can close this tab "
            "and come back, and runs started with `python -m cnnlab.train` appear on the "
            "Runs page.",
            icon=":material/arrow_back:",
        )


main()
