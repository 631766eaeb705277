"""Results: the confusion matrix, metrics with intervals, curves, and what drove the model."""

import streamlit as st

from kayfabe_ui import state
from kayfabe_ui.common import current_workspace, progress_of, stage_guard, through_the_router
from kayfabe_ui.explain_view import (
    render_calibration,
    render_curves,
    render_folds,
    render_importance,
    render_learning_curve,
    render_shap,
)
from kayfabe_ui.results_view import (
    cached_metrics,
    cached_predictions,
    choose_run,
    choose_threshold,
    read_record,
    render_cell_images,
    render_confusion,
    render_metrics,
    render_summary,
)

through_the_router()
st.title("Results")
st.caption("Explore a trained model honestly: the confusion matrix, accuracy and friends with "
           "their uncertainty, the features that drove it, and the images it got wrong.")
workspace = current_workspace()
if workspace is None or not stage_guard(
    progress_of(workspace).runs > 0,
    "There is no trained model in this workspace yet: train one on the Train page.",
    "train", "Go to Train",
):
    st.stop()
run_id = choose_run(workspace)
record = read_record(workspace, run_id)
render_summary(record)
predictions = cached_predictions(str(workspace.root), run_id)
threshold = choose_threshold(workspace, run_id, record["data"]["positive_name"])
metrics = cached_metrics(str(workspace.root), run_id, threshold)
render_metrics(metrics, predictions, record)
names = (record["data"]["positive_name"], record["data"]["negative_name"])
cell = render_confusion(metrics, names)
render_cell_images(workspace, predictions, threshold, cell, names)
SECTIONS = ["Curves", "Calibration", "Learning curve", "Importance", "SHAP", "Folds"]
section = st.segmented_control("More about this run", SECTIONS, default="Curves", key="results_section", required=True,
                               persist_state=state.KEPT)
if section == "Curves":
    render_curves(predictions, metrics, names)
elif section == "Calibration":
    render_calibration(predictions, names)
elif section == "Learning curve":
    render_learning_curve(record)
elif section == "Importance":
    render_importance(workspace, run_id, names, len(record.get("folds", [])))
elif section == "SHAP":
    render_shap(workspace, run_id, names, len(record.get("folds", [])))
elif section == "Folds":
    render_folds(record, predictions, threshold)
