"""Train: choose the split and XGBoost settings, and train a model."""

import streamlit as st

from kayfabe_core.associations import read_resolved_codes
from kayfabe_ui.common import current_workspace, not_built_yet, progress_of, stage_guard

st.title("Train")
st.caption("Choose how to split the coded images into training and test sets, set XGBoost's "
           "knobs (or pick a preset), and train on this computer or on Amazon SageMaker.")
workspace = current_workspace()
if workspace is None:
    st.stop()
progress = progress_of(workspace)
if not stage_guard(progress.images_labelled > 0, "Training needs labelled images: get Rekognition "
                   "labels on the Images & labels page.", "images", "Go to Images & labels"):
    st.stop()
if not stage_guard(progress.images_coded > 0, "Training needs hand codes: code some images YES "
                   "or NO on the Code page.", "code", "Go to Code"):
    st.stop()
resolved = read_resolved_codes(workspace)
yes = int((resolved["value"] == "YES").sum())
st.markdown(f"Training will use **{len(resolved):,}** images with a resolved code ({yes:,} YES, "
            f"{len(resolved) - yes:,} NO): the team's decision where coders disagreed, else the majority of "
            "the coders' latest codes; ties and Unsure are left out.")
not_built_yet(
    "It will: split by post so a carousel never sits on both sides, offer the original study's "
    "2021 preset and plain-language help for every setting, and show a live learning curve."
)
