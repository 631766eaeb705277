"""Follow SageMaker training jobs: poll, stop, wait, list; and what the workspace left in AWS, and its removal.

Every poll stores the job's status in the workspace (``jobs`` table), so a
page can show it after a refresh and the command line can pick it up later.
The app never creates endpoints: what it leaves in AWS is training jobs
(records SageMaker keeps; they cost nothing once ended) and the uploaded data
and model files under each job's S3 prefix, which :func:`delete_job_data`
removes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from kayfabe_core.errors import KayfabeError
from kayfabe_core.rekognition_client import error_code
from kayfabe_core.sagemaker_client import SageMakerClients, SageMakerError, aws_error
from kayfabe_core.sagemaker_cost import ON_DEMAND_USD_PER_HOUR
from kayfabe_core.sagemaker_data import DeletedData, delete_prefix
from kayfabe_core.sagemaker_store import StoredJob, read_job, read_jobs, update_job
from kayfabe_core.workspace import Workspace

TERMINAL = frozenset({"Completed", "Failed", "Stopped", "NotStarted"})
RUNNING = frozenset({"Uploading", "InProgress", "Stopping"})
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
LOG_LINES = 20
JOB_COLUMNS = ["job_name", "created_at", "updated_at", "state", "secondary_status", "name", "region",
               "instance_type", "instance_count", "spot", "billable_seconds", "cost_usd", "failure_reason", "run_id",
               "s3_uri", "data_deleted", "problem"]


@dataclass(frozen=True)
class JobStatus:
    """Where a training job stands, as last asked of SageMaker and stored in the workspace."""

    job_name: str
    status: str  # InProgress, Completed, Failed, Stopping, Stopped (SageMaker), or NotStarted
    secondary_status: str = ""
    status_message: str = ""
    billable_seconds: int | None = None
    training_seconds: int | None = None
    failure_reason: str = ""
    model_artifact: str = ""
    log_lines: tuple[str, ...] = ()
    run_id: str | None = None
    problem: str = ""  # what went wrong the last time the app polled or finished it

    @property
    def done(self) -> bool:
        """True once the job has ended, whichever way."""
        return self.status in TERMINAL

    @property
    def sentence(self) -> str:
        """One line for a person, e.g. ``Training job X: InProgress (Downloading: ...)``."""
        detail = ": ".join(part for part in (self.secondary_status, self.status_message) if part)
        billed = f", {self.billable_seconds:,} s billed" if self.billable_seconds else ""
        failure = f" Reason: {self.failure_reason}" if self.failure_reason else ""
        return f"Training job {self.job_name}: {self.status}{f' ({detail})' if detail else ''}{billed}.{failure}"

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "log_lines": list(self.log_lines), "done": self.done}


def poll_job(workspace: Workspace, client: Any, job_name: str, logs_client: Any | None = None,
             log_lines: int = LOG_LINES) -> JobStatus:
    """Ask SageMaker how ``job_name`` stands, store it in the workspace and return it.

    With ``logs_client`` the last ``log_lines`` lines of the job's CloudWatch
    log are stored too, when there are any. Raises :class:`KayfabeError`
    when the workspace or SageMaker has no such job, or AWS refuses.
    """
    stored = read_job(workspace, job_name)
    try:
        answer = client.describe_training_job(TrainingJobName=job_name)
    except ClientError as exc:
        if _not_found(exc) and stored.state in ("Uploading", "NotStarted"):
            update_job(workspace, job_name, "NotStarted")
            return _status(read_job(workspace, job_name))
        raise _describe_error(exc, job_name, stored) from exc
    except Exception as exc:
        raise aws_error(exc, f"read the status of the training job {job_name}",
                        "sagemaker:DescribeTrainingJob") from exc
    lines = read_log_tail(logs_client, job_name, log_lines) if logs_client is not None else []
    transitions = answer.get("SecondaryStatusTransitions") or [{}]
    changes: dict[str, Any] = {
        "secondary_status": answer.get("SecondaryStatus", ""),
        "status_message": transitions[-1].get("StatusMessage", ""),
        "billable_seconds": answer.get("BillableTimeInSeconds"),
        "training_seconds": answer.get("TrainingTimeInSeconds") or _seconds_between(answer),
        "failure_reason": answer.get("FailureReason", ""),
        "model_artifact": answer.get("ModelArtifacts", {}).get("S3ModelArtifacts", "")}
    if lines:
        changes["log_tail"] = lines
    return _status(update_job(workspace, job_name, str(answer["TrainingJobStatus"]), **changes))


def stop_job(workspace: Workspace, client: Any, job_name: str) -> JobStatus:
    """Ask SageMaker to stop ``job_name`` (it keeps what it billed so far); return the polled status.

    Raises :class:`SageMakerError` when the job is not running or SageMaker
    does not stop it (the hint says how to stop it by hand).
    """
    stored = read_job(workspace, job_name)
    try:
        client.stop_training_job(TrainingJobName=job_name)
    except ClientError as exc:
        raise _stop_error(exc, stored) from exc
    except Exception as exc:
        raise aws_error(exc, f"stop the training job {job_name}", "sagemaker:StopTrainingJob") from exc
    return poll_job(workspace, client, job_name)


def wait_for_job(workspace: Workspace, clients: SageMakerClients, job_name: str, poll_s: float = 30.0,
                 on_status: Callable[[JobStatus], None] | None = None, stop: threading.Event | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> JobStatus:
    """Poll ``job_name`` every ``poll_s`` seconds until it ends (or ``stop`` is set); return the last status.

    The job goes on in AWS when waiting stops early: poll it again later.
    """
    return poll_until_done(lambda: poll_job(workspace, clients.sagemaker, job_name, clients.logs), poll_s,
                           on_status, stop, sleep)


class _Ending(Protocol):
    @property
    def done(self) -> bool: ...


Status = TypeVar("Status", bound=_Ending)


def poll_until_done(poll: Callable[[], Status], poll_s: float, on_status: Callable[[Status], None] | None,
                    stop: threading.Event | None, sleep: Callable[[float], None]) -> Status:
    """Call ``poll`` every ``poll_s`` seconds until its status is done (or ``stop`` is set); return the last."""
    while True:
        status = poll()
        if on_status is not None:
            on_status(status)
        if status.done or (stop is not None and stop.is_set()):
            return status
        sleep(poll_s)


def read_log_tail(logs_client: Any, job_name: str, lines: int = LOG_LINES) -> list[str]:
    """Return the last ``lines`` lines of the job's CloudWatch logs ([] when there are none or access fails)."""
    try:
        streams = logs_client.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{job_name}/")
        names = [stream["logStreamName"] for stream in streams.get("logStreams", [])]
        if not names:
            return []
        events = logs_client.get_log_events(logGroupName=LOG_GROUP, logStreamName=names[0], limit=lines,
                                            startFromHead=False)
    except (ClientError, BotoCoreError):
        return []
    return [str(event.get("message", "")).rstrip() for event in events.get("events", [])][-lines:]


def job_status(workspace: Workspace, job_name: str) -> JobStatus:
    """Return the job's status as last stored (no AWS call)."""
    return _status(read_job(workspace, job_name))


def list_jobs(workspace: Workspace) -> pd.DataFrame:
    """Return the workspace's SageMaker training jobs, newest first, as last polled (no AWS call).

    Columns: :data:`JOB_COLUMNS`; ``cost_usd`` is billable seconds × the
    on-demand price (None when unknown; spot jobs cost less).
    """
    return pd.DataFrame([_job_row(job) for job in read_jobs(workspace)], columns=JOB_COLUMNS)


def aws_resources(workspace: Workspace) -> pd.DataFrame:
    """Return what this workspace created in AWS: each training job and each job's S3 prefix (no AWS call).

    Columns: kind (``training job`` or ``S3 data``), name, region, state, costs (what it costs
    now, in words). The app never creates endpoints.
    """
    rows: list[dict[str, object]] = []
    for job in read_jobs(workspace):
        region, detail = job.detail.get("region", ""), job.detail
        running = job.state in RUNNING
        if job.state != "NotStarted":
            rows.append({"kind": "training job", "name": job.job_name, "region": region, "state": job.state,
                         "costs": "running: billed by the second until it ends" if running else
                         "nothing (ended; SageMaker keeps the record, it cannot be deleted)"})
        rows.append({"kind": "S3 data", "name": detail.get("s3_uri", ""), "region": region,
                     "state": "deleted" if detail.get("data_deleted") else "kept",
                     "costs": "nothing" if detail.get("data_deleted") else "a little S3 storage each month"})
    return pd.DataFrame(rows, columns=["kind", "name", "region", "state", "costs"])


def delete_job_data(workspace: Workspace, s3: Any, job_name: str, force: bool = False) -> DeletedData:
    """Delete everything under the job's S3 prefix (uploaded data, model, checkpoints); return the counts.

    Refuses while the job runs, and (unless ``force``) when it completed but
    its run is not saved yet, since the model would be lost. Raises
    :class:`KayfabeError` then, or when S3 refuses.
    """
    job = read_job(workspace, job_name)
    if job.state in RUNNING:
        raise KayfabeError(f"The training job {job_name} is still running ({job.state}); it needs its data.",
                           "Stop it first, or wait until it ends, then delete its data.")
    if job.state == "Completed" and not job.detail.get("run_id") and not force:
        raise KayfabeError(f"The training job {job_name} completed but its run is not saved yet; deleting its data "
                           "would delete the model too.",
                           "Finish the run first (python -m kayfabe_core jobs WORKSPACE --refresh), or delete "
                           "anyway if you do not want it.")
    deleted = delete_prefix(s3, str(job.detail["bucket"]), str(job.detail["prefix"]))
    update_job(workspace, job_name, data_deleted=True, deleted_objects=deleted.objects, deleted_bytes=deleted.bytes)
    return deleted


def _status(job: StoredJob) -> JobStatus:
    detail = job.detail
    return JobStatus(job.job_name, job.state, detail.get("secondary_status", ""), detail.get("status_message", ""),
                     detail.get("billable_seconds"), detail.get("training_seconds"), detail.get("failure_reason", ""),
                     detail.get("model_artifact", ""), tuple(detail.get("log_tail", [])), detail.get("run_id"),
                     detail.get("refresh_problem", ""))


def _job_row(job: StoredJob) -> dict[str, object]:
    detail, settings = job.detail, job.detail.get("settings", {})
    billed, price = detail.get("billable_seconds"), ON_DEMAND_USD_PER_HOUR.get(settings.get("instance_type", ""))
    cost = None if billed is None or price is None else round(billed / 3600 * price, 4)
    return {"job_name": job.job_name, "created_at": job.created_at, "updated_at": job.updated_at, "state": job.state,
            "secondary_status": detail.get("secondary_status", ""), "name": detail.get("name", ""),
            "region": detail.get("region", ""), "instance_type": settings.get("instance_type"),
            "instance_count": settings.get("instance_count"), "spot": settings.get("spot"),
            "billable_seconds": billed, "cost_usd": cost, "failure_reason": detail.get("failure_reason", ""),
            "run_id": detail.get("run_id"), "s3_uri": detail.get("s3_uri", ""),
            "data_deleted": bool(detail.get("data_deleted")), "problem": detail.get("refresh_problem", "")}


def _seconds_between(answer: dict[str, Any]) -> int | None:
    start, end = answer.get("TrainingStartTime"), answer.get("TrainingEndTime")
    return int((end - start).total_seconds()) if start is not None and end is not None else None


def _not_found(exc: ClientError) -> bool:
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return error_code(exc) in ("ValidationException", "ResourceNotFound") and "find" in message.lower()


def _describe_error(exc: ClientError, job_name: str, stored: StoredJob) -> KayfabeError:
    if _not_found(exc):
        region = stored.detail.get("region", "")
        return SageMakerError(f"SageMaker in {region} has no training job called {job_name}.",
                              "Check that the region and the AWS account are the ones the job was started in.")
    return aws_error(exc, f"read the status of the training job {job_name}", "sagemaker:DescribeTrainingJob")


def _stop_error(exc: ClientError, stored: StoredJob) -> KayfabeError:
    code, name = error_code(exc), stored.job_name
    message = str(exc.response.get("Error", {}).get("Message", ""))
    if code == "ValidationException" and not _not_found(exc):
        return SageMakerError(f"The training job {name} is not running, so there is nothing to stop ({message}).",
                              "Refresh its status to see how it ended.")
    if code in ("500", "InternalFailure", "InternalServerError", "NotImplemented", "ServiceUnavailable"):
        limit = stored.detail.get("settings", {}).get("max_runtime_s")
        ends = f"; it ends by itself after {limit:,} s of running" if isinstance(limit, int) else ""
        return SageMakerError(f"SageMaker did not stop the training job {name}: it answered with an error "
                              f"({code}){ends}.",
                              f"Stop it in the AWS console (SageMaker → Training jobs → {name} → Stop) or with "
                              f"`aws sagemaker stop-training-job --training-job-name {name}`.")
    return aws_error(exc, f"stop the training job {name}", "sagemaker:StopTrainingJob")
