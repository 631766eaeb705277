"""Launch one training on SageMaker's built-in XGBoost container: plan (with its cost), then launch.

:func:`plan_sagemaker_training` makes the split, chooses the very rows the
local trainer would fit on and watch (train channel = fit rows, validation
channel = check rows), writes them as libsvm and estimates the cost; nothing
leaves the computer. :func:`launch_training` needs ``confirmed=True``, checks
AWS, saves everything needed to finish the run later in the workspace,
uploads the data under a prefix of its own and calls ``create_training_job``.
No endpoint is ever created.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kayfabe_core.constraints import BOOSTER_KNOBS
from kayfabe_core.errors import KayfabeError, SettingError
from kayfabe_core.experiment import draft_record, post_values
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.sagemaker_client import SageMakerClients, aws_error, check_aws_access
from kayfabe_core.sagemaker_cost import CostEstimate, estimate_cost
from kayfabe_core.sagemaker_data import Channel, libsvm_text, shard_rows, try_delete_prefix, upload_files
from kayfabe_core.sagemaker_jobs import JobStatus, poll_job
from kayfabe_core.sagemaker_settings import VOLUME_SIZE_GB, SageMakerSettings, check_settings
from kayfabe_core.sagemaker_store import JobFiles, save_job, save_job_files, update_job
from kayfabe_core.split import Split, SplitOptions, group_ids, make_split
from kayfabe_core.train import TrainSettings, fit_and_check_rows
from kayfabe_core.workspace import Workspace

CONTAINER_VERSION = "3.0-5"  # the built-in XGBoost container (xgboost 3.0.5); the app's xgboost loads its models
APP_TAG = "kayfabe-detector"
# Our setting -> the container's hyperparameter (sagemaker-xgboost-container, hyperparameter_validation.py).
CONTAINER_NAMES: dict[str, str] = {
    "num_boost_round": "num_round", "early_stopping_rounds": "early_stopping_rounds", "eta": "eta",
    "max_depth": "max_depth", "min_child_weight": "min_child_weight", "gamma": "gamma", "subsample": "subsample",
    "colsample_bytree": "colsample_bytree", "lambda": "lambda", "alpha": "alpha",
    "scale_pos_weight": "scale_pos_weight",
}
MAX_CONTAINER_SEED = 2**31 - 2  # the container accepts seeds strictly below 2**31 - 1


@dataclass(frozen=True, eq=False)
class SageMakerPlan:
    """A training ready to launch: the job's name, what is uploaded, its hyperparameters and its cost."""

    job_name: str
    settings: SageMakerSettings
    train_settings: TrainSettings
    table: FeatureTable
    split: Split
    fit_rows: np.ndarray
    check_rows: np.ndarray
    check_name: str  # "validation" with early stopping, else "test" (watched only)
    hyperparameters: dict[str, str]
    draft: dict[str, Any]
    posts: np.ndarray
    train_files: tuple[bytes, ...]
    validation_file: bytes
    cost: CostEstimate
    timings: dict[str, float]

    @property
    def upload_bytes(self) -> int:
        return sum(map(len, self.train_files)) + len(self.validation_file)

    def describe(self) -> str:
        """Return one sentence saying what the job will do."""
        settings, test = self.settings, self.split.folds[0].test
        machines = f"{settings.instance_count} × {settings.instance_type}{' (spot)' if settings.spot else ''}"
        watch = (f"stops early on {len(self.check_rows):,} validation images held out of training"
                 if self.check_name == "validation" else
                 f"reports its loss on the {len(test):,} test images as it goes (they choose nothing)")
        return (f"SageMaker job {self.job_name} in {settings.region} on {machines}: trains on {len(self.fit_rows):,} "
                f"images and {watch}; uploads {self.upload_bytes / 1e6:,.1f} MB to s3://{settings.bucket}/"
                f"{job_prefix(settings, self.job_name)}/; the test images are scored on this computer afterwards.")


def plan_sagemaker_training(table: FeatureTable, split_options: SplitOptions, train_settings: TrainSettings,
                            settings: SageMakerSettings, name: str = "",
                            features_seconds: float = 0.0, *, hold_out_validation: bool = False) -> SageMakerPlan:
    """Return the plan of one SageMaker training of ``table`` (no AWS call, nothing uploaded).

    With ``hold_out_validation`` (tuning, which chooses settings on the
    validation channel) the check rows are always a validation share of the
    training rows, as with early stopping, never the test rows.

    Raises :class:`SettingError` for cross-validation or repeats (SageMaker trains
    one model), for a split that does not fit the data, more instances than
    training images, or a seed the container refuses; and the errors of
    :func:`~kayfabe_core.sagemaker_settings.check_settings`.
    """
    check_settings(settings)
    _check_one_split(split_options)
    started = time.perf_counter()
    split = make_split(table, split_options)
    groups, _ = group_ids(table, split_options) if split.grouped_by else (None, "")
    rows_settings = train_settings
    if hold_out_validation and not train_settings.early_stopping:  # the very rows early stopping would hold out
        rows_settings = TrainSettings({**train_settings.values, "early_stopping_rounds": 1})
    fit_rows, check_rows, check_name = fit_and_check_rows(table, split.folds[0], rows_settings, groups,
                                                          split_options.seed)
    if settings.instance_count > len(fit_rows):
        raise SettingError(f"{settings.instance_count} instances need at least as many training images; "
                           f"there are {len(fit_rows):,}.", "Use fewer instances.")
    split_seconds = time.perf_counter() - started
    train_files = tuple(libsvm_text(table.matrix[rows], table.observed[rows])
                        for rows in (fit_rows[part] for part in shard_rows(len(fit_rows), settings.instance_count)))
    validation = libsvm_text(table.matrix[check_rows], table.observed[check_rows])
    job_name = new_job_name()
    cost = estimate_cost(settings, sum(map(len, train_files)) + len(validation))
    draft = draft_record(table, split, train_settings, name, backend="sagemaker")
    return SageMakerPlan(job_name, settings, train_settings, table, split, fit_rows, check_rows, check_name,
                         container_hyperparameters(train_settings, split_options.seed), draft,
                         post_values(table, groups), train_files, validation, cost,
                         {"features_s": features_seconds, "split_s": split_seconds,
                          "prepare_s": time.perf_counter() - started - split_seconds})


def launch_training(workspace: Workspace, clients: SageMakerClients, plan: SageMakerPlan, *,
                    confirmed: bool) -> JobStatus:
    """Upload the plan's data and start its training job; return the job's first status.

    ``confirmed`` must be True: the user has seen ``plan.cost``. Checks AWS
    before uploading (:func:`~kayfabe_core.sagemaker_client.check_aws_access`),
    saves the job's files and row in the workspace first, and removes the
    uploaded data again when the job cannot be started. Raises
    :class:`KayfabeError` (a subclass saying what went wrong and what to do).
    """
    if not confirmed:
        raise KayfabeError("Training on SageMaker costs money, and the cost was not confirmed; nothing was sent.",
                           "Look at the cost estimate, then confirm it (on the command line: --yes).")
    settings = plan.settings
    check_aws_access(clients, settings)
    image = training_image(settings.region)
    prefix = job_prefix(settings, plan.job_name)
    _save_plan(workspace, plan, image, prefix)
    started = time.perf_counter()
    try:
        train = upload_files(clients.s3, settings.bucket, prefix, "train", plan.train_files)
        validation = upload_files(clients.s3, settings.bucket, prefix, "validation", [plan.validation_file])
        clients.sagemaker.create_training_job(**training_request(plan, image, prefix, train, validation))
    except Exception as exc:
        problem = exc if isinstance(exc, KayfabeError) else aws_error(
            exc, "start the training job", "sagemaker:CreateTrainingJob", settings.instance_type)
        _not_started(workspace, clients, plan, prefix, problem)
        if problem is exc:
            raise
        raise problem from exc
    update_job(workspace, plan.job_name, "InProgress", upload_s=time.perf_counter() - started,
               channels={"train": train.s3_uri, "validation": validation.s3_uri})
    return poll_job(workspace, clients.sagemaker, plan.job_name, clients.logs)


def training_request(plan: SageMakerPlan, image: str, prefix: str, train: Channel,
                     validation: Channel) -> dict[str, Any]:
    """Return the ``create_training_job`` arguments for ``plan`` (data already under ``prefix``)."""
    settings = plan.settings
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": settings.max_runtime_s}
    request: dict[str, Any] = {
        "TrainingJobName": plan.job_name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": settings.role_arn,
        "InputDataConfig": [_channel(train, "ShardedByS3Key" if train.sharded else "FullyReplicated"),
                            _channel(validation, "FullyReplicated")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{settings.bucket}/{prefix}/output"},
        "ResourceConfig": {"InstanceType": settings.instance_type, "InstanceCount": settings.instance_count,
                           "VolumeSizeInGB": VOLUME_SIZE_GB},
        "StoppingCondition": stopping,
        "HyperParameters": plan.hyperparameters,
        "EnableManagedSpotTraining": settings.spot,
        "Tags": [{"Key": "app", "Value": APP_TAG}, {"Key": "kayfabe-job", "Value": plan.job_name},
                 {"Key": "kayfabe-run-name", "Value": _tag_value(str(plan.draft.get("name", "")))}],
    }
    if settings.spot:
        stopping["MaxWaitTimeInSeconds"] = settings.max_wait_s
        request["CheckpointConfig"] = {"S3Uri": f"s3://{settings.bucket}/{prefix}/checkpoints"}
    return request


def container_hyperparameters(settings: TrainSettings, seed: int) -> dict[str, str]:
    """Return ``settings`` as the container's hyperparameters (all strings), with the local trainer's
    objective, metric, tree method and seed. Early stopping is sent only when it is on."""
    if not 0 <= seed <= MAX_CONTAINER_SEED:
        raise SettingError(f"The SageMaker container accepts random seeds up to {MAX_CONTAINER_SEED:,}; "
                           f"got {seed:,}.", "Choose a smaller seed.")
    kinds = {knob.key: knob.kind for knob in BOOSTER_KNOBS}
    values = {CONTAINER_NAMES[key]: str(int(value)) if kinds[key] is int else repr(float(value))
              for key, value in settings.values.items()
              if not (key == "early_stopping_rounds" and not value)}
    return {**values, "objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
            "seed": str(seed)}


def training_image(region: str) -> str:
    """Return the built-in XGBoost image of :data:`CONTAINER_VERSION` in ``region`` (the SageMaker SDK's lookup,
    offline). Raises :class:`SettingError` when the SDK knows no such image for the region."""
    from sagemaker.core import image_uris  # slow import (2-3 s): only when SageMaker is used

    try:
        return str(image_uris.retrieve("xgboost", region=region, version=CONTAINER_VERSION))
    except ValueError as exc:
        raise SettingError(f"SageMaker's XGBoost {CONTAINER_VERSION} container is not offered in {region} ({exc}).",
                           "Choose another region, e.g. us-east-1.") from exc


def job_prefix(settings: SageMakerSettings, job_name: str) -> str:
    """Return the S3 key prefix (no slashes at the ends) of everything the job uploads or writes."""
    return f"{settings.prefix}/{job_name}" if settings.prefix else job_name


def new_job_name(now: datetime | None = None) -> str:
    """Return a fresh training job name, e.g. ``kayfabe-20261123-101502-3f2a`` (SageMaker allows 63 characters)."""
    return f"kayfabe-{(now or datetime.now(UTC)).strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def _check_one_split(options: SplitOptions) -> None:
    if options.folds or options.repeats > 1:
        how = f"{options.folds}-fold cross-validation" if options.folds else "one split"
        raise SettingError(f"SageMaker trains one model, so it needs one split with a test share and no repeats; "
                           f"got {how} repeated {options.repeats} time(s).",
                           "Set folds to 0 and repeats to 1, or train on this computer for cross-validation "
                           "and repeats.")


def _channel(channel: Channel, distribution: str) -> dict[str, Any]:
    return {"ChannelName": channel.name, "ContentType": "text/libsvm", "InputMode": "File",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": channel.s3_uri,
                                            "S3DataDistributionType": distribution}}}


def _tag_value(text: str) -> str:
    """Return ``text`` with only what AWS tag values allow (letters, digits, spaces, _ . : / = + - @)."""
    return "".join(c if c.isalnum() or c.isspace() or c in "_.:/=+-@" else "-" for c in text)[:256]


def _save_plan(workspace: Workspace, plan: SageMakerPlan, image: str, prefix: str) -> None:
    settings, fold = plan.settings, plan.split.folds[0]
    rows = {"train": fold.train, "test": fold.test, "fit": plan.fit_rows, "check": plan.check_rows}
    draft = {**plan.draft, "sagemaker": {
        "job_name": plan.job_name, "region": settings.region, "instance_type": settings.instance_type,
        "instance_count": settings.instance_count, "spot": settings.spot, "training_image": image,
        "container_version": CONTAINER_VERSION, "hyperparameters": plan.hyperparameters,
        "s3_prefix": f"s3://{settings.bucket}/{prefix}/", "check_name": plan.check_name}}
    table = plan.table
    save_job_files(workspace, plan.job_name, JobFiles(table.matrix, table.names, table.observed,
                                                      table.context["item"].to_numpy(), plan.posts, rows, draft))
    save_job(workspace, plan.job_name, "Uploading", {
        "name": plan.draft.get("name", ""), "settings": settings.to_dict(), "region": settings.region,
        "bucket": settings.bucket, "prefix": prefix, "s3_uri": f"s3://{settings.bucket}/{prefix}/",
        "training_image": image, "hyperparameters": plan.hyperparameters, "cost": plan.cost.to_dict(),
        "timings": plan.timings, "data_deleted": False, "n_fit": len(plan.fit_rows),
        "n_check": len(plan.check_rows), "n_test": len(fold.test), "check_name": plan.check_name})


def _not_started(workspace: Workspace, clients: SageMakerClients, plan: SageMakerPlan, prefix: str,
                 problem: KayfabeError) -> None:
    """Record that the job did not start, and take its uploaded data away again (best effort)."""
    deleted = try_delete_prefix(clients.s3, plan.settings.bucket, prefix)
    update_job(workspace, plan.job_name, "NotStarted", failure_reason=problem.message, data_deleted=deleted)
