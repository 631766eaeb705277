"""Score very many images on SageMaker with a batch transform: the run's own model, the same features, no endpoint.

:func:`plan_transform` chooses the images exactly as the Predict page does,
writes their feature rows as libsvm files (one per :data:`~kayfabe_core.predict.CHUNK` images), packs
the run's model as the built-in container reads it and estimates the cost;
nothing leaves the computer. :func:`launch_transform` needs ``confirmed=True``,
checks AWS, saves the images in the workspace, uploads the model and the data
under a prefix of its own, then calls ``create_model`` (the built-in XGBoost
image of :data:`~kayfabe_core.sagemaker_launch.CONTAINER_VERSION`, the one
that trains) and ``create_transform_job``. :func:`finish_transform` downloads
the output once the job has ended, merges it into the scores table the Predict
page writes, and deletes the model (and, when the scores are in, the job's S3
data). SHAP reasons are computed on this computer only, so the table's
``reasons`` are empty.

The model is always this run's saved model, repacked: a run trained here has
no artifact in S3, a SageMaker run's artifact may be deleted or narrower than
its table, and the repacked model holds only the rounds the run keeps, so the
container uses exactly the trees the Predict page uses.
"""

from __future__ import annotations

import io
import re
import tarfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from kayfabe_core.errors import KayfabeError, StageNotReadyError
from kayfabe_core.predict import PredictionReport, plan_scoring, run_threshold, scores_table
from kayfabe_core.runs import load_booster
from kayfabe_core.sagemaker_client import SageMakerClients, SageMakerError, aws_error, check_aws_access
from kayfabe_core.sagemaker_cost import CostEstimate, estimate_cost
from kayfabe_core.sagemaker_data import CONTENT_TYPE, download_object, libsvm_text, try_delete_prefix, upload_files
from kayfabe_core.sagemaker_launch import APP_TAG, job_prefix, new_job_name, training_image
from kayfabe_core.sagemaker_settings import SageMakerSettings, check_settings
from kayfabe_core.sagemaker_transform_store import read_transform, save_transform, update_transform
from kayfabe_core.wording import counted
from kayfabe_core.workspace import Workspace

MAX_PAYLOAD_MB = 6  # the built-in container's own limit per request
MODEL_NAME = "xgboost-model"
ENDED = frozenset({"Completed", "Failed", "Stopped"})


@dataclass(frozen=True, eq=False)
class TransformPlan:
    """A batch transform ready to launch: its name, images, files to upload and cost."""

    job_name: str
    run_id: str
    settings: SageMakerSettings
    images: pd.DataFrame  # post_url, image_url, sha256 of every image scored
    order: tuple[str, ...]  # the distinct images, in the order of the lines sent
    input_files: tuple[bytes, ...]
    model_file: bytes
    report: PredictionReport
    decisions: tuple[str, str]
    cost: CostEstimate

    @property
    def upload_bytes(self) -> int:
        return sum(map(len, self.input_files)) + len(self.model_file)

    def describe(self) -> str:
        """Return one sentence saying what the transform will do."""
        settings = self.settings
        return (f"SageMaker batch transform {self.job_name} in {settings.region} on {settings.instance_count} × "
                f"{settings.instance_type}: scores {len(self.order):,} images with run {self.run_id} "
                f"({counted(len(self.input_files), 'file')}, {self.upload_bytes / 1e6:,.1f} MB uploaded to s3://"
                f"{settings.bucket}/{job_prefix(settings, self.job_name)}/); no endpoint is created.")


@dataclass(frozen=True)
class TransformStatus:
    """Where a batch transform stands, as SageMaker says."""

    job_name: str
    status: str  # InProgress, Completed, Failed, Stopping, Stopped
    failure_reason: str = ""

    @property
    def done(self) -> bool:
        return self.status in ENDED

    @property
    def sentence(self) -> str:
        reason = f" Reason: {self.failure_reason}" if self.failure_reason else ""
        return f"Batch transform {self.job_name}: {self.status}.{reason}"


def plan_transform(workspace: Workspace, run_id: str, post_urls: Sequence[str],
                   settings: SageMakerSettings) -> TransformPlan:
    """Return the plan of scoring ``post_urls`` with the run on SageMaker (no AWS call, nothing uploaded).

    Raises :class:`~kayfabe_core.errors.StageNotReadyError` when the run was
    trained on an uploaded table or nothing can be scored, and the errors of
    :func:`~kayfabe_core.sagemaker_settings.check_settings`.
    """
    check_settings(settings)
    scoring = plan_scoring(workspace, run_id, post_urls)
    if scoring.scorable.empty:
        raise StageNotReadyError("None of these posts has an image that can be scored yet (fetched, with the "
                                 "labels the run needs).", "Fetch and label the images first, then score them.")
    files = tuple(libsvm_text(matrix, np.zeros(matrix.shape[0])) for _, matrix in scoring.matrices(workspace))
    model = model_archive(load_booster(workspace, run_id), scoring.best_round)
    transform_settings = replace(settings, spot=False)  # batch transform has no spot capacity
    return TransformPlan(new_transform_name(), run_id, transform_settings, scoring.scorable, tuple(scoring.hashes),
                         files, model, scoring.report, scoring.decisions,
                         estimate_cost(transform_settings, sum(map(len, files)) + len(model)))


def model_archive(booster: xgb.Booster, best_round: int) -> bytes:
    """Return ``model.tar.gz`` holding ``xgboost-model`` (UBJSON): the booster's first ``best_round`` rounds,
    without early-stopping marks, so a container scoring with every tree scores as the run does."""
    kept = booster[:best_round] if best_round < booster.num_boosted_rounds() else booster.copy()
    kept.set_attr(best_iteration=None, best_score=None)
    model = bytes(kept.save_raw("ubj"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(MODEL_NAME)
        info.size = len(model)
        tar.addfile(info, io.BytesIO(model))
    return buffer.getvalue()


def launch_transform(workspace: Workspace, clients: SageMakerClients, plan: TransformPlan, *,
                     confirmed: bool) -> TransformStatus:
    """Upload the plan's model and data, create the model and start the transform; return its first status.

    ``confirmed`` must be True: the user has seen ``plan.cost``. Checks AWS
    first, saves the plan in the workspace, and removes what was uploaded or
    created again when the job cannot be started. Raises :class:`KayfabeError`.
    """
    if not confirmed:
        raise KayfabeError("Scoring on SageMaker costs money, and the cost was not confirmed; nothing was sent.",
                           "Look at the cost estimate, then confirm it (on the command line: --yes).")
    settings = plan.settings
    check_aws_access(clients, settings)
    image = training_image(settings.region)
    prefix = job_prefix(settings, plan.job_name)
    save_transform(workspace, plan.job_name, "Uploading", _detail(plan, image, prefix), plan.images, list(plan.order))
    try:
        model_uri = _upload_model(clients.s3, settings.bucket, f"{prefix}/model/model.tar.gz", plan.model_file)
        data = upload_files(clients.s3, settings.bucket, prefix, "input", plan.input_files)
        clients.sagemaker.create_model(**model_request(plan, image, model_uri))
        clients.sagemaker.create_transform_job(**transform_request(plan, data.s3_uri, prefix))
    except Exception as exc:
        problem = exc if isinstance(exc, KayfabeError) else aws_error(
            exc, "start the batch transform", "sagemaker:CreateTransformJob", settings.instance_type)
        _clean_up(clients, plan.job_name, settings.bucket, prefix)
        update_transform(workspace, plan.job_name, "NotStarted", failure_reason=problem.message)
        if problem is exc:
            raise
        raise problem from exc
    update_transform(workspace, plan.job_name, "InProgress")
    return poll_transform(clients, plan.job_name)


def model_request(plan: TransformPlan, image: str, model_uri: str) -> dict[str, Any]:
    """Return the ``create_model`` arguments: the built-in XGBoost image serving the run's model."""
    return {"ModelName": plan.job_name, "ExecutionRoleArn": plan.settings.role_arn,
            "PrimaryContainer": {"Image": image, "ModelDataUrl": model_uri}, "Tags": _tags(plan)}


def transform_request(plan: TransformPlan, input_uri: str, prefix: str) -> dict[str, Any]:
    """Return the ``create_transform_job`` arguments: libsvm lines in, one score per line out."""
    settings = plan.settings
    return {
        "TransformJobName": plan.job_name, "ModelName": plan.job_name,
        "BatchStrategy": "MultiRecord", "MaxPayloadInMB": MAX_PAYLOAD_MB,
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
                           "ContentType": CONTENT_TYPE, "SplitType": "Line", "CompressionType": "None"},
        "TransformOutput": {"S3OutputPath": f"s3://{settings.bucket}/{prefix}/output", "Accept": "text/csv",
                            "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": settings.instance_type, "InstanceCount": settings.instance_count},
        "Tags": _tags(plan),
    }


def poll_transform(clients: SageMakerClients, job_name: str) -> TransformStatus:
    """Ask SageMaker how the transform stands. Raises :class:`KayfabeError` when AWS refuses."""
    try:
        answer = clients.sagemaker.describe_transform_job(TransformJobName=job_name)
    except Exception as exc:
        raise aws_error(exc, f"read the status of the batch transform {job_name}",
                        "sagemaker:DescribeTransformJob") from exc
    return TransformStatus(job_name, str(answer["TransformJobStatus"]), str(answer.get("FailureReason", "")))


def wait_for_transform(clients: SageMakerClients, job_name: str, limit_s: float, poll_s: float = 30.0,
                       on_status: Callable[[TransformStatus], None] | None = None,
                       sleep: Callable[[float], None] = time.sleep,
                       clock: Callable[[], float] = time.monotonic) -> TransformStatus:
    """Poll every ``poll_s`` seconds until the transform ends; return its last status.

    A transform has no time limit of its own: after ``limit_s`` seconds of
    waiting it is stopped, and :class:`SageMakerError` says so.
    """
    started = clock()
    while True:
        status = poll_transform(clients, job_name)
        if on_status is not None:
            on_status(status)
        if status.done:
            return status
        if clock() - started > limit_s:
            _stop(clients, job_name)
            raise SageMakerError(f"The batch transform {job_name} ran longer than {limit_s:,.0f} s, the longest "
                                 "run allowed, and was stopped; no scores were saved.",
                                 "Raise the longest run (--max-runtime), use more or larger instances, or score "
                                 "fewer posts at once.")
        sleep(poll_s)


def finish_transform(workspace: Workspace, clients: SageMakerClients,
                     job_name: str) -> tuple[pd.DataFrame, PredictionReport]:
    """Merge the ended transform's scores into the scores table; delete its model, then its S3 data.

    Returns the table (as :func:`~kayfabe_core.predict.predict_posts` does,
    with empty reasons) and the report, decided at the run's current
    threshold. Raises :class:`SageMakerError` while the job runs, when it did
    not complete, or when its output does not match what was sent.
    """
    stored = read_transform(workspace, job_name)
    detail = stored.detail
    status = poll_transform(clients, job_name)
    if not status.done:
        raise SageMakerError(f"The batch transform {job_name} is still {status.status}.",
                             "Wait until it completes, then collect its scores again.")
    _delete_model(clients, job_name)
    if status.status != "Completed":
        update_transform(workspace, job_name, status.status, failure_reason=status.failure_reason)
        raise SageMakerError(f"The batch transform {job_name} did not complete ({status.status}): "
                             f"{status.failure_reason or 'no reason given'}.",
                             "Fix what the reason names, then score again; nothing was saved.")
    scores = read_output(clients.s3, detail["bucket"], detail["prefix"], detail["input_lines"])
    threshold = run_threshold(workspace, detail["run_id"])
    frame = pd.DataFrame({"sha256": list(stored.order), "score": scores, "reasons": ""})
    table = scores_table(stored.images, frame, threshold, tuple(detail["decisions"]))  # type: ignore[arg-type]
    report = PredictionReport(**{**detail["report"], "threshold": threshold})
    deleted = try_delete_prefix(clients.s3, detail["bucket"], detail["prefix"])
    update_transform(workspace, job_name, "Completed", collected=True, data_deleted=deleted)
    return table, report


def read_output(s3: Any, bucket: str, prefix: str, input_lines: Sequence[int]) -> np.ndarray:
    """Return the scores of every input line: ``output/part-NNN.libsvm.out`` holds one per line of
    ``input/part-NNN.libsvm`` (one per line, or comma-separated within a batch)."""
    parts = []
    for number, expected in enumerate(input_lines):
        uri = f"s3://{bucket}/{prefix}/output/part-{number:03d}.libsvm.out"
        text = download_object(s3, uri).decode()
        values = [value for value in re.split(r"[\s,]+", text) if value]
        if len(values) != expected:
            raise SageMakerError(f"The batch transform wrote {len(values):,} scores to {uri} for {expected:,} "
                                 "images.", "Score these posts again; the output does not match what was sent.")
        parts.append(np.array(values, dtype=float))
    return np.concatenate(parts) if parts else np.array([], dtype=float)


def new_transform_name() -> str:
    """Return a fresh transform job name, e.g. ``kayfabe-predict-20261123-101502-3f2a``."""
    return new_job_name().replace("kayfabe-", "kayfabe-predict-", 1)


def _detail(plan: TransformPlan, image: str, prefix: str) -> dict[str, Any]:
    settings = plan.settings
    return {"run_id": plan.run_id, "region": settings.region, "bucket": settings.bucket, "prefix": prefix,
            "settings": settings.to_dict(), "image": image, "model_name": plan.job_name,
            "input_lines": [text.count(b"\n") for text in plan.input_files], "report": plan.report.to_dict(),
            "decisions": list(plan.decisions), "cost": plan.cost.to_dict(), "images": len(plan.order)}


def _upload_model(s3: Any, bucket: str, key: str, body: bytes) -> str:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/gzip")
    except Exception as exc:
        raise aws_error(exc, f"upload the model to s3://{bucket}/{key}", "s3:PutObject") from exc
    return f"s3://{bucket}/{key}"


def _tags(plan: TransformPlan) -> list[dict[str, str]]:
    return [{"Key": "app", "Value": APP_TAG}, {"Key": "kayfabe-job", "Value": plan.job_name},
            {"Key": "kayfabe-run", "Value": plan.run_id}]


def _stop(clients: SageMakerClients, job_name: str) -> None:
    try:
        clients.sagemaker.stop_transform_job(TransformJobName=job_name)
    except Exception as exc:
        raise SageMakerError(f"The batch transform {job_name} ran past the longest run allowed, and SageMaker did "
                             f"not stop it ({exc}).", "Stop it by hand: aws sagemaker stop-transform-job "
                             f"--transform-job-name {job_name}") from exc


def _delete_model(clients: SageMakerClients, job_name: str) -> None:
    try:
        clients.sagemaker.delete_model(ModelName=job_name)
    except Exception as exc:
        if "Could not find model" not in str(exc):
            raise aws_error(exc, f"delete the model {job_name}", "sagemaker:DeleteModel") from exc


def _clean_up(clients: SageMakerClients, job_name: str, bucket: str, prefix: str) -> None:
    """Remove what a transform that did not start left behind (best effort)."""
    for step in (lambda: _delete_model(clients, job_name), lambda: try_delete_prefix(clients.s3, bucket, prefix)):
        try:
            step()
        except KayfabeError:
            pass
