"""Predict page pieces: choose a run and posts, score them, show a gallery by score and a CSV download."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import pandas as pd
import streamlit as st

from kayfabe_core.coding import send_to_coding
from kayfabe_core.errors import KayfabeError
from kayfabe_core.predict import (
    PredictionReport,
    all_posts,
    import_posts,
    predict_posts,
    reason_list,
    uncoded_posts,
)
from kayfabe_core.rekognition_plan import PRICE_PER_IMAGE_USD
from kayfabe_core.results import image_files
from kayfabe_core.runs import read_run
from kayfabe_core.wording import counted_are
from kayfabe_core.workspace import Workspace
from kayfabe_ui import state
from kayfabe_ui.common import PAGES, image_grid, progress_of, results_version, show_error, workspace_version
from kayfabe_ui.results_view import cached_runs

CHOICES = {"uncoded": "Posts in this workspace with no coded image",
           "upload": "Posts of a new PhantomBuster export (imported into this workspace)",
           "all": "Every post in this workspace"}
GALLERY = 24
AUTO_ALL_POSTS = 5_000  # a workspace with every post coded and no more posts than this opens on all of them
KEPT_SCORINGS = 2  # scorings kept per server: every widget change on the page runs it again (55 s for 150,000 images)
_kept: OrderedDict[tuple[object, ...], tuple[pd.DataFrame, PredictionReport]] = OrderedDict()
_kept_lock = threading.Lock()


def choose_run(workspace: Workspace) -> str | None:
    """Pick a run trained on this workspace's images (newest first)."""
    runs = cached_runs(str(workspace.root), results_version(workspace))
    runs = runs[runs["source"] == "workspace"]
    if runs.empty:
        st.info("Only runs trained on this workspace's images can score its posts; train one on the Train page.",
                icon=":material/info:")
        return None
    labels = {row.run_id: f"{row.name or row.run_id}{' · trained on SageMaker' if row.backend == 'sagemaker' else ''}"
                          f" · accuracy {row.accuracy:.3f} at 0.5" for row in runs.itertuples()}
    return str(st.selectbox("Run", list(labels), format_func=labels.get, key="predict_run"))


@st.cache_data(show_spinner=False, max_entries=4)
def _cached_uncoded(root: str, version: int) -> list[str]:
    """The posts with no coded image, per data version (0.5 s at 100,000 posts)."""
    return uncoded_posts(Workspace(Path(root)))


def choose_posts(workspace: Workspace) -> list[str] | None:
    """Pick which posts to score; return their links (None until there is something to score)."""
    uncoded = _cached_uncoded(str(workspace.root), workspace_version(workspace))
    options = list(CHOICES)
    # where every post is coded (the demo) the first choice shows nothing: a small workspace starts on all its
    # posts (scoring 1,500 posts takes a second); a large one waits to be asked (150,000 images take a minute)
    start = "all" if not uncoded and progress_of(workspace).posts <= AUTO_ALL_POSTS else "uncoded"
    choice = st.radio("Posts to score", options, index=options.index(start),
                      format_func=CHOICES.get, key="predict_posts", persist_state=state.KEPT)
    if choice == "all":
        return all_posts(workspace)
    if choice == "uncoded":
        posts = uncoded
        if not posts:
            st.info("Every post in this workspace has a coded image. Import a new export, or score every post.",
                    icon=":material/info:")
            return None
        return posts
    upload = st.file_uploader("PhantomBuster CSV export", type=["csv", "tsv", "txt"], key="predict_upload")
    if upload is None:
        return None
    # choosing a file writes nothing: a click imports it, into this workspace, once; what it found is kept with
    # the workspace and the upload's id (another workspace, or another file, asks again; not a hash of the bytes:
    # that read the whole file again on every run of the page)
    key = (str(workspace.root), upload.file_id)
    imported = state.get_value(state.PREDICT_IMPORTED)
    if not (isinstance(imported, tuple) and imported[0] == key):
        st.caption("Importing adds these posts to this workspace (as the Posts page does); posts already there are "
                   "not duplicated.")
        if not st.button(f"Import {upload.name} and score its posts", key="predict_import", icon=":material/upload:"):
            return None
        with st.spinner("Importing the export…"):
            try:
                found = import_posts(workspace, [(upload.name, upload.getvalue())])
            except KayfabeError as error:
                show_error(error)
                return None
        state.set_value(state.PREDICT_IMPORTED, (key, found))
        st.rerun()  # drawn again, so the sidebar counts the new posts
    report, posts = imported[1]
    st.caption(f"{upload.name}: {report.posts:,} posts ({report.new_posts:,} new to this workspace). New images "
               "are fetched and labelled on the Images & labels page, with the cost shown first; labels already "
               "stored are reused.")
    return posts


def render_predictions(workspace: Workspace, run_id: str, posts: list[str]) -> None:
    """Score the posts (once per run, posts and workspace version) and show the report, a gallery by score and
    the CSV download."""
    try:
        table, report = _scored(workspace, run_id, posts)
    except KayfabeError as error:
        show_error(error)
        return
    _render_report(report)
    if table.empty:
        return
    # a callable: the CSV is built when the button is clicked, not on every run of the page
    st.download_button("Download the scores (CSV)", lambda: table.to_csv(index=False).encode(),
                       f"scores-{run_id}.csv", "text/csv", icon=":material/download:", key="predict_download")
    data = read_run(workspace, run_id)["data"]
    _render_gallery(workspace, table, report.threshold, str(data["positive_name"]))  # type: ignore[index]


def _scored(workspace: Workspace, run_id: str, posts: list[str]) -> tuple[pd.DataFrame, PredictionReport]:
    """Return the scores of ``posts``: kept from the last scorings when nothing they depend on changed (the
    run, the posts, the workspace's data and results versions), else computed with a progress bar."""
    posts_hash = hashlib.sha256("\n".join(posts).encode()).hexdigest()
    key = (str(workspace.root), workspace_version(workspace), results_version(workspace), run_id, posts_hash)
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    bar = st.progress(0.0, text="Scoring…")
    try:
        scored = predict_posts(workspace, run_id, posts, lambda done, total: bar.progress(
            done / max(total, 1), text=f"Scoring: {done:,} of {total:,}"))
    finally:
        bar.empty()
    with _kept_lock:
        _kept[key] = scored
        while len(_kept) > KEPT_SCORINGS:
            _kept.popitem(last=False)
    return scored


def _render_report(report: PredictionReport) -> None:
    st.markdown(f"**{report.scored:,}** of {report.images:,} images scored, decided at the run's threshold "
                f"{report.threshold:.2f} (move it, and choose it for predictions, on the Results page).")
    if report.not_fetched:
        st.warning(f"{counted_are(report.not_fetched, 'image')} not fetched yet, so they cannot be scored.",
                   icon=":material/warning:")
        if st.button("Fetch them on Images & labels", key="predict_to_fetch", icon=":material/arrow_forward:"):
            state.set_value(state.IMAGES_SECTION, "Fetch & label")  # open on fetching, not on the gallery
            st.switch_page(PAGES["images"])
    for operation, count in report.missing_responses.items():
        st.warning(f"{count:,} images have no {operation} response, which this run's features need: scoring them "
                   "would treat every such label as absent, so they are left out. Label them on Images & labels "
                   f"(about ${count * PRICE_PER_IMAGE_USD:,.2f}; the estimate is shown again before anything is "
                   "sent).", icon=":material/warning:")


def _render_gallery(workspace: Workspace, table: pd.DataFrame, threshold: float, positive: str) -> None:
    order = st.segmented_control("Show", ["highest", "uncertain", "lowest"], default="highest", key="predict_order",
                                 required=True,
                                 format_func={"highest": "Highest scores", "uncertain": "Closest to the threshold",
                                              "lowest": "Lowest scores"}.get) or "highest"
    shown = _ordered(table, order, threshold).head(GALLERY)
    files = image_files(workspace, list(shown["sha256"]))
    image_grid(files, list(shown["sha256"]), [f"**{row.score:.3f}** · {row.decision}  \n{_reasons_lines(row.reasons)}"
                                               for row in shown.itertuples()], "Code",
               per_row=4)  # four: three reasons a line each, no word broken in two at 1024 px
    _render_send(workspace, table, threshold)
    st.caption(f"How to read: each picture's score is the model's estimate of how likely it is “{positive}” (0 to "
               "1); under it, the features that pushed hardest towards its decision, each present or absent on the "
               "picture (a label's absence pushes too), with its push in log-odds. Images closest to the threshold "
               "are the ones whose codes would teach the next model most: the Code link sends them to coding.")


def _reasons_lines(reasons: str) -> str:
    """One reason per line under a picture, object labels without their "label: " (six pictures share a row)."""
    return "  \n".join(reason.removeprefix("label: ") for reason in reason_list(reasons))


def _render_send(workspace: Workspace, table: pd.DataFrame, threshold: float) -> None:
    left, right = st.columns([1, 2])
    count = int(left.number_input("Images to send", 1, max(len(table), 1), min(50, len(table)), key="send_count"))
    if right.button(f"Send the {count:,} closest to the threshold to coding", key="send_to_coding",
                    icon=":material/playlist_add:"):
        chosen = _ordered(table, "uncertain", threshold).drop_duplicates("sha256").head(count)
        send_to_coding(workspace, list(chosen["sha256"]))
        state.set_value(state.CODING_ORDER, "sent")  # the Code page opens on them, as said below
        st.success(f"{len(chosen):,} images wait on the Code page under the order “Sent from Predict first”.",
                   icon=":material/task_alt:")
        st.page_link(PAGES["code"], label="Go to Code", icon=":material/arrow_forward:")


def _ordered(table: pd.DataFrame, order: str, threshold: float) -> pd.DataFrame:
    if order == "lowest":
        return table.sort_values("score")
    if order == "uncertain":
        return table.assign(distance=(table["score"] - threshold).abs()).sort_values("distance")
    return table

