"""Predict: score posts with a saved model: a score, a decision and the reasons for each image."""

import streamlit as st

from kayfabe_ui.common import current_workspace, progress_of, stage_guard, through_the_router
from kayfabe_ui.predict_view import choose_posts, choose_run, render_predictions

through_the_router()
st.title("Predict")
st.caption("Use a trained model on posts: a new account or a new year of posts gets a score, a decision and "
           "the reasons for each image. Features are rebuilt exactly as the run built them.")
workspace = current_workspace()
if workspace is None or not stage_guard(
    progress_of(workspace).runs > 0,
    "Predicting needs a trained model: train one on the Train page.",
    "train", "Go to Train",
):
    st.stop()
run_id = choose_run(workspace)
posts = choose_posts(workspace) if run_id else None
if run_id is None or not posts:
    st.stop()
render_predictions(workspace, run_id, posts)
