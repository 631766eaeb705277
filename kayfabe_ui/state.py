"""The only module that touches ``st.session_state``, through named keys.

Session state holds only which workspace this browser tab has open; everything
durable lives in the workspace itself.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from kayfabe_core.workspace import default_workspace_path, folder_kind

KEPT = "session"  # a widget's persist_state for settings: its value returns when the person comes back to the page
WORKSPACE_PATH = "workspace_path"
POSTS_PAGE = "posts_page_number"


WORKSPACE_PARAM = "workspace"  # the address keeps a workspace other than the default, for a reload


def get_workspace_path() -> Path:
    """Return the folder of the workspace this session has open: on a session's first call, the one the address
    names (a reload) when that folder holds a workspace, else the default."""
    if WORKSPACE_PATH not in st.session_state:
        named = st.query_params.get(WORKSPACE_PARAM)
        kept = named and _holds_workspace(named)  # an address never makes a workspace anywhere
        st.session_state[WORKSPACE_PATH] = str(named if kept else default_workspace_path())
    return Path(st.session_state[WORKSPACE_PATH])


def _holds_workspace(folder: str) -> bool:
    """Whether ``folder`` (from the address: anything typed) holds a workspace; False where it cannot be read."""
    return folder_kind(folder) == "workspace"


def workspace_into_address() -> None:
    """Put the open workspace in the address when it is not the default one (take it out when it is)."""
    current = str(get_workspace_path())
    if current != str(default_workspace_path()):
        if st.query_params.get(WORKSPACE_PARAM) != current:
            st.query_params[WORKSPACE_PARAM] = current
    elif WORKSPACE_PARAM in st.query_params:
        del st.query_params[WORKSPACE_PARAM]


def set_workspace_path(path: Path) -> None:
    """Make ``path`` this session's open workspace."""
    st.session_state[WORKSPACE_PATH] = str(path)
    st.session_state[POSTS_PAGE] = 1


def get_int(key: str, default: int) -> int:
    """Return the integer kept under ``key`` (one of this module's names)."""
    return int(st.session_state.get(key, default))


def set_int(key: str, value: int) -> None:
    """Keep ``value`` under ``key`` (one of this module's names)."""
    st.session_state[key] = value

GALLERY_PAGE = "gallery_page_number"


def get_text(key: str) -> str | None:
    """Return the text kept under ``key`` (one of this module's names), or None."""
    value = st.session_state.get(key)
    return None if value is None else str(value)


def set_text(key: str, value: str | None) -> None:
    """Keep ``value`` under ``key`` (one of this module's names); None forgets it."""
    st.session_state[key] = value

CODER = "coder"
CODER_PARAM = "coder"  # the address keeps the coder's name: a reload starts a new session, which forgets it


def coder_from_address() -> None:
    """Fill the Coder box from the address (``?coder=``) when this session has no name yet (after a reload)."""
    if CODER not in st.session_state and st.query_params.get(CODER_PARAM):
        st.session_state[CODER] = st.query_params[CODER_PARAM]


def coder_kept_in_address() -> None:
    """On every page: take the coder's name from the address after a reload, and keep it there (a reload of any
    page, not only Code's, opens with the name)."""
    coder_from_address()
    name = str(st.session_state.get(CODER) or "").strip()
    if name:
        coder_into_address(name)


def coder_into_address(name: str) -> None:
    """Put the coder's ``name`` in the address (or take it out when empty), so a reload keeps it."""
    if name and st.query_params.get(CODER_PARAM) != name:
        st.query_params[CODER_PARAM] = name
    elif not name and CODER_PARAM in st.query_params:
        del st.query_params[CODER_PARAM]
CODING_QUEUE = "coding_queue"
CODING_QUEUE_FOR = "coding_queue_for"
CODING_CURRENT = "coding_current"
CODING_HISTORY = "coding_history"
CODING_SKIPPED = "coding_skipped"
CODING_MESSAGE = "coding_message"
CODING_ORDER = "coding_order"  # the Code page's order choice
IMAGES_SECTION = "images_section"  # the Images & labels page's section: Gallery, Fetch & label, ...
CODEBOOK_SAVED = "codebook_saved"  # the version just saved, told once after the page is drawn again
PENDING_WORKSPACE = "pending_workspace"  # a folder of other files the user is asked about before it is opened
IMAGES_MESSAGE = "images_message"  # (section, level, text): what a fetch or labelling did, told after the redraw
RUNS_MESSAGE = "runs_message"  # what a repeat saved or a delete removed, told once after the Runs page is drawn again
PREDICT_IMPORTED = "predict_imported"  # ((workspace, upload id), what the import found) of Predict's last import
RUNS_CHOSEN = "runs_selected"  # the Runs page's run picker
RUNS_CHOSEN_NEXT = "runs_chosen_next"  # what the picker holds after a rename or delete: set before it is drawn
CODE_NOTE = "code_note"
CODE_TAB = "code_tab"  # the open tab of the Code page


def get_list(key: str) -> list[str]:
    """Return the list kept under ``key`` (one of this module's names), creating it empty."""
    return st.session_state.setdefault(key, [])  # type: ignore[no-any-return]


def set_value(key: str, value: object) -> None:
    """Keep ``value`` under ``key`` (one of this module's names)."""
    st.session_state[key] = value


def get_value(key: str, default: object = None) -> object:
    """Return what is kept under ``key`` (one of this module's names), or ``default``."""
    return st.session_state.get(key, default)


def take_value(key: str) -> object:
    """Return what is kept under ``key`` and forget it (None when nothing is): a message told once, after the
    page is drawn again."""
    return st.session_state.pop(key, None)

SELECTED_RUN = "selected_run_id"
