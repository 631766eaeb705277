"""Results: the confusion matrix, metrics with intervals and what drove the model."""

import streamlit as st

from kayfabe_ui.common import current_workspace, not_built_yet, progress_of, stage_guard

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
not_built_yet("It will: show the confusion matrix, metrics with bootstrap intervals, ROC and "
              "precision-recall curves, feature importances and SHAP values for a run.")
