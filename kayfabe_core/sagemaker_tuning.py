"""Tune on SageMaker: a hyperparameter tuning job over the built-in XGBoost container; plan (with its cost), launch.

The data are those of one SageMaker training
(:func:`~kayfabe_core.sagemaker_launch.plan_sagemaker_training`), uploaded once
and read by every training job of the tuning, except that the validation
channel is always a share of the training images held out of training: the
tuning chooses settings by the log loss on it (``validation:logloss``, a
metric the container reports), so the test images never choose anything.
The ranges come from the same constraints table as local tuning
(:data:`~kayfabe_core.tune.SEARCH_RANGES` inside
:data:`~kayfabe_core.constraints.BOOSTER_KNOBS`, log-scaled where
:mod:`~kayfabe_core.tune` searches on a log scale); the settings not tuned are
sent as fixed hyperparameters. :func:`launch_tuning` needs ``confirmed=True``.
Following and finishing are in :mod:`~kayfabe_core.sagemaker_tuning_jobs`.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from kayfabe_core.constraints import Knob, check_settings
from kayfabe_core.errors import KayfabeError, SettingError
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.rekognition_client import AwsSetupError, error_code
from kayfabe_core.sagemaker_client import (
    PERMISSIONS_HINT,
    SageMakerClients,
    SageMakerError,
    aws_error,
    check_aws_access,
)
from kayfabe_core.sagemaker_cost import CostEstimate
from kayfabe_core.sagemaker_data import try_delete_prefix, upload_files
from kayfabe_core.sagemaker_launch import (
    CONTAINER_NAMES,
    CONTAINER_VERSION,
    SageMakerPlan,
    job_prefix,
    plan_sagemaker_training,
    training_image,
    training_request,
)
from kayfabe_core.sagemaker_settings import SageMakerSettings
from kayfabe_core.sagemaker_store import JobFiles, save_job_files
from kayfabe_core.sagemaker_tuning_store import TuningStatus, save_tuning, update_tuning
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.tune import DEFAULT_VARIED, KNOBS, LOG_FLOOR, LOG_SCALE, SEARCH_RANGES
from kayfabe_core.tune import _check_range as check_range
from kayfabe_core.workspace import Workspace

Number = int | float
OBJECTIVE = {"Type": "Minimize", "MetricName": "validation:logloss"}  # built into the container (metrics.py)
STRATEGY = "Bayesian"
# The settings sagemaker-xgboost-container marks tunable (hyperparameter_validation.py); SageMaker refuses others.
SAGEMAKER_TUNABLE = ("num_boost_round", "eta", "max_depth", "min_child_weight", "gamma", "subsample",
                     "colsample_bytree", "lambda", "alpha")
TUNING_KNOBS: tuple[Knob, ...] = (
    Knob("max_jobs", "Training jobs in all", int, 2, 200, 10, 1,
         "How many settings SageMaker tries: one training job each, billed like one training.",
         "More jobs search more thoroughly and cost more, in proportion."),
    Knob("parallel_jobs", "Training jobs at once", int, 1, 20, 2, 1,
         "How many of those jobs run at the same time.",
         "More at once ends sooner, but the search learns less from each result before choosing the next "
         "settings, and your account must allow that many instances at once."),
)
TUNING_PERMISSIONS_HINT = (
    "Ask your AWS administrator to allow sagemaker:CreateHyperParameterTuningJob, DescribeHyperParameterTuningJob, "
    "ListHyperParameterTuningJobs, ListTrainingJobsForHyperParameterTuningJob and StopHyperParameterTuningJob, "
    "besides what training needs (" + PERMISSIONS_HINT.removeprefix("Ask your AWS administrator to allow ")
    .removesuffix("; then try again.") + "); then try again.")
DEFINITION_KEYS = ("AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig", "ResourceConfig",
                   "StoppingCondition", "EnableManagedSpotTraining")


@dataclass(frozen=True)
class SageMakerTuneOptions:
    """What SageMaker searches and how much: ``knobs`` maps each setting tuned to its (low, high) range
    (default: the local tuner's settings and ranges); ``max_jobs`` training jobs in all, ``parallel_jobs`` at once."""

    knobs: Mapping[str, tuple[Number, Number]] = field(
        default_factory=lambda: {key: SEARCH_RANGES[key] for key in DEFAULT_VARIED})
    max_jobs: int = 10
    parallel_jobs: int = 2

    def checked(self) -> SageMakerTuneOptions:
        """Return a copy with every range converted and checked.

        Raises :class:`SettingError` for no setting, a setting the container
        cannot tune, a range outside the constraints table or of one value,
        and job counts outside :data:`TUNING_KNOBS` or more at once than in all.
        """
        if not self.knobs:
            raise SettingError("Choose at least one setting to tune.",
                               "For example the learning rate (eta) and the tree depth (max_depth).")
        knobs = {key: _checked_range(key, bounds) for key, bounds in self.knobs.items()}
        counts = check_settings(TUNING_KNOBS, {"max_jobs": self.max_jobs, "parallel_jobs": self.parallel_jobs})
        if counts["parallel_jobs"] > counts["max_jobs"]:
            raise SettingError(f"The tuning cannot run more training jobs at once ({counts['parallel_jobs']}) than "
                               f"in all ({counts['max_jobs']}).", "Lower the jobs at once (--parallel-jobs) or raise "
                               "the jobs in all (--max-jobs).")
        return replace(self, knobs=knobs, max_jobs=int(counts["max_jobs"]),
                       parallel_jobs=int(counts["parallel_jobs"]))

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "knobs": {key: list(bounds) for key, bounds in self.knobs.items()}}


@dataclass(frozen=True)
class TuningCost:
    """The most a tuning may cost: ``max_jobs`` × one training job's bound, and one sentence saying so."""

    per_job: CostEstimate
    max_jobs: int
    parallel_jobs: int
    total_usd: float | None
    hours: float  # the longest the whole tuning can take (rounds of parallel jobs × the longest run)
    sentence: str

    def to_dict(self) -> dict[str, object]:
        return {"per_job": self.per_job.to_dict(), "max_jobs": self.max_jobs, "parallel_jobs": self.parallel_jobs,
                "total_usd": self.total_usd, "hours": self.hours, "sentence": self.sentence}


@dataclass(frozen=True, eq=False)
class SageMakerTuningPlan:
    """A tuning job ready to launch: its name, the shared data plan, what is searched, and its cost."""

    job_name: str
    data: SageMakerPlan  # the upload, split and draft run (its job_name is the tuning's)
    options: SageMakerTuneOptions
    parameter_ranges: dict[str, list[dict[str, str]]]
    static_hyperparameters: dict[str, str]
    cost: TuningCost

    @property
    def settings(self) -> SageMakerSettings:
        return self.data.settings

    def describe(self) -> str:
        """Return one sentence saying what the tuning job will do."""
        data, settings, options = self.data, self.settings, self.options
        machines = f"{settings.instance_count} × {settings.instance_type}{' (spot)' if settings.spot else ''}"
        return (f"SageMaker tuning job {self.job_name} in {settings.region}: up to {options.max_jobs} training jobs, "
                f"{options.parallel_jobs} at a time, each on {machines}, try values of {', '.join(options.knobs)} "
                f"and keep the one with the lowest log loss on {len(data.check_rows):,} validation images held out "
                f"of training; each trains on {len(data.fit_rows):,} images; uploads "
                f"{data.upload_bytes / 1e6:,.1f} MB once to s3://{settings.bucket}/"
                f"{job_prefix(settings, self.job_name)}/; the best job's model is scored on the "
                f"{len(data.split.folds[0].test):,} test images on this computer afterwards.")


def plan_sagemaker_tuning(table: FeatureTable, split_options: SplitOptions, train_settings: TrainSettings,
                          settings: SageMakerSettings, options: SageMakerTuneOptions | None = None, name: str = "",
                          features_seconds: float = 0.0) -> SageMakerTuningPlan:
    """Return the plan of one SageMaker tuning of ``table`` (no AWS call, nothing uploaded).

    ``train_settings`` gives the values of the settings not tuned. Raises
    :class:`SettingError` for options, a split or settings that do not fit
    (see :meth:`SageMakerTuneOptions.checked` and
    :func:`~kayfabe_core.sagemaker_launch.plan_sagemaker_training`).
    """
    options = (options or SageMakerTuneOptions()).checked()
    job_name = new_tuning_name()
    data = replace(plan_sagemaker_training(table, split_options, train_settings, settings, name, features_seconds,
                                           hold_out_validation=True), job_name=job_name)
    tuned = {CONTAINER_NAMES[key] for key in options.knobs}
    static = {key: value for key, value in data.hyperparameters.items() if key not in tuned}
    return SageMakerTuningPlan(job_name, data, options, parameter_ranges(options.knobs), static,
                               tuning_cost(data.cost, options, settings))


def parameter_ranges(knobs: Mapping[str, tuple[Number, Number]]) -> dict[str, list[dict[str, str]]]:
    """Return ``knobs`` (checked ranges) as SageMaker's ``ParameterRanges``, in the container's names.

    Whole-number settings are Integer ranges; the others Continuous, on a log
    scale where the local tuner searches on one (from :data:`~kayfabe_core.tune.LOG_FLOOR`
    when the range starts at 0), else linear.
    """
    integers, continuous = [], []
    for key, (low, high) in knobs.items():
        name = CONTAINER_NAMES[key]
        if KNOBS[key].kind is int:
            integers.append({"Name": name, "MinValue": str(int(low)), "MaxValue": str(int(high)),
                             "ScalingType": "Linear"})
        elif key in LOG_SCALE and high > LOG_FLOOR:
            continuous.append({"Name": name, "MinValue": repr(max(float(low), LOG_FLOOR)),
                               "MaxValue": repr(float(high)), "ScalingType": "Logarithmic"})
        else:
            continuous.append({"Name": name, "MinValue": repr(float(low)), "MaxValue": repr(float(high)),
                               "ScalingType": "Linear"})
    ranges = {"IntegerParameterRanges": integers, "ContinuousParameterRanges": continuous}
    return {kind: items for kind, items in ranges.items() if items}


def tuning_cost(per_job: CostEstimate, options: SageMakerTuneOptions, settings: SageMakerSettings) -> TuningCost:
    """Return the bound of ``options.max_jobs`` jobs each bounded by ``per_job`` (no AWS call)."""
    rounds = math.ceil(options.max_jobs / options.parallel_jobs)
    longest = settings.max_wait_s if settings.spot else settings.max_runtime_s
    hours = rounds * longest / 3600
    total = None if per_job.total_usd is None else round(per_job.total_usd * options.max_jobs, 4)
    each = per_job.sentence[0].lower() + per_job.sentence[1:]
    within = f"{hours:g} h" if hours >= 1 else f"{hours * 60:.0f} min"
    if total is None:
        lead = f"The cost of up to {options.max_jobs} training jobs is unknown"
    else:
        lead = f"At most {'about ' if settings.spot else ''}${total:,.2f} for {options.max_jobs} training jobs"
    sentence = (f"{lead}, {options.parallel_jobs} at a time (so the tuning ends within {within}); each job: {each} "
                "SageMaker may stop before the last job when the search stops improving.")
    return TuningCost(per_job, options.max_jobs, options.parallel_jobs, total, hours, sentence)


def launch_tuning(workspace: Workspace, clients: SageMakerClients, plan: SageMakerTuningPlan, *,
                  confirmed: bool) -> TuningStatus:
    """Upload the plan's data and start its tuning job; return the job's first status.

    ``confirmed`` must be True: the user has seen ``plan.cost``. Checks AWS
    (including the right to tune) before uploading, saves everything needed to
    finish the run later in the workspace first, and removes the uploaded
    data again when the job cannot be started. Raises :class:`KayfabeError`
    (a subclass saying what went wrong and what to do).
    """
    from kayfabe_core.sagemaker_tuning_jobs import poll_tuning

    if not confirmed:
        raise KayfabeError("Tuning on SageMaker costs money, and the cost was not confirmed; nothing was sent.",
                           "Look at the cost estimate, then confirm it (on the command line: --yes).")
    settings = plan.settings
    check_aws_access(clients, settings)
    try:
        clients.sagemaker.list_hyper_parameter_tuning_jobs(MaxResults=1)
    except Exception as exc:
        raise tuning_error(exc, "list SageMaker tuning jobs", "sagemaker:ListHyperParameterTuningJobs", plan) from exc
    image = training_image(settings.region)
    prefix = job_prefix(settings, plan.job_name)
    _save_plan(workspace, plan, image, prefix)
    started = time.perf_counter()
    try:
        train = upload_files(clients.s3, settings.bucket, prefix, "train", plan.data.train_files)
        validation = upload_files(clients.s3, settings.bucket, prefix, "validation", [plan.data.validation_file])
        clients.sagemaker.create_hyper_parameter_tuning_job(**tuning_request(plan, image, prefix, train, validation))
    except Exception as exc:
        problem = exc if isinstance(exc, KayfabeError) else tuning_error(
            exc, "start the tuning job", "sagemaker:CreateHyperParameterTuningJob", plan)
        _not_started(workspace, clients, plan, prefix, problem)
        if problem is exc:
            raise
        raise problem from exc
    update_tuning(workspace, plan.job_name, "InProgress", upload_s=time.perf_counter() - started,
                  channels={"train": train.s3_uri, "validation": validation.s3_uri})
    return poll_tuning(workspace, clients.sagemaker, plan.job_name)


def tuning_request(plan: SageMakerTuningPlan, image: str, prefix: str, train: Any, validation: Any) -> dict[str, Any]:
    """Return the ``create_hyper_parameter_tuning_job`` arguments for ``plan`` (data already under ``prefix``).

    Each training job is defined as :func:`~kayfabe_core.sagemaker_launch.training_request`
    defines one training (image, role, channels, instances, stopping condition,
    spot), without checkpoints: jobs that run at once would share them.
    """
    training = training_request(plan.data, image, prefix, train, validation)
    definition = {key: training[key] for key in DEFINITION_KEYS}
    definition["StaticHyperParameters"] = dict(plan.static_hyperparameters)
    options = plan.options
    return {
        "HyperParameterTuningJobName": plan.job_name,
        "HyperParameterTuningJobConfig": {
            "Strategy": STRATEGY, "HyperParameterTuningJobObjective": dict(OBJECTIVE),
            "ResourceLimits": {"MaxNumberOfTrainingJobs": options.max_jobs,
                               "MaxParallelTrainingJobs": options.parallel_jobs},
            "ParameterRanges": plan.parameter_ranges, "TrainingJobEarlyStoppingType": "Off",
            "RandomSeed": int(plan.data.split.options.seed)},
        "TrainingJobDefinition": definition,
        "Tags": [*training["Tags"], {"Key": "kayfabe-kind", "Value": "tuning"}],
    }


def tuning_error(exc: Exception, doing: str, permission: str, plan: SageMakerTuningPlan) -> KayfabeError:
    """Translate ``exc`` like :func:`~kayfabe_core.sagemaker_client.aws_error`, with a tuning's quota and
    permissions in the hint."""
    settings, options = plan.settings, plan.options
    if error_code(exc) == "ResourceLimitExceeded":
        message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")).strip()
        instances = options.parallel_jobs * settings.instance_count
        return SageMakerError(f"Your AWS account may not start this tuning job now (ResourceLimitExceeded: "
                              f"{message}).",
                              f"The tuning runs up to {options.parallel_jobs} training jobs at once on "
                              f"{settings.instance_count} × {settings.instance_type} each, so your account must "
                              f"allow {instances} {settings.instance_type} training instances at once. Lower the "
                              "jobs at once (--parallel-jobs), wait for your other training or tuning jobs to end, "
                              "or ask for a higher quota in the AWS console: Service Quotas → Amazon SageMaker → "
                              f"the limit the message names (e.g. “{settings.instance_type} for training job "
                              "usage”).")
    problem = aws_error(exc, doing, permission, settings.instance_type)
    if isinstance(problem, AwsSetupError) and problem.hint == PERMISSIONS_HINT:
        return AwsSetupError(problem.message, TUNING_PERMISSIONS_HINT)
    return problem


def new_tuning_name(now: datetime | None = None) -> str:
    """Return a fresh tuning job name, e.g. ``kayfabe-tune-261123-101502-3f2a`` (SageMaker allows 32 characters)."""
    return f"kayfabe-tune-{(now or datetime.now(UTC)).strftime('%y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def _checked_range(key: str, bounds: object) -> tuple[Number, Number]:
    if key in KNOBS and key not in SAGEMAKER_TUNABLE:
        raise SettingError(f"SageMaker's XGBoost container cannot tune “{KNOBS[key].title}” ({key}).",
                           f"It can tune {', '.join(SAGEMAKER_TUNABLE)}; fix {key} with --param {key}=VALUE "
                           "instead (or tune it on this computer).")
    low, high = check_range(key, bounds)
    if low == high:
        raise SettingError(f"The range searched for “{KNOBS[key].title}” ({key}) holds one value only "
                           f"({low:g}); SageMaker needs two different ends.",
                           f"Widen it, or fix the setting with --param {key}={low:g} instead.")
    return low, high


def _save_plan(workspace: Workspace, plan: SageMakerTuningPlan, image: str, prefix: str) -> None:
    data, settings, fold = plan.data, plan.settings, plan.data.split.folds[0]
    rows = {"train": fold.train, "test": fold.test, "fit": data.fit_rows, "check": data.check_rows}
    sagemaker = {"tuning_job": plan.job_name, "region": settings.region, "instance_type": settings.instance_type,
                 "instance_count": settings.instance_count, "spot": settings.spot, "training_image": image,
                 "container_version": CONTAINER_VERSION, "static_hyperparameters": plan.static_hyperparameters,
                 "parameter_ranges": plan.parameter_ranges, "objective": OBJECTIVE,
                 "s3_prefix": f"s3://{settings.bucket}/{prefix}/", "check_name": data.check_name}
    table = data.table
    save_job_files(workspace, plan.job_name, JobFiles(table.matrix, table.names, table.observed,
                                                      table.context["item"].to_numpy(), data.posts, rows,
                                                      {**data.draft, "sagemaker": sagemaker}))
    save_tuning(workspace, plan.job_name, "Uploading", {
        "name": data.draft.get("name", ""), "settings": settings.to_dict(), "region": settings.region,
        "bucket": settings.bucket, "prefix": prefix, "s3_uri": f"s3://{settings.bucket}/{prefix}/",
        "training_image": image, "options": plan.options.to_dict(), "max_jobs": plan.options.max_jobs,
        "parallel_jobs": plan.options.parallel_jobs, "parameter_ranges": plan.parameter_ranges,
        "static_hyperparameters": plan.static_hyperparameters, "start": dict(data.train_settings.values),
        "objective": OBJECTIVE, "cost": plan.cost.to_dict(), "timings": data.timings, "data_deleted": False,
        "n_fit": len(data.fit_rows), "n_check": len(data.check_rows), "n_test": len(fold.test),
        "check_name": data.check_name, "trials": []})


def _not_started(workspace: Workspace, clients: SageMakerClients, plan: SageMakerTuningPlan, prefix: str,
                 problem: KayfabeError) -> None:
    """Record that the tuning job did not start, and take its uploaded data away again (best effort)."""
    deleted = try_delete_prefix(clients.s3, plan.settings.bucket, prefix)
    update_tuning(workspace, plan.job_name, "NotStarted", failure_reason=problem.message, data_deleted=deleted)
