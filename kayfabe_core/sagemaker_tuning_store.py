"""SageMaker tuning jobs as the workspace remembers them: a row in ``jobs`` (kind ``sagemaker-tuning``).

The row's detail holds the settings, the S3 prefix, the ranges searched, the
last status SageMaker gave (counters, best training job) and every trial
(one training job each) as last listed. The files needed to turn the best
trial into a run (feature matrix, codes, split rows, draft run record) are
saved at launch in ``jobs/<tuning job>/`` by
:func:`~kayfabe_core.sagemaker_store.save_job_files`, like a training job's.
Nothing here calls AWS.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from kayfabe_core.errors import WorkspaceError
from kayfabe_core.sagemaker_cost import ON_DEMAND_USD_PER_HOUR
from kayfabe_core.workspace import RESULTS_VERSION, Workspace, connect, transaction

TUNING_KIND = "sagemaker-tuning"
TERMINAL = frozenset({"Completed", "Failed", "Stopped", "NotStarted"})
RUNNING = frozenset({"Uploading", "InProgress", "Stopping"})
TUNING_COLUMNS = ["job_name", "created_at", "updated_at", "state", "name", "region", "instance_type",
                  "instance_count", "spot", "max_jobs", "parallel_jobs", "completed", "in_progress", "failed",
                  "stopped", "best_training_job", "best_logloss", "approx_cost_usd", "failure_reason", "run_id",
                  "s3_uri", "data_deleted", "problem"]
TRIAL_COLUMNS = ["number", "training_job", "state", "logloss", "seconds", "params", "best_so_far", "failure_reason"]


@dataclass(frozen=True)
class StoredTuning:
    """A tuning job's row: its name, state (SageMaker's status, or Uploading / NotStarted), times and detail."""

    job_name: str
    state: str
    created_at: str
    updated_at: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class TuningStatus:
    """Where a tuning job stands, as last asked of SageMaker and stored in the workspace.

    ``completed`` … ``stopped`` count its training jobs; ``best_logloss`` is the
    best training job's validation log loss (lower is better);
    ``best_params`` its tuned settings in the app's names.
    """

    job_name: str
    status: str  # InProgress, Completed, Failed, Stopping, Stopped (SageMaker), or Uploading / NotStarted
    max_jobs: int
    parallel_jobs: int
    completed: int = 0
    in_progress: int = 0
    failed: int = 0
    stopped: int = 0
    best_training_job: str = ""
    best_logloss: float | None = None
    best_params: dict[str, int | float] = field(default_factory=dict)
    failure_reason: str = ""
    run_id: str | None = None
    problem: str = ""  # what went wrong the last time the app polled or finished it

    @property
    def done(self) -> bool:
        """True once the tuning job has ended, whichever way."""
        return self.status in TERMINAL

    @property
    def sentence(self) -> str:
        """One line for a person, e.g. ``Tuning job X: InProgress, 2 of 10 training jobs done (2 running); …``."""
        running = f", {self.in_progress} running" if self.in_progress else ""
        failed = f", {self.failed} failed" if self.failed else ""
        stopped = f", {self.stopped} stopped" if self.stopped else ""
        best = (f"; best validation log loss {self.best_logloss:.4f} ({self.best_training_job})"
                if self.best_logloss is not None and self.best_training_job else "")
        reason = f" Reason: {self.failure_reason}" if self.failure_reason else ""
        return (f"Tuning job {self.job_name}: {self.status}, {self.completed} of {self.max_jobs} training jobs "
                f"done{running}{failed}{stopped}{best}.{reason}")

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "done": self.done}


def save_tuning(workspace: Workspace, job_name: str, state: str, detail: dict[str, Any]) -> None:
    """Insert or replace the tuning job's row (one transaction)."""
    now = _now()
    with transaction(workspace, RESULTS_VERSION) as conn:
        conn.execute("INSERT INTO jobs (job_id, kind, state, created_at, updated_at, detail) VALUES (?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT(job_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, "
                     "detail = excluded.detail", (job_name, TUNING_KIND, state, now, now, _dumps(detail)))


def update_tuning(workspace: Workspace, job_name: str, state: str | None = None, **changes: Any) -> StoredTuning:
    """Merge ``changes`` into the row's detail (and set ``state``) in one transaction; return the new row.

    Raises :class:`WorkspaceError` when the workspace has no such tuning job.
    """
    with transaction(workspace, RESULTS_VERSION) as conn:
        row = conn.execute("SELECT state, detail FROM jobs WHERE job_id = ? AND kind = ?",
                           (job_name, TUNING_KIND)).fetchone()
        if row is None:
            raise _no_tuning(job_name)
        detail = {**json.loads(row["detail"]), **changes}
        conn.execute("UPDATE jobs SET state = ?, updated_at = ?, detail = ? WHERE job_id = ?",
                     (state or row["state"], _now(), _dumps(detail), job_name))
    return read_tuning_job(workspace, job_name)


def claim_tuning(workspace: Workspace, job_name: str, key: str, fresh_for: timedelta) -> str | None:
    """Set the detail's ``key`` to now unless a claim younger than ``fresh_for`` holds it; return that claim's
    time then (changing nothing), else None. One transaction, so two tabs cannot both claim."""
    now = datetime.now(UTC)
    with transaction(workspace, RESULTS_VERSION) as conn:
        row = conn.execute("SELECT detail FROM jobs WHERE job_id = ? AND kind = ?",
                           (job_name, TUNING_KIND)).fetchone()
        if row is None:
            raise _no_tuning(job_name)
        detail = json.loads(row["detail"])
        since = detail.get(key)
        if since and now - datetime.fromisoformat(since) < fresh_for:
            return str(since)
        detail[key] = now.isoformat(timespec="seconds")
        conn.execute("UPDATE jobs SET updated_at = ?, detail = ? WHERE job_id = ?", (_now(), _dumps(detail), job_name))
    return None


def read_tuning_job(workspace: Workspace, job_name: str) -> StoredTuning:
    """Return the tuning job's row; raise :class:`WorkspaceError` when the workspace has none of that name."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT job_id, state, created_at, updated_at, detail FROM jobs "
                           "WHERE job_id = ? AND kind = ?", (job_name, TUNING_KIND)).fetchone()
    if row is None:
        raise _no_tuning(job_name)
    return StoredTuning(row["job_id"], row["state"], row["created_at"], row["updated_at"], json.loads(row["detail"]))


def read_tuning_jobs(workspace: Workspace) -> list[StoredTuning]:
    """Return every SageMaker tuning job of the workspace, newest first."""
    with connect(workspace) as conn:
        rows = conn.execute("SELECT job_id, state, created_at, updated_at, detail FROM jobs WHERE kind = ? "
                            "ORDER BY created_at DESC, job_id DESC", (TUNING_KIND,)).fetchall()
    return [StoredTuning(row["job_id"], row["state"], row["created_at"], row["updated_at"], json.loads(row["detail"]))
            for row in rows]


def is_tuning_job(workspace: Workspace, job_name: str) -> bool:
    """Return True when the workspace has a SageMaker tuning job called ``job_name``."""
    with connect(workspace) as conn:
        return conn.execute("SELECT 1 FROM jobs WHERE job_id = ? AND kind = ?",
                            (job_name, TUNING_KIND)).fetchone() is not None


def tuning_status(workspace: Workspace, job_name: str) -> TuningStatus:
    """Return the tuning job's status as last stored (no AWS call)."""
    return status_of(read_tuning_job(workspace, job_name))


def status_of(job: StoredTuning) -> TuningStatus:
    """Return ``job``'s stored row as a :class:`TuningStatus`."""
    detail, counters, best = job.detail, job.detail.get("counters", {}), job.detail.get("best", {})
    problem = detail.get("refresh_problem") or detail.get("trials_problem") or ""
    return TuningStatus(job.job_name, job.state, int(detail.get("max_jobs", 0)), int(detail.get("parallel_jobs", 0)),
                        int(counters.get("completed", 0)), int(counters.get("in_progress", 0)),
                        int(counters.get("failed", 0)), int(counters.get("stopped", 0)),
                        str(best.get("training_job", "")), best.get("logloss"), dict(best.get("params", {})),
                        str(detail.get("failure_reason", "")), detail.get("run_id"), str(problem))


def list_sagemaker_tunings(workspace: Workspace) -> pd.DataFrame:
    """Return the workspace's SageMaker tuning jobs, newest first, as last polled (no AWS call).

    Columns: :data:`TUNING_COLUMNS`. ``approx_cost_usd`` is the trials' training
    time × instances × the on-demand price (None when the price is unknown;
    SageMaker bills a little more for start-up, spot a lot less).
    """
    return pd.DataFrame([_tuning_row(job) for job in read_tuning_jobs(workspace)], columns=TUNING_COLUMNS)


def sagemaker_trials_frame(workspace: Workspace, job_name: str) -> pd.DataFrame:
    """Return the tuning job's trials (one training job each) as last listed, in the order they started.

    Columns: :data:`TRIAL_COLUMNS`. ``logloss`` is the validation log loss the
    container reported last (NaN until the trial completes); ``params`` the
    tuned settings in the app's names; ``best_so_far`` the lowest log loss up
    to that trial. Raises :class:`WorkspaceError` when there is no such tuning job.
    """
    return trials_table(read_tuning_job(workspace, job_name).detail.get("trials", []))


def trials_table(trials: list[dict[str, Any]]) -> pd.DataFrame:
    """Return stored trial dicts as :func:`sagemaker_trials_frame`'s table."""
    frame = pd.DataFrame([{"number": trial["number"], "training_job": trial["training_job"],
                           "state": trial["status"],
                           "logloss": math.nan if trial.get("logloss") is None else float(trial["logloss"]),
                           "seconds": trial.get("seconds"), "params": dict(trial.get("params", {})),
                           "failure_reason": trial.get("failure_reason", "")} for trial in trials],
                         columns=[name for name in TRIAL_COLUMNS if name != "best_so_far"])
    frame["best_so_far"] = frame["logloss"].astype(float).cummin().ffill()
    return frame[TRIAL_COLUMNS]


def sagemaker_tuning_figure(trials: pd.DataFrame, planned: int | None = None) -> go.Figure:
    """Return each finished trial's validation log loss as a dot and the best so far as a line (lower is better).

    ``trials`` is :func:`sagemaker_trials_frame`'s table; ``planned`` fixes the x axis to the jobs planned.
    """
    finished = trials[trials["logloss"].notna()]
    figure = go.Figure()
    figure.add_scatter(x=finished["number"], y=finished["logloss"], mode="markers", name="each training job",
                       marker={"color": "#4c78a8", "size": 7, "opacity": 0.7}, customdata=finished["training_job"],
                       hovertemplate="trial %{x} (%{customdata}): %{y:.4f}<extra></extra>")
    figure.add_scatter(x=finished["number"], y=finished["logloss"].cummin(), mode="lines", name="best so far",
                       line={"color": "#f58518", "shape": "hv", "width": 3})
    figure.update_layout(height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}, xaxis_title="Training job",
                         yaxis_title="Validation log loss (lower is better)",
                         legend={"orientation": "h", "y": 1.12, "x": 0})
    if planned:
        figure.update_xaxes(range=[0.5, planned + 0.5])
    return figure


def _tuning_row(job: StoredTuning) -> dict[str, object]:
    detail, settings, status = job.detail, job.detail.get("settings", {}), status_of(job)
    price = ON_DEMAND_USD_PER_HOUR.get(str(settings.get("instance_type", "")))
    seconds = sum(float(trial.get("seconds") or 0) for trial in detail.get("trials", []))
    cost = None if price is None else round(seconds / 3600 * price * int(settings.get("instance_count", 1)), 4)
    return {"job_name": job.job_name, "created_at": job.created_at, "updated_at": job.updated_at, "state": job.state,
            "name": detail.get("name", ""), "region": detail.get("region", ""),
            "instance_type": settings.get("instance_type"), "instance_count": settings.get("instance_count"),
            "spot": settings.get("spot"), "max_jobs": status.max_jobs, "parallel_jobs": status.parallel_jobs,
            "completed": status.completed, "in_progress": status.in_progress, "failed": status.failed,
            "stopped": status.stopped, "best_training_job": status.best_training_job or None,
            "best_logloss": status.best_logloss, "approx_cost_usd": cost, "failure_reason": status.failure_reason,
            "run_id": status.run_id, "s3_uri": detail.get("s3_uri", ""),
            "data_deleted": bool(detail.get("data_deleted")), "problem": status.problem}


def _no_tuning(job_name: str) -> WorkspaceError:
    return WorkspaceError(f"There is no SageMaker tuning job called {job_name} in this workspace.",
                          "Pick a job from the list (python -m kayfabe_core jobs WORKSPACE).")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _dumps(detail: dict[str, Any]) -> str:
    return json.dumps(detail, default=_json_default)


def _json_default(value: object) -> object:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)
