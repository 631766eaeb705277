"""Train on Amazon SageMaker: the settings (prefilled, with where each came from), the cost, a confirmation, launch.

The jobs themselves (status, logs, stop, results, clean-up) are drawn by
:mod:`kayfabe_ui.sagemaker_jobs_view` from what the workspace stores. The
settings form, the cost box and its confirmation are shared with the tuner tab
(:mod:`kayfabe_ui.sagemaker_tuning_view`): their widget keys start with a prefix
(``sm`` here), so both tabs can draw them in one run.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from kayfabe_core.errors import KayfabeError
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.sagemaker_client import check_aws_access, make_sagemaker_clients
from kayfabe_core.sagemaker_cost import ON_DEMAND_USD_PER_HOUR, PRICE_SOURCE, SPOT_SAVING, CostEstimate
from kayfabe_core.sagemaker_jobs import list_jobs
from kayfabe_core.sagemaker_launch import SageMakerPlan, launch_training, plan_sagemaker_training
from kayfabe_core.sagemaker_settings import (
    SAGEMAKER_KNOBS,
    VOLUME_SIZE_GB,
    SageMakerSettings,
    blank_required,
    check_settings,
    choose_settings,
    load_settings,
    settings_sources,
)
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.wording import join_words
from kayfabe_core.workspace import Workspace
from kayfabe_ui.common import show_error
from kayfabe_ui.sagemaker_jobs_view import render_jobs

KNOBS = {knob.key: knob for knob in SAGEMAKER_KNOBS}
FIELD_NAMES = {"region": "region", "bucket": "bucket", "prefix": "prefix", "role_arn": "role",
               "instance_type": "instance type", "instance_count": "instances", "spot": "spot",
               "max_runtime_s": "longest run", "max_wait_s": "longest wait"}


@st.cache_resource(max_entries=4, show_spinner="Preparing the training files…")
def cached_plan(key: str, _table: FeatureTable, _options: SplitOptions, _train: TrainSettings,
                _settings: SageMakerSettings, name: str) -> SageMakerPlan:
    """The plan for these choices (``key`` names them all, with the number of jobs launched so far, so each
    launch gets a fresh job name); nothing leaves the computer."""
    return plan_sagemaker_training(_table, _options, _train, _settings, name)


def render_sagemaker(workspace: Workspace, table: FeatureTable, options: SplitOptions, train: TrainSettings,
                     name: str) -> None:
    """Draw the SageMaker settings, the cost with its confirmation and the Launch button, then the jobs."""
    jobs = list_jobs(workspace)
    given = settings_form(workspace)
    settings = checked_settings(workspace, given) if given is not None else None
    if settings is not None:
        plan = _plan(workspace, len(jobs), table, options, train, settings, name)
        if plan is not None:
            _confirm_and_launch(workspace, plan, given or {})
    render_jobs(workspace)


def settings_form(workspace: Workspace, prefix: str = "sm", heading: str = "Where SageMaker trains") -> (
        dict[str, Any] | None):
    """Draw the settings (widget keys ``PREFIX_…``), prefilled from the workspace and the environment; return what
    they hold, or None with the problem shown."""
    try:
        in_force = load_settings(workspace)
        sources = settings_sources(workspace)
    except KayfabeError as error:
        show_error(error)
        return None
    with st.container(border=True):
        st.markdown(f"**{heading}**")
        left, right = st.columns(2)
        given: dict[str, Any] = {
            "region": left.text_input("AWS region", in_force.region, key=f"{prefix}_region", placeholder="us-east-1",
                                      help="Where the job runs; the bucket must be in the same region."),
            "bucket": right.text_input("S3 bucket (in that region)", in_force.bucket, key=f"{prefix}_bucket",
                                       placeholder="my-kayfabe-bucket",
                                       help="The training files and the model go here; the name only, no s3://."),
            "prefix": left.text_input("Folder in the bucket (S3 prefix)", in_force.prefix, key=f"{prefix}_prefix",
                                      help="Each job writes under PREFIX/JOB-NAME/."),
            "role_arn": right.text_input("IAM role SageMaker acts as (ARN)", in_force.role_arn, key=f"{prefix}_role",
                                         placeholder="arn:aws:iam::123456789012:role/MySageMakerRole",
                                         help="A role SageMaker may assume, allowed to read and write the bucket."),
        }
        first, second, third = st.columns(3)
        given["instance_type"] = _instance_type(in_force.instance_type, first, prefix)
        given["instance_count"] = _number("instance_count", in_force.instance_count, second, prefix)
        given["max_runtime_s"] = _number("max_runtime_s", in_force.max_runtime_s, third, prefix)
        left, right = st.columns(2, vertical_alignment="bottom")
        given["spot"] = left.toggle("Spot capacity: cheaper, but the job may wait for it", in_force.spot,
                                    key=f"{prefix}_spot", help="Spare AWS capacity at a discount; the job may "
                                                               "wait for it and be interrupted and resumed.")
        given["max_wait_s"] = _number("max_wait_s", in_force.max_wait_s, right, prefix, disabled=not given["spot"])
        st.caption(_sources_sentence(sources))
    return given


def _instance_type(current: str, container: Any, prefix: str) -> str:
    options = list(ON_DEMAND_USD_PER_HOUR)
    if current not in options:
        options.insert(0, current)

    def label(kind: str) -> str:
        price = ON_DEMAND_USD_PER_HOUR.get(kind)
        return f"{kind} · ${price:.3f}/h" if price is not None else f"{kind} · price unknown"

    return str(container.selectbox("Instance type", options, index=options.index(current), format_func=label,
                                   key=f"{prefix}_instance_type", accept_new_options=True,
                                   help="The machine each instance runs on; prices are on-demand in us-east-1. "
                                        "ml.m5.large is plenty for tables of a few thousand images."))


def _number(key: str, value: int, container: Any, prefix: str, disabled: bool = False) -> int:
    knob = KNOBS[key]
    value = min(max(int(value), int(knob.low)), int(knob.high))
    return int(container.number_input(knob.title, int(knob.low), int(knob.high), value, int(knob.step),
                                      key=f"{prefix}_{key}", help=f"{knob.does} {knob.raising}", disabled=disabled))


def _sources_sentence(sources: dict[str, str]) -> str:
    """One caption saying where the prefilled values came from."""
    groups: dict[str, list[str]] = {}
    for field, source in sources.items():
        where = {"default": "the app's defaults", "workspace": "this workspace"}.get(source, f"`{source}`")
        groups.setdefault(where, []).append(FIELD_NAMES[field])
    parts = [f"{where} ({', '.join(names)})" for where, names in groups.items() if where != "the app's defaults"]
    if "the app's defaults" in groups:
        parts.append("the app's defaults (" + ("the rest" if parts else "all") + ")")
    return (f"Filled in from {join_words(parts)}. What you launch with is saved in this workspace for next time "
            "(`KAYFABE_SAGEMAKER_…` environment variables win over saved values).")


def dollars(text: str) -> str:
    """``text`` with its dollar signs escaped, so Markdown does not read them as mathematics."""
    return text.replace("$", "\\$")


def checked_settings(workspace: Workspace, given: dict[str, Any]) -> SageMakerSettings | None:
    """The settings as typed, checked without AWS; None with the problem shown (or, while the region, bucket or
    role is still blank, with what to fill in: no red error before the person has typed anything)."""
    try:
        settings = choose_settings(workspace, given, save=False)
        blank = blank_required(settings)
        if blank:
            st.info(f"To train on SageMaker, fill in {join_words(blank)} above; they are kept in the workspace for "
                    "next time. Nothing is sent to AWS until you have seen and accepted the cost.",
                    icon=":material/info:")
            return None
        return check_settings(settings)
    except KayfabeError as error:
        show_error(error)
        return None


def _plan(workspace: Workspace, launched: int, table: FeatureTable, options: SplitOptions, train: TrainSettings,
          settings: SageMakerSettings, name: str) -> SageMakerPlan | None:
    table_key = f"{id(table)}:{table.matrix.shape}:{table.matrix.nnz}:{table.n_positive}"
    key = f"{workspace.root}|{launched}|{table_key}|{options!r}|{train!r}|{settings!r}|{name}"
    try:
        return cached_plan(key, table, options, train, settings, name)
    except KayfabeError as error:
        show_error(error)
        return None


def _confirm_and_launch(workspace: Workspace, plan: SageMakerPlan, given: dict[str, Any]) -> None:
    """Show the cost and what the job does; launch only once the cost is accepted."""
    cost = plan.cost
    accepted, launch = confirm_cost(
        "The most this job can cost", cost.total_usd, cost.price_known, cost.sentence, _includes(cost, plan),
        plan.describe(), plan.settings, "sm", plan.job_name, "Launch on SageMaker",
        "Checks AWS, uploads the training files, starts the job.")
    if not launch:
        return
    try:
        choose_settings(workspace, given, save=True)
        clients = make_sagemaker_clients(plan.settings.region)
        with st.spinner("Checking AWS, uploading the training files and starting the job…"):
            status = launch_training(workspace, clients, plan, confirmed=accepted)  # refused unless accepted
    except KayfabeError as error:
        show_error(error)
        return
    st.toast(f"Started {status.job_name}: {status.status}.", icon=":material/rocket_launch:")
    st.rerun()


def confirm_cost(title: str, total_usd: float | None, price_known: bool, sentence: str, includes: str,
                 what_happens: str, settings: SageMakerSettings, prefix: str, job_name: str, launch_label: str,
                 launch_help: str) -> tuple[bool, bool]:
    """Draw the cost box: the most it can cost, what that includes, what happens, “I accept this cost” (keyed on
    ``job_name``, so a new plan asks again), Check AWS access and the launch button (disabled until accepted);
    return (accepted, launch clicked)."""
    with st.container(border=True):
        left, right = st.columns([1, 3])
        left.metric(title, f"${total_usd:,.2f}" if total_usd is not None else "unknown")
        right.markdown(f"**{dollars(sentence)}**")
        right.caption(dollars(includes))
        st.caption(f"What happens: {what_happens}")
        accepted = st.checkbox("I accept this cost" if price_known else
                               "I have checked the price myself and accept it", key=f"{prefix}_accept_{job_name}",
                               help="Launching is possible only once you accept; changing any setting asks again.")
        check_column, launch_column = st.columns([1, 3])
        if check_column.button("Check AWS access", key=f"{prefix}_check", icon=":material/verified_user:",
                               help="Checks credentials, the bucket's region and your permissions; costs nothing."):
            _check_access(settings)
        launch = launch_column.button(launch_label, type="primary", key=f"{prefix}_launch", disabled=not accepted,
                                      icon=":material/rocket_launch:",
                                      help="Tick “I accept this cost” first." if not accepted else launch_help)
    return bool(accepted), bool(launch)


def _includes(cost: CostEstimate, plan: SageMakerPlan) -> str:
    spot = (f", less the {SPOT_SAVING:.0%} spot saving assumed (AWS does not fix it in advance)"
            if plan.settings.spot else "")
    return (f"Included: {cost.instance_count} instance{'s' if cost.instance_count > 1 else ''} for the whole "
            f"longest run you allow ({cost.hours * 60:,.0f} min) at the on-demand price{spot}; their "
            f"{VOLUME_SIZE_GB} GB disks; a day of S3 storage for the {plan.upload_bytes / 1e6:,.1f} MB uploaded. "
            "Not included: taxes, and keeping the files in S3 after that (delete them below once the run is "
            f"saved). No endpoint is created, so nothing is billed after the job ends. Prices: {PRICE_SOURCE}.")


def _check_access(settings: SageMakerSettings) -> None:
    try:
        with st.spinner("Asking AWS…"):
            check_aws_access(make_sagemaker_clients(settings.region, with_logs=False), settings)
    except KayfabeError as error:
        show_error(error)
        return
    st.success(f"AWS access works: your credentials are accepted, the bucket {settings.bucket} is in "
               f"{settings.region}, and SageMaker answers. Nothing was uploaded.", icon=":material/check_circle:")
