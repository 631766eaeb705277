"""How the Images & labels page draws the gallery, the image detail and the label charts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from kayfabe_core.associations import MIN_CODED_IMAGES, label_code_association
from kayfabe_core.charts import label_association_figure, label_frequency_figure
from kayfabe_core.gallery import (
    SOURCE_NAMES,
    LabelChoice,
    label_frequencies,
    labels_version,
    list_label_keys,
    list_labels,
    read_image_page,
    read_top_labels,
)
from kayfabe_core.image_detail import draw_boxes, read_image_detail
from kayfabe_core.wording import counted
from kayfabe_core.workspace import Workspace
from kayfabe_ui import state
from kayfabe_ui.common import inputs_version, progress_of, show_picture, workspace_version


@st.cache_data(show_spinner=False, max_entries=8)
def _cached_matches(root: str, version: int, choices: tuple[LabelChoice, ...], threshold: float) -> pd.DataFrame:
    """Every image matching the filter, in gallery order (pages are slices of it; 0.9 s at 150,000 images)."""
    return read_image_page(Workspace(Path(root)), choices, threshold, 0, -1)


@st.cache_data(show_spinner=False, max_entries=32)
def _cached_labels(root: str, version: int, threshold: float) -> pd.DataFrame:
    return list_labels(Workspace(Path(root)), threshold)


@st.cache_data(show_spinner=False, max_entries=8)
def _cached_label_keys(root: str, version: int) -> pd.DataFrame:
    return list_label_keys(Workspace(Path(root)))


@st.cache_data(show_spinner=False, max_entries=32)
def _cached_frequencies(root: str, version: int, threshold: float, top_n: int) -> pd.DataFrame:
    return label_frequencies(Workspace(Path(root)), threshold, top_n, _cached_labels(root, version, threshold))


@st.cache_data(show_spinner=False, max_entries=32)
def _cached_associations(root: str, version: int, threshold: float) -> pd.DataFrame:
    return label_code_association(Workspace(Path(root)), threshold)


def _key(workspace: Workspace) -> tuple[str, int]:
    """Cache key: the workspace and its data version, so any write refreshes the charts."""
    return str(workspace.root), workspace_version(workspace)


def _inputs_key(workspace: Workspace) -> tuple[str, int]:
    """Cache key for what the images, posts and labels make (not the codes): coding an image keeps it."""
    return str(workspace.root), inputs_version(workspace)


def _labels_key(workspace: Workspace) -> tuple[str, int]:
    """Cache key for what depends on the labels alone: coding an image keeps it (lists over millions of
    label rows take seconds)."""
    return str(workspace.root), labels_version(workspace)


COLUMNS, ROWS = 6, 4
MAX_BOXES = 6
PAGE_SIZE = COLUMNS * ROWS


def choose_filters(workspace: Workspace) -> tuple[list[LabelChoice], float]:
    """Draw the confidence slider and the label picker; return the chosen labels and threshold."""
    left, right = st.columns([1, 3])
    threshold = left.slider("Minimum confidence", 50, 100, 80, step=1, key="min_confidence",
                            persist_state=state.KEPT, format="%d %%",  # "80 %", as the Train page's cuts
                            help="Rekognition's confidence that the label is there. Labels below "
                                 "this are ignored everywhere on this page; no new calls are made.")
    every = _cached_label_keys(*_labels_key(workspace))  # all stored labels: a choice survives a threshold change
    at_threshold = _cached_labels(*_labels_key(workspace), float(threshold))
    counts = {(row.source, row.key): row.images for row in at_threshold.itertuples()}
    # the labels seen at this threshold first, most frequent first; then the others by name
    options = [f"{row.source}/{row.key}" for row in at_threshold.itertuples()]
    options += [f"{row.source}/{row.key}" for row in every.itertuples() if (row.source, row.key) not in counts]
    display = {f"{row.source}/{row.key}": f"{row.name} · {SOURCE_NAMES[row.source]} · "
               f"{counts.get((row.source, row.key), 0):,} images at ≥ {threshold} %"
               for row in every.itertuples()}
    chosen = right.multiselect("Show images with all of these labels", options, key="label_filter",
                               format_func=lambda option: display.get(option, option),
                               placeholder="Type a label, e.g. Wrestling")
    return [LabelChoice(*option.split("/", 1)) for option in chosen], float(threshold)


def render_gallery(workspace: Workspace, choices: list[LabelChoice], threshold: float) -> str | None:
    """Draw one page of matching images as a grid, with a details button under each; return the image whose
    button was just clicked (its dialog opens in this run only: any later click closes it)."""
    matches = _cached_matches(*_inputs_key(workspace), tuple(choices), threshold)
    total = len(matches)
    pages = max(1, -(-total // PAGE_SIZE))
    left, right = st.columns([1, 3])
    number = left.number_input(f"Page (of {pages:,})", 1, pages,
                               min(state.get_int(state.GALLERY_PAGE, 1), pages), key="gallery_page")
    state.set_int(state.GALLERY_PAGE, int(number))
    right.caption(f"{total:,} images match · {PAGE_SIZE} per page · newest post first")
    if total == 0 and choices:
        at_least = f"{threshold:.0f} % confidence" + (" or more" if threshold < 100 else "")
        st.info(f"No image carries {'this label' if len(choices) == 1 else 'all of these labels'} at {at_least}. "
                "Lower the confidence, or remove a label (an image must carry every chosen one).",
                icon=":material/search_off:")
        return None
    page = matches.iloc[(int(number) - 1) * PAGE_SIZE:int(number) * PAGE_SIZE]
    tops = read_top_labels(workspace, list(page["sha256"]), threshold, 3)
    missing = sum(not workspace.image_path(row.sha256, row.ext).is_file() for row in page.itertuples())
    if missing:
        st.info(f"{missing} of the {len(page)} pictures of this page are not in the workspace's images/ folder "
                "(was the database copied without it?). Their labels and codes are fine; copy the images/ folder "
                "back to see them.", icon=":material/hide_image:")
    clicked = None
    for start in range(0, len(page), COLUMNS):
        for column, row in zip(st.columns(COLUMNS), page.iloc[start:start + COLUMNS].itertuples(), strict=False):
            with column:
                show_picture(st, workspace.image_path(row.sha256, row.ext))
                # an icon alone, right under the picture: six to a row, the word was cut to "De…" at 1024 px,
                # and under captions of different lengths the buttons did not line up
                if st.button(":material/zoom_in:", key=f"detail_{row.sha256[:16]}",
                             help="Details: every label, the boxes and the posts of this image"):
                    clicked = str(row.sha256)
                st.caption(", ".join(tops.get(row.sha256, [])) or "no label at this confidence")
    return clicked


# Not kept in the session: a dialog reopened from kept state came back after Esc whenever a later click raced
# its dismissal; nothing in it needs the page to run again while it is open.
@st.dialog("Image detail", width="large")
def show_detail(workspace: Workspace, sha256: str, threshold: float) -> None:
    """The dialog: the image with its boxes, every label with confidence, and its posts."""
    detail = read_image_detail(workspace, sha256)
    left, right = st.columns([4, 5])  # at [3, 2] the table's last column was cut off at 1024 px
    path = workspace.image_path(detail.sha256, detail.ext)
    if path.is_file():
        boxes = sorted(detail.boxes, key=lambda box: -box.confidence)[:MAX_BOXES]
        left.image(draw_boxes(path.read_bytes(), tuple(boxes), threshold), width="stretch")
        left.caption(f"Boxes: the {MAX_BOXES} most confident objects (amber) and recognised faces (blue) "
                     f"at {threshold:.0f} % or more.")
    else:
        left.warning(f"The picture is not in the workspace's images folder ({path.name} is missing). Its labels "
                     "and posts are still here; copy the images/ folder along with kayfabe.sqlite to see it.")
    shown = detail.labels[detail.labels["confidence"] >= threshold].drop(columns=["model_version"])
    right.dataframe(  # as tall as its rows (a header and 35 px a row), up to 380 px: no empty rows below
        shown.assign(source=shown["source"].map(SOURCE_NAMES)), hide_index=True,
        height=min(380, 35 * (len(shown) + 1) + 3),
        column_config={"confidence": st.column_config.ProgressColumn("Confidence", format="%.0f %%", width=95,
                                                                     min_value=0, max_value=100),
                       "source": st.column_config.TextColumn("Source", width=95),
                       "name": st.column_config.TextColumn("Label", width=100),
                       "parents": st.column_config.TextColumn("Part of", width=200)},  # "Animal, Canine, Mammal, Pet"
    )
    for post in detail.posts.itertuples():
        st.markdown(f"[Open the post]({post.post_url}) · {post.media_type} · {str(post.pub_date)[:10]}")
        st.caption(str(post.description or ""))
    st.page_link("pages/3_code.py", label="Code this image", icon=":material/rule:",
                 query_params={"image": detail.sha256})
    st.button("Close", key="close_detail")  # its click runs the page again, which closes the dialog


def render_frequencies(workspace: Workspace, threshold: float) -> None:
    """Draw the most frequent labels of each source."""
    top_n = st.slider("Labels per source", 5, 40, 15, key="top_n", persist_state=state.KEPT)
    frequencies = _cached_frequencies(*_labels_key(workspace), threshold, top_n)
    if frequencies.empty:
        st.info("No label reaches this confidence; lower the minimum confidence.")
        return
    st.plotly_chart(label_frequency_figure(frequencies), key="label_frequencies")
    st.caption("How to read it: each bar is the share of labelled images carrying that label at the "
               "chosen confidence. Very common labels (Person) rarely tell images apart.")


def render_associations(workspace: Workspace, threshold: float, names: tuple[str, str]) -> None:
    """Draw which labels go with YES and which with NO among coded images."""
    associations = _cached_associations(*_key(workspace), threshold)
    if associations.empty:
        coded = progress_of(workspace).images_coded
        st.info(f"No label is on {MIN_CODED_IMAGES} or more coded images at {threshold:.0f} % confidence or more "
                f"yet ({counted(coded, 'image')} coded so far), and fewer make the shares noise. Code more images "
                "on the Code page, or lower the minimum confidence above.", icon=":material/bar_chart:")
        return
    st.plotly_chart(label_association_figure(associations, names[0], names[1], 12), key="label_codes")
    st.caption(f"How to read it: a bar to the right means images with that label were coded "
               f"“{names[0]}” more often than coded images overall (by that many percentage points); "
               f"to the left, more often “{names[1]}”. Only labels on at least {MIN_CODED_IMAGES} coded images are "
               "shown. "
               "This describes the codes; it is not yet a model.")
