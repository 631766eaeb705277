"""Runs: compare experiments, repeat them and export reports."""

import streamlit as st

from kayfabe_ui.common import current_workspace, not_built_yet, progress_of, stage_guard

st.title("Runs")
st.caption("Every training run is kept: compare them side by side, repeat one over several "
           "seeds to tell an effect from noise, tune settings, and export a methods paragraph.")
workspace = current_workspace()
if workspace is None or not stage_guard(
    progress_of(workspace).runs > 0,
    "There are no runs in this workspace yet: train a model on the Train page.",
    "train", "Go to Train",
):
    st.stop()
not_built_yet("It will: list all runs with their settings and metrics, compare selected runs, "
              "and export a report and a replication bundle.")
