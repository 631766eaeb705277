"""Follow SageMaker tuning jobs: poll (with their trials), stop, wait, refresh; the best trial becomes a run.

Every poll stores the tuning job's status and its trials (one training job
each, listed with ``list_training_jobs_for_hyper_parameter_tuning_job``) in
the workspace, so a page can show the trials as they finish. When the tuning
job has ended with a best training job, :func:`finish_tuning` records that
training job in the workspace like one the app launched (its files are the
tuning's, with the best settings) and turns it into a run with
:func:`~kayfabe_core.sagemaker_finish.finish_job`: the model SageMaker wrote
is downloaded and scored here on the test images saved at launch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from kayfabe_core.constraints import BOOSTER_KNOBS, check_settings
from kayfabe_core.errors import KayfabeError, WorkspaceError
from kayfabe_core.experiment import ExperimentResult
from kayfabe_core.rekognition_client import error_code
from kayfabe_core.runs import read_run
from kayfabe_core.sagemaker_client import SageMakerClients, SageMakerError, aws_error
from kayfabe_core.sagemaker_data import DeletedData, delete_prefix
from kayfabe_core.sagemaker_finish import finish_job
from kayfabe_core.sagemaker_jobs import poll_until_done
from kayfabe_core.sagemaker_launch import CONTAINER_NAMES
from kayfabe_core.sagemaker_store import job_folder, read_job, read_job_files, save_job, save_job_files, update_job
from kayfabe_core.sagemaker_tuning_store import (
    RUNNING,
    StoredTuning,
    TuningStatus,
    claim_tuning,
    read_tuning_job,
    read_tuning_jobs,
    status_of,
    update_tuning,
)
from kayfabe_core.workspace import Workspace

FINISHING_FOR = timedelta(minutes=10)  # another tab's unfinished claim older than this is taken over
PAGE_SIZE = 100  # list_training_jobs_for_hyper_parameter_tuning_job's largest page
OUR_NAMES = {container: ours for ours, container in CONTAINER_NAMES.items()}
STOP_HINT = ("Stop it in the AWS console (SageMaker → Hyperparameter tuning jobs → {name} → Stop) or with "
             "`aws sagemaker stop-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name {name}`.")


def poll_tuning(workspace: Workspace, client: Any, job_name: str) -> TuningStatus:
    """Ask SageMaker how the tuning job stands and list its trials; store both in the workspace; return it.

    When the trials cannot be listed the status is still stored, the last
    trials are kept and the problem is said in ``problem``. Raises
    :class:`KayfabeError` when the workspace or SageMaker has no such tuning
    job, or AWS refuses to describe it.
    """
    stored = read_tuning_job(workspace, job_name)
    try:
        answer = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job_name)
    except ClientError as exc:
        if _not_found(exc) and stored.state in ("Uploading", "NotStarted"):
            return status_of(update_tuning(workspace, job_name, "NotStarted"))
        raise _describe_error(exc, stored) from exc
    except Exception as exc:
        raise aws_error(exc, f"read the status of the tuning job {job_name}",
                        "sagemaker:DescribeHyperParameterTuningJob") from exc
    changes = _described(answer)
    try:
        changes["trials"] = read_trials(client, job_name)
        changes["trials_problem"] = ""
    except KayfabeError as problem:
        changes["trials_problem"] = f"The trials could not be listed: {problem.message} {problem.hint}".strip()
    return status_of(update_tuning(workspace, job_name, str(answer["HyperParameterTuningJobStatus"]), **changes))


def read_trials(client: Any, job_name: str) -> list[dict[str, Any]]:
    """Return every training job of the tuning job, in the order they were created, as plain dicts.

    Each has number (1, 2, …), training_job, status, objective_status,
    logloss (None until reported), hyperparameters (the container's names, as
    sent), params (the app's names, numbers), seconds, created_at and
    failure_reason. Raises :class:`KayfabeError` when AWS refuses.
    """
    summaries: list[dict[str, Any]] = []
    token = ""
    while True:
        request: dict[str, Any] = {"HyperParameterTuningJobName": job_name, "MaxResults": PAGE_SIZE,
                                   "SortBy": "CreationTime", "SortOrder": "Ascending"}
        if token:
            request["NextToken"] = token
        try:
            page = client.list_training_jobs_for_hyper_parameter_tuning_job(**request)
        except Exception as exc:
            raise aws_error(exc, f"list the training jobs of the tuning job {job_name}",
                            "sagemaker:ListTrainingJobsForHyperParameterTuningJob") from exc
        summaries += page.get("TrainingJobSummaries", [])
        token = str(page.get("NextToken") or "")
        if not token:
            break
    summaries.sort(key=lambda item: (item["CreationTime"], item["TrainingJobName"]))
    return [_trial(number, summary) for number, summary in enumerate(summaries, start=1)]


def tuned_params(hyperparameters: Mapping[str, str]) -> dict[str, int | float]:
    """Return the container's tuned hyperparameters (strings) as the app's settings, checked against the
    constraints table; names the app does not know are left out. Raises :class:`SettingError` for a value
    out of the table's range."""
    values = {OUR_NAMES[name]: _number(text) for name, text in hyperparameters.items() if name in OUR_NAMES}
    return check_settings(BOOSTER_KNOBS, values)  # whole-number settings come back as int, even from "4.0"


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text  # check_settings says it is not a number


def stop_tuning(workspace: Workspace, client: Any, job_name: str) -> TuningStatus:
    """Ask SageMaker to stop the tuning job and its running training jobs; return the polled status.

    Raises :class:`SageMakerError` when the job is not running or SageMaker
    does not stop it (the hint says how to stop it by hand).
    """
    stored = read_tuning_job(workspace, job_name)
    try:
        client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=job_name)
    except ClientError as exc:
        raise _stop_error(exc, stored) from exc
    except Exception as exc:
        raise aws_error(exc, f"stop the tuning job {job_name}", "sagemaker:StopHyperParameterTuningJob") from exc
    return poll_tuning(workspace, client, job_name)


def wait_for_tuning(workspace: Workspace, clients: SageMakerClients, job_name: str, poll_s: float = 30.0,
                    on_status: Callable[[TuningStatus], None] | None = None, stop: threading.Event | None = None,
                    sleep: Callable[[float], None] = time.sleep) -> TuningStatus:
    """Poll the tuning job every ``poll_s`` seconds until it ends (or ``stop`` is set); return the last status.

    The job goes on in AWS when waiting stops early: poll it again later.
    """
    return poll_until_done(lambda: poll_tuning(workspace, clients.sagemaker, job_name), poll_s, on_status, stop,
                           sleep)


def finish_tuning(workspace: Workspace, clients: SageMakerClients, job_name: str) -> ExperimentResult:
    """Turn the ended tuning job's best training job into a run (the same run when done before).

    The run's settings are the tuning's fixed settings with the best job's
    tuned values; its model is the one SageMaker wrote, scored here on the
    test images saved at launch. Raises :class:`SageMakerError` when the
    tuning job is still running, failed, or ended without a best job, and
    the errors of :func:`~kayfabe_core.sagemaker_finish.finish_job`.
    """
    stored = read_tuning_job(workspace, job_name)
    if stored.detail.get("run_id"):
        run_id = str(stored.detail["run_id"])
        return ExperimentResult(run_id, read_run(workspace, run_id), dict(stored.detail.get("summary", {})))
    status = poll_tuning(workspace, clients.sagemaker, job_name)
    if status.status not in ("Completed", "Stopped") or not status.best_training_job:
        raise _not_finishable(status)
    since = claim_tuning(workspace, job_name, "finishing_since", FINISHING_FOR)
    if since:
        raise KayfabeError(f"The run of tuning job {job_name} is being finished already (since {since}).",
                           "Wait a moment and refresh: it appears in the Runs list when it is saved.")
    try:
        _record_best_job(workspace, read_tuning_job(workspace, job_name), status)
        result = finish_job(workspace, clients, status.best_training_job)
    except BaseException:
        update_tuning(workspace, job_name, finishing_since=None)
        raise
    update_tuning(workspace, job_name, finishing_since=None, run_id=result.run_id, summary=result.summary)
    return result


def refresh_tunings(workspace: Workspace, make_clients: Callable[[str], SageMakerClients],
                    finish: bool = True) -> list[TuningStatus]:
    """Poll every tuning job not known to have ended, and (with ``finish``) finish ended ones without a run.

    ``make_clients`` returns the clients of a region. Returns every tuning
    job's status, newest first; a problem polling or finishing one is stored
    as its ``problem`` and the others go on.
    """
    statuses: list[TuningStatus] = []
    clients_by_region: dict[str, SageMakerClients] = {}
    for job in read_tuning_jobs(workspace):
        status = status_of(job)
        unfinished = (finish and status.status in ("Completed", "Stopped") and bool(status.best_training_job)
                      and not status.run_id)
        if job.state in RUNNING or unfinished:
            region = str(job.detail.get("region", ""))
            clients = clients_by_region.setdefault(region, make_clients(region))
            status = _refresh_one(workspace, clients, job.job_name, finish)
        statuses.append(status)
    return statuses


def delete_tuning_data(workspace: Workspace, s3: Any, job_name: str, force: bool = False) -> DeletedData:
    """Delete everything under the tuning job's S3 prefix (uploaded data, every trial's model); return the counts.

    Refuses while the job runs, and (unless ``force``) when it ended with a
    best job whose run is not saved yet. Raises :class:`KayfabeError` then,
    or when S3 refuses.
    """
    job = read_tuning_job(workspace, job_name)
    status = status_of(job)
    if job.state in RUNNING:
        raise KayfabeError(f"The tuning job {job_name} is still running ({job.state}); its training jobs need the "
                           "data.", "Stop it first, or wait until it ends, then delete its data.")
    if status.best_training_job and not status.run_id and not force:
        raise KayfabeError(f"The tuning job {job_name} ended but the run of its best training job is not saved "
                           "yet; deleting its data would delete that model too.",
                           "Finish the run first (python -m kayfabe_core jobs WORKSPACE --refresh), or delete "
                           "anyway if you do not want it.")
    deleted = delete_prefix(s3, str(job.detail["bucket"]), str(job.detail["prefix"]))
    update_tuning(workspace, job_name, data_deleted=True, deleted_objects=deleted.objects, deleted_bytes=deleted.bytes)
    try:
        update_job(workspace, status.best_training_job, data_deleted=True)  # its model lived under the prefix
    except WorkspaceError:
        pass
    return deleted


def tuning_resources(workspace: Workspace) -> pd.DataFrame:
    """Return what the workspace's tuning jobs created in AWS: each tuning job and its S3 prefix (no AWS call).

    Columns as :func:`~kayfabe_core.sagemaker_jobs.aws_resources`: kind, name, region, state, costs.
    """
    rows: list[dict[str, object]] = []
    for job in read_tuning_jobs(workspace):
        region, detail = job.detail.get("region", ""), job.detail
        if job.state != "NotStarted":
            rows.append({"kind": "tuning job", "name": job.job_name, "region": region, "state": job.state,
                         "costs": "running: its training jobs are billed by the second until they end"
                         if job.state in RUNNING else
                         "nothing (ended; SageMaker keeps the record and its training jobs', they cannot be "
                         "deleted)"})
        rows.append({"kind": "S3 data", "name": detail.get("s3_uri", ""), "region": region,
                     "state": "deleted" if detail.get("data_deleted") else "kept",
                     "costs": "nothing" if detail.get("data_deleted") else "a little S3 storage each month"})
    return pd.DataFrame(rows, columns=["kind", "name", "region", "state", "costs"])


def _refresh_one(workspace: Workspace, clients: SageMakerClients, job_name: str, finish: bool) -> TuningStatus:
    try:
        status = poll_tuning(workspace, clients.sagemaker, job_name)
        if finish and status.status in ("Completed", "Stopped") and status.best_training_job and not status.run_id:
            finish_tuning(workspace, clients, job_name)
        update_tuning(workspace, job_name, refresh_problem="")
    except KayfabeError as problem:
        update_tuning(workspace, job_name, refresh_problem=f"{problem.message} {problem.hint}".strip())
    return status_of(read_tuning_job(workspace, job_name))


def _described(answer: dict[str, Any]) -> dict[str, Any]:
    counters = answer.get("TrainingJobStatusCounters", {})
    best = answer.get("BestTrainingJob") or {}
    changes: dict[str, Any] = {
        "counters": {"completed": int(counters.get("Completed", 0)), "in_progress": int(counters.get("InProgress", 0)),
                     "failed": int(counters.get("RetryableError", 0)) + int(counters.get("NonRetryableError", 0)),
                     "stopped": int(counters.get("Stopped", 0))},
        "failure_reason": answer.get("FailureReason", ""),
        "runtime_seconds": (answer.get("ConsumedResources") or {}).get("RuntimeInSeconds"),
        "best": {}}
    if best.get("TrainingJobName"):
        metric = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        hyperparameters = {str(key): str(value) for key, value in (best.get("TunedHyperParameters") or {}).items()}
        changes["best"] = {"training_job": str(best["TrainingJobName"]), "logloss": metric.get("Value"),
                           "hyperparameters": hyperparameters, "params": _params_or_empty(hyperparameters)}
    return changes


def _trial(number: int, summary: dict[str, Any]) -> dict[str, Any]:
    metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    hyperparameters = {str(key): str(value) for key, value in (summary.get("TunedHyperParameters") or {}).items()}
    start, end = summary.get("TrainingStartTime"), summary.get("TrainingEndTime")
    return {"number": number, "training_job": str(summary["TrainingJobName"]),
            "status": str(summary["TrainingJobStatus"]), "objective_status": summary.get("ObjectiveStatus", ""),
            "logloss": metric.get("Value"), "hyperparameters": hyperparameters,
            "params": _params_or_empty(hyperparameters),
            "seconds": (end - start).total_seconds() if start is not None and end is not None else None,
            "created_at": summary["CreationTime"].isoformat(timespec="seconds"),
            "failure_reason": summary.get("FailureReason", "")}


def _params_or_empty(hyperparameters: Mapping[str, str]) -> dict[str, int | float]:
    try:
        return tuned_params(hyperparameters)
    except (KayfabeError, ValueError):
        return {}


def _record_best_job(workspace: Workspace, tuning: StoredTuning, status: TuningStatus) -> None:
    """Record the best training job as a job of the workspace, with the tuning's files and the best settings
    (once: kept when already there)."""
    best = status.best_training_job
    try:
        read_job(workspace, best)
        return
    except WorkspaceError:
        pass
    detail = tuning.detail
    tuned = dict(detail.get("best", {}).get("hyperparameters", {}))
    params = tuned_params(tuned)
    files = read_job_files(workspace, tuning.job_name)
    settings = {**files.draft["settings"], **params}
    done = status.completed
    sagemaker = {**files.draft["sagemaker"], "job_name": best, "tuned_hyperparameters": tuned,
                 "hyperparameters": {**detail.get("static_hyperparameters", {}), **tuned},
                 "best_logloss": status.best_logloss, "tuning_jobs_completed": done}
    draft = {**files.draft, "name": files.draft.get("name") or f"tuned on SageMaker (best of {done} jobs)",
             "settings": settings, "sagemaker": sagemaker}
    if not job_folder(workspace, best).exists():
        save_job_files(workspace, best, replace(files, draft=draft))
    prefix = f"{detail['prefix']}/output/{best}"
    save_job(workspace, best, "InProgress", {
        "name": draft["name"], "settings": detail.get("settings", {}), "region": detail.get("region", ""),
        "bucket": detail.get("bucket", ""), "prefix": prefix, "s3_uri": f"s3://{detail.get('bucket', '')}/{prefix}/",
        "training_image": detail.get("training_image", ""), "hyperparameters": sagemaker["hyperparameters"],
        "timings": detail.get("timings", {}), "upload_s": detail.get("upload_s", 0.0),
        "data_deleted": bool(detail.get("data_deleted")), "n_fit": detail.get("n_fit"),
        "n_check": detail.get("n_check"), "n_test": detail.get("n_test"), "check_name": detail.get("check_name"),
        "tuning_job": tuning.job_name})


def _not_found(exc: ClientError) -> bool:
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return error_code(exc) in ("ValidationException", "ResourceNotFound") and "find" in message


def _describe_error(exc: ClientError, stored: StoredTuning) -> KayfabeError:
    if _not_found(exc):
        region = stored.detail.get("region", "")
        return SageMakerError(f"SageMaker in {region} has no tuning job called {stored.job_name}.",
                              "Check that the region and the AWS account are the ones the job was started in.")
    return aws_error(exc, f"read the status of the tuning job {stored.job_name}",
                     "sagemaker:DescribeHyperParameterTuningJob")


def _stop_error(exc: ClientError, stored: StoredTuning) -> KayfabeError:
    code, name = error_code(exc), stored.job_name
    message = str(exc.response.get("Error", {}).get("Message", ""))
    if _not_found(exc):
        return _describe_error(exc, stored)
    if code == "ValidationException":
        return SageMakerError(f"The tuning job {name} is not running, so there is nothing to stop ({message}).",
                              "Refresh its status to see how it ended.")
    if code in ("500", "InternalFailure", "InternalServerError", "NotImplemented", "ServiceUnavailable"):
        return SageMakerError(f"SageMaker did not stop the tuning job {name}: it answered with an error ({code}); "
                              "its running training jobs go on until they end by themselves.",
                              STOP_HINT.format(name=name))
    return aws_error(exc, f"stop the tuning job {name}", "sagemaker:StopHyperParameterTuningJob")


def _not_finishable(status: TuningStatus) -> SageMakerError:
    name = status.job_name
    hint = ("Look at its training jobs' failure reasons (python -m kayfabe_core jobs WORKSPACE --trials "
            f"{name}), fix what they name, then tune again; nothing was saved.")
    if status.status == "Failed":
        reason = status.failure_reason.rstrip(".") or "no reason given"
        return SageMakerError(f"The tuning job {name} failed: {reason}.", hint)
    if status.status in ("Completed", "Stopped"):
        return SageMakerError(f"The tuning job {name} ended ({status.status}) without a best training job: no "
                              "training job reported a validation log loss.", hint)
    if status.status == "NotStarted":
        return SageMakerError(f"The tuning job {name} did not start; there is no model to evaluate.",
                              "Tune again to get a run.")
    return SageMakerError(f"The tuning job {name} is still {status.status} ({status.completed} of {status.max_jobs} "
                          "training jobs done).", "Wait until it ends; its status is refreshed on the Jobs list.")
