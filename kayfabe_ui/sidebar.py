"""The sidebar: which workspace is open, switching to another, and the stage checklist."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from kayfabe_core.errors import KayfabeError
from kayfabe_core.stages import list_stages
from kayfabe_core.workspace import DB_NAME, Workspace, folder_kind
from kayfabe_ui import state
from kayfabe_ui.common import open_current, progress_of
from kayfabe_ui.labeling_view import wait_for_labelling


def render_sidebar() -> None:
    """Draw the workspace box and the checklist of stages in the sidebar."""
    workspace = _open_quietly()
    state.workspace_into_address()  # a reload opens this workspace again
    state.coder_kept_in_address()  # and with the coder's name
    if workspace is not None:
        wait_for_labelling(workspace)  # the checklist's counts include what a stopped run still stores
    with st.sidebar:
        st.markdown("**Workspace**")
        st.caption(f":material/folder: `{state.get_workspace_path()}`")
        with st.expander("Open or create another workspace", icon=":material/folder_open:"):
            chosen = st.text_input(
                "Folder", key="workspace_input", placeholder="e.g. my-study",
                help="A folder name or path. A new folder becomes an empty workspace.",
            )
            if st.button("Open workspace", key="open_workspace"):
                if chosen.strip():
                    _open_chosen(chosen.strip())
                else:
                    st.warning("Type a folder name first.")
            _confirm_other_folder()
        if workspace is not None:
            _render_checklist(workspace)


def _open_chosen(typed: str) -> None:
    """Open the folder ``typed``: at once when it is a workspace or new; a folder of other files is asked about
    first; one that cannot be read is refused with why."""
    kind = folder_kind(typed)
    if kind == "unreadable":
        st.error(f"“{typed}” cannot be opened here: this computer may not look into it, or it is not a folder name "
                 "it accepts (a ~name of an unknown user). Type another folder, e.g. my-study.")
        return
    folder = Path(typed).expanduser().resolve()
    if kind == "file":
        st.error(f"{folder} is a file, not a folder: a workspace is a folder. Type a folder name.")
    elif kind == "other":
        state.set_value(state.PENDING_WORKSPACE, str(folder))
    else:
        state.set_workspace_path(folder)
        st.rerun()


def _confirm_other_folder() -> None:
    """Ask before making a workspace inside a folder that holds other files (a user's data folder)."""
    pending = state.get_value(state.PENDING_WORKSPACE)
    if not pending:
        return
    st.warning(f"{pending} holds other files and no workspace. Creating one there adds {DB_NAME}, images/ and "
               "runs/ beside them.")
    if st.button("Create the workspace there", key="create_in_folder", width="stretch"):
        state.set_value(state.PENDING_WORKSPACE, None)
        state.set_workspace_path(Path(str(pending)))
        st.rerun()
    if st.button("Cancel", key="cancel_folder", width="stretch"):
        state.set_value(state.PENDING_WORKSPACE, None)
        st.rerun()


def _open_quietly() -> Workspace | None:
    try:
        return open_current()
    except KayfabeError:
        return None  # the page itself shows the problem


def _render_checklist(workspace: Workspace) -> None:
    st.markdown("**Progress**")
    try:
        progress = progress_of(workspace)
    except KayfabeError:
        st.caption("The workspace cannot be read now: the page says why.")
        return
    for stage in list_stages(progress):
        icon = ":material/check_circle:" if stage.done else ":material/radio_button_unchecked:"
        colour = "green" if stage.done else "gray"
        st.markdown(f":{colour}[{icon}] **{stage.title}** · {stage.summary}")
