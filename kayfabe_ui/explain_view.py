"""Results page tabs: curves, calibration, learning curve, importances, SHAP and folds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from kayfabe_core.chart_readings import (
    calibration_reading,
    curves_reading,
    first_model_note,
    importance_reading,
    learning_curve_reading,
    shap_reading,
)
from kayfabe_core.charts_model import (
    calibration_figure,
    explanation_figure,
    importance_figure,
    learning_curve_figure,
    precision_recall_figure,
    roc_figure,
    shap_beeswarm_figure,
)
from kayfabe_core.evaluate import Metrics, calibration_points, folds_at, precision_recall_points, roc_points
from kayfabe_core.explain import IMPORTANCE_KINDS, explain_image, shap_points, shap_summary
from kayfabe_core.results import ShapData, image_files, read_importance, read_shap
from kayfabe_core.workspace import Workspace


@st.cache_data(show_spinner=False, max_entries=10)
def cached_importance(root: str, run_id: str) -> pd.DataFrame:
    """Importances of the run's (first fold's) model."""
    return read_importance(Workspace(Path(root)), run_id)


@st.cache_resource(show_spinner="Computing SHAP values…", max_entries=4)
def cached_shap(root: str, run_id: str) -> ShapData:
    """SHAP values of the run's first-fold test images (read-only)."""
    return read_shap(Workspace(Path(root)), run_id)


def render_curves(predictions: pd.DataFrame, metrics: Metrics, names: tuple[str, str]) -> None:
    """ROC and precision-recall curves side by side, the threshold marked on both."""
    observed, scores = predictions["observed"].to_numpy(), predictions["score"].to_numpy()
    left, right = st.columns(2)
    left.plotly_chart(roc_figure(roc_points(observed, scores), metrics, names), key="roc")
    right.plotly_chart(precision_recall_figure(precision_recall_points(observed, scores), observed.mean(), metrics,
                                               names), key="pr")
    st.caption(curves_reading(names[0]))


def render_calibration(predictions: pd.DataFrame, names: tuple[str, str]) -> None:
    """Observed YES share against the model's score, per tenth of the test images."""
    points = calibration_points(predictions["observed"].to_numpy(), predictions["score"].to_numpy())
    st.plotly_chart(calibration_figure(points, names), key="calibration")
    st.caption(calibration_reading(names[0]))


def render_learning_curve(record: dict) -> None:  # type: ignore[type-arg]
    """The loss per round on training and check images (first fold)."""
    curve = record["curve"]
    st.plotly_chart(learning_curve_figure(curve["train"], curve["check"], curve["check_name"], curve["best_round"]),
                    key="learning_curve")
    st.caption(learning_curve_reading(curve["check_name"]) + first_model_note(len(record.get("folds", []))))


def render_importance(workspace: Workspace, run_id: str, names: tuple[str, str], models: int = 1) -> None:
    """Bars of the top features by the chosen importance kind."""
    table = cached_importance(str(workspace.root), run_id)
    if table.empty:
        st.info("The model made no split at all: no feature mattered (try lower Split penalty or more rounds).")
        return
    kind = st.selectbox("Importance by", list(IMPORTANCE_KINDS), format_func=IMPORTANCE_KINDS.get, key="importance")
    st.plotly_chart(importance_figure(table, kind), key="importance_chart")
    st.caption(importance_reading(names, on_page=True) + first_model_note(models))


def render_shap(workspace: Workspace, run_id: str, names: tuple[str, str], models: int = 1) -> None:
    """SHAP summary (one dot per image and feature) and one image's explanation (the first of ``models``)."""
    data = cached_shap(str(workspace.root), run_id)
    summary = shap_summary(data.contributions, data.names, top=15)
    order = list(summary["feature"])
    points = shap_points(data.contributions, data.matrix, data.names, order)  # type: ignore[arg-type]
    st.plotly_chart(shap_beeswarm_figure(points, order, names), key="shap_beeswarm")
    st.caption(shap_reading(len(data.items), names) + first_model_note(models))
    _render_one_image(workspace, data, names)


def _render_one_image(workspace: Workspace, data: ShapData, names: tuple[str, str]) -> None:
    st.markdown("**One image, explained**")
    order = sorted(range(len(data.items)), key=lambda row: -abs(data.scores[row] - 0.5))
    place = {row: number for number, row in enumerate(order[:200], start=1)}  # a number, not a content hash
    row = st.selectbox("Image (the model's surest first)", order[:200], key="shap_image",
                       format_func=lambda r: f"Image {place[r]} · score {data.scores[r]:.2f}")
    left, right = st.columns([1, 2])
    files = image_files(workspace, [data.items[row]])
    if files:
        left.image(files[data.items[row]], width="stretch")
    left.caption(f"Score {data.scores[row]:.2f}")
    explanation = explain_image(data.contributions, row, data.matrix, data.names)  # type: ignore[arg-type]
    right.plotly_chart(explanation_figure(explanation, names), key="shap_one")
    st.caption("How to read: each bar is how much one feature moved this image's score, in log-odds, starting "
               f"from the average image; red bars push towards {names[0]}, blue towards {names[1]}. Each label is "
               "named present or absent on this picture: a missing label pushes too.")


def render_folds(record: dict, predictions: pd.DataFrame, threshold: float) -> None:  # type: ignore[type-arg]
    """Accuracy of every fold and repeat at the threshold chosen above."""
    folds = folds_at(record, predictions, threshold)
    counts = st.column_config.NumberColumn
    st.dataframe(folds, hide_index=True, column_config={
        "repeat": counts("Repeat", format="%d"), "fold": counts("Fold", format="%d"),
        "accuracy": st.column_config.NumberColumn(f"Accuracy at {threshold:.2f}", format="%.3f"),
        "seconds": st.column_config.NumberColumn("Seconds", format="%.2f"),
        "rounds_kept": counts("Rounds kept", format="localized"),
        "n_train": counts("Training images", format="localized"), "n_test": counts("Test images", format="localized")})
    st.caption("How to read: one row per trained model. The spread of accuracy across rows shows how much the "
               "result depends on which images happened to land in the test set.")
