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
    _render_resources(workspace)


def _follow_jobs(workspace: Workspace) -> None:
    jobs = list_jobs(workspace)
    if jobs.empty:
        st.caption("No SageMaker job yet: the jobs you launch appear here, with their status, log and cost.")
        return
    waiting = unfinished_jobs(jobs)
    forced = bool(waiting) and st.button("Check now", key="sm_refresh", icon=":material/refresh:",
                                         help=f"Ask AWS now instead of waiting for the next check (every "
                                              f"{POLL_SECONDS} s).")
    if waiting and (forced or _stale(jobs, waiting)):
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


def _stale(jobs: pd.DataFrame, waiting: list[str]) -> bool:
    """True when some unfinished job was last asked about :data:`STALE_AFTER_S` seconds ago or longer."""
    now = datetime.now(UTC)
    times = jobs.loc[jobs["job_name"].isin(waiting), "updated_at"]
    return any((now - datetime.fromisoformat(str(when))).total_seconds() >= STALE_AFTER_S for when in times)


def _job_card(workspace: Workspace, row: Any) -> None:
    status = job_status(workspace, row.job_name)
    with st.container(border=True):
        machines = f"{row.instance_count} × {row.instance_type}{' (spot)' if row.spot else ''} in {row.region}"
        named = f" “{row.name}”" if row.name else ""
        st.markdown(f":{BADGE_COLOURS.get(status.status, 'gray')}-badge[{status.status}] **{row.job_name}**{named} "
                    f"· {machines} · started {str(row.created_at)[:16].replace('T', ' ')} UTC")
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
    table["created_at"] = table["created_at"].str[:16].str.replace("T", " ")
    return table.rename(columns={"job_name": "job", "created_at": "started (UTC)", "name": "run name",
                                 "instance_type": "instance", "instance_count": "instances",
                                 "billable_seconds": "billable s", "cost_usd": "cost $", "run_id": "run",
                                 "data_deleted": "S3 files deleted"})


def _render_resources(workspace: Workspace) -> None:
    with st.expander("What this workspace created in AWS", icon=":material/cloud:"):
        table_slot = st.container()
        jobs = list_jobs(workspace)
        kept = jobs[~jobs["data_deleted"] & ~jobs["state"].isin(RUNNING)] if not jobs.empty else jobs
        if not kept.empty:
            st.markdown("**Delete a job's files in S3**")
        for row in kept.itertuples():
            _delete_row(workspace, row)
        with table_slot:
            resources = aws_resources(workspace)
            if resources.empty:
                st.caption("Nothing yet.")
            else:
                st.dataframe(resources, hide_index=True, key="sm_resources")
                st.caption("How to read: each training job is a record SageMaker keeps (it costs nothing once "
                           "ended and cannot be deleted); each S3 row is the folder holding a job's training files "
                           "and model, which costs a little storage until you delete it below.")
            st.markdown("**No endpoint is ever created:** the app only runs training jobs, which end by themselves "
                        "(at the latest after the longest run you set), and scores models on this computer.")


def _delete_row(workspace: Workspace, row: Any) -> None:
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.markdown(f"`{row.s3_uri}` · files of {row.job_name} ({row.state})")
    with right.popover("Delete its data…", icon=":material/delete:"):
        unsaved = row.state == "Completed" and not isinstance(row.run_id, str)
        st.markdown(f"This deletes everything under `{row.s3_uri}`: the uploaded training files, the model "
                    "SageMaker wrote and any checkpoints. " + (
                        "Its run is saved in this workspace and keeps its own copy of the model."
                        if isinstance(row.run_id, str) else "There is no saved run to keep."))
        force = unsaved and st.checkbox("Delete it although its run is not saved yet (the model is lost)",
                                        key=f"sm_force_{row.job_name}")
        if st.button("Delete for good", type="primary", key=f"sm_delete_{row.job_name}", icon=":material/delete:"):
            try:
                deleted = delete_job_data(workspace, make_sagemaker_clients(str(row.region), with_logs=False).s3,
                                          row.job_name, force=bool(force))
            except KayfabeError as error:
                show_error(error)
                return
            st.success(f"Deleted {deleted.objects:,} files ({deleted.bytes / 1e6:,.2f} MB) of {row.job_name} "
                       "from S3.", icon=":material/check_circle:")
