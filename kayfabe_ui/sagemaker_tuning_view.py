"""Tune on Amazon SageMaker (the tuner tab): what varies over which ranges, how many jobs, the cost, launch; then
the tuning followed while it runs, its trials as they finish, and its best training job saved as a run.

The settings form and the cost box are the Train tab's (:mod:`kayfabe_ui.sagemaker_view`, keys ``smt_…``
here); everything shown about a tuning is read from the workspace, and the card asks AWS again every
:data:`POLL_SECONDS` while a tuning is unfinished (running, or ended with its best run not saved yet).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from kayfabe_core import sagemaker_client
from kayfabe_core.errors import KayfabeError
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.sagemaker_cost import PRICE_SOURCE, SPOT_SAVING
from kayfabe_core.sagemaker_settings import VOLUME_SIZE_GB, SageMakerSettings, choose_settings
from kayfabe_core.sagemaker_tuning import (
    SAGEMAKER_TUNABLE,
    TUNING_KNOBS,
    SageMakerTuneOptions,
    SageMakerTuningPlan,
    launch_tuning,
    plan_sagemaker_tuning,
)
from kayfabe_core.sagemaker_tuning_jobs import refresh_tunings, stop_tuning
from kayfabe_core.sagemaker_tuning_store import (
    RUNNING,
    TuningStatus,
    list_sagemaker_tunings,
    sagemaker_trials_frame,
    sagemaker_tuning_figure,
    tuning_status,
)
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.tune import KNOBS, LOG_SCALE, SEARCH_RANGES
from kayfabe_core.wording import minute_text
from kayfabe_core.workspace import Workspace
from kayfabe_ui import state
from kayfabe_ui.common import PAGES, knob_format, show_error
from kayfabe_ui.sagemaker_jobs_view import card_heading, is_stale, render_resources
from kayfabe_ui.sagemaker_view import checked_settings, confirm_cost, settings_form

POLL_SECONDS = 10
STALE_AFTER_S = POLL_SECONDS / 2  # a full rerun (any widget) asks AWS only when the last check is this old
COUNTS = {knob.key: knob for knob in TUNING_KNOBS}
DEFAULTS = SageMakerTuneOptions()
CHART_HOW_TO_READ = ("How to read: each dot is one finished training job's log loss on the validation images "
                     "(held out of training; lower is better); the orange line is the best so far. A line that has "
                     "stayed flat for many jobs means more jobs are unlikely to help much.")
TABLE_HOW_TO_READ = ("How to read: one row per training job, in the order SageMaker started them, with the values it "
                     "tried. Log loss is empty until the job completes; best so far is the lowest log loss up to "
                     "that job. A failed job says why; the tuning goes on without it.")


def unfinished_tunings(tunings: pd.DataFrame) -> list[str]:
    """Return the names of tuning jobs still running, or ended with a best job whose run is not saved yet (and
    whose data is still in S3)."""
    if tunings.empty:
        return []
    ended = tunings["state"].isin(("Completed", "Stopped")) & tunings["best_training_job"].notna()
    unsaved = ended & tunings["run_id"].isna() & ~tunings["data_deleted"].astype(bool)
    return list(tunings.loc[tunings["state"].isin(RUNNING) | unsaved, "job_name"])


def has_unfinished_tunings(workspace: Workspace) -> bool:
    """True when a SageMaker tuning of the workspace still needs following (no AWS call)."""
    return bool(unfinished_tunings(list_sagemaker_tunings(workspace)))


@st.cache_resource(max_entries=4, show_spinner="Preparing the training files…")
def cached_tuning_plan(key: str, _table: FeatureTable, _split: SplitOptions, _train: TrainSettings,
                       _settings: SageMakerSettings, _options: SageMakerTuneOptions, name: str) -> SageMakerTuningPlan:
    """The plan for these choices (``key`` names them all, with the number of tunings launched so far, so each
    launch gets a fresh job name, and any change a new one: the cost must be accepted again)."""
    return plan_sagemaker_tuning(_table, _split, _train, _settings, _options, name)


def render_sagemaker_tuning(workspace: Workspace, table: FeatureTable, split_options: SplitOptions,
                            train_settings: TrainSettings) -> None:
    """Draw the SageMaker settings, what to tune, the cost with its confirmation and Launch; then the tunings."""
    st.caption("SageMaker's tuner runs one training job per set of settings it tries (a Bayesian search), several "
               "at once, up to the number you allow, and keeps the one with the lowest log loss on validation "
               "images held out of the training images: the test images choose nothing. The best job's model is "
               "then scored here on the test images and saved as a run. The settings not tuned keep the values "
               "of step 3.")
    given = settings_form(workspace, "smt", "Where SageMaker tunes")
    options = _choose_options()
    name = st.text_input("Name of the tuned run (optional)", key="smt_name", placeholder="e.g. tuned on SageMaker")
    settings = checked_settings(workspace, given) if given is not None else None
    if settings is not None and options is not None:
        plan = _plan(workspace, table, split_options, train_settings, settings, options, name)
        if plan is not None:
            _confirm_and_launch(workspace, plan, given or {})
    render_tunings(workspace)
    render_resources(workspace, "smt")


def _choose_options() -> SageMakerTuneOptions | None:
    """Draw the settings to tune with their ranges and the job counts; return the checked options."""
    with st.container(border=True):
        st.markdown("**What SageMaker searches**")
        chosen = st.multiselect("Settings to tune", list(SAGEMAKER_TUNABLE), default=list(DEFAULTS.knobs),
                                key="smt_knobs", format_func=lambda key: KNOBS[key].title,
                                help="Only the settings SageMaker's XGBoost can tune are offered. The settings left "
                                     "out keep the values of step 3 in every training job.")
        ranges: dict[str, tuple[float, float]] = {}
        columns = st.columns(2)
        for position, key in enumerate(chosen):
            knob = KNOBS[key]
            low, high = DEFAULTS.knobs.get(key, SEARCH_RANGES[key])
            scale = " Searched on a log scale (small values as finely as large ones)." if key in LOG_SCALE else ""
            ranges[key] = columns[position % 2].slider(
                f"{knob.title}: range", knob.kind(knob.low), knob.kind(knob.high), (knob.kind(low), knob.kind(high)),
                knob.kind(knob.step), key=f"smt_range_{key}", format=knob_format(knob),
                help=f"{knob.does} {knob.raising}{scale}")
        left, right = st.columns(2)
        counts = {key: int(column.number_input(
            COUNTS[key].title, int(COUNTS[key].low), int(COUNTS[key].high), int(getattr(DEFAULTS, key)),
            int(COUNTS[key].step), key=f"smt_{key}", help=f"{COUNTS[key].does} {COUNTS[key].raising}"))
            for key, column in (("max_jobs", left), ("parallel_jobs", right))}
    try:
        return SageMakerTuneOptions(ranges, counts["max_jobs"], counts["parallel_jobs"]).checked()
    except KayfabeError as error:
        show_error(error)
        return None


def _plan(workspace: Workspace, table: FeatureTable, split_options: SplitOptions, train: TrainSettings,
          settings: SageMakerSettings, options: SageMakerTuneOptions, name: str) -> SageMakerTuningPlan | None:
    launched = len(list_sagemaker_tunings(workspace))
    table_key = f"{id(table)}:{table.matrix.shape}:{table.matrix.nnz}:{table.n_positive}"
    key = f"{workspace.root}|{launched}|{table_key}|{split_options!r}|{train!r}|{settings!r}|{options!r}|{name}"
    try:
        return cached_tuning_plan(key, table, split_options, train, settings, options, name)
    except KayfabeError as error:
        show_error(error)
        return None


def _confirm_and_launch(workspace: Workspace, plan: SageMakerTuningPlan, given: dict[str, Any]) -> None:
    """Show the tuning's cost and what it does; launch only once the cost is accepted."""
    cost = plan.cost
    accepted, launch = confirm_cost(
        "The most this tuning can cost", cost.total_usd, cost.per_job.price_known, cost.sentence,
        _includes(plan), plan.describe(), plan.settings, "smt", plan.job_name, "Launch the tuning on SageMaker",
        "Checks AWS, uploads the training files once, starts the tuning job.")
    if not launch:
        return
    try:
        choose_settings(workspace, given, save=True)
        clients = sagemaker_client.make_sagemaker_clients(plan.settings.region)
        with st.spinner("Checking AWS, uploading the training files and starting the tuning job…"):
            status = launch_tuning(workspace, clients, plan, confirmed=accepted)  # refused unless accepted
    except KayfabeError as error:
        show_error(error)
        return
    st.toast(f"Started {status.job_name}: {status.status}.", icon=":material/rocket_launch:")
    st.rerun()


def _includes(plan: SageMakerTuningPlan) -> str:
    cost, settings, data = plan.cost, plan.settings, plan.data
    return (f"Included: {cost.max_jobs} training jobs, each {_machines(settings)} for the whole longest run you "
            f"allow ({cost.per_job.hours * 60:,.0f} min) at the on-demand price{_spot(settings)}, with their "
            f"{VOLUME_SIZE_GB} GB disks; a day of S3 storage for the {data.upload_bytes / 1e6:,.1f} MB uploaded once "
            "(every job reads the same files). Not included: taxes, and keeping the files and every job's model in S3 "
            "after that (delete them below once the run is saved). No endpoint is created, so nothing is billed "
            f"after the last job ends. Prices: {PRICE_SOURCE}.")


def _machines(settings: SageMakerSettings) -> str:
    count = settings.instance_count
    return f"{count} × {settings.instance_type}{' (spot)' if settings.spot else ''}"


def _spot(settings: SageMakerSettings) -> str:
    return (f", less the {SPOT_SAVING:.0%} spot saving assumed (AWS does not fix it in advance)"
            if settings.spot else "")


def render_tunings(workspace: Workspace) -> None:
    """Draw the tunings panel: the unfinished ones (asking AWS every :data:`POLL_SECONDS`) or else the latest."""
    st.markdown("#### Your SageMaker tunings")
    waiting = unfinished_tunings(list_sagemaker_tunings(workspace))
    st.fragment(_follow_tunings, run_every=POLL_SECONDS if waiting else None)(workspace)


def _follow_tunings(workspace: Workspace) -> None:
    tunings = list_sagemaker_tunings(workspace)
    if tunings.empty:
        st.caption("No SageMaker tuning yet: the tunings you launch appear here, with their trials as they finish.")
        return
    waiting = unfinished_tunings(tunings)
    forced = bool(waiting) and st.button("Check now", key="smt_refresh", icon=":material/refresh:",
                                         help=f"Ask AWS now instead of waiting for the next check (every "
                                              f"{POLL_SECONDS} s).")
    if waiting and (forced or is_stale(tunings, waiting, STALE_AFTER_S)):
        try:
            with st.spinner("Asking SageMaker how the tuning stands…"):
                refresh_tunings(workspace, sagemaker_client.make_sagemaker_clients)
        except KayfabeError as error:
            show_error(error)
        tunings = list_sagemaker_tunings(workspace)
        if unfinished_tunings(tunings) != waiting:
            st.rerun()  # the whole page: polling stops or goes on, and the resources table follows
    shown = tunings[tunings["job_name"].isin(waiting)] if waiting else tunings.head(1)
    for row in shown.itertuples():
        _tuning_card(workspace, row)
    with st.expander(f"Every SageMaker tuning of this workspace ({len(tunings):,})", icon=":material/list:"):
        st.dataframe(_tunings_table(tunings), hide_index=True, key="smt_tunings_table")
        st.caption("How to read: one row per tuning, newest first, as last checked. The cost is the training jobs' "
                   "time × the on-demand price (SageMaker bills a little more for start-up, spot a lot less); the "
                   "run is the best job's, saved in this workspace when the tuning ended.")


def _tuning_card(workspace: Workspace, row: Any) -> None:
    status = tuning_status(workspace, row.job_name)
    trials = sagemaker_trials_frame(workspace, row.job_name)
    with st.container(border=True):
        card_heading(row, status.status)
        columns = st.columns(5)
        columns[0].metric("Status", status.status)
        columns[1].metric("Jobs completed", f"{status.completed} of {status.max_jobs}",
                          help=f"Up to {status.parallel_jobs} run at once.")
        columns[2].metric("In progress", f"{status.in_progress}")
        columns[3].metric("Failed", f"{status.failed}", help=f"Stopped: {status.stopped}.")
        columns[4].metric("Best log loss so far", "—" if status.best_logloss is None else f"{status.best_logloss:.4f}",
                          help="The best training job's log loss on the validation images; lower is better.")
        if status.best_training_job:
            st.markdown(f"**Best settings so far** (training job `{status.best_training_job}`): "
                        + (" · ".join(f"{KNOBS[key].title} = {value:g}" for key, value in status.best_params.items())
                           or "not known yet"))
        _outcome(status)
        if status.problem:
            st.warning(f"The last check did not work: {status.problem}", icon=":material/sync_problem:")
        _trials(row.job_name, trials, status)
        _actions(workspace, status, str(row.region))


def _outcome(status: TuningStatus) -> None:
    if status.status == "Failed":
        st.error(f"The tuning failed: {status.failure_reason or 'SageMaker gives no reason'}. Nothing was saved; "
                 "look at the trials' reasons, fix what they name and launch again.", icon=":material/error:")
    elif status.status == "NotStarted":
        reason = f" ({status.failure_reason})" if status.failure_reason else ""
        st.info(f"The tuning did not start{reason}; nothing runs in AWS.", icon=":material/info:")
    elif status.done and not status.best_training_job:
        st.info(f"The tuning ended ({status.status}) without a best training job: no job reported a validation "
                "log loss, so there is no run.", icon=":material/info:")
    elif status.done and not status.run_id:
        st.info("Ended. The best training job's model is downloaded and scored on this computer at the next check; "
                "the run then appears here and on the Runs page.", icon=":material/downloading:")
    elif status.done:
        st.success(f"Ended, and the best training job is saved as the run {status.run_id}: scored on this computer "
                   "on the test images, like a local training.", icon=":material/check_circle:")


def _trials(job_name: str, trials: pd.DataFrame, status: TuningStatus) -> None:
    if trials.empty:
        st.caption("The trials appear here as SageMaker starts its training jobs.")
        return
    st.plotly_chart(sagemaker_tuning_figure(trials, planned=status.max_jobs or None), key=f"smt_chart_{job_name}")
    st.caption(CHART_HOW_TO_READ)
    params = pd.DataFrame(list(trials["params"]), index=trials.index)
    shown = pd.concat([trials[["number", "state", "logloss", "best_so_far", "seconds"]], params,
                       trials[["failure_reason", "training_job"]]], axis=1)
    st.dataframe(shown.rename(columns={"number": "job", "training_job": "training job", "logloss": "log loss",
                                       "best_so_far": "best so far", "failure_reason": "why it failed"}),
                 hide_index=True, key=f"smt_trials_{job_name}", column_config={
                     "log loss": st.column_config.NumberColumn(format="%.4f"),
                     "best so far": st.column_config.NumberColumn(format="%.4f"),
                     "seconds": st.column_config.NumberColumn(format="%.0f"),
                     **{key: st.column_config.NumberColumn(help=KNOBS[key].title) for key in params.columns}})
    st.caption(TABLE_HOW_TO_READ)


def _actions(workspace: Workspace, status: TuningStatus, region: str) -> None:
    if status.run_id and st.button("Open the results", type="primary", key=f"smt_open_{status.job_name}",
                                   icon=":material/insights:"):
        state.set_text(state.SELECTED_RUN, status.run_id)
        st.switch_page(PAGES["results"])
    if status.status == "InProgress" and st.button(
            "Stop this tuning", key=f"smt_stop_{status.job_name}", icon=":material/stop_circle:",
            help="Asks SageMaker to stop the tuning and its running training jobs; what ran is billed. The best "
                 "job so far still becomes a run."):
        try:
            client = sagemaker_client.make_sagemaker_clients(region, with_logs=False).sagemaker
            stopped = stop_tuning(workspace, client, status.job_name)
        except KayfabeError as error:
            show_error(error)
            return
        st.success(f"Stop requested. {stopped.sentence}", icon=":material/stop_circle:")


def _tunings_table(tunings: pd.DataFrame) -> pd.DataFrame:
    table = tunings[["job_name", "created_at", "state", "name", "max_jobs", "completed", "failed", "best_logloss",
                     "approx_cost_usd", "run_id", "data_deleted"]].copy()
    table["created_at"] = table["created_at"].map(minute_text)
    return table.rename(columns={"job_name": "tuning job", "created_at": "started (UTC)", "name": "run name",
                                 "max_jobs": "jobs planned", "best_logloss": "best log loss",
                                 "approx_cost_usd": "cost $ (about)", "run_id": "run",
                                 "data_deleted": "S3 files deleted"})
