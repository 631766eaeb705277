"""Train: choose the data, the split and XGBoost's settings, and train a model on this computer."""

import streamlit as st

from kayfabe_ui.common import current_workspace, progress_of
from kayfabe_ui.train_view import choose_settings, choose_split, choose_table, render_train
from kayfabe_ui.tune_view import render_tuning

st.title("Train")
st.caption("Choose what to learn from, how to split the coded images into training and test sets, and "
           "XGBoost's settings (or a preset); then train. Training on Amazon SageMaker is not built yet: "
           "everything here runs on this computer.")
workspace = current_workspace()
if workspace is None:
    st.stop()
table = choose_table(workspace, progress_of(workspace))
if table is None:
    st.stop()
split = choose_split(table)
settings = choose_settings()
if split is None or settings is None:
    st.stop()
train_tab, tune_tab = st.tabs(["Train with these settings", "Or let a tuner search them"])
with train_tab:
    render_train(workspace, table, split[0], split[1], settings)
with tune_tab:
    render_tuning(workspace, table, split[0])
