"""Images & labels: browse the fetched pictures with their Rekognition labels."""

import streamlit as st

from kayfabe_core.codes import read_codebook
from kayfabe_ui import state
from kayfabe_ui.common import current_workspace, progress_of, stage_guard, through_the_router
from kayfabe_ui.images_view import (
    choose_filters,
    render_associations,
    render_frequencies,
    render_gallery,
    show_detail,
)
from kayfabe_ui.labeling_view import (
    render_fetch,
    render_import,
    render_labeling,
    render_problems,
    wait_for_labelling,
)
from kayfabe_ui.stopping import settle_stopped_work

through_the_router()
st.title("Images & labels")
st.caption("Fetch every post's pictures once, send them to Amazon Rekognition (after showing "
           "what it will cost), and browse the pictures with their labels before deciding anything.")
settle_stopped_work()  # a stopped fetch or labelling says how it ended
workspace = current_workspace()
if workspace is None or not stage_guard(
    progress_of(workspace).posts > 0,
    "This stage needs posts first: import a PhantomBuster export on the Posts page.",
    "posts", "Go to Posts",
):
    st.stop()
wait_for_labelling(workspace)  # a labelling elsewhere may still be storing: count after it
progress = progress_of(workspace)
counts = st.columns(3)
counts[0].metric("Images in posts", f"{progress.images:,}")
counts[1].metric("Fetched", f"{progress.images_fetched:,}")
counts[2].metric("With labels", f"{progress.images_labelled:,}")

SECTIONS = ["Gallery", "Label frequency", "Labels and codes", "Fetch & label"]
labelled = progress.images_labelled > 0
# One section at a time: a hidden tab would still compute (seconds each on 100,000 posts).
section = st.segmented_control("Show", SECTIONS, default="Gallery" if labelled else "Fetch & label",
                               key=state.IMAGES_SECTION, persist_state=state.KEPT, required=True) or "Gallery"
if section == "Fetch & label":
    render_fetch(workspace)
    render_labeling(workspace)
    render_import(workspace)
    render_problems(workspace)
    st.stop()
if not labelled:
    st.info("No image has labels yet: fetch the images and label them under Fetch & label.",
            icon=":material/info:")
    st.stop()
choices, threshold = choose_filters(workspace)
clicked = None
if section == "Gallery":
    clicked = render_gallery(workspace, choices, threshold)
elif section == "Label frequency":
    render_frequencies(workspace, threshold)
else:
    book = read_codebook(workspace)
    render_associations(workspace, threshold, (book.yes_name, book.no_name) if book else ("YES", "NO"))
if clicked:
    show_detail(workspace, clicked, threshold)
