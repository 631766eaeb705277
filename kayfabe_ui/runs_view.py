"""Runs page pieces: the table of runs, one run's actions, and the comparison of several."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from kayfabe_core.compare import (
    category_names,
    data_difference,
    differing_settings,
    learning_overlay_figure,
    metrics_side_by_side,
    parallel_figure,
    prediction_figures,
    repeat_run,
)
from kayfabe_core.constraints import SHORT_TITLES
from kayfabe_core.errors import KayfabeError
from kayfabe_core.methods_text import methods_paragraph
from kayfabe_core.report_export import export_replication_bundle, export_report_html
from kayfabe_core.runs import delete_run, read_run, rename_run
from kayfabe_core.wording import counted, minute_text
from kayfabe_core.workspace import Workspace
from kayfabe_ui import state
from kayfabe_ui.common import PAGES, results_version, show_error, workspace_version
from kayfabe_ui.results_view import cached_runs
from kayfabe_ui.train_view import TrainingProgress

# the scores right after the name: last, they were off the screen at 1024 px
SHOWN = ["created_at", "name", "accuracy", "interval", "accuracy_sd", "roc_auc", "split", "images", "num_boost_round",
         "eta", "max_depth", "min_child_weight", "gamma", "subsample", "seconds", "backend", "sagemaker_job",
         "billable_seconds", "data_hash", "note", "run_id"]


MAX_MATRICES = 6


def label_of(row: Any) -> str:
    """A short, unique name for a run in legends: its name (else its time) and the end of its id."""
    return f"{row.name or row.created_at[5:16].replace('T', ' ')} ·{row.run_id[-4:]}"


def render_runs_table(workspace: Workspace) -> pd.DataFrame | None:
    """Draw the filterable, sortable table of runs and a run picker; return the chosen rows (None: the filter
    left no run to choose)."""
    message = state.take_value(state.RUNS_MESSAGE)
    if message:
        st.success(str(message), icon=":material/task_alt:")
    runs = cached_runs(str(workspace.root), results_version(workspace))
    wanted = st.text_input("Filter", key="runs_filter", placeholder="Part of a name, a note, a split (e.g. grouped)")
    if wanted:
        text = runs[["name", "note", "split", "run_id", "backend"]].astype(str).agg(" ".join, axis=1)
        runs = runs[text.str.contains(wanted, case=False, regex=False)]
        if runs.empty:
            st.info(f"No run's name, note, split or id holds “{wanted}”. Clear the filter to see every run.",
                    icon=":material/search_off:")
            return None
    intervals = [f"{low:.3f}–{high:.3f}" if pd.notna(low) else "" for low, high
                 in zip(runs["accuracy_low"], runs["accuracy_high"], strict=True)]
    shown = runs.assign(created_at=runs["created_at"].map(minute_text), interval=intervals)
    spreads = [f"{sd:.3f}" if pd.notna(sd) else "" for sd in runs["accuracy_sd"]]  # blank, not "None": one split
    st.dataframe(
        shown[SHOWN].assign(accuracy_sd=spreads), hide_index=True, key="runs_table",
        column_config={
            "created_at": st.column_config.TextColumn("Trained (UTC)"), "name": "Name", "split": "Split",
            "images": st.column_config.NumberColumn("Images", format="localized"),
            **{key: SHORT_TITLES[key] for key in ("num_boost_round", "eta", "max_depth", "min_child_weight",
                                                  "gamma", "subsample")},  # as the chart under it names them
            "accuracy": st.column_config.NumberColumn("Accuracy", format="%.3f"),
            "interval": "95 % interval", "accuracy_sd": st.column_config.TextColumn(
                "sd over splits",
                help="Standard deviation of the accuracy over the folds or repeated splits (blank: one split)"),
            "roc_auc": st.column_config.NumberColumn("ROC AUC", format="%.3f"),
            "seconds": st.column_config.NumberColumn("Seconds", format="%.1f"), "backend": "Where",
            "sagemaker_job": "SageMaker job",
            "billable_seconds": st.column_config.NumberColumn("Billed seconds", format="%d"),
            "data_hash": "Data version", "note": "Note", "run_id": "Run id"})
    st.caption(f"{counted(len(runs), 'run')}. Click a column header to sort. Accuracy is on the test images at "
               "threshold 0.5; the interval is a bootstrap over posts (over images or the chosen groups for a run on "
               "an uploaded table).")
    names = {row.run_id: f"{label_of(row)} · accuracy {row.accuracy:.3f} · {row.split}" for row in shown.itertuples()}
    chosen_next = state.take_value(state.RUNS_CHOSEN_NEXT)
    if isinstance(chosen_next, list):  # set anew after a rename or delete: the browser held the old names, and its
        state.set_value(state.RUNS_CHOSEN, [run for run in chosen_next if run in names])  # next click raised
    chosen = st.multiselect("Runs to open, repeat, delete (one) or compare (two or more)", list(names),
                            format_func=names.get, key=state.RUNS_CHOSEN, placeholder="Choose runs")
    return shown.set_index("run_id", drop=False).loc[chosen] if chosen else shown.iloc[0:0]


def render_one_run(workspace: Workspace, row: Any) -> None:
    """Rename, annotate, open, repeat or delete the selected run (its models' warnings first); ``row`` is its row
    of :func:`~kayfabe_core.runs.list_runs`."""
    st.subheader(f"Run {label_of(row)}")
    for warning in row.model_warnings:  # from the cached list of runs: its record is not parsed again
        st.warning(warning, icon=":material/warning:")
    with st.form(key=f"edit_{row.run_id}", border=False):
        left, right = st.columns([1, 2])
        name = left.text_input("Name", row.name, key=f"name_{row.run_id}")
        note = right.text_input("Note", row.note, key=f"note_{row.run_id}")
        if st.form_submit_button("Save name and note", icon=":material/save:"):
            if _guarded(lambda: rename_run(workspace, row.run_id, name, note)):
                state.set_value(state.RUNS_CHOSEN_NEXT, [row.run_id])
                st.rerun()
    left, middle, right = st.columns(3, vertical_alignment="bottom")  # the buttons on one line, under the box
    if left.button("Open on Results", key="open_results", icon=":material/insights:"):
        state.set_text(state.SELECTED_RUN, row.run_id)
        st.switch_page(PAGES["results"])
    repeats = middle.number_input("Repeat over seeds", 2, 20, 5, key="repeat_count",
                                  help="Trains the same settings on this many different splits, to show how much "
                                       "the result moves by luck alone.")
    if middle.button(f"Repeat {repeats} times", key="repeat_run", icon=":material/replay:"):
        _repeat(workspace, row.run_id, int(repeats))
    _render_exports(workspace, row.run_id)
    with right.popover("Delete", icon=":material/delete:"):
        st.write("Delete this run, its model and its predictions? This cannot be undone.")
        if st.button("Delete for good", key="delete_run", type="primary"):
            if _guarded(lambda: delete_run(workspace, row.run_id)):
                state.set_value(state.RUNS_CHOSEN_NEXT, [])
                state.set_value(state.RUNS_MESSAGE, f"Deleted run {label_of(row)}, with its model and predictions.")
                st.rerun()


def _render_exports(workspace: Workspace, run_id: str) -> None:
    """The methods paragraph to copy, and the report and replication bundle to download (built on click)."""
    left, right = st.columns(2)
    left.download_button("Report (HTML, works offline)", lambda: export_report_html(workspace, run_id),
                         f"{run_id}-report.html", "text/html", key="export_html", icon=":material/description:")
    right.download_button("Replication bundle (ZIP)", lambda: export_replication_bundle(workspace, run_id),
                          f"{run_id}-replication.zip", "application/zip", key="export_zip",
                          icon=":material/folder_zip:")
    with st.expander("Methods paragraph, ready to paste into a paper", icon=":material/article:"):
        st.code(_cached_methods(str(workspace.root), workspace_version(workspace), results_version(workspace),
                                run_id), language=None, wrap_lines=True)


@st.cache_data(show_spinner=False, max_entries=20)
def _cached_methods(root: str, version: int, results: int, run_id: str) -> str:
    """The methods paragraph, per workspace version (it counts the codes: 1 s at 150,000 images)."""
    return methods_paragraph(Workspace(Path(root)), run_id)


@st.cache_data(show_spinner=False, max_entries=8)
def _cached_prediction_figures(root: str, results: int, labels: tuple[tuple[str, str], ...],
                               matrices: int, names: tuple[str, str]) -> tuple[Any, Any]:
    """The ROC overlay and the matrices of the chosen runs, per results version: they read every run's
    predictions (4.5 s a page run for two 5 x 5 runs at 150,000 images)."""
    return prediction_figures(Workspace(Path(root)), dict(labels), matrices, names)


def _repeat(workspace: Workspace, run_id: str, repeats: int) -> None:
    record = read_run(workspace, run_id)
    progress = TrainingProgress(int(record["settings"]["num_boost_round"]), repeats)  # type: ignore[index]
    try:
        result = repeat_run(workspace, run_id, repeats, progress, progress.stop)
    except KayfabeError as error:
        progress.finish(told=f"{error.message} {error.hint}")
        show_error(error)
        return
    progress.finish()
    name = result.record.get("name") or result.run_id  # the record just saved, not read again
    state.set_value(state.RUNS_MESSAGE, f"Saved run “{name}”: accuracy {result.summary['accuracy']:.3f} on "
                                        f"average, standard deviation {result.summary.get('accuracy_sd', 0):.3f} "
                                        f"over {repeats} splits.")
    st.rerun()  # drawn again: the new run in the table, no progress bar left behind


def _guarded(action: Any) -> bool:
    """Run ``action``; show its error and return False if it raised one (the page is not drawn again then: the
    message would vanish with it)."""
    try:
        action()
    except KayfabeError as error:
        show_error(error)
        return False
    return True


def render_comparison(workspace: Workspace, selected: pd.DataFrame) -> None:
    """Compare the selected runs: what differs, metrics with intervals, curves, matrices."""
    st.subheader(f"Comparing {len(selected)} runs")
    labels = {row.run_id: label_of(row) for row in selected.itertuples()}
    records = {labels[run_id]: read_run(workspace, run_id) for run_id in labels}
    differs = differing_settings(records)  # type: ignore[arg-type]
    st.markdown("**Settings that differ**" if not differs.empty else "**The settings are identical**: any "
                "difference below is down to chance (or to a change in the codes).")
    if not differs.empty:
        st.dataframe(differs.astype(str), key="differing")
    different_data = data_difference(records)  # type: ignore[arg-type]
    if different_data:
        st.warning(different_data, icon=":material/warning:")
    st.markdown("**Metrics, with 95 % intervals**")
    st.dataframe(metrics_side_by_side(records), key="side_by_side")  # type: ignore[arg-type]
    st.caption("How to read: when two runs' intervals overlap a lot, the data cannot tell them apart; repeat each "
               "over several seeds before calling one better.")
    names = category_names(records)  # type: ignore[arg-type]
    roc, matrices = _cached_prediction_figures(str(workspace.root), results_version(workspace),
                                               tuple(labels.items()), MAX_MATRICES, names)
    left, right = st.columns(2)
    left.plotly_chart(roc, key="roc_overlay")
    right.plotly_chart(learning_overlay_figure(records), key="learning_overlay")  # type: ignore[arg-type]
    st.caption(f"How to read: on the left, the curve nearer the top-left corner separates {names[0]} from "
               f"{names[1]} better at every threshold; on the right, lower loss is a better fit, on the images "
               "each run watched as it trained (named in the legend: validation images carved from its training "
               "images, or its test images).")
    st.plotly_chart(matrices, key="confusion_grid")
    more = f" Matrices are drawn for the first {MAX_MATRICES} runs chosen." if len(labels) > MAX_MATRICES else ""
    st.caption("How to read: each matrix has observed codes in rows and predictions in columns; the shares are of "
               f"each row, so the diagonal shows how often each code was recognised.{more}")


def render_parallel(workspace: Workspace) -> None:
    """All runs as lines through their settings, coloured by a chosen metric."""
    runs = cached_runs(str(workspace.root), results_version(workspace))
    if len(runs) < 2:
        return
    st.subheader(f"All {len(runs):,} runs by their settings")
    metric = st.selectbox("Colour by", ["accuracy", "roc_auc"], key="parallel_metric",
                          format_func={"accuracy": "Accuracy", "roc_auc": "ROC AUC"}.get)
    st.plotly_chart(parallel_figure(runs, metric), key="parallel")
    st.caption("How to read: each line is one run, crossing each axis at its value of that setting and ending at its "
               "score; bright lines scored high. The colours span at least 0.1 of the score, so runs a few "
               "hundredths apart look alike: such gaps are within the test set's noise. Drag along an axis to keep "
               "only the runs in a range.")
