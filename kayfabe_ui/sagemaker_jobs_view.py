"""Follow SageMaker jobs: status, logs, billable time, Stop, Open the results; and what the workspace left in AWS.

Everything shown is read from the workspace; the panel asks AWS again every
:data:`POLL_SECONDS` while a job is unfinished (running, or completed with its
run not saved yet), so a refresh or a restarted app picks the job up again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from kayfabe_core.errors import KayfabeError
from kayfabe_core.sagemaker_client import make_sagemaker_clients
from kayfabe_core.sagemaker_finish import refresh_jobs
from kayfabe_core.sagemaker_jobs import RUNNING, aws_resources, delete_job_data, job_status, list_jobs, stop_job
from kayfabe_core.sagemaker_tuning_jobs import delete_tuning_data, tuning_resources
from kayfabe_core.sagemaker_tuning_store import RUNNING as TUNING_RUNNING
from kayfabe_core.sagemaker_tuning_store import list_sagemaker_tunings
from kayfabe_core.wording import minute_text
from kayfabe_core.workspace import Workspace
from kayfabe_ui import state
from kayfabe_ui.common import PAGES, show_error

POLL_SECONDS = 10
STALE_AFTER_S = POLL_SECONDS / 2  # a full rerun (any widget) asks AWS only when the last check is this old
BADGE_COLOURS = {"Completed": "green", "Failed": "red", "Stopped": "gray", "NotStarted": "gray",
                 "Stopping": "orange", "InProgress": "blue", "Uploading": "blue"}
STATUS_HOW_TO_READ = (
    "How to read: the status is SageMaker's overall state (InProgress, then Completed, Failed or Stopped); the "
    "secondary status says what it is doing now (Starting, Downloading, Training, Uploading). Billable time is "
    f"what AWS charges for; it grows only while the instances run. This panel asks AWS every {POLL_SECONDS} s "
    "while a job is unfinished, and keeps what it learns in the workspace.")


def unfinished_jobs(jobs: pd.DataFrame) -> list[str]:
    """Return the names of jobs still running, or completed without their run saved yet (and their model still
    in S3)."""
    if jobs.empty:
        return []
    unsaved = (jobs["state"] == "Completed") & jobs["run_id"].isna() & ~jobs["data_deleted"].astype(bool)
    return list(jobs.loc[jobs["state"].isin(RUNNING) | unsaved, "job_name"])


def has_unfinished_jobs(workspace: Workspace) -> bool:
    """True when a SageMaker job of the workspace still needs following (no AWS call)."""
    return bool(unfinished_jobs(list_jobs(workspace)))


def render_jobs(workspace: Workspace) -> None:
    """Draw the jobs panel (polling while a job is unfinished), every job, and what was created in AWS."""
    st.markdown("#### Your SageMaker jobs")
    waiting = unfinished_jobs(list_jobs(workspace))
    st.fragment(_follow_jobs, run_every=POLL_SECONDS if waiting else None)(workspace)
    render_resources(workspace)


def _follow_jobs(workspace: Workspace) -> None:
    jobs = list_jobs(workspace)
    if jobs.empty:
        st.caption("No SageMaker job yet: the jobs you launch appear here, with their status, log and cost.")
        return
    waiting = unfinished_jobs(jobs)
    forced = bool(waiting) and st.button("Check now", key="sm_refresh", icon=":material/refresh:",
                                         help=f"Ask AWS now instead of waiting for the next check (every "
                                              f"{POLL_SECONDS} s).")
    if waiting and (forced or is_stale(jobs, waiting, STALE_AFTER_S)):
        try:
            with st.spinner("Asking SageMaker how the job stands…"):
                refresh_jobs(workspace, make_sagemaker_clients)
        except KayfabeError as error:
            show_error(error)
        jobs = list_jobs(workspace)
        if unfinished_jobs(jobs) != waiting:
            st.rerun()  # the whole page: polling stops or goes on, and the resources table follows
    shown = jobs[jobs["job_name"].isin(waiting)] if waiting else jobs.head(1)
    for row in shown.itertuples():
        _job_card(workspace, row)
    st.caption(STATUS_HOW_TO_READ)
    with st.expander(f"Every SageMaker job of this workspace ({len(jobs):,})", icon=":material/list:"):
        st.dataframe(_jobs_table(jobs), hide_index=True, key="sm_jobs_table")
        st.caption("How to read: one row per job, newest first, as last checked. The cost is billable seconds × "
                   "the on-demand price (spot jobs cost less); the run is the one saved in this workspace when the "
                   "job completed.")


def is_stale(jobs: pd.DataFrame, waiting: list[str], after_s: float) -> bool:
    """True when some unfinished job (or tuning) was last asked about ``after_s`` seconds ago or longer."""
    now = datetime.now(UTC)
    times = jobs.loc[jobs["job_name"].isin(waiting), "updated_at"]
    return any((now - datetime.fromisoformat(str(when))).total_seconds() >= after_s for when in times)


def card_heading(row: Any, status: str) -> None:
    """The first line of a job's (or tuning's) card: state badge, name, machines, start."""
    machines = f"{row.instance_count} × {row.instance_type}{' (spot)' if row.spot else ''} in {row.region}"
    named = f" “{row.name}”" if row.name else ""
    st.markdown(f":{BADGE_COLOURS.get(status, 'gray')}-badge[{status}] **{row.job_name}**{named} "
                f"· {machines} · started {minute_text(row.created_at)} UTC")


def _job_card(workspace: Workspace, row: Any) -> None:
    status = job_status(workspace, row.job_name)
    with st.container(border=True):
        card_heading(row, status.status)
        first, second, third, fourth = st.columns(4)
        first.metric("Status", status.status)
        second.metric("Secondary status", status.secondary_status or "—")
        third.metric("Billable time", f"{status.billable_seconds:,} s" if status.billable_seconds else "—")
        fourth.metric("Cost so far (on-demand)", f"${row.cost_usd:,.2f}" if pd.notna(row.cost_usd) else "—")
        if status.status_message:
            st.caption(f"SageMaker says: {status.status_message}")
        _outcome(status)
        if status.problem:
            st.warning(f"The last check did not work: {status.problem}", icon=":material/sync_problem:")
        _log(status.log_lines)
        _actions(workspace, status, str(row.region))


def _outcome(status: Any) -> None:
    if status.status == "Failed":
        st.error(f"The job failed: {status.failure_reason or 'SageMaker gives no reason'}. Nothing was saved; "
                 "fix what the reason names and launch again.", icon=":material/error:")
    elif status.status in ("Stopped", "NotStarted"):
        reason = f" ({status.failure_reason})" if status.failure_reason else ""
        st.info(f"The job did not complete{reason}; there is no model. Launch again to get a run.",
                icon=":material/info:")
    elif status.status == "Completed" and not status.run_id:
        st.info("Completed. The model is downloaded and scored on this computer at the next check; the run then "
                "appears here and on the Runs page.", icon=":material/downloading:")
    elif status.status == "Completed":
        st.success(f"Completed, and saved as the run {status.run_id}: scored on this computer on the test images, "
                   "like a local training.", icon=":material/check_circle:")


def _log(lines: tuple[str, ...]) -> None:
    with st.expander(f"Last lines of the job's log (CloudWatch){'' if lines else ': none yet'}",
                     icon=":material/terminal:"):
        if lines:
            st.code("\n".join(lines), language=None)
        else:
            st.caption("The log appears once an instance runs, if your AWS credentials may read CloudWatch Logs "
                       "(logs:DescribeLogStreams, logs:GetLogEvents).")


def _actions(workspace: Workspace, status: Any, region: str) -> None:
    if status.run_id and st.button("Open the results", type="primary", key=f"sm_open_{status.job_name}",
                                   icon=":material/insights:"):
        state.set_text(state.SELECTED_RUN, status.run_id)
        st.switch_page(PAGES["results"])
    if status.status in ("InProgress", "Uploading") and st.button(
            "Stop this job", key=f"sm_stop_{status.job_name}", icon=":material/stop_circle:",
            help="Asks SageMaker to stop the job; what ran so far is billed, nothing is saved."):
        try:
            stopped = stop_job(workspace, make_sagemaker_clients(region, with_logs=False).sagemaker,
                               status.job_name)
        except KayfabeError as error:
            show_error(error)
            return
        st.success(f"Stop requested. {stopped.sentence}", icon=":material/stop_circle:")


def _jobs_table(jobs: pd.DataFrame) -> pd.DataFrame:
    table = jobs[["job_name", "created_at", "state", "name", "instance_type", "instance_count", "spot",
                  "billable_seconds", "cost_usd", "run_id", "data_deleted"]].copy()
    table["created_at"] = table["created_at"].map(minute_text)
    return table.rename(columns={"job_name": "job", "created_at": "started (UTC)", "name": "run name",
                                 "instance_type": "instance", "instance_count": "instances",
                                 "billable_seconds": "billable s", "cost_usd": "cost $", "run_id": "run",
                                 "data_deleted": "S3 files deleted"})


def render_resources(workspace: Workspace, prefix: str = "sm") -> None:
    """Draw “What this workspace created in AWS”: every training and tuning job and its S3 folder, with a
    Delete its data popover for each folder that may go (widget keys ``PREFIX_…``, so two tabs can draw it)."""
    with st.expander("What this workspace created in AWS", icon=":material/cloud:"):
        table_slot = st.container()
        rows = _deletable(workspace)
        if rows:
            st.markdown("**Delete a job's files in S3**")
        for row in rows:
            _delete_row(workspace, row, prefix)
        with table_slot:
            resources = pd.concat([frame for frame in (aws_resources(workspace), tuning_resources(workspace))
                                   if not frame.empty] or [aws_resources(workspace)], ignore_index=True)
            if resources.empty:
                st.caption("Nothing yet.")
            else:
                st.dataframe(resources, hide_index=True, key=f"{prefix}_resources")
                st.caption("How to read: each training or tuning job is a record SageMaker keeps (it costs nothing "
                           "once ended and cannot be deleted); each S3 row is the folder holding a job's training "
                           "files and model (for a tuning, every training job's model), which costs a little "
                           "storage until you delete it below.")
            st.markdown("**No endpoint is ever created:** the app only runs training and tuning jobs, which end by "
                        "themselves (at the latest after the longest run you set), and scores models on this "
                        "computer.")


def _deletable(workspace: Workspace) -> list[dict[str, Any]]:
    """The S3 folders that may be deleted now: of ended training jobs, then of ended tuning jobs."""
    rows: list[dict[str, Any]] = []
    jobs = list_jobs(workspace)
    if not jobs.empty:
        for row in jobs[~jobs["data_deleted"] & ~jobs["state"].isin(RUNNING)].itertuples():
            run_id = row.run_id if isinstance(row.run_id, str) else None
            rows.append({"kind": "job", "name": row.job_name, "s3_uri": row.s3_uri, "state": row.state,
                         "region": str(row.region), "run_id": run_id,
                         "unsaved": row.state == "Completed" and run_id is None})
    tunings = list_sagemaker_tunings(workspace)
    if not tunings.empty:
        for row in tunings[~tunings["data_deleted"] & ~tunings["state"].isin(TUNING_RUNNING)].itertuples():
            run_id = row.run_id if isinstance(row.run_id, str) else None
            rows.append({"kind": "tuning job", "name": row.job_name, "s3_uri": row.s3_uri, "state": row.state,
                         "region": str(row.region), "run_id": run_id,
                         "unsaved": isinstance(row.best_training_job, str) and run_id is None})
    return rows


def _delete_row(workspace: Workspace, row: dict[str, Any], prefix: str) -> None:
    name, tuning = row["name"], row["kind"] == "tuning job"
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.markdown(f"`{row['s3_uri']}` · files of {'tuning job ' if tuning else ''}{name} ({row['state']})")
    with right.popover("Delete its data…", icon=":material/delete:"):
        what = ("the uploaded training files and the model of every training job of the tuning"
                if tuning else "the uploaded training files, the model SageMaker wrote and any checkpoints")
        st.markdown(f"This deletes everything under `{row['s3_uri']}`: {what}. " + (
            "Its run is saved in this workspace and keeps its own copy of the model." if row["run_id"]
            else "There is no saved run to keep."))
        force = row["unsaved"] and st.checkbox("Delete it although its run is not saved yet (the model is lost)",
                                               key=f"{prefix}_force_{name}")
        if st.button("Delete for good", type="primary", key=f"{prefix}_delete_{name}", icon=":material/delete:"):
            try:
                s3 = make_sagemaker_clients(row["region"], with_logs=False).s3
                delete = delete_tuning_data if tuning else delete_job_data
                deleted = delete(workspace, s3, name, force=bool(force))
            except KayfabeError as error:
                show_error(error)
                return
            st.success(f"Deleted {deleted.objects:,} files ({deleted.bytes / 1e6:,.2f} MB) of {name} from S3.",
                       icon=":material/check_circle:")
