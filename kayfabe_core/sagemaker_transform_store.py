"""Batch transforms as the workspace remembers them: a row in ``jobs`` and a folder ``jobs/<job_name>/``.

The row (kind ``sagemaker-transform``) holds the state and a JSON detail
(run, region, bucket, S3 prefix, model name, input files and their line
counts, the report, the cost). The folder holds ``images.csv``: every image
scored, in the order of the lines sent, so the scores can be merged after a
restart (``predict --backend sagemaker --job NAME``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from kayfabe_core.errors import WorkspaceError
from kayfabe_core.sagemaker_store import job_folder
from kayfabe_core.workspace import RESULTS_VERSION, Workspace, connect, transaction

TRANSFORM_KIND = "sagemaker-transform"
IMAGES_FILE = "images.csv"


@dataclass(frozen=True, eq=False)
class StoredTransform:
    """A transform's row and the images it scores (post_url, image_url, sha256; lines in ``order``)."""

    job_name: str
    state: str
    detail: dict[str, Any]
    images: pd.DataFrame
    order: tuple[str, ...]


def save_transform(workspace: Workspace, job_name: str, state: str, detail: dict[str, Any], images: pd.DataFrame,
                   order: list[str]) -> None:
    """Write the images file (under a temporary name, then renamed), then the job's row.

    Raises :class:`WorkspaceError` when the files cannot be written.
    """
    final = job_folder(workspace, job_name)
    partial = final.with_name(f".{job_name}.partial")
    try:
        partial.mkdir(parents=True, exist_ok=False)
        images.to_csv(partial / IMAGES_FILE, index=False)
        (partial / "order.json").write_text(json.dumps(order))
        partial.rename(final)
    except OSError as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise WorkspaceError(f"The batch transform's files could not be saved in {final.parent} ({error.strerror}).",
                             "Check that the disk has space and the folder is writable, then try again.") from None
    now = _now()
    with transaction(workspace, RESULTS_VERSION) as conn:
        conn.execute("INSERT INTO jobs (job_id, kind, state, created_at, updated_at, detail) VALUES (?, ?, ?, ?, ?, ?)",
                     (job_name, TRANSFORM_KIND, state, now, now, json.dumps(detail)))


def update_transform(workspace: Workspace, job_name: str, state: str | None = None, **changes: Any) -> None:
    """Merge ``changes`` into the transform's detail (and set ``state``) in one transaction."""
    with transaction(workspace, RESULTS_VERSION) as conn:
        row = conn.execute("SELECT state, detail FROM jobs WHERE job_id = ? AND kind = ?",
                           (job_name, TRANSFORM_KIND)).fetchone()
        if row is None:
            raise _no_transform(job_name)
        detail = {**json.loads(row["detail"]), **changes}
        conn.execute("UPDATE jobs SET state = ?, updated_at = ?, detail = ? WHERE job_id = ?",
                     (state or row["state"], _now(), json.dumps(detail), job_name))


def read_transform(workspace: Workspace, job_name: str) -> StoredTransform:
    """Return the transform's row and images; raise :class:`WorkspaceError` when either is missing."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT state, detail FROM jobs WHERE job_id = ? AND kind = ?",
                           (job_name, TRANSFORM_KIND)).fetchone()
    if row is None:
        raise _no_transform(job_name)
    folder = job_folder(workspace, job_name)
    try:
        images = pd.read_csv(folder / IMAGES_FILE, dtype=str, keep_default_na=False)
        order = tuple(json.loads((folder / "order.json").read_text()))
    except (OSError, ValueError):
        raise WorkspaceError(f"The files of batch transform {job_name} are missing or damaged in {folder.parent}.",
                             "Score the posts again (on this computer, or with a new batch transform).") from None
    return StoredTransform(job_name, str(row["state"]), json.loads(row["detail"]), images, order)


def _no_transform(job_name: str) -> WorkspaceError:
    return WorkspaceError(f"There is no batch transform called {job_name} in this workspace.",
                          "Give the name the predict command printed when it started the transform.")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
