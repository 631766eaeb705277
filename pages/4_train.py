"""Train: choose the data, the split and XGBoost's settings, and train a model on this computer or on SageMaker."""

import streamlit as st

from kayfabe_ui.common import current_workspace, progress_of, through_the_router
from kayfabe_ui.sagemaker_view import render_sagemaker
from kayfabe_ui.stopping import settle_stopped_work
from kayfabe_ui.train_view import choose_settings, choose_split, choose_table, choose_where, render_train
from kayfabe_ui.tune_view import render_tuning

through_the_router()
st.title("Train")
st.caption("Choose what to learn from, how to split the coded images into training and test sets, and "
           "XGBoost's settings (or a preset); then train, on this computer or on Amazon SageMaker.")
settle_stopped_work()  # a click on Stop draws this page again at once: wait for the stopped work, say how it ended
workspace = current_workspace()
if workspace is None:
    st.stop()
table = choose_table(workspace, progress_of(workspace))
if table is None:
    st.stop()
split = choose_split(table)
settings = choose_settings((table.positive_name, table.negative_name))
if split is None or settings is None:
    st.info("Training and tuning wait for settings that work: change the one the red message above names, and "
            "they come back.", icon=":material/pending:")
    st.stop()
train_tab, tune_tab = st.tabs(["Train with these settings", "Or let a tuner search them"])
with train_tab:
    where, name = choose_where(workspace)
    if where == "sagemaker":
        render_sagemaker(workspace, table, split[0], settings, name)
    else:
        render_train(workspace, table, split[0], split[1], settings, name)
with tune_tab:
    render_tuning(workspace, table, split[0], settings)
