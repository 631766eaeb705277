"""The Fetch & label section: fetch images, label them with Rekognition after a cost estimate, import labels."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from kayfabe_core.errors import KayfabeError
from kayfabe_core.fetch import FetchSettings, fetch_images
from kayfabe_core.image_status import STATUS_NAMES, count_fetch_statuses, read_problems
from kayfabe_core.labels import OPERATIONS
from kayfabe_core.labels_import import import_labels
from kayfabe_core.rekognition import (
    FREE_TIER_NOTE,
    LOCK_WAIT_S,
    label_images,
    make_rekognition_client,
    plan_labeling,
)
from kayfabe_core.rekognition_quota import DEFAULT_RATE, QuotaReading, describe, read_account_quotas, safe_rate
from kayfabe_core.rekognition_rate import workers_for_rate
from kayfabe_core.wording import counted, counted_are
from kayfabe_core.work_lock import LABELLING, exclusive, wait_until_free
from kayfabe_core.workspace import Workspace
from kayfabe_ui import state
from kayfabe_ui.common import inputs_version, show_error
from kayfabe_ui.stopping import ClickToStop

OPERATION_HELP = {"DetectLabels": "objects and scenes", "DetectModerationLabels": "moderation labels",
                  "RecognizeCelebrities": "known people"}


class StoppableProgress(ClickToStop):
    """A progress bar with time left and a Stop button; a stop keeps the images already finished."""

    def __init__(self, what: str) -> None:
        super().__init__(key=f"stop_{what.lower()}")
        self.what = what
        self._bar = st.progress(0.0, text=f"{what}…")
        self._started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        left = (time.monotonic() - self._started) / done * (total - done) if done else 0.0
        self.draw(lambda: self._bar.progress(
            min(done / max(total, 1), 1.0),
            text=f"{self.what}: {done:,} of {total:,} · about {left:,.0f} s left "
                 "(Stop keeps the images already finished)"))


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_plan(root: str, version: int, operations: tuple[str, ...]) -> Any:
    """The labelling plan per inputs version: fetching and labelling move it, coding does not (3 s at 150,000
    images, once per code before; treated as read-only)."""
    return plan_labeling(Workspace(Path(root)), list(operations))


@st.cache_data(show_spinner=False, max_entries=4)
def _cached_statuses(root: str, version: int) -> dict[str, int]:
    return dict(count_fetch_statuses(Workspace(Path(root))))


@st.cache_data(show_spinner=False, max_entries=4)
def _cached_problems(root: str, version: int) -> pd.DataFrame:
    return read_problems(Workspace(Path(root)))


def wait_for_labelling(workspace: Workspace) -> None:
    """Wait while a stopped labelling run still stores the answers to the calls it sent.

    Call before reading counts: Streamlit draws the page again at once on a click, while the stopped run
    is still storing.
    """
    if not wait_until_free(workspace, LABELLING, 0):
        with st.spinner("Storing the answers to the calls already sent…"):
            wait_until_free(workspace, LABELLING, LOCK_WAIT_S)


def _waiting_to_fetch(statuses: dict[str, int]) -> int:
    """The images still to fetch (a picture too small for Rekognition is done with, as a fetched one is)."""
    return sum(count for status, count in statuses.items() if status not in ("ok", "too_small"))


def render_fetch(workspace: Workspace) -> None:
    """Fetch section: statuses so far and a button to fetch the rest."""
    st.subheader("1. Fetch images")
    statuses = _cached_statuses(str(workspace.root), inputs_version(workspace))
    st.caption(" · ".join(f"{STATUS_NAMES.get(status, status)}: {count:,}" for status, count in statuses.items()))
    _tell_once("fetch")
    waiting = _waiting_to_fetch(statuses)
    if st.button(f"Fetch {counted(waiting, 'image')}", key="fetch", icon=":material/download:", disabled=waiting == 0,
                 help="Each image is downloaded once; expired Instagram links are not requested."):
        try:
            progress = StoppableProgress("Fetching")
            report = fetch_images(workspace, FetchSettings(allow_private=_allow_private()),
                                  progress=progress, stop=progress.stop)
            progress.finish(told=f"Fetching stopped; the images already fetched are kept. {report.summary()}")
        except KayfabeError as error:
            show_error(error)
            return
        _redraw_telling("fetch", "warning" if report.problems() else "success", report.summary())


def _redraw_telling(section: str, level: str, text: str) -> None:
    """Draw the page again (fresh counts, no finished progress bar and Stop button left) and say ``text`` in
    ``section`` once."""
    state.set_value(state.IMAGES_MESSAGE, (section, level, text))
    st.rerun()


def _tell_once(section: str) -> None:
    """Say what the last fetch or labelling of this session did, if it was in ``section``."""
    told = state.get_value(state.IMAGES_MESSAGE)
    if isinstance(told, tuple) and told[0] == section:
        state.take_value(state.IMAGES_MESSAGE)
        if told[1] == "warning":  # a warning's icon, not the done tick (seen inside a yellow box)
            st.warning(told[2], icon=":material/warning:")
        else:
            st.success(told[2], icon=":material/task_alt:")


def _allow_private() -> bool:
    return os.environ.get("KAYFABE_ALLOW_PRIVATE_URLS", "") == "1"


def render_labeling(workspace: Workspace) -> None:
    """Rekognition section: choose operations, see the estimate, confirm, run."""
    st.subheader("2. Get Rekognition labels")
    _tell_once("labelling")
    operations = st.multiselect("Operations", list(OPERATIONS), default=list(OPERATIONS), key="operations",
                                format_func=lambda op: f"{op} ({OPERATION_HELP[op]})")
    left, right = st.columns(2)
    region = right.text_input("AWS region", value=os.environ.get("AWS_DEFAULT_REGION", ""), key="region",
                              placeholder="e.g. us-east-1")
    rate = _rate_input(left, region.strip(), operations)
    if not operations:
        st.info("Choose at least one operation.")
        return
    plan = _cached_plan(str(workspace.root), inputs_version(workspace), tuple(operations))
    cost = st.columns(3)
    cost[0].metric("Calls needed", f"{plan.calls_needed:,}")
    cost[1].metric("Already stored (not paid again)", f"{plan.calls_skipped:,}")
    cost[2].metric("Estimated cost", f"${plan.estimated_usd:,.2f}")
    # images are labelled once fetched: none of these is counted (the Fetch section's own number)
    waiting = _waiting_to_fetch(_cached_statuses(str(workspace.root), inputs_version(workspace)))
    if waiting and plan.calls_needed == 0:
        st.info(f"{counted_are(waiting, 'image')} not fetched yet, so there is nothing to label: the calls and cost "
                "above count fetched images only. Fetch them above first (links that have expired need a fresh "
                "export from PhantomBuster).", icon=":material/info:")
    st.caption(f"Each operation on each image is billed as one image, about $0.001 each. {FREE_TIER_NOTE} "
               "Your AWS credentials are read from your usual AWS set-up and never shown or stored.")
    agreed = st.checkbox(f"I agree to spend about ${plan.estimated_usd:,.2f} on Amazon Rekognition",
                         key="agree_cost", disabled=plan.calls_needed == 0)
    if st.button("Start labelling", key="start_labeling", type="primary", icon=":material/label:",
                 disabled=not agreed or plan.calls_needed == 0):
        try:
            workers = workers_for_rate(float(rate))
            client = make_rekognition_client(region.strip() or None, workers=workers)
            progress = StoppableProgress("Labelling")
            with exclusive(workspace, LABELLING, LOCK_WAIT_S):
                report = label_images(workspace, client, operations, rate_per_s=float(rate), workers=workers,
                                      progress=progress, stop=progress.stop, region=region.strip())
            # short enough for a toast (the counts below say what is left and that nothing is paid twice)
            progress.finish(told=f"Labelling stopped: {report.responses_stored:,} responses were stored before the "
                                 "stop. Start again to label the rest.")
            report.check_answered()
        except KayfabeError as error:
            show_error(error)  # not drawn again: the message would go with the redraw
            return
        _redraw_telling("labelling", "success", f"Stored {report.responses_stored:,} responses; "
                        f"{report.errors_stored:,} images could not be labelled (see below); "
                        f"{report.left_for_retry:,} left to retry.")


RATE = "rate"  # the rate input's key
QUOTA_READINGS = "rekognition_quota_readings"  # QuotaReading by region, read on request


def _rate_input(column: Any, region: str, operations: list[str]) -> float:
    """The rate input, with a button that reads the account's quotas and sets the rate from them."""
    reading = _readings().get(region)
    if state.get_value(RATE) is None:  # first visit, or back from another page
        state.set_value(RATE, safe_rate(reading.quotas, operations) if reading else DEFAULT_RATE)
    current = float(state.get_value(RATE, DEFAULT_RATE))  # type: ignore[arg-type]
    highest = max([50.0, current, *(reading.quotas.values() if reading else [])])  # room for the quota
    rate = column.number_input("Calls per second at most", min(0.5, current), highest, step=0.5, key=RATE,
                               help="Stay at or below your account's Rekognition quota (often 5 outside the "
                                    "largest regions).")
    column.button("Read my account's limits", key="read_quota", icon=":material/speed:",
                  on_click=_read_quota, args=(region, operations),
                  help="Asks AWS Service Quotas (free) how many calls per second your account may make here.")
    if reading is not None:
        line = describe(reading, operations, safe_rate(reading.quotas, operations))
        if any(operation in reading.quotas for operation in operations):
            column.caption(line)
        else:
            column.warning(line, icon=":material/speed:")
    return float(rate)


def _readings() -> dict[str, QuotaReading]:
    readings = state.get_value(QUOTA_READINGS)
    return readings if isinstance(readings, dict) else {}


def _read_quota(region: str, operations: list[str]) -> None:
    """On the button's click, before the page is drawn again: read once per region, then set the rate."""
    readings = _readings()
    if region not in readings or not readings[region].quotas:
        readings[region] = read_account_quotas(list(OPERATIONS), region or None)  # all three: the same calls
        state.set_value(QUOTA_READINGS, readings)
    state.set_value(RATE, safe_rate(readings[region].quotas, operations))


def render_import(workspace: Workspace) -> None:
    """Import section: a JSON Lines file of saved responses."""
    st.subheader("Or import labels you already have")
    upload = st.file_uploader("Saved Rekognition responses (JSON Lines)", type=["jsonl", "ndjson", "json"],
                              key="labels_file")
    st.caption('One JSON object per line: {"post_url" or "image_url" or "sha256": …, "operation": '
               '"DetectLabels" | "DetectModerationLabels" | "RecognizeCelebrities", "response": {…as AWS '
               "returns it…}}. Images must be fetched first. A folder of documents can be imported with "
               "python -m kayfabe_core import-labels.")
    if upload is not None and st.button("Import labels", key="import_labels", icon=":material/upload:"):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / upload.name
            path.write_bytes(upload.getvalue())
            try:
                report = import_labels(workspace, path)
            except KayfabeError as error:
                show_error(error)
                return
        st.success(f"Read {report.lines_read:,} lines: {report.responses_stored:,} responses stored for "
                   f"{report.images_matched:,} images, {report.already_stored:,} already there, "
                   f"{report.unmatched:,} matched no fetched image, {report.bad_lines:,} unusable.")
        for problem in (*report.problems, *report.unmatched_examples):
            st.caption(problem)


def render_problems(workspace: Workspace) -> None:
    """Images that could not be fetched or labelled, with the reason."""
    problems = _cached_problems(str(workspace.root), inputs_version(workspace))
    if problems.empty:
        return
    st.subheader("Images with problems")
    st.dataframe(problems, hide_index=True, key="problems",
                 column_config={"post_url": st.column_config.LinkColumn("Post"), "stage": "Stage",
                                "problem": st.column_config.TextColumn("What went wrong", width="large")})
