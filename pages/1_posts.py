"""Posts: import PhantomBuster exports (or build the demo) and look at what came in."""

import streamlit as st

from kayfabe_core.charts import posts_per_month_figure
from kayfabe_core.errors import KayfabeError
from kayfabe_core.ingest import ingest_files, read_last_report
from kayfabe_core.posts import count_posts_by_month
from kayfabe_ui.common import current_workspace, progress_of, show_error, through_the_router
from kayfabe_ui.posts_view import choose_account, render_posts_table, render_report

through_the_router()
st.title("Posts")
st.caption(
    "Start here: bring in the Instagram posts you want to study, as CSV files exported by "
    "PhantomBuster (Instagram Posts Extractor or Hashtag Collector)."
)
workspace = current_workspace()
if workspace is None:
    st.stop()

with st.container(border=True):
    uploads = st.file_uploader(
        "PhantomBuster CSV files", type=["csv", "txt", "tsv"], accept_multiple_files=True,
        key="csv", help="You can choose several files; posts that appear twice are kept once.",
    )
    if st.button("Import", key="import", type="primary", icon=":material/upload:", disabled=not uploads):
        try:
            with st.spinner("Reading the files…"):
                ingest_files(workspace, [(upload.name, upload.getvalue()) for upload in uploads])
            st.rerun()  # the sidebar checklist was drawn before the import
        except KayfabeError as error:
            show_error(error)
            st.caption("Nothing was imported; the workspace is as it was before.")

progress = progress_of(workspace)
if progress.posts == 0:
    st.info("This workspace has no posts yet. Import a CSV above, or fill it with the demo: "
            "a fictional wrestler's account with pictures, labels and codes ready to train on.",
            icon=":material/info:")
    if st.button("Build the demo here", key="build_demo", icon=":material/auto_awesome:"):
        from kayfabe_core.demo_workspace import build_demo_workspace

        try:
            with st.spinner("Drawing the demo's pictures and labels (a few seconds)…"):
                build_demo_workspace(workspace.root)
            st.rerun()
        except KayfabeError as error:
            show_error(error)
    st.stop()

report = read_last_report(workspace)
if report is not None:
    render_report(report)

owner = choose_account(workspace)
st.subheader("Posts per month")
st.plotly_chart(posts_per_month_figure(count_posts_by_month(workspace, owner)), key="posts_per_month")
st.caption("How to read it: each bar is one month of posts, split by type; a carousel holds "
           "several images. Gaps are months with no posts in the files.")

st.subheader("All posts")
render_posts_table(workspace, owner)
