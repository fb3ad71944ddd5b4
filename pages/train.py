"""Train: a sidebar form starts a run; the run's curves stream in live; results when it ends.

The page only reads the run store; the training process writes it. The run's id lives in
the URL (``?run=<id>``), so a refresh, a second tab or a closed-and-reopened tab shows the
same run. While the run is active a fragment re-reads only the new metric rows every
second; when nothing runs, nothing reruns on a timer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

from app_shell import ensure_app_navigation
from cnnlab import data, models, runs
from cnnlab.charts import training as charts
from cnnlab.config import (
    ACTIVATIONS,
    AMP_CHOICES,
    COMPILE_CHOICES,
    CUSTOM,
    DEVICE_CHOICES,
    OPTIMIZERS,
    SCHEDULERS,
    RunConfig,
    defaults_for,
)
from cnnlab.errors import CNNLabError

ensure_app_navigation()

LIVE_INTERVAL_S = 1.0  # fragment rerun interval while a run is active (points show within 2 s)
ACTIVE = ("queued", "running")
BADGES = {
    "queued": ("queued", "gray", ":material/schedule:"),
    "running": ("running", "blue", ":material/directions_run:"),
    "finished": ("finished", "green", ":material/check_circle:"),
    "stopped": ("stopped", "orange", ":material/stop_circle:"),
    "failed": ("failed", "red", ":material/error:"),
    "diverged": ("diverged", "violet", ":material/trending_up:"),
}
SEED_001_NET = """nn.Sequential(
    nn.Conv2d(3, 32, 5, padding=2),
    nn.MaxPool2d(2),
    nn.Conv2d(32, 32, 5, padding=2),
    nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 5, padding=2),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(1024, 64),
    nn.Linear(64, 10),
)"""
MODEL_OPTIONS = ("activation", "batchnorm", "dropout", "width")
FORM_FIELDS = (
    "epochs", "batch_size", "optimizer", "lr", "momentum", "nesterov", "weight_decay",
    "scheduler", "step_size", "gamma", "label_smoothing", "augment", "crop_padding",
    *MODEL_OPTIONS, "device", "amp", "compile", "seed", "name", "limit_train", "limit_test",
    "eval_every",
)  # fmt: skip


# ---- the form ------------------------------------------------------------------------
def _key(field: str) -> str:
    return f"train_form_{field}"


def recommended(model: str, dataset: str) -> dict[str, Any]:
    """Form values that train well: the preset's recipe and its own model options."""
    values = RunConfig().to_dict() | defaults_for(model, dataset)
    # A custom network ignores these (its source says it all); the widgets still need values.
    preset = models.model_info(model if model != CUSTOM else "lenet5").defaults
    return values | {option: getattr(preset, option) for option in MODEL_OPTIONS}


def _load_defaults() -> None:
    """Put the recommended values into the form's widgets (on model/dataset change, reset)."""
    values = recommended(st.session_state.train_model, st.session_state.train_dataset)
    for field in FORM_FIELDS:
        st.session_state[_key(field)] = values[field]


def _model_label(name: str) -> str:
    if name == CUSTOM:
        return "Custom nn.Sequential"
    return f"{name} · {models.model_info(name).title}"


def _config_from_form(model: str, dataset: str, custom_source: str | None) -> RunConfig:
    """The RunConfig the form describes; model options only where they differ from the preset."""
    values = {field: st.session_state[_key(field)] for field in FORM_FIELDS}
    if model == CUSTOM:
        for option in MODEL_OPTIONS:
            values[option] = None
    else:
        preset = models.model_info(model).defaults
        for option in MODEL_OPTIONS:
            if values[option] == getattr(preset, option):
                values[option] = None
    values["name"] = (values["name"] or "").strip()
    return RunConfig(model=model, dataset=dataset, custom_source=custom_source, **values)


def sidebar_form() -> RunConfig | None:
    """Draw the sidebar; return a validated RunConfig when Start was pressed, else None."""
    st.sidebar.header("New run")
    model_names = [*models.list_models(), CUSTOM]
    st.session_state.setdefault("train_model", "lenet5")
    st.session_state.setdefault("train_dataset", "cifar10")
    st.sidebar.selectbox(
        "Dataset",
        list(data.DATASETS),
        key="train_dataset",
        format_func=lambda name: data.DATASETS[name].title,
        on_change=_load_defaults,
        help="The images the network learns from. Changing it reloads the recommended settings.",
    )
    st.sidebar.selectbox(
        "Model",
        model_names,
        key="train_model",
        format_func=_model_label,
        on_change=_load_defaults,
        help="A preset from the course notes, or your own nn.Sequential. Changing it reloads "
        "the settings its source trains with.",
    )
    if _key("epochs") not in st.session_state:
        _load_defaults()
    model, dataset = st.session_state.train_model, st.session_state.train_dataset
    if model != CUSTOM:
        info = models.model_info(model)
        st.sidebar.caption(
            f"{info.description} Recipe from {info.source}. {info.recipe.note}".strip()
        )
    st.sidebar.caption(
        "Dataset and model sit outside the form because they change the recommended "
        "settings below; everything in the form is sent together when you press Start."
    )

    with st.sidebar.form("train_form", border=False):
        custom_source = None
        if model == CUSTOM:
            custom_source = st.text_area(
                "nn.Sequential source",
                value=st.session_state.get("custom_source", SEED_001_NET),
                height=260,
                help="Only nn layers with literal arguments (no other code runs). The first "
                "Conv2d must take the dataset's channels, the last Linear its classes.",
            )
        with st.expander("Optimisation", expanded=True):
            st.number_input(
                "Epochs",
                key=_key("epochs"),
                step=1,
                help="Passes over the training set. More epochs learn more, until the test "
                "accuracy stops rising (overfitting).",
            )
            st.number_input(
                "Batch size",
                key=_key("batch_size"),
                step=1,
                help="Images per optimizer step. Larger batches are faster per image but take "
                "fewer steps per epoch; scale the learning rate with it.",
            )
            st.selectbox(
                "Optimizer",
                OPTIMIZERS,
                key=_key("optimizer"),
                help="SGD follows the gradient (with momentum); Adam/AdamW adapt the step per "
                "weight and usually want a smaller learning rate (1e-3).",
            )
            st.number_input(
                "Learning rate",
                key=_key("lr"),
                format="%.5f",
                step=0.001,
                help="Size of each step. Too small learns slowly; too large makes the loss "
                "jump or diverge (NaN).",
            )
            st.number_input(
                "Momentum (SGD)",
                key=_key("momentum"),
                format="%.2f",
                step=0.05,
                help="Fraction of the previous step kept in the next one; smooths and speeds "
                "up SGD. Ignored by Adam.",
            )
            st.checkbox(
                "Nesterov momentum (SGD)",
                key=_key("nesterov"),
                help="Looks ahead along the momentum before taking the gradient; often a "
                "little better than plain momentum.",
            )
            st.number_input(
                "Weight decay",
                key=_key("weight_decay"),
                format="%.5f",
                step=0.0001,
                help="Pulls every weight towards zero each step (L2); reduces overfitting.",
            )
            st.selectbox(
                "LR scheduler",
                SCHEDULERS,
                key=_key("scheduler"),
                help="How the learning rate changes: none keeps it, step multiplies it by "
                "gamma every few epochs, cosine lowers it smoothly to 0, onecycle warms up "
                "then anneals.",
            )
            left, right = st.columns(2)
            left.number_input(
                "Step size (epochs)",
                key=_key("step_size"),
                step=1,
                help="Step scheduler: epochs between learning-rate drops.",
            )
            right.number_input(
                "Gamma",
                key=_key("gamma"),
                format="%.2f",
                step=0.05,
                help="Step scheduler: factor applied to the learning rate at each drop.",
            )
            st.number_input(
                "Label smoothing",
                key=_key("label_smoothing"),
                format="%.2f",
                step=0.05,
                help="Trains towards 1-ε on the true class and ε spread over the others; "
                "discourages over-confident predictions.",
            )
        with st.expander("Data"):
            st.checkbox(
                "Augment (random crop + flip)",
                key=_key("augment"),
                help="Randomly shifts and mirrors training images each epoch, so the network "
                "sees new variants and overfits less.",
            )
            st.number_input(
                "Crop padding (px)",
                key=_key("crop_padding"),
                step=1,
                help="Augmentation: pixels of padding before the random crop (how far an "
                "image can shift); 0 = flip only.",
            )
            left, right = st.columns(2)
            left.number_input(
                "Train images",
                key=_key("limit_train"),
                step=256,
                placeholder="all",
                help="Quick runs: use only the first N training images (empty = all).",
            )
            right.number_input(
                "Test images",
                key=_key("limit_test"),
                step=256,
                placeholder="all",
                help="Quick runs: evaluate on only the first N test images (empty = all).",
            )
            st.number_input(
                "Evaluate every N epochs",
                key=_key("eval_every"),
                step=1,
                help="Test-set evaluation frequency; the last epoch is always evaluated.",
            )
        with st.expander("Model options", expanded=False):
            preset = model != CUSTOM
            if not preset:
                st.caption("A custom network's layers are set in its source.")
            st.selectbox(
                "Activation",
                ACTIVATIONS,
                key=_key("activation"),
                disabled=not preset,
                help="The non-linearity after each layer. Without one (none), stacked layers "
                "collapse into a single linear map.",
            )
            st.checkbox(
                "BatchNorm after each conv",
                key=_key("batchnorm"),
                disabled=not preset,
                help="Normalises every channel per batch; trains faster and tolerates larger "
                "learning rates.",
            )
            st.number_input(
                "Dropout",
                key=_key("dropout"),
                format="%.2f",
                step=0.05,
                disabled=not preset,
                help="Probability of zeroing each input of the classifier's Linear layers "
                "during training; fights overfitting.",
            )
            st.number_input(
                "Width ×",
                key=_key("width"),
                format="%.2f",
                step=0.25,
                disabled=not preset,
                help="Multiplies every convolution's channel count: more capacity, more time.",
            )
        with st.expander("Hardware and run"):
            st.selectbox(
                "Device",
                DEVICE_CHOICES,
                key=_key("device"),
                help="auto uses the GPU when one is visible, else the CPU.",
            )
            left, right = st.columns(2)
            left.selectbox(
                "Mixed precision",
                AMP_CHOICES,
                key=_key("amp"),
                help="bf16 autocast: about twice as fast on a GPU with the same accuracy; auto "
                "turns it on for CUDA only.",
            )
            right.selectbox(
                "torch.compile",
                COMPILE_CHOICES,
                key=_key("compile"),
                help="Compiles the network into fused kernels: faster steps after a warm-up; "
                "auto compiles on CUDA only.",
            )
            st.number_input(
                "Seed",
                key=_key("seed"),
                step=1,
                help="Fixes the initial weights and batch order, so a run can be repeated.",
            )
            st.text_input(
                "Run name",
                key=_key("name"),
                max_chars=200,
                placeholder="e.g. lenet5 lr 0.01",
                help="A label to find the run on the Runs page (optional).",
            )
        submitted = st.form_submit_button(
            "Start training", type="primary", icon=":material/play_arrow:", width="stretch"
        )
    st.sidebar.button(
        "Reset to recommended settings",
        on_click=_load_defaults,
        icon=":material/restart_alt:",
        width="stretch",
        help="Fill the form with the recipe of the chosen model and dataset.",
    )
    if not submitted:
        return None
    try:
        return _config_from_form(model, dataset, custom_source).validate()
    except (CNNLabError, TypeError) as error:
        st.sidebar.error(f"Not started: {error}", icon=":material/block:")
        return None


def launch(config: RunConfig) -> str:
    """Start ``config`` once per submission; a repeated submit of the same settings while
    that run is still active (double click, resubmitted form) returns the same run."""
    nonce = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()
    launched: dict[str, str] = st.session_state.setdefault("train_launched", {})
    previous = launched.get(nonce)
    if previous is not None:
        if previous == "pending":
            return ""
        try:
            if runs.get_run(previous).status in ACTIVE:
                return previous
        except CNNLabError:
            pass
    # No Streamlit call between marking and starting: a rerun cannot interrupt in between.
    launched[nonce] = "pending"
    run_id = runs.start(config)
    launched[nonce] = run_id
    return run_id


# ---- the run view --------------------------------------------------------------------
def _badge(status: str) -> None:
    label, color, icon = BADGES.get(status, (status, "gray", None))
    st.badge(label, color=color, icon=icon)


def _eta(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "ETA –"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"ETA {hours}:{minutes:02d}:{secs:02d}" if hours else f"ETA {minutes}:{secs:02d}"


def pull_points(run_id: str) -> dict[str, dict[str, list[float]]]:
    """New metric rows since the last read, appended to the run's series in session_state."""
    cache = st.session_state.setdefault(f"train_points_{run_id}", {"cursor": 0, "series": {}})
    for point in runs.metrics(run_id, after_row=cache["cursor"]):
        series = cache["series"].setdefault(point.key, {"step": [], "epoch": [], "value": []})
        series["step"].append(point.step)
        series["epoch"].append(point.epoch)
        series["value"].append(point.value)
        cache["cursor"] = max(cache["cursor"], point.row)
    return cache["series"]


def _xy(
    series: dict[str, dict[str, list[float]]], key: str, x: str = "step"
) -> tuple[list[float], list[float]]:
    points = series.get(key)
    return (points[x], points["value"]) if points else ([], [])


def live_charts(series: dict[str, dict[str, list[float]]]) -> None:
    """The curves of a run: loss, accuracy, learning rate, throughput (and GPU memory)."""
    on_cuda = "gpu/mem_gib" in series  # only CUDA runs log it
    left, right = st.columns(2)
    left.plotly_chart(charts.loss_chart(*_xy(series, "train/loss")), key="chart_loss")
    right.plotly_chart(
        charts.accuracy_chart(
            *_xy(series, "train/acc", "epoch"), *_xy(series, "test/acc", "epoch")
        ),
        key="chart_acc",
    )
    columns = st.columns(3 if on_cuda else 2)
    columns[0].plotly_chart(charts.lr_chart(*_xy(series, "train/lr")), key="chart_lr")
    columns[1].plotly_chart(
        charts.throughput_chart(*_xy(series, "train/images_per_s")), key="chart_speed"
    )
    if on_cuda:
        columns[2].plotly_chart(
            charts.gpu_memory_chart(*_xy(series, "gpu/mem_gib")), key="chart_mem"
        )


def live_panel(run_id: str, was_active: bool) -> None:
    """Status, progress and curves; rerun every second by its fragment while the run is active."""
    summary = runs.get_run(run_id)
    progress = runs.progress(run_id)
    series = pull_points(run_id)
    head, stop = st.columns([5, 1], vertical_alignment="center")
    with head:
        badge, device = st.columns([1, 4], vertical_alignment="center")
        with badge:
            _badge(summary.status)
        device.caption(f"on {summary.device}" if summary.device else "starting…")
        epoch = min(int(progress.epoch) + 1, progress.epochs)
        text = (
            f"Epoch {epoch}/{progress.epochs} · step {progress.step}/"
            f"{progress.total_steps or '?'} · {_eta(progress.eta_s)}"
            if summary.status in ACTIVE
            else f"{progress.step} steps · {progress.epoch:.2g} of {progress.epochs} epochs"
        )
        st.progress(progress.fraction, text=text)
    if summary.status in ACTIVE:
        if summary.stop_requested:
            stop.button("Stopping…", disabled=True, key="train_stopping", width="stretch")
        else:
            stop.button(
                "Stop",
                icon=":material/stop:",
                key="train_stop",
                width="stretch",
                on_click=runs.request_stop,
                args=(run_id,),
                help="Ends the run after the current step and saves a checkpoint.",
            )
    live_charts(series)
    if was_active and summary.status not in ACTIVE:
        st.rerun()  # the whole page: the timer stops and the results appear


def watch(run_id: str, active: bool) -> None:
    """The live panel in a fragment that reruns every second only while the run is active."""
    interval = LIVE_INTERVAL_S if active else None
    st.fragment(run_every=interval)(live_panel)(run_id, active)


# ---- results -------------------------------------------------------------------------
@st.cache_resource(show_spinner="Loading the test images…", max_entries=2)
def _test_images(dataset: str, data_dir: str | None) -> Any:
    return data.load_split(dataset, "test", root=data_dir)


def _misclassified(summary: Any, evaluation: Any) -> None:
    mistakes = charts.spread_mistakes(evaluation.misclassified, 24)
    if not mistakes:
        st.info("No misclassified test images in the last evaluation.")
        return
    indices = [m[0] for m in mistakes]
    try:
        split = _test_images(summary.dataset, summary.config.get("data_dir"))
        images = split.images[indices].numpy()  # uint8 [N, C, H, W]
    except CNNLabError as error:
        st.info(f"The test images are not on this machine, so only labels are listed. {error}")
        st.dataframe(
            [
                {"test image": i, "true": evaluation.classes[t], "predicted": evaluation.classes[p]}
                for i, t, p in mistakes
            ],
            hide_index=True,
        )
        return
    st.plotly_chart(
        charts.misclassified_grid(
            images, [m[1] for m in mistakes], [m[2] for m in mistakes], evaluation.classes
        ),
        key="chart_mistakes",
    )


def _feature_maps_link(run_id: str) -> None:
    try:
        st.page_link(
            "pages/feature_maps.py",
            label="Open this network on the Feature maps page",
            icon=":material/visibility:",
            query_params={"run": run_id},
        )
    except StreamlitAPIException:  # page not registered (e.g. this page run on its own)
        st.markdown(
            f":material/visibility: [Open on the Feature maps page](/feature_maps?run={run_id})"
        )


def results(summary: Any) -> None:
    """What the run learned: accuracy, confusion matrix, per-class bars, mistakes, checkpoint."""
    if summary.error:
        kind = st.warning if summary.status == "stopped" else st.error
        kind(f"Run {summary.status}: {summary.error}")
    elif summary.status == "stopped":
        st.warning("Run stopped on request; its last checkpoint is saved and it can be resumed.")
    evaluation = runs.latest_evaluation(summary.id)
    columns = st.columns(4)
    columns[0].metric(
        "Final test accuracy", "–" if summary.final_acc is None else f"{summary.final_acc:.1%}"
    )
    columns[1].metric(
        "Best test accuracy", "–" if summary.best_acc is None else f"{summary.best_acc:.1%}"
    )
    columns[2].metric(
        "Training speed", "–" if not summary.images_per_s else f"{summary.images_per_s:,.0f} img/s"
    )
    columns[3].metric(
        "Duration", "–" if summary.duration_s is None else f"{summary.duration_s:,.0f} s"
    )
    if evaluation is None:
        st.info("No evaluation was recorded: the run ended before its first epoch finished.")
    else:
        st.caption(f"From the evaluation after epoch {evaluation.epoch}.")
        left, right = st.columns([3, 2])
        left.plotly_chart(
            charts.confusion_heatmap(evaluation.confusion, evaluation.classes),
            key="chart_confusion",
        )
        right.plotly_chart(
            charts.per_class_accuracy_chart(
                evaluation.per_class_acc, evaluation.classes, overall=evaluation.test_acc
            ),
            key="chart_per_class",
        )
        _misclassified(summary, evaluation)
    _checkpoint_links(summary.id)


def _checkpoint_links(run_id: str) -> None:
    for which in ("best", "last"):
        path = runs.checkpoint_path(run_id, which)
        if path.is_file():
            break
    else:
        st.caption("No checkpoint was saved (the run ended before its first epoch).")
        return
    left, right = st.columns(2)
    with left:
        _feature_maps_link(run_id)
    right.download_button(
        f"Download {path.name} ({path.stat().st_size / 2**20:.1f} MiB)",
        data=path.read_bytes,
        file_name=f"{run_id}-{path.name}",
        mime="application/octet-stream",
        icon=":material/download:",
        on_click="ignore",
        help="A state dict with optimizer state and metadata; load it with "
        "torch.load(path, weights_only=True).",
    )


def _settings_caption(config: dict[str, Any]) -> str:
    parts = [
        f"{config.get('model')} on {config.get('dataset')}",
        f"{config.get('epochs')} epochs",
        f"batch {config.get('batch_size')}",
        f"{config.get('optimizer')} lr {config.get('lr'):g}",
    ]
    if config.get("scheduler") not in (None, "none"):
        parts.append(f"{config['scheduler']} schedule")
    if config.get("augment"):
        parts.append("augmented")
    if config.get("limit_train"):
        parts.append(f"{config['limit_train']} train images")
    return " · ".join(parts)


def show_run(run_id: str) -> None:
    try:
        summary = runs.get_run(run_id)
    except CNNLabError as error:
        st.error(f"{error}. Start a new run from the sidebar.")
        return
    st.subheader(summary.name or summary.id)
    st.caption(f"{_settings_caption(summary.config)} · run `{summary.id}`")
    active = summary.status in ACTIVE
    watch(summary.id, active)
    if not active:
        st.divider()
        results(summary)


def main() -> None:
    st.title("Train")
    config = sidebar_form()
    if config is not None:
        run_id = launch(config)
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
