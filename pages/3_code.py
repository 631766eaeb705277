"""Code: hand-code images YES/NO for the category being studied, one key press each."""

import streamlit as st

from kayfabe_core.codes import read_codebook
from kayfabe_core.errors import KayfabeError
from kayfabe_ui import state
from kayfabe_ui.agreement_view import render_agreement, render_codes_io
from kayfabe_ui.coding_view import DEFAULT_BOOK, choose_order, current_image, render_codebook_editor, render_coder
from kayfabe_ui.common import current_workspace, progress_of, show_error, stage_guard, through_the_router

through_the_router()
st.title("Code")
st.caption("See each image large with its caption and the codebook, and code it with one key press; "
           "every code is saved at once.")
workspace = current_workspace()
if workspace is None or not stage_guard(
    progress_of(workspace).images_fetched > 0,
    "This stage needs fetched images: import posts, then fetch their images on the Images & labels page.",
    "images", "Go to Images & labels",
):
    st.stop()
state.coder_from_address()
coder = st.sidebar.text_input("Coder", key=state.CODER, persist_state=state.KEPT, placeholder="your name",
                              help="Codes are credited to this name; several coders can code the same images.")
state.coder_into_address(coder.strip())
book = read_codebook(workspace) or DEFAULT_BOOK
# Only the open tab runs: a code pressed here must not wait for the agreement of 100,000 codes.
code_tab, agreement_tab, book_tab, io_tab = st.tabs(["Code images", "Agreement", "Codebook", "Import / export"],
                                                    key=state.CODE_TAB, on_change="rerun")
if book_tab.open:
    with book_tab:
        render_codebook_editor(workspace)
if agreement_tab.open:
    with agreement_tab:
        render_agreement(workspace)
if io_tab.open:
    with io_tab:
        render_codes_io(workspace)
if code_tab.open:
    with code_tab:
        if not coder.strip():
            st.info("Type your name under **Coder** in the sidebar to start coding.", icon=":material/person:")
            st.stop()
        order, seed = choose_order()
        message = state.take_value(state.CODING_MESSAGE)
        if message is not None:
            show_error(message)  # type: ignore[arg-type]
        try:
            sha256 = current_image(workspace, coder.strip(), order, seed)
        except KayfabeError as error:
            show_error(error)
            st.stop()
        if sha256 is None:
            st.success("You have coded (or skipped) every image in this order. Change the order to recode, "
                       "or look at the agreement between coders.", icon=":material/task_alt:")
        else:
            render_coder(workspace, sha256, coder.strip(), book)
