"""The sidebar: which workspace is open, switching to another, and the stage checklist."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from kayfabe_core.errors import KayfabeError
from kayfabe_core.stages import list_stages
from kayfabe_core.workspace import Workspace
from kayfabe_ui import state
from kayfabe_ui.common import open_current, progress_of
from kayfabe_ui.labeling_view import wait_for_labelling


def render_sidebar() -> None:
    """Draw the workspace box and the checklist of stages in the sidebar."""
    workspace = _open_quietly()
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
                    state.set_workspace_path(Path(chosen.strip()).expanduser().resolve())
                    st.rerun()
                st.warning("Type a folder name first.")
        if workspace is not None:
            _render_checklist(workspace)


def _open_quietly() -> Workspace | None:
    try:
        return open_current()
    except KayfabeError:
        return None  # the page itself shows the problem


def _render_checklist(workspace: Workspace) -> None:
    st.markdown("**Progress**")
    for stage in list_stages(progress_of(workspace)):
        icon = ":material/check_circle:" if stage.done else ":material/radio_button_unchecked:"
        colour = "green" if stage.done else "gray"
        st.markdown(f":{colour}[{icon}] **{stage.title}** · {stage.summary}")
