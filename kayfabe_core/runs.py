"""Saved runs: each trained model with everything needed to trust, compare and reuse it.

``runs/<run_id>/`` holds ``model.ubj`` (XGBoost's own format, the first
fold's model), ``models/`` (every fold's, when there are several),
``record.json`` (settings, data hash, split, versions, metrics, timings),
``predictions.csv`` (every test image's code and score) and
``test_features.npz`` + ``feature_names.json`` (the first fold's test rows,
for SHAP). The folder is written under a temporary name and renamed, then
the run is listed in the database in one transaction: a crash leaves no
half-written run.
"""

from __future__ import annotations

import json
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import scipy.sparse as sp
import xgboost as xgb

from kayfabe_core.errors import WorkspaceError
from kayfabe_core.workspace import Workspace, connect, transaction

MODEL_FILE = "model.ubj"


def new_run_id(now: datetime | None = None) -> str:
    """Return a fresh run id that sorts by time, e.g. ``run-20261123-101502-3f2a``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"run-{stamp}-{secrets.token_hex(2)}"


def save_run(workspace: Workspace, record: dict[str, object], boosters: list[xgb.Booster],
             predictions: pd.DataFrame, test_matrix: sp.csr_matrix, names: tuple[str, ...]) -> Path:
    """Write the run's folder and list it in the database; return the folder.

    Raises :class:`WorkspaceError` when the files cannot be written.
    """
    run_id = str(record["run_id"])
    final = workspace.runs_dir / run_id
    partial = workspace.runs_dir / f".{run_id}.partial"
    try:
        partial.mkdir(parents=True, exist_ok=False)
        boosters[0].save_model(str(partial / MODEL_FILE))
        if len(boosters) > 1:
            (partial / "models").mkdir()
            for number, booster in enumerate(boosters):
                booster.save_model(str(partial / "models" / f"fold-{number + 1:02d}.ubj"))
        predictions.to_csv(partial / "predictions.csv", index=False)
        sp.save_npz(partial / "test_features.npz", test_matrix.tocsr())
        (partial / "feature_names.json").write_text(json.dumps(list(names)))
        (partial / "record.json").write_text(json.dumps(record, indent=2, default=str))
        partial.rename(final)
    except OSError as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise WorkspaceError(f"The run could not be saved in {workspace.runs_dir} ({error.strerror}).",
                             "Check that the disk has space and the folder is writable, then train again.") from None
    try:
        with transaction(workspace) as conn:
            conn.execute("INSERT INTO runs (run_id, created_at, backend, name, record) VALUES (?, ?, ?, ?, ?)",
                         (run_id, record["created_at"], record["backend"], record.get("name", ""),
                          json.dumps(record, default=str)))
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
    return final


def list_runs(workspace: Workspace) -> pd.DataFrame:
    """Return every run, newest first: run_id, created_at, name, backend, accuracy, roc_auc, n_test, images,
    source (``workspace`` or ``table``)."""
    with connect(workspace) as conn:
        rows = conn.execute("SELECT run_id, created_at, name, backend, record FROM runs "
                            "ORDER BY created_at DESC, run_id DESC").fetchall()
    out = []
    for run_id, created_at, name, backend, record_text in rows:
        record = json.loads(record_text)
        metrics = record.get("metrics", {})
        out.append({"run_id": run_id, "created_at": created_at, "name": name, "backend": backend,
                    "accuracy": metrics.get("accuracy"), "roc_auc": metrics.get("roc_auc"),
                    "n_test": record.get("n_test"), "images": record.get("data", {}).get("n_images"),
                    "source": record.get("data", {}).get("origin", {}).get("kind")})
    return pd.DataFrame(out, columns=["run_id", "created_at", "name", "backend", "accuracy", "roc_auc",
                                      "n_test", "images", "source"])


def read_run(workspace: Workspace, run_id: str) -> dict[str, object]:
    """Return the run record of ``run_id``; raise :class:`WorkspaceError` if there is no such run."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT record FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        raise WorkspaceError(f"There is no run called {run_id} in this workspace.",
                             "Pick a run from the list on the Runs page.")
    record: dict[str, object] = json.loads(row[0])
    return record


def run_folder(workspace: Workspace, run_id: str) -> Path:
    """Return the run's folder; raise :class:`WorkspaceError` if its files are gone."""
    folder = workspace.runs_dir / run_id
    if not (folder / MODEL_FILE).exists():
        raise WorkspaceError(f"The files of run {run_id} are missing from {workspace.runs_dir}.",
                             "Train the run again; the settings are in its record on the Runs page.")
    return folder


def read_predictions(workspace: Workspace, run_id: str) -> pd.DataFrame:
    """Return every test prediction: repeat, fold, item, post, observed (1 = YES), score."""
    return pd.read_csv(run_folder(workspace, run_id) / "predictions.csv", dtype={"item": str, "post": str})


def load_booster(workspace: Workspace, run_id: str) -> xgb.Booster:
    """Return the run's (first fold's) booster."""
    booster = xgb.Booster()
    booster.load_model(str(run_folder(workspace, run_id) / MODEL_FILE))
    return booster


def read_test_features(workspace: Workspace, run_id: str) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """Return the first fold's test rows (in predictions order) and the feature names."""
    folder = run_folder(workspace, run_id)
    names = tuple(json.loads((folder / "feature_names.json").read_text()))
    return sp.load_npz(folder / "test_features.npz").tocsr(), names
