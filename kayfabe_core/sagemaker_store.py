"""SageMaker jobs as the workspace remembers them: a row in ``jobs`` and a folder ``jobs/<job_name>/``.

The row (kind ``sagemaker-training``) holds the job's state and a JSON detail
(region, bucket, S3 prefix, settings, status, billable seconds, log tail, the
run it became). The folder holds, from the moment of launch, everything
needed to finish the run later, after a page refresh or an app restart: the
feature matrix, the codes, each image's item and post, the feature names, the
rows of the split and the draft run record.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from kayfabe_core.errors import WorkspaceError
from kayfabe_core.workspace import RESULTS_VERSION, Workspace, connect, transaction

JOB_KIND = "sagemaker-training"
ROW_SETS = ("train", "test", "fit", "check")


@dataclass(frozen=True)
class StoredJob:
    """A job's row: its name, state (SageMaker's status, or Uploading / NotStarted), times and detail."""

    job_name: str
    state: str
    created_at: str
    updated_at: str
    detail: dict[str, Any]


@dataclass(frozen=True, eq=False)
class JobFiles:
    """What a job's folder holds: the whole feature table's matrix and codes, and the split's rows."""

    matrix: sp.csr_matrix
    names: tuple[str, ...]
    observed: np.ndarray
    items: np.ndarray
    posts: np.ndarray
    rows: dict[str, np.ndarray]
    draft: dict[str, Any]


def job_folder(workspace: Workspace, job_name: str) -> Path:
    """Return the folder of ``job_name``'s files in the workspace."""
    return workspace.root / "jobs" / job_name


def save_job_files(workspace: Workspace, job_name: str, files: JobFiles) -> Path:
    """Write ``files`` to the job's folder (under a temporary name, then renamed); return the folder.

    Raises :class:`WorkspaceError` when the files cannot be written.
    """
    final = job_folder(workspace, job_name)
    partial = final.with_name(f".{job_name}.partial")
    try:
        partial.mkdir(parents=True, exist_ok=False)
        sp.save_npz(partial / "matrix.npz", files.matrix.tocsr())
        arrays: dict[str, Any] = {"observed": files.observed, **files.rows}
        np.savez(partial / "rows.npz", **arrays)
        (partial / "context.json").write_text(json.dumps({"items": _plain(files.items), "posts": _plain(files.posts)}))
        (partial / "feature_names.json").write_text(json.dumps(list(files.names)))
        (partial / "draft.json").write_text(json.dumps(files.draft, indent=2, default=_json_default))
        partial.rename(final)
    except OSError as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise WorkspaceError(f"The job's files could not be saved in {final.parent} ({error.strerror}).",
                             "Check that the disk has space and the folder is writable, then launch again.") from None
    return final


def read_job_files(workspace: Workspace, job_name: str) -> JobFiles:
    """Return what :func:`save_job_files` wrote; raise :class:`WorkspaceError` when the folder is gone."""
    folder = job_folder(workspace, job_name)
    try:
        arrays = np.load(folder / "rows.npz")
        context = json.loads((folder / "context.json").read_text())
        return JobFiles(sp.load_npz(folder / "matrix.npz").tocsr(),
                        tuple(json.loads((folder / "feature_names.json").read_text())),
                        arrays["observed"], np.array(context["items"], dtype=object),
                        np.array([np.nan if post is None else post for post in context["posts"]], dtype=object),
                        {name: arrays[name] for name in ROW_SETS}, json.loads((folder / "draft.json").read_text()))
    except (OSError, KeyError, ValueError):
        raise WorkspaceError(f"The files of SageMaker job {job_name} are missing or damaged in {folder.parent}.",
                             "The run cannot be finished on this computer; train it again.") from None


def save_job(workspace: Workspace, job_name: str, state: str, detail: dict[str, Any]) -> None:
    """Insert or replace the job's row (one transaction)."""
    now = _now()
    with transaction(workspace, RESULTS_VERSION) as conn:
        conn.execute("INSERT INTO jobs (job_id, kind, state, created_at, updated_at, detail) VALUES (?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT(job_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, "
                     "detail = excluded.detail",
                     (job_name, JOB_KIND, state, now, now, json.dumps(detail, default=_json_default)))


def update_job(workspace: Workspace, job_name: str, state: str | None = None, **changes: Any) -> StoredJob:
    """Merge ``changes`` into the job's detail (and set ``state``) in one transaction; return the new row.

    Raises :class:`WorkspaceError` when the workspace has no such job.
    """
    with transaction(workspace, RESULTS_VERSION) as conn:
        row = conn.execute("SELECT state, detail FROM jobs WHERE job_id = ? AND kind = ?",
                           (job_name, JOB_KIND)).fetchone()
        if row is None:
            raise _no_job(job_name)
        detail = {**json.loads(row["detail"]), **changes}
        conn.execute("UPDATE jobs SET state = ?, updated_at = ?, detail = ? WHERE job_id = ?",
                     (state or row["state"], _now(), json.dumps(detail, default=_json_default), job_name))
    return read_job(workspace, job_name)


def claim_job(workspace: Workspace, job_name: str, key: str, fresh_for: timedelta) -> str | None:
    """Set the detail's ``key`` to now, unless another claim younger than ``fresh_for`` holds it; return that
    claim's time then (and change nothing), else None. One transaction, so two tabs cannot both claim."""
    now = datetime.now(UTC)
    with transaction(workspace, RESULTS_VERSION) as conn:
        row = conn.execute("SELECT detail FROM jobs WHERE job_id = ? AND kind = ?", (job_name, JOB_KIND)).fetchone()
        if row is None:
            raise _no_job(job_name)
        detail = json.loads(row["detail"])
        since = detail.get(key)
        if since and now - datetime.fromisoformat(since) < fresh_for:
            return str(since)
        detail[key] = now.isoformat(timespec="seconds")
        conn.execute("UPDATE jobs SET updated_at = ?, detail = ? WHERE job_id = ?",
                     (_now(), json.dumps(detail, default=_json_default), job_name))
    return None


def read_job(workspace: Workspace, job_name: str) -> StoredJob:
    """Return the job's row; raise :class:`WorkspaceError` when the workspace has no such SageMaker job."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT job_id, state, created_at, updated_at, detail FROM jobs "
                           "WHERE job_id = ? AND kind = ?", (job_name, JOB_KIND)).fetchone()
    if row is None:
        raise _no_job(job_name)
    return StoredJob(row["job_id"], row["state"], row["created_at"], row["updated_at"], json.loads(row["detail"]))


def read_jobs(workspace: Workspace) -> list[StoredJob]:
    """Return every SageMaker job of the workspace, newest first."""
    with connect(workspace) as conn:
        rows = conn.execute("SELECT job_id, state, created_at, updated_at, detail FROM jobs WHERE kind = ? "
                            "ORDER BY created_at DESC, job_id DESC", (JOB_KIND,)).fetchall()
    return [StoredJob(row["job_id"], row["state"], row["created_at"], row["updated_at"], json.loads(row["detail"]))
            for row in rows]


def _no_job(job_name: str) -> WorkspaceError:
    return WorkspaceError(f"There is no SageMaker job called {job_name} in this workspace.",
                          "Pick a job from the list (python -m kayfabe_core jobs WORKSPACE).")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _plain(values: np.ndarray) -> list[object]:
    """Values JSON can hold: strings as they are, missing values (None, NaN) as None."""
    return [None if pd.isna(value) else str(value) for value in values]


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
