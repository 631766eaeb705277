"""Code: hand-code images YES/NO for the category being studied."""

import streamlit as st

from kayfabe_ui.common import current_workspace, not_built_yet, progress_of, stage_guard

st.title("Code")
st.caption("Sit at one page, see each image large with its caption and the codebook, and code it "
           "with one key press; a second coder can code a sample to measure agreement.")
workspace = current_workspace()
if workspace is None or not stage_guard(
    progress_of(workspace).images_fetched > 0,
    "This stage needs fetched images: import posts, then fetch their images on the "
    "Images & labels page.",
    "images", "Go to Images & labels",
):
    st.stop()
progress = progress_of(workspace)
st.markdown(f"**{progress.images_coded:,}** of **{progress.images_fetched:,}** fetched images "
            "have a YES or NO code in this workspace.")
not_built_yet(
    "It will: show one image at a time with YES, NO, Unsure, Skip and Undo buttons (each with a "
    "keyboard shortcut), keep an editable codebook, and report agreement between coders "
    "(Cohen's κ or Krippendorff's α with an interval)."
)
