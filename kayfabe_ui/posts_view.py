"""How the Posts page draws an import report and the paged table of posts."""

from __future__ import annotations

import streamlit as st

from kayfabe_core.ingest import IngestReport
from kayfabe_core.posts import count_posts, list_owners, read_posts_page
from kayfabe_core.report_text import ingest_report_lines
from kayfabe_core.workspace import Workspace
from kayfabe_ui import state
from kayfabe_ui.common import thumbnail_data_uri

PAGE_SIZE = 50


METRIC_WIDTH = 170  # px: room for "Duplicates dropped" at any screen size


def render_report(report: IngestReport) -> None:
    """Show the latest import: headline numbers, the full list, and any notes."""
    names = ", ".join(file.name for file in report.files)
    st.subheader("Last import")
    st.caption(f"From {names}")
    row = st.container(horizontal=True, wrap=True)  # they wrap on a narrow screen instead of being cut
    headline = [("Rows read", report.rows_read), ("Posts", report.posts), ("Images", report.images),
                ("Duplicates dropped", report.duplicates_dropped), ("Error rows", report.error_rows)]
    for label, value in headline:
        row.container(width=METRIC_WIDTH).metric(label, f"{value:,}")
    for note in report.notes:
        st.info(note, icon=":material/info:")
    if report.unknown_columns:
        st.caption("Columns the app does not use (ignored): " + ", ".join(report.unknown_columns))
    with st.expander("Everything the import found", icon=":material/list:"):
        st.table({"": [label for label, _ in ingest_report_lines(report)],
                  "Count": [value for _, value in ingest_report_lines(report)]})
        st.caption("Error rows are rows PhantomBuster wrote when it could not read a profile. "
                   "A duplicate repeats a post and image already seen (a re-scrape).")


def choose_account(workspace: Workspace) -> str | None:
    """Offer a choice of account when the workspace holds several; return it (None = all)."""
    owners = list_owners(workspace)
    if len(owners) < 2:
        return None
    choice = st.selectbox("Account", ["All accounts", *owners], key="posts_account",
                          help="The workspace holds posts of several accounts; look at one at a time.")
    return None if choice == "All accounts" else choice


def render_posts_table(workspace: Workspace, owner: str | None) -> None:
    """Show one page of posts, newest first, with a search box and page number."""
    search = st.text_input("Search captions and links", key="posts_search",
                           placeholder="e.g. #champion")
    matching = count_posts(workspace, search, owner)
    if matching == 0 and search.strip():
        st.info(f"No post{' of ' + owner if owner else ''} has “{search.strip()}” in its caption or link. "
                "Try a shorter word, or clear the search box to see every post.", icon=":material/search_off:")
        return
    pages = max(1, -(-matching // PAGE_SIZE))
    left, right = st.columns([1, 3])
    number = left.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages,
                                value=min(state.get_int(state.POSTS_PAGE, 1), pages), key="posts_page")
    state.set_int(state.POSTS_PAGE, int(number))
    right.caption(f"{matching:,} posts · {PAGE_SIZE} per page · newest first")
    frame = read_posts_page(workspace, (int(number) - 1) * PAGE_SIZE, PAGE_SIZE, search, owner)
    frame.insert(0, "image", [
        thumbnail_data_uri(str(workspace.image_path(sha, ext))) if isinstance(sha, str) else None
        for sha, ext in zip(frame["cover_sha256"], frame["cover_ext"], strict=True)
    ])
    frame["pub_date"] = frame["pub_date"].str.replace("T", " ").str.replace("Z", "")
    st.dataframe(
        frame.drop(columns=["cover_sha256", "cover_ext"]), hide_index=True, key="posts_table",
        row_height=64, height=720, placeholder="—",
        column_config={
            "image": st.column_config.ImageColumn("Image", width="small"),
            "post_url": st.column_config.LinkColumn("Post", display_text=r"instagram\.com/p/([^/]+)"),
            "pub_date": st.column_config.TextColumn("Published (UTC)"),
            "media_type": st.column_config.TextColumn("Type"),
            "n_images": st.column_config.NumberColumn("Images"),
            "like_count": st.column_config.NumberColumn("Likes", format="localized"),
            "comment_count": st.column_config.NumberColumn("Comments", format="localized"),
            "view_count": st.column_config.NumberColumn("Views", format="localized"),
            "description": st.column_config.TextColumn("Caption", width="large"),
        },
    )
    st.caption("A thumbnail appears once the post's first image has been fetched.")
