"""Predict: score new posts with a saved model."""

import streamlit as st

from kayfabe_ui.common import current_workspace, not_built_yet, progress_of, stage_guard

st.title("Predict")
st.caption("Use a trained model on posts it has never seen: a new account or a new year of "
           "posts gets a score, a decision and the reasons for each image.")
workspace = current_workspace()
if workspace is None or not stage_guard(
    progress_of(workspace).runs > 0,
    "Predicting needs a trained model: train one on the Train page.",
    "train", "Go to Train",
):
    st.stop()
not_built_yet("It will: score new posts with a chosen run, labelling only images not seen "
              "before, and offer the scores as a CSV download.")
