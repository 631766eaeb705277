"""Helpers every page uses: open the workspace, show errors, guard a stage."""

from __future__ import annotations

import base64
import threading
from io import BytesIO
from pathlib import Path
from typing import Any

import streamlit as st
from PIL import Image

from kayfabe_core.code_log import keep_code_logs
from kayfabe_core.constraints import Knob
from kayfabe_core.errors import KayfabeError
from kayfabe_core.feature_inputs import keep_inputs_in_memory
from kayfabe_core.stages import Progress, read_material_counts, read_work_counts
from kayfabe_core.workspace import INPUTS_VERSION, RESULTS_VERSION, Workspace, open_workspace, read_data_version
from kayfabe_ui import state

PAGES = {
    "posts": "pages/1_posts.py",
    "images": "pages/2_images.py",
    "code": "pages/3_code.py",
    "train": "pages/4_train.py",
    "results": "pages/5_results.py",
    "runs": "pages/6_runs.py",
    "predict": "pages/7_predict.py",
}
keep_code_logs()  # the pages read the codes after every code: keep them, read only the new ones
keep_inputs_in_memory()  # and build the features again from the same posts and labels


_RUN = threading.local()  # whether app.py's navigation runs the script run on this thread (set before the page
# runs and cleared after it: a session's later runs may come on the same thread)
ROUTER_RERUN = "_router_rerun"  # session key: this session was sent through app.py once already


def routed_run(routed: bool = True) -> None:
    """Mark this script run as started by app.py's navigation (app.py calls it just before the page runs, and
    with False once it has run: a session's later runs may share the thread)."""
    _RUN.routed = routed


def through_the_router() -> None:
    """Make sure this page runs inside app.py's navigation (with the sidebar); call first on every page.

    A page file can run on its own: when the first visits after the server starts open a page's address
    (say a bookmark of /images), Streamlit still follows the pages/ folder's old rules, runs the file alone
    and lists the folder's files in the sidebar. Then this switches those rules off and runs the app again
    from app.py, which opens the same page. Each run is checked, not a setting shared by the sessions: two
    sessions opened at once both ran alone, and the second saw the rules already off and stayed alone. Once
    per session at most (a page run outside app.py for good would otherwise rerun for ever).
    """
    from streamlit.runtime.pages_manager import PagesManager  # not a public API: see the test

    if getattr(_RUN, "routed", False) or st.session_state.get(ROUTER_RERUN):
        return
    PagesManager.uses_pages_directory = False
    st.session_state[ROUTER_RERUN] = True
    st.rerun()


def show_error(error: KayfabeError) -> None:
    """Show a core error as one red box: what was wrong, then what to do."""
    st.error(f"{error.message}\n\n**What to do:** {error.hint}" if error.hint else error.message,
             icon=":material/error:")


def open_current() -> Workspace:
    """Open this session's workspace (raises as :func:`open_workspace`). The note shows only when opening takes
    over half a second: a workspace from an older version is converted then."""
    with st.spinner("Opening the workspace… A workspace made by an older version of the app is converted "
                    "once (about a minute for a million posts)."):
        return open_workspace(state.get_workspace_path())


def current_workspace() -> Workspace | None:
    """Open this session's workspace; show the problem and return None if it cannot be."""
    try:
        return open_current()
    except KayfabeError as error:
        show_error(error)
        return None


def workspace_version(workspace: Workspace) -> int:
    """Return the workspace's data version, the key for cached reads of posts, images, labels and codes."""
    return read_data_version(workspace)


def inputs_version(workspace: Workspace) -> int:
    """Return the workspace's inputs version: like the data version, but writes of codes only leave it."""
    return read_data_version(workspace, INPUTS_VERSION)


def results_version(workspace: Workspace) -> int:
    """Return the workspace's results version, the key for cached reads of runs, tunings and jobs."""
    return read_data_version(workspace, RESULTS_VERSION)


@st.cache_data(show_spinner=False, max_entries=20)
def _cached_material_counts(root: str, inputs: int) -> dict[str, int]:
    """Posts and image counts, cached per inputs version: coding leaves them (seconds on 100,000 posts)."""
    return read_material_counts(Workspace(Path(root)))


@st.cache_data(show_spinner=False, max_entries=20)
def _cached_work_counts(root: str, version: int, results: int) -> dict[str, int]:
    """Coded images and runs, cached per data and results version."""
    return read_work_counts(Workspace(Path(root)))


def progress_of(workspace: Workspace) -> Progress:
    """Return the workspace's stage progress (cached on its inputs, data and results versions)."""
    root = str(workspace.root)
    return Progress(**_cached_material_counts(root, inputs_version(workspace)),
                    **_cached_work_counts(root, workspace_version(workspace), results_version(workspace)))


def stage_guard(ready: bool, needs: str, page_key: str, link_label: str) -> bool:
    """Say what is missing and link to the stage that makes it; return ``ready``."""
    if not ready:
        st.info(needs, icon=":material/info:")
        st.page_link(PAGES[page_key], label=link_label, icon=":material/arrow_forward:")
    return ready


def not_built_yet(what_it_will_do: str) -> None:
    """State plainly that this page's tools are not built yet, and what they will do."""
    st.warning("The tools of this stage are not built yet: this page computes nothing yet.",
               icon=":material/construction:")
    st.markdown(what_it_will_do)


@st.cache_data(show_spinner=False, max_entries=5000)
def thumbnail_data_uri(path: str, size: int = 96) -> str | None:
    """Return a small JPEG of the image at ``path`` as a data URI (cached per file), or None when the file
    is missing or not a picture (e.g. ``images/`` was not copied with the database): the table shows a gap."""
    try:
        with Image.open(path) as picture:
            picture = picture.convert("RGB")
            picture.thumbnail((size, size))
            buffer = BytesIO()
            picture.save(buffer, format="JPEG", quality=75)
    except (OSError, ValueError, Image.DecompressionBombError):  # UnidentifiedImageError is an OSError
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def show_picture(place: Any, path: Path | str) -> None:
    """Draw the picture file at ``path`` in ``place`` (``st`` or a column), or say it is missing: a database
    copied without its ``images/`` folder must not stop the page."""
    if Path(path).is_file():
        place.image(str(path), width="stretch")
    else:
        place.caption(f":material/hide_image: picture file missing from images/ ({Path(path).name[:12]}…)")


def image_grid(files: dict[str, str], items: list[str], captions: list[str], link_label: str,
               per_row: int = 6) -> None:
    """Draw images ``per_row`` to a row, each with its caption and a link that opens it on the Code page."""
    # a row of columns per row of pictures, the link right under each picture: with one set of columns for all,
    # and the link under captions of different lengths, pictures and links drifted out of line
    for start in range(0, len(items), per_row):
        for column, item, caption in zip(st.columns(per_row), items[start:start + per_row],
                                         captions[start:start + per_row], strict=False):
            with column:
                if item in files:
                    show_picture(st, files[item])
                st.page_link(PAGES["code"], label=link_label, query_params={"image": item},  # no icon: the word
                             help="Open this image on the Code page")  # fits six to a row at 1024 px
                st.caption(caption)


def knob_format(knob: Knob) -> str:
    """How a slider of the constraints table shows its value: the knob's own form, else by its kind."""
    return knob.shown_as or {int: "%d", float: "%.2f"}[knob.kind]
