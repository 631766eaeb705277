"""The Code page's Agreement tab (with the disagreement queue) and its codes import and export."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import streamlit as st

from kayfabe_core.agreement import measure_agreement, read_open_disagreements
from kayfabe_core.associations import ADJUDICATOR
from kayfabe_core.codes import read_codebook
from kayfabe_core.codes_io import export_codes, import_codes
from kayfabe_core.coding import code_image, list_coders, read_double_coding_share, write_double_coding_share
from kayfabe_core.errors import KayfabeError
from kayfabe_core.wording import counted
from kayfabe_core.workspace import Workspace
from kayfabe_ui.common import show_error, show_picture, workspace_version

QUEUE_SHOWN = 6


@st.cache_data(show_spinner=False, max_entries=8)
def _cached_agreement(root: str, version: int, coders: tuple[str, ...]) -> tuple[Any, tuple[str, str] | None]:
    """Agreement per data version (0.5 s at 150,000 codes), or the (message, hint) of why there is none."""
    try:
        return measure_agreement(Workspace(Path(root)), list(coders)), None
    except KayfabeError as error:  # kept too: "not enough codes" is as costly to find out
        return None, (error.message, error.hint)


def render_agreement(workspace: Workspace) -> None:
    """Agreement between chosen coders with its interval, then the disagreements to decide."""
    current = read_double_coding_share(workspace)
    share = st.slider("Double-coding sample: share of images every coder codes", 5, 50, round(current * 100), 5,
                      format="%d %%", key="double_share",
                      help="Coders who choose the order 'Double-coding sample first' see these images first.")
    if share != round(current * 100):
        write_double_coding_share(workspace, share / 100)
    coders = [name for name in list_coders(workspace) if name != ADJUDICATOR]
    chosen = st.multiselect("Coders", coders, default=coders, key="agreement_coders")
    agreement, problem = _cached_agreement(str(workspace.root), workspace_version(workspace), tuple(chosen))
    if problem is not None:
        show_error(KayfabeError(*problem))
        return
    cells = st.columns(3)
    cells[0].metric("Images coded by two or more", f"{agreement.images:,}")
    cells[1].metric("Percent agreement", f"{agreement.percent:.1%}",
                    help="The share of images both coders coded alike" if len(agreement.coders) == 2 else
                    "The share of pairs of coders, on the same image, who coded it alike (with three coders an image "
                    "has three pairs)")
    cells[2].metric(agreement.statistic_name, f"{agreement.statistic:.2f}",
                    help="Agreement beyond what chance alone would give: 1 is perfect, 0 is chance level.")
    st.caption(f"95 % interval for {agreement.statistic_name}: {agreement.ci_low:.2f} to {agreement.ci_high:.2f} "
               f"(bootstrap over images, {agreement.n_boot:,} resamples). As a rough guide, above 0.8 is "
               "strong and 0.6–0.8 substantial; a wide interval means too few images were double-coded.")
    render_disagreements(workspace, chosen)


def render_disagreements(workspace: Workspace, coders: list[str]) -> None:
    """The disagreement queue: decide each image; training then uses the decision."""
    book = read_codebook(workspace)
    yes_name, no_name = (book.yes_name, book.no_name) if book else ("YES", "NO")
    waiting = read_open_disagreements(workspace, coders, words={"YES": yes_name, "NO": no_name})
    st.subheader(f"Disagreements to decide: {len(waiting):,}")
    shown = (f" The first {QUEUE_SHOWN} are shown; each decision brings up the next." if len(waiting) > QUEUE_SHOWN
             else "")
    st.caption("The team's decision is stored as the code of “adjudicated” and is what training uses; "
               f"images without a decision use the majority of the coders.{shown}")
    for row in waiting.head(QUEUE_SHOWN).itertuples():
        picture, words = st.columns([1, 3])
        show_picture(picture, workspace.image_path(row.sha256, row.ext))
        words.markdown(f"{_plain(str(row.codes))} · [post]({row.post_url})")
        buttons = words.container(horizontal=True)  # side by side, not half the page apart
        buttons.button(f"Decide {yes_name}", key=f"adjudicate_yes_{row.sha256[:16]}", on_click=code_image,
                       args=(workspace, row.sha256, ADJUDICATOR, "YES"))
        buttons.button(f"Decide {no_name}", key=f"adjudicate_no_{row.sha256[:16]}", on_click=code_image,
                       args=(workspace, row.sha256, ADJUDICATOR, "NO"))


def render_codes_io(workspace: Workspace) -> None:
    """Import a codes CSV; download every code with its history."""
    upload = st.file_uploader("Codes CSV", type=["csv", "txt"], key="codes_file",
                              help="Columns: sha256, image_url or postUrl; value (YES/NO, Y/N, 1/0, true/false, or the "
                                   "codebook's two names); optional coder, note. A row with any other value "
                                   "stops the import: nothing is written.")
    coder = st.text_input("Coder for rows without a coder column", key="import_coder", placeholder="imported")
    if upload is not None and st.button("Import codes", key="import_codes", icon=":material/upload:"):
        try:
            report = import_codes(workspace, upload.name, upload.getvalue(), coder.strip() or None)
        except KayfabeError as error:
            show_error(error)
        else:
            summary = (f"Added {counted(report.codes_added, 'code')} for {counted(report.images_matched, 'image')}; "
                       f"{counted(report.unmatched_rows, 'row')} matched no fetched image, "
                       f"{report.blank_codes:,} had no code, {report.already_stored:,} were already there.")
            (st.success if report.codes_added else st.warning)(summary)
            for example in (*report.unmatched_examples, *report.blank_examples):
                st.caption(example)
    # a callable: the CSV is built when the button is clicked, not on every key press while coding
    st.download_button("Download all codes (with history)", lambda: export_codes(workspace), "codes.csv", "text/csv",
                       key="export_codes", icon=":material/download:")


def _plain(text: str) -> str:
    """``text`` shown as typed in Markdown (a coder named ``*ann*`` is not shown in italics)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", text)
