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
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import scipy.sparse as sp
import xgboost as xgb

from kayfabe_core.errors import WorkspaceError
from kayfabe_core.json_text import json_text, metrics_restored
from kayfabe_core.workspace import RESULTS_VERSION, Workspace, connect, transaction

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
        _write_csv(predictions, partial / "predictions.csv")
        sp.save_npz(partial / "test_features.npz", test_matrix.tocsr(), compressed=False)  # 10x faster to write
        (partial / "feature_names.json").write_text(json.dumps(list(names)))
        (partial / "record.json").write_text(json_text(record, indent=2, default=str))
        partial.rename(final)
    except OSError as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise WorkspaceError(f"The run could not be saved in {workspace.runs_dir} ({error.strerror}).",
                             "Check that the disk has space and the folder is writable, then train again.") from None
    try:
        with transaction(workspace, RESULTS_VERSION) as conn:
            conn.execute("INSERT INTO runs (run_id, created_at, backend, name, record) VALUES (?, ?, ?, ?, ?)",
                         (run_id, record["created_at"], record["backend"], record.get("name", ""),
                          json_text(record, default=str)))
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
    return final


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV with Arrow's writer (ten times pandas' speed on 45,000 predictions), or pandas'
    where Arrow cannot type a column."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        frame.to_csv(path, index=False)
        return
    pa_csv.write_csv(table, path)


def list_runs(workspace: Workspace) -> pd.DataFrame:
    """Return every run, newest first, one row each.

    Columns: run_id, created_at, name, note, backend, source (``workspace`` or
    ``table``), data_hash, split, images, n_test, the key settings, accuracy with
    accuracy_low/accuracy_high, accuracy_sd, roc_auc, seconds, sagemaker_job, billable_seconds, and
    model_warnings (the list of what the models learned that a reader must know; [] for none).
    """
    with connect(workspace) as conn:
        rows = conn.execute("SELECT run_id, created_at, name, note, backend, record FROM runs "
                            "ORDER BY created_at DESC, run_id DESC").fetchall()
    out = [_run_row(run_id, created_at, name, note, backend, metrics_restored(json.loads(record_text)))
           for run_id, created_at, name, note, backend, record_text in rows]
    return pd.DataFrame(out, columns=RUN_COLUMNS)


RUN_COLUMNS = ["run_id", "created_at", "name", "note", "backend", "source", "data_hash", "split", "images",
               "n_test", "num_boost_round", "eta", "max_depth", "min_child_weight", "gamma", "subsample",
               "accuracy", "accuracy_low", "accuracy_high", "accuracy_sd", "roc_auc", "seconds", "sagemaker_job",
               "billable_seconds", "model_warnings"]


def _run_row(run_id: str, created_at: str, name: str, note: str, backend: str,
             record: dict[str, Any]) -> dict[str, object]:
    metrics, data, split = record.get("metrics", {}), record.get("data", {}), record.get("split", {})
    options, settings = split.get("options", {}), record.get("settings", {})
    sagemaker = record.get("sagemaker", {})  # a run trained on SageMaker: its job and what AWS billed
    low, high = metrics.get("intervals", {}).get("accuracy", (None, None))
    how = f"{options.get('folds')}-fold" if options.get("folds") else f"{options.get('test_size', 0):.0%} test"
    repeats = f" ×{options['repeats']}" if options.get("repeats", 1) > 1 else ""
    return {"run_id": run_id, "created_at": created_at, "name": name, "note": note, "backend": backend,
            "source": data.get("origin", {}).get("kind"), "data_hash": data.get("data_hash"),
            "split": f"{options.get('method', '?')}, {how}{repeats}", "images": data.get("n_images"),
            "n_test": record.get("n_test"), **{key: settings.get(key) for key in RUN_COLUMNS[10:16]},
            "accuracy": metrics.get("accuracy"), "accuracy_low": low, "accuracy_high": high,
            "accuracy_sd": record.get("accuracy_sd"), "roc_auc": metrics.get("roc_auc"),
            "seconds": sum(record.get("timings", {}).values()),
            "sagemaker_job": sagemaker.get("job_name"), "billable_seconds": sagemaker.get("billable_seconds"),
            "model_warnings": [str(warning) for warning in record.get("model_warnings", [])]}


def rename_run(workspace: Workspace, run_id: str, name: str, note: str) -> None:
    """Set the run's name and note; raise :class:`WorkspaceError` if there is no such run."""
    with transaction(workspace, RESULTS_VERSION) as conn:
        changed = conn.execute("UPDATE runs SET name = ?, note = ? WHERE run_id = ?",
                               (name.strip(), note.strip(), run_id)).rowcount
    if not changed:
        raise WorkspaceError(f"There is no run called {run_id} in this workspace.",
                             "Pick a run from the list on the Runs page (`runs WORKSPACE` lists them on the "
                             "command line).")


def delete_run(workspace: Workspace, run_id: str) -> None:
    """Remove the run from the list, then its folder (a crash in between leaves only an unlisted folder)."""
    read_run(workspace, run_id)
    with transaction(workspace, RESULTS_VERSION) as conn:
        conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
    shutil.rmtree(workspace.runs_dir / run_id, ignore_errors=True)


def read_run(workspace: Workspace, run_id: str) -> dict[str, object]:
    """Return the run record of ``run_id`` (with its current name and note); raise :class:`WorkspaceError`
    if there is no such run."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT record, name, note FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        raise WorkspaceError(f"There is no run called {run_id} in this workspace.",
                             "Pick a run from the list on the Runs page (`runs WORKSPACE` lists them on the "
                             "command line).")
    record: dict[str, object] = metrics_restored(json.loads(row[0]))
    record.update(name=row[1], note=row[2])
    return record


def run_folder(workspace: Workspace, run_id: str) -> Path:
    """Return the run's folder; raise :class:`WorkspaceError` if its files are gone."""
    folder = workspace.runs_dir / run_id
    if not (folder / MODEL_FILE).exists():
        raise WorkspaceError(f"The files of run {run_id} are missing from {workspace.runs_dir}.",
                             "Train the run again; the settings are in its record on the Runs page.")
    return folder


def _damaged(run_id: str, path: Path) -> WorkspaceError:
    return WorkspaceError(f"The file {path.name} of run {run_id} is damaged or missing ({path.parent}).",
                          "Train the run again; the settings are in its record on the Runs page (`runs WORKSPACE "
                          "--json` on the command line).")


def read_predictions(workspace: Workspace, run_id: str) -> pd.DataFrame:
    """Return every test prediction: repeat, fold, item, post, observed (1 = YES), score."""
    path = run_folder(workspace, run_id) / "predictions.csv"
    try:
        return pd.read_csv(path, dtype={"item": str, "post": str})
    except (OSError, ValueError) as exc:  # pandas' parser errors are ValueErrors
        raise _damaged(run_id, path) from exc


def load_booster(workspace: Workspace, run_id: str) -> xgb.Booster:
    """Return the run's (first fold's) booster."""
    path = run_folder(workspace, run_id) / MODEL_FILE
    booster = xgb.Booster()
    try:
        booster.load_model(str(path))
    except xgb.core.XGBoostError as exc:
        raise _damaged(run_id, path) from exc
    return booster


def read_test_features(workspace: Workspace, run_id: str) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """Return the first fold's test rows (in predictions order) and the feature names."""
    folder = run_folder(workspace, run_id)
    path = folder / "feature_names.json"
    try:
        names = tuple(str(name) for name in json.loads(path.read_text(encoding="utf-8")))
        path = folder / "test_features.npz"
        return sp.load_npz(path).tocsr(), names
    except (OSError, ValueError, TypeError) as exc:  # JSONDecodeError and a bad .npz are ValueErrors
        raise _damaged(run_id, path) from exc
