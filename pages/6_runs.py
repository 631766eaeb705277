"""Runs: every run kept; compare them, repeat one, tune settings, export reports."""

import streamlit as st

from kayfabe_ui.common import current_workspace, progress_of, stage_guard, through_the_router
from kayfabe_ui.runs_view import render_comparison, render_one_run, render_parallel, render_runs_table
from kayfabe_ui.stopping import settle_stopped_work

through_the_router()
st.title("Runs")
st.caption("Every training run is kept: compare them side by side, repeat one over several "
           "seeds to tell an effect from noise, tune settings, and export a methods paragraph.")
settle_stopped_work()  # a click on Stop draws this page again at once: wait for the stopped work, say how it ended
workspace = current_workspace()
if workspace is None or not stage_guard(
    progress_of(workspace).runs > 0,
    "There are no runs in this workspace yet: train a model on the Train page.",
    "train", "Go to Train",
):
    st.stop()
selected = render_runs_table(workspace)
if selected is None:
    pass  # the filter matched nothing, and said so
elif len(selected) == 1:
    render_one_run(workspace, next(selected.itertuples()))
elif len(selected) > 1:
    render_comparison(workspace, selected)
else:
    st.info("Choose one run to rename, repeat, export or delete it; two or more to compare them.",
            icon=":material/touch_app:")
render_parallel(workspace)
