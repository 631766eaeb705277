"""How the Code page draws one image to code, its buttons with shortcuts, and the codebook."""

from __future__ import annotations

import streamlit as st

from kayfabe_core.codes import Codebook, read_codebook, write_codebook
from kayfabe_core.coding import (
    ORDERS,
    build_queue,
    code_image,
    next_image,
    read_coding_progress,
    read_latest_code,
)
from kayfabe_core.errors import KayfabeError
from kayfabe_core.image_detail import read_image_detail
from kayfabe_core.workspace import Workspace, transaction
from kayfabe_ui import state
from kayfabe_ui.common import progress_of, show_error, show_picture

DEFAULT_BOOK = Codebook("My category", "YES", "NO", "Write what makes an image YES, with examples.")


def current_image(workspace: Workspace, coder: str, order: str, seed: int) -> str | None:
    """Return the image to show: a jump from the link, the one on screen, or the next in the queue."""
    runs = progress_of(workspace).runs if order == "uncertain" else 0  # a new model reorders the queue
    signature = f"{workspace.root}|{coder}|{order}|{seed}|{runs}"
    if state.get_value(state.CODING_QUEUE_FOR) != signature:
        state.set_value(state.CODING_QUEUE, build_queue(workspace, coder, order, seed))
        state.set_value(state.CODING_QUEUE_FOR, signature)
        state.set_value(state.CODING_CURRENT, None)
    jump = st.query_params.get("image")
    if jump:
        del st.query_params["image"]
        state.set_value(state.CODING_CURRENT, jump)
    current = state.get_value(state.CODING_CURRENT)
    if current is None:
        current = next_image(state.get_list(state.CODING_QUEUE), set(state.get_list(state.CODING_SKIPPED)),
                             set(state.get_list(state.CODING_HISTORY)))
        state.set_value(state.CODING_CURRENT, current)
    return current  # type: ignore[return-value]


def _on_code(workspace: Workspace, sha256: str, coder: str, value: str) -> None:
    try:
        code_image(workspace, sha256, coder, value, str(state.get_value(state.CODE_NOTE) or ""))
    except KayfabeError as error:
        state.set_value(state.CODING_MESSAGE, error)
        return
    state.get_list(state.CODING_HISTORY).append(sha256)
    state.set_value(state.CODE_NOTE, "")
    state.set_value(state.CODING_CURRENT, None)


def _on_skip(sha256: str) -> None:
    state.get_list(state.CODING_SKIPPED).append(sha256)
    state.get_list(state.CODING_HISTORY).append(sha256)  # Undo brings a skipped image back too
    state.set_value(state.CODING_CURRENT, None)


def _on_undo() -> None:
    """Show the image of the last Y, N, U or S again (a skipped one is no longer skipped)."""
    history = state.get_list(state.CODING_HISTORY)
    if history:
        previous = history.pop()
        skipped = state.get_list(state.CODING_SKIPPED)
        if previous in skipped:
            skipped.remove(previous)
        state.set_value(state.CODING_CURRENT, previous)


def render_coder(workspace: Workspace, sha256: str, coder: str, book: Codebook) -> None:
    """Draw the image large, its post, and the YES / NO / Unsure / Skip / Undo buttons."""
    detail = read_image_detail(workspace, sha256)
    picture, side = st.columns([3, 2])
    show_picture(picture, workspace.image_path(detail.sha256, detail.ext))
    with side:
        _render_progress(workspace, coder)
        for post in detail.posts.itertuples():
            st.markdown(f"[Open the post]({post.post_url}) · {post.media_type} · {str(post.pub_date)[:10]}")
            st.markdown(f"> {post.description or '(no caption)'}".replace("\n", "\n> "))
        earlier = read_latest_code(workspace, sha256, coder)
        if earlier:
            st.info(f"You coded this image {earlier} before; a new code replaces it.", icon=":material/history:")
        st.text_input("Note (optional)", key=state.CODE_NOTE, placeholder="e.g. promo photo, but out of the ring")
        _render_buttons(workspace, sha256, coder, book)
        with st.expander(f"Codebook: {book.category}", expanded=False, icon=":material/menu_book:"):
            st.markdown(f"**YES = {book.yes_name}**, **NO = {book.no_name}**\n\n{book.definition}")


def _render_progress(workspace: Workspace, coder: str) -> None:
    progress = read_coding_progress(workspace, coder, images=progress_of(workspace).images_fetched)
    share = progress.coded_by_coder / max(progress.images, 1)
    st.progress(share, text=f"{coder}: {progress.coded_by_coder:,} of {progress.images:,} images coded · "
                            f"team: {progress.coded_by_anyone:,}")


def _render_buttons(workspace: Workspace, sha256: str, coder: str, book: Codebook) -> None:
    # one under the other, full width: side by side at 1024 px the category's names were cut to "YES · In …"
    st.button(f"YES · {book.yes_name}", key="code_yes", shortcut="Y", type="primary", width="stretch",
              on_click=_on_code, args=(workspace, sha256, coder, "YES"), icon=":material/check_circle:")
    st.button(f"NO · {book.no_name}", key="code_no", shortcut="N", type="secondary", width="stretch",
              on_click=_on_code, args=(workspace, sha256, coder, "NO"), icon=":material/cancel:")
    others = st.container(horizontal=True, wrap=True)  # they wrap on a narrow screen instead of being cut
    others.button("Unsure", key="code_unsure", shortcut="U", on_click=_on_code,
                  args=(workspace, sha256, coder, "UNSURE"), icon=":material/help:")
    others.button("Skip", key="code_skip", shortcut="S", on_click=_on_skip, args=(sha256,),
                  icon=":material/skip_next:")
    others.button("Undo", key="code_undo", shortcut="Z", on_click=_on_undo,
                  icon=":material/undo:", disabled=not state.get_list(state.CODING_HISTORY))
    st.caption("Keys: Y, N, U, S (skip), Z (undo: shows the previous image again, coded or skipped, to recode "
               "it). Every code is saved the moment you press it.")


def render_codebook_editor(workspace: Workspace) -> None:
    """The codebook as editable text; saving adds a new version stamped on later codes."""
    book = read_codebook(workspace) or DEFAULT_BOOK
    saved = state.take_value(state.CODEBOOK_SAVED)
    if saved:
        st.success(f"Saved as version {saved}; codes from now on carry it.")
    with st.form("codebook"):
        category = st.text_input("Category", book.category)
        left, right = st.columns(2)
        yes_name = left.text_input("Name of YES", book.yes_name)
        no_name = right.text_input("Name of NO", book.no_name)
        definition = st.text_area("Definition, with examples", book.definition, height=200)
        if st.form_submit_button("Save as a new version", icon=":material/save:"):
            try:
                with transaction(workspace, codes_only=True) as conn:
                    version = write_codebook(conn, Codebook(category.strip(), yes_name.strip(), no_name.strip(),
                                                            definition.strip()))
            except KayfabeError as error:
                show_error(error)
            else:  # drawn again at once: the fields then start from what was saved, and the next save keeps
                state.set_value(state.CODEBOOK_SAVED, version)  # what is typed into them
                st.rerun()
    st.caption("Every code records the codebook version it was made under, so a change of definition "
               "can be traced in the results.")


def choose_order() -> tuple[str, int]:
    """Draw the order choice and seed; return them."""
    left, right = st.columns([3, 1])
    order = left.selectbox("Order", list(ORDERS), format_func=ORDERS.get, key=state.CODING_ORDER,
                          persist_state=state.KEPT)
    seed = right.number_input("Seed", 0, 10_000, 0, key="coding_seed", persist_state=state.KEPT,
                              help="The same seed gives the same random order, for every coder.")
    return str(order), int(seed)
