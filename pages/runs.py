"""Runs: every run in the store (from this app or the command line), compared and managed.

The whole page body is one fragment that rereads the store every two seconds while any
run is queued or running, so runs started with ``python -m cnnlab.train`` appear live;
when none is active nothing reruns on a timer.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

from app_shell import ensure_app_navigation
from cnnlab import runs
from cnnlab.charts import runs as charts
from cnnlab.errors import CNNLabError

ensure_app_navigation()

LIVE_INTERVAL_S = 2.0


def filters(all_runs: list[Any]) -> list[Any]:
    """Status / dataset / model filters above the table."""
    columns = st.columns(4)
    statuses = columns[0].multiselect(
        "Status", charts.STATUSES, key="runs_status", placeholder="all statuses"
    )
    datasets = columns[1].multiselect(
        "Dataset", sorted({r.dataset for r in all_runs}), key="runs_dataset", placeholder="all"
    )
    model_names = columns[2].multiselect(
        "Model", sorted({r.model for r in all_runs}), key="runs_model", placeholder="all"
    )
    text = columns[3].text_input("Name contains", key="runs_text", placeholder="any name")
    return charts.filter_runs(all_runs, statuses, datasets, model_names, text)


def runs_table(shown: list[Any]) -> None:
    st.dataframe(
        charts.table_rows(shown),
        hide_index=True,
        width="stretch",
        placeholder="—",  # unknown values (a run that failed before its first epoch)
        column_config={
            "epochs": st.column_config.TextColumn("epochs", help="Epochs done / planned."),
            "batch": st.column_config.NumberColumn("batch", format="%d"),
            "lr": st.column_config.NumberColumn("lr", format="%g"),
            "best acc": st.column_config.ProgressColumn(
                "best acc", format="%.1f%%", min_value=0, max_value=100
            ),
            "final acc": st.column_config.NumberColumn("final acc", format="%.1f%%"),
            "images/s": st.column_config.NumberColumn("images/s", format="%.0f"),
            "duration (s)": st.column_config.NumberColumn("duration (s)", format="%.0f"),
            "started": st.column_config.DatetimeColumn(
                "started", format="YYYY-MM-DD HH:mm:ss", timezone="UTC"
            ),
            "augment": st.column_config.CheckboxColumn("augment"),
        },
        key="runs_table",
    )
    st.caption("Click a column header to sort by it. Accuracies are on the test set.")


@st.cache_resource(max_entries=64, show_spinner=False)
def _ended_run_curves(run_id: str, ended_at: float, label: str, keys: tuple[str, ...]) -> Any:
    """An ended run's curves never change (a resume gives it a new ended_at): read them once,
    not on every 2-second tick while another run streams."""
    return charts.run_curves(label, runs.metrics(run_id, keys=list(keys)), list(keys))


def _curves(run: Any, keys: tuple[str, ...]) -> Any:
    if run.active or run.ended_at is None:
        return charts.run_curves(
            charts.run_label(run), runs.metrics(run.id, keys=list(keys)), list(keys)
        )
    return _ended_run_curves(run.id, run.ended_at, charts.run_label(run), keys)


def compare(selected: list[Any]) -> None:
    """Overlay the selected runs' curves and list the settings in which they differ."""
    keys = st.pills(
        "Curves",
        list(charts.COMPARE_KEYS),
        default=["test/acc", "train/loss"],
        selection_mode="multi",
        format_func=charts.COMPARE_KEYS.get,
        key="runs_compare_keys",
    )
    if not keys:
        st.info("Choose at least one curve to compare.")
        return
    curves = [_curves(run, tuple(keys)) for run in selected]
    st.plotly_chart(charts.overlay(curves, list(keys)), key="runs_overlay")
    if len(selected) > 1:
        differing = charts.differing_settings(
            {charts.run_label(run): run.config for run in selected}
        )
        st.markdown("**Settings in which they differ**")
        if differing:
            st.dataframe(differing, hide_index=True, width="stretch", key="runs_diff")
        else:
            st.caption("None: these runs share every setting (only their seeds' luck differs).")


def _ask_delete(run_id: str) -> None:
    st.session_state.runs_confirm_delete = run_id


def _cancel_delete() -> None:
    st.session_state.runs_confirm_delete = None


def manage(run: Any) -> None:
    """Open, resume, delete and download one run."""
    head, link = st.columns([3, 2], vertical_alignment="center")
    head.markdown(
        f"**{run.name}** · `{run.id}` · {charts.STATUS_ICONS.get(run.status, '')} {run.status}"
    )
    try:
        link.page_link(
            "pages/train.py",
            label="Open on the Train page",
            icon=":material/monitoring:",
            query_params={"run": run.id},
        )
    except StreamlitAPIException:  # page not registered (this page run on its own)
        link.markdown(f"[Open on the Train page](/train?run={run.id})")
    if run.error:
        (st.warning if run.status == "stopped" else st.error)(run.error)
    columns = st.columns([2, 1.4, 1.6, 1.4, 1.2], vertical_alignment="bottom")
    resumable = runs.checkpoint_path(run.id, "last").is_file()  # what resume loads
    if run.status in ("stopped", "failed", "diverged") and not resumable:
        columns[0].caption(
            "Nothing to resume: no checkpoint (last.pt) was saved before the run ended. "
            "Start a new run with the same settings on the Train page."
        )
    elif run.status in ("stopped", "failed"):
        columns[0].caption("Continues from last.pt at its saved epoch.")
        if columns[1].button("Resume", icon=":material/play_arrow:", key="runs_resume"):
            _resume(run.id, None)
    elif run.status == "finished" and resumable:
        more = columns[0].number_input(
            "Train further to epochs",
            min_value=run.epochs + 1,
            value=run.epochs * 2,
            key=f"runs_more_{run.id}",
            help="Continue from last.pt with the same optimizer and scheduler state.",
        )
        if columns[1].button("Train further", icon=":material/fast_forward:", key="runs_further"):
            _resume(run.id, int(more))
    checkpoint = runs.saved_checkpoint(run.id)
    if checkpoint is not None:
        columns[2].download_button(
            f"{checkpoint.name} ({checkpoint.stat().st_size / 2**20:.1f} MiB)",
            data=checkpoint.read_bytes,
            file_name=f"{run.id}-{checkpoint.name}",
            mime="application/octet-stream",
            icon=":material/download:",
            on_click="ignore",
            key="runs_download_ckpt",
            help="The full checkpoint (config, weights under 'model', optimizer): "
            "torch.load(path, weights_only=True)['model'] is the state dict.",
        )
    else:
        columns[2].caption("no checkpoint yet")
    weights = runs.model_file(run.id)
    if weights is not None:
        st.download_button(
            "model.pt (best weights, plain state dict)", data=weights.read_bytes,
            file_name=f"{run.id}-model.pt", mime="application/octet-stream",
            icon=":material/download:", on_click="ignore", key="runs_download_model",
        )  # fmt: skip
        st.caption("Load it into the same network (the Network page exports its code):")
        st.code(
            "net = Net()  # the exported nn.Module of this run's network\n"
            "net.load_state_dict(torch.load('model.pt'))",
            language="python",
        )
    columns[3].download_button(
        "metrics.csv",
        data=lambda: charts.metrics_csv(runs.metrics(run.id)),
        file_name=f"{run.id}-metrics.csv",
        mime="text/csv",
        icon=":material/table:",
        on_click="ignore",
        key="runs_download_csv",
    )
    columns[4].button(
        "Delete…",
        icon=":material/delete:",
        key="runs_delete",
        on_click=_ask_delete,
        args=(run.id,),
        disabled=run.active,
        help="Stop the run first." if run.active else "Asks for confirmation.",
    )
    if st.session_state.get("runs_confirm_delete") == run.id and not run.active:
        st.warning(
            f"Delete **{run.name}** with its checkpoints and metrics? This cannot be undone."
        )
        yes, no = st.columns(2)
        if yes.button("Yes, delete it", type="primary", key="runs_delete_yes"):
            try:
                runs.delete(run.id)
            except CNNLabError as error:
                st.error(str(error))
            else:
                st.session_state.runs_confirm_delete = None
                st.toast(f"Deleted {run.name}")
                st.rerun()
        no.button("Cancel", key="runs_delete_no", on_click=_cancel_delete)


def _resume(run_id: str, epochs: int | None) -> None:
    try:
        runs.resume(run_id, epochs=epochs)
    except CNNLabError as error:
        st.error(str(error))
        return
    st.toast("Resumed: the run continues from its last checkpoint.")
    st.rerun()


def body(was_active: bool) -> None:
    all_runs = runs.list_runs()
    if not all_runs:
        st.info(
            "No runs yet. Start one on the Train page, or from a terminal with "
            "`python -m cnnlab.train --model lenet5 --epochs 1`; it appears here live.",
            icon=":material/info:",
        )
        return
    active = [r for r in all_runs if r.active]
    st.caption(charts.status_line(all_runs) + (" · updating every 2 s" if active else ""))
    shown = filters(all_runs)
    runs_table(shown)
    by_label = {charts.run_label(r): r for r in shown}
    # a filtered-out or deleted run leaves the selection before the widget is drawn
    st.session_state.runs_selected = [
        label for label in st.session_state.get("runs_selected", []) if label in by_label
    ]
    chosen = st.multiselect(
        "Select runs to compare and manage",
        list(by_label),
        key="runs_selected",
        placeholder="pick one or more runs",
    )
    selected = [by_label[label] for label in chosen]
    if selected:
        st.subheader("Compare")
        compare(selected)
        st.subheader("Manage")
        focus = selected[0]
        if len(selected) > 1:
            focus = by_label[
                st.selectbox("Run", chosen, key="runs_focus", help="Which selected run to act on.")
            ]
        manage(focus)
    if was_active and not active:
        st.rerun()  # the last active run ended: a full rerun stops the timer


def main() -> None:
    st.title("Runs")
    try:
        any_active = any(r.active for r in runs.list_runs())
    except CNNLabError as error:
        st.error(str(error))
        return
    st.fragment(run_every=LIVE_INTERVAL_S if any_active else None)(body)(any_active)


main()
