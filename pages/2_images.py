"""Images & labels: fetch each post's images once and get their Rekognition labels."""

import streamlit as st

from kayfabe_ui.common import current_workspace, not_built_yet, progress_of, stage_guard

st.title("Images & labels")
st.caption("Fetch every post's pictures once, send them to Amazon Rekognition (after showing "
           "what it will cost), and browse the pictures with their labels.")
workspace = current_workspace()
if workspace is None or not stage_guard(
    progress_of(workspace).posts > 0,
    "This stage needs posts first: import a PhantomBuster export on the Posts page.",
    "posts", "Go to Posts",
):
    st.stop()
progress = progress_of(workspace)
st.markdown(f"This workspace has **{progress.images:,}** images listed in its posts; "
            f"**{progress.images_fetched:,}** are fetched and **{progress.images_labelled:,}** "
            "have stored Rekognition labels.")
not_built_yet(
    "It will: download each image once (checking Instagram's link expiry first), label images "
    "with DetectLabels, DetectModerationLabels and RecognizeCelebrities after a cost estimate, "
    "import labels you already have, and show a gallery filtered by label and confidence."
)
