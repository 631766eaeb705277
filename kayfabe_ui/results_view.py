"""Results page pieces: pick a run, the threshold, metrics with intervals, the confusion matrix and its images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from kayfabe_core.chart_readings import confusion_reading, metrics_reading
from kayfabe_core.charts_model import confusion_figure
from kayfabe_core.evaluate import METRIC_TITLES, Metrics, accuracy_spread
from kayfabe_core.predict import run_threshold, save_run_threshold
from kayfabe_core.results import CELLS, cell_meaning, image_files, majority_baseline, metrics_at, predictions_in_cell
from kayfabe_core.runs import list_runs, read_predictions, read_run
from kayfabe_core.wording import counted, minute_text
from kayfabe_core.workspace import Workspace
from kayfabe_ui import state
from kayfabe_ui.common import image_grid, results_version

CELL_IMAGES = 12
MATRIX_WIDTH, CHOICES_WIDTH = 540, 330  # px: side by side on a wide screen, one under the other on a narrow one
METRIC_WIDTH = 165  # px: room for a title such as “Precision” and a value such as 0.812 at any screen size
METRIC_HELP = {
    "accuracy": "Share of test images the model codes like the coders did.",
    "precision": "Of the images the model calls {yes}, the share coded {yes}.",
    "recall": "Of the images coded {yes}, the share the model finds.",
    "f1": "One number balancing precision and recall (their harmonic mean).",
    "roc_auc": "Chance that a random {yes} image scores above a random {no} image (0.5 is guessing); "
               "it does not depend on the threshold.",
}


@st.cache_data(show_spinner=False, max_entries=20)
def cached_runs(root: str, version: int) -> pd.DataFrame:
    """Every run of the workspace, newest first."""
    return list_runs(Workspace(Path(root)))


@st.cache_data(show_spinner=False, max_entries=10)
def cached_predictions(root: str, run_id: str) -> pd.DataFrame:
    """A run's test predictions (a run never changes once saved)."""
    return read_predictions(Workspace(Path(root)), run_id)


@st.cache_data(show_spinner="Computing intervals…", max_entries=50)
def cached_metrics(root: str, run_id: str, threshold: float) -> Metrics:
    """Metrics with bootstrap intervals at ``threshold``, drawn as the run record's were (the kept predictions:
    a threshold moved does not read them again)."""
    return metrics_at(read_run(Workspace(Path(root)), run_id), cached_predictions(root, run_id), threshold)


def choose_threshold(workspace: Workspace, run_id: str, positive: str) -> float:
    """Draw the threshold slider (starting at the run's saved threshold) and, when it has moved, the button
    that makes it the threshold predictions decide at; return the chosen threshold."""
    saved = run_threshold(workspace, run_id)
    threshold = st.slider(f"Threshold: a score at or above it means {positive}", 0.01, 0.99, saved, 0.01,
                          key=f"threshold_{run_id}", persist_state=state.KEPT,
                          help=f"Lower it to find more {positive} images at the price of more false alarms; raise "
                               "it for the reverse. The matrix and every metric follow.")
    if round(threshold, 4) == round(saved, 4):
        st.caption(f"Predictions with this run (the Predict page, the predict command) decide at {saved:.2f}.")
        return float(threshold)
    row = st.container(horizontal=True, wrap=True, vertical_alignment="center")  # never cut on a narrow screen
    row.caption(f"Predictions with this run still decide at {saved:.2f}.", width="content")
    if row.button(f"Use {threshold:.2f} for predictions", key="save_threshold", icon=":material/done:"):
        save_run_threshold(workspace, run_id, float(threshold))
        st.rerun()
    return float(threshold)


def choose_run(workspace: Workspace) -> str:
    """Draw the run picker (default: the run just trained, else the newest); return its id."""
    runs = cached_runs(str(workspace.root), results_version(workspace))
    ids = list(runs["run_id"])
    wanted = state.get_text(state.SELECTED_RUN)
    labels = {row.run_id: f"{row.name or row.run_id} · {minute_text(row.created_at)} · accuracy "
                          f"{row.accuracy:.3f} at 0.5" for row in runs.itertuples()}  # the record's threshold
    chosen = st.selectbox("Run", ids, index=ids.index(wanted) if wanted in ids else 0, format_func=labels.get,
                          key="results_run")
    state.set_text(state.SELECTED_RUN, chosen)
    return str(chosen)


def split_words(options: dict, grouped_by: str) -> str:  # type: ignore[type-arg]
    """Say how a run's images were split, e.g. "by time (trained on older posts, tested on the newest)"."""
    if options["method"] == "time":
        return "by time (trained on older posts, tested on the newest)"
    if options["method"] == "grouped":
        return f"grouped by {grouped_by or 'post'}"
    kind = "stratified by image" if options["method"] == "stratified" else "at random"
    return f"{kind}, grouped by {grouped_by}" if grouped_by else f"{kind}, not grouped"


def render_summary(record: dict) -> None:  # type: ignore[type-arg]
    """Say in one line what the run was trained on, and show the split's warnings."""
    data, split = record["data"], record["split"]
    options = split["options"]
    how = (f"{options['folds']}-fold cross-validation" if options["folds"] else
           f"{options['test_size']:.0%} test share") + (f", {options['repeats']} repeats" if options["repeats"] > 1
                                                        else "")
    source = data["origin"].get("file", "this workspace")
    first = ("" if split["folds"] == 1 else " in the first fold" if options["folds"] else
             " in the first split")  # repeated splits are splits, as Train calls them, not folds
    st.markdown(f"**{data['n_images']:,} images** from {source}, **{data['n_features']:,} features**; split "
                f"{split_words(options, split['grouped_by'])}, {how}, seed {options['seed']}; "
                f"{record['n_train']:,} training and {record['n_test']:,} test images"
                f"{first}.")
    for warning in record.get("model_warnings", []):
        st.warning(warning, icon=":material/warning:")
    for warning in split["warnings"]:
        st.warning(warning, icon=":material/warning:")


def render_metrics(metrics: Metrics, predictions: pd.DataFrame, record: dict) -> None:  # type: ignore[type-arg]
    """Five metrics with their 95 % intervals, and what always guessing the common code gets."""
    row = st.container(horizontal=True, wrap=True)  # on a narrow screen (a projector) they wrap, never cut
    for name in METRIC_TITLES:
        value = getattr(metrics, name)
        low, high = metrics.intervals.get(name, (np.nan, np.nan))
        with row.container(width=METRIC_WIDTH):
            st.metric(METRIC_TITLES[name], "—" if np.isnan(value) else f"{value:.3f}", border=True,
                      help=METRIC_HELP[name].format(yes=record["data"]["positive_name"],
                                                    no=record["data"]["negative_name"]))
            st.caption(f"95 % interval {low:.3f}–{high:.3f}" if not np.isnan(low) else "no interval")
    st.caption(metrics_reading(record, metrics.n, majority_baseline(predictions["observed"].to_numpy()),
                               accuracy_spread(predictions, metrics.threshold)))


def render_confusion(metrics: Metrics, names: tuple[str, str]) -> str:
    """Draw the matrix with its normalisation toggle; return the cell whose images to show."""
    row = st.container(horizontal=True, wrap=True, gap="large")  # side by side, or the choices under it
    matrix, choices = row.container(width=MATRIX_WIDTH), row.container(width=CHOICES_WIDTH)
    with choices:
        normalise = st.segmented_control("Shares of", ["observed", "predicted"], default="observed",
                                         format_func={"observed": "rows (coded)",
                                                      "predicted": "columns (predicted)"}.get,
                                         key="confusion_normalise", required=True) or "observed"
        # the choices' words stay the same at every threshold (the counts are in the matrix): words that change
        # make the browser drop the chosen cell when the threshold moves
        cell = st.radio("Show the images in", list(CELLS), key="confusion_cell",
                        format_func=lambda key: f"{CELLS[key]}: {cell_meaning(key, names)}")
    with matrix:
        st.plotly_chart(confusion_figure(metrics, names, normalise, clickable=True), key="confusion_chart",
                        on_select=_cell_clicked, selection_mode="points",
                        config={"displayModeBar": False})  # four cells to click: zoom and pan only get in the way
    st.caption(confusion_reading(clickable=True))
    return str(cell)


def _cell_clicked() -> None:
    """A click on a matrix cell chooses that cell under “Show the images in” (before the page is drawn again)."""
    points = st.session_state["confusion_chart"]["selection"]["points"]
    cell = points[0].get("customdata") if points else None
    if cell in CELLS:
        st.session_state["confusion_cell"] = cell


def render_cell_images(workspace: Workspace, predictions: pd.DataFrame, threshold: float, cell: str,
                       names: tuple[str, str]) -> None:
    """Show the images of one confusion cell, the most confident first, each with a link to recode it."""
    chosen = predictions_in_cell(predictions, threshold, cell)
    if chosen.empty:
        st.markdown(f"**{CELLS[cell]}** — {cell_meaning(cell, names)}.")
        st.caption("No test image falls in this cell at this threshold.")
        return
    images = chosen.drop_duplicates("item")
    shown = images.head(CELL_IMAGES)
    which = (f"the {len(shown):,} most confident are shown" if len(images) > len(shown)
             else "most confident first")
    repeated = (f" ({len(chosen):,} predictions: an image is tested once per repeat)"
                if len(chosen) > len(images) else "")
    st.markdown(f"**{CELLS[cell]}** — {cell_meaning(cell, names)}: {counted(len(images), 'image')}{repeated}; "
                f"{which}.")
    files = image_files(workspace, list(shown["item"]))
    if not files:
        st.dataframe(shown[["item", "observed", "score"]], hide_index=True)
        return
    image_grid(files, list(shown["item"]), [f"score {score:.3f}" for score in shown["score"]], "Recode")


def read_record(workspace: Workspace, run_id: str) -> dict:  # type: ignore[type-arg]
    """The run's record (kept out of the page so the page makes one core call per step)."""
    return read_run(workspace, run_id)
