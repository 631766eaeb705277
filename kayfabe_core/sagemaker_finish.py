"""Turn a completed SageMaker training job into a run, exactly like a local one.

The model (``model.tar.gz`` from ``ModelArtifacts.S3ModelArtifacts``) is
downloaded and loaded with :func:`~kayfabe_core.sagemaker_artifact.load_model_artifact`,
then scored on this computer on the test rows saved at launch, with the same
evaluation and saving as local training. The learning curve is recomputed
here from the model on the same fit and check rows the container watched.
Finishing twice gives the same run, never two.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import xgboost as xgb

from kayfabe_core.errors import KayfabeError
from kayfabe_core.experiment import ExperimentResult, complete_run, predictions_frame
from kayfabe_core.runs import read_run
from kayfabe_core.sagemaker_client import SageMakerClients, SageMakerError
from kayfabe_core.sagemaker_data import download_object
from kayfabe_core.sagemaker_jobs import RUNNING, JobStatus, job_status, poll_job
from kayfabe_core.sagemaker_store import (
    claim_job,
    job_folder,
    read_job,
    read_job_files,
    read_jobs,
    update_job,
)
from kayfabe_core.split import Fold
from kayfabe_core.train import FoldModel
from kayfabe_core.workspace import Workspace

FINISHING_FOR = timedelta(minutes=10)  # another tab's unfinished claim older than this is taken over


def finish_job(workspace: Workspace, clients: SageMakerClients, job_name: str) -> ExperimentResult:
    """Download the completed job's model, evaluate it on the saved test rows and save the run.

    Returns the run (the one saved before, when the job was finished already).
    Raises :class:`SageMakerError` when the job has not completed (the message
    gives SageMaker's failure reason) and :class:`KayfabeError` subclasses when
    the model cannot be downloaded or loaded, or the run cannot be saved.
    """
    job = read_job(workspace, job_name)
    if job.detail.get("run_id"):
        return _saved_result(workspace, job.detail)
    status = poll_job(workspace, clients.sagemaker, job_name, clients.logs)
    if status.status != "Completed":
        raise _not_completed(status)
    _claim(workspace, job_name)
    try:
        result = _evaluate(workspace, clients, status)
    except BaseException:
        update_job(workspace, job_name, finishing_since=None)
        raise
    update_job(workspace, job_name, finishing_since=None, run_id=result.run_id, summary=result.summary)
    return result


def refresh_jobs(workspace: Workspace, make_clients: Callable[[str], SageMakerClients],
                 finish: bool = True) -> list[JobStatus]:
    """Poll every job not known to have ended, and (with ``finish``) finish completed ones without a run.

    ``make_clients`` returns the clients of a region (jobs may run in several).
    Returns every job's status, newest first. A job that cannot be polled or
    finished keeps its last status, with the problem as its failure reason.
    """
    statuses: list[JobStatus] = []
    clients_by_region: dict[str, SageMakerClients] = {}
    for job in read_jobs(workspace):
        region = str(job.detail.get("region", ""))
        unfinished = finish and job.state == "Completed" and not job.detail.get("run_id")
        if job.state in RUNNING or unfinished:
            clients = clients_by_region.setdefault(region, make_clients(region))
            statuses.append(_refresh_one(workspace, clients, job.job_name, finish))
        else:
            statuses.append(job_status(workspace, job.job_name))
    return statuses


def learning_curves(booster: xgb.Booster, fit: xgb.DMatrix, check: xgb.DMatrix) -> tuple[list[float], list[float]]:
    """Return the log loss after each boosting round on ``fit`` and on ``check`` (as the local trainer records)."""
    return _curve(booster, fit), _curve(booster, check)


def _refresh_one(workspace: Workspace, clients: SageMakerClients, job_name: str, finish: bool) -> JobStatus:
    try:
        status = poll_job(workspace, clients.sagemaker, job_name, clients.logs)
        if finish and status.status == "Completed" and not status.run_id:
            finish_job(workspace, clients, job_name)
        update_job(workspace, job_name, refresh_problem="")
    except KayfabeError as problem:
        update_job(workspace, job_name, refresh_problem=f"{problem.message} {problem.hint}".strip())
    return job_status(workspace, job_name)


def _evaluate(workspace: Workspace, clients: SageMakerClients, status: JobStatus) -> ExperimentResult:
    started = time.perf_counter()
    booster = _download_model(workspace, clients, status)
    downloaded = time.perf_counter()
    files = read_job_files(workspace, status.job_name)
    booster = widen_booster(booster, files.matrix.shape[1])
    matrix, names, rows, draft = files.matrix, files.names, files.rows, files.draft
    settings = draft["settings"]
    best_round = _best_round(booster, int(settings.get("early_stopping_rounds", 0)))
    test = xgb.DMatrix(matrix[rows["test"]], nthread=-1)
    scores = booster.predict(test, iteration_range=(0, best_round))
    fit, check = (xgb.DMatrix(matrix[rows[name]], label=files.observed[rows[name]], nthread=-1)
                  for name in ("fit", "check"))
    train_curve, check_curve = learning_curves(booster, fit, check)
    seconds = float(status.training_seconds or status.billable_seconds or 0)
    model = FoldModel(Fold(0, 0, rows["train"], rows["test"]), booster, scores, train_curve, check_curve,
                      str(draft["sagemaker"]["check_name"]), best_round, seconds)
    draft["sagemaker"].update(billable_seconds=status.billable_seconds, training_seconds=status.training_seconds,
                              model_artifact=status.model_artifact)
    predictions = predictions_frame([model], files.items, files.posts, files.observed)
    timings = {**_launch_timings(workspace, status.job_name), "train_s": seconds,
               "download_s": downloaded - started}
    return complete_run(workspace, draft, [model], predictions, matrix[rows["test"]], names,
                        int(draft["split"]["options"]["seed"]), timings)


def _download_model(workspace: Workspace, clients: SageMakerClients, status: JobStatus) -> xgb.Booster:
    from kayfabe_core.sagemaker_artifact import load_model_artifact

    if not status.model_artifact:
        raise SageMakerError(f"The training job {status.job_name} completed but SageMaker names no model file.",
                             "Look at the job in the AWS console; train again if the model is missing.")
    path = job_folder(workspace, status.job_name) / "model.tar.gz"
    path.write_bytes(download_object(clients.s3, status.model_artifact))
    booster: xgb.Booster = load_model_artifact(path)
    return booster


def widen_booster(booster: xgb.Booster, width: int) -> xgb.Booster:
    """Return ``booster`` declared ``width`` features wide (itself when it is already).

    The container counts features up to the last column holding a value in its
    data, so its model can be narrower than the table, and XGBoost refuses to
    score a wider table. No tree uses the columns beyond (they held no value),
    so widening changes no prediction or SHAP value.
    """
    if booster.num_features() >= width:
        return booster
    model = json.loads(bytes(booster.save_raw("json")))
    model["learner"]["learner_model_param"]["num_feature"] = str(width)
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        tree["tree_param"]["num_feature"] = str(width)
    widened = xgb.Booster()
    widened.load_model(bytearray(json.dumps(model).encode()))
    return widened


def _best_round(booster: xgb.Booster, early_stopping: int) -> int:
    if early_stopping:
        try:
            return int(booster.best_iteration) + 1
        except AttributeError:
            pass
    return int(booster.num_boosted_rounds())


def _curve(booster: xgb.Booster, data: xgb.DMatrix) -> list[float]:
    """Log loss after each round, from one tree's margin at a time (linear in the number of rounds)."""
    rounds, labels = booster.num_boosted_rounds(), data.get_label().astype(float)
    if rounds == 0 or data.num_row() == 0:
        return []
    margin = np.zeros(data.num_row())
    base = 0.0
    if rounds > 1:
        both = booster.predict(data, iteration_range=(0, 2), output_margin=True).astype(float)
        base = _tree(booster, data, 0) + _tree(booster, data, 1) - both
    losses = []
    for number in range(rounds):
        margin = margin + _tree(booster, data, number) - (base if number else 0.0)
        chance = np.clip(1 / (1 + np.exp(-margin)), 1e-16, 1 - 1e-16)
        losses.append(float(-np.mean(labels * np.log(chance) + (1 - labels) * np.log(1 - chance))))
    return losses


def _tree(booster: xgb.Booster, data: xgb.DMatrix, number: int) -> np.ndarray:
    """The base margin plus tree ``number``'s output for every row."""
    return np.asarray(booster.predict(data, iteration_range=(number, number + 1), output_margin=True), dtype=float)


def _claim(workspace: Workspace, job_name: str) -> None:
    since = claim_job(workspace, job_name, "finishing_since", FINISHING_FOR)
    if since:
        raise KayfabeError(f"The run of training job {job_name} is being finished already (since {since}).",
                           "Wait a moment and refresh: it appears in the Runs list when it is saved.")


def _launch_timings(workspace: Workspace, job_name: str) -> dict[str, float]:
    detail = read_job(workspace, job_name).detail
    timings = {key: float(value) for key, value in detail.get("timings", {}).items()}
    if "upload_s" in detail:
        timings["upload_s"] = float(detail["upload_s"])
    return timings


def _saved_result(workspace: Workspace, detail: dict[str, Any]) -> ExperimentResult:
    run_id = str(detail["run_id"])
    return ExperimentResult(run_id, read_run(workspace, run_id), dict(detail.get("summary", {"run_id": run_id})))


def _not_completed(status: JobStatus) -> SageMakerError:
    if status.status == "Failed":
        reason = status.failure_reason or "no reason given"
        return SageMakerError(f"The training job {status.job_name} failed: {reason}.",
                              "Fix what the reason names (often the data or a setting), then train again; "
                              "nothing was saved.")
    if status.status in ("Stopped", "NotStarted"):
        return SageMakerError(f"The training job {status.job_name} did not complete ({status.status}); "
                              "there is no model to evaluate.", "Train again to get a run.")
    return SageMakerError(f"The training job {status.job_name} is still {status.status} "
                          f"({status.secondary_status or 'starting'}).",
                          "Wait until it completes; its status is refreshed on the Jobs list.")
