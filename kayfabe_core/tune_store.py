"""Stored tunings: every trial in the workspace's ``jobs`` table, read back as tables, drawn as a chart."""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kayfabe_core.errors import WorkspaceError
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.split import Split
from kayfabe_core.workspace import RESULTS_VERSION, Workspace, connect, transaction

Number = int | float
JOB_KIND = "tuning"


@dataclass(frozen=True)
class TrialRecord:
    """One trial: the values of the varied settings and its cross-validated accuracy.

    ``state`` is ``complete`` or ``stopped`` (accuracy NaN); ``same_as`` names an
    earlier trial with the very same settings, whose scores were reused.
    """

    number: int
    params: dict[str, Number]
    accuracy: float
    sd: float
    fold_accuracy: tuple[float, ...]
    seconds: float
    state: str = "complete"
    same_as: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "fold_accuracy": list(self.fold_accuracy)}


def best_trial(records: tuple[TrialRecord, ...] | list[TrialRecord]) -> TrialRecord | None:
    """Return the complete trial with the highest mean accuracy (the earliest on a tie), or None."""
    complete = [record for record in records if record.state == "complete"]
    return max(complete, key=lambda record: (record.accuracy, -record.number)) if complete else None


def trials_frame(records: list[TrialRecord] | tuple[TrialRecord, ...]) -> pd.DataFrame:
    """Return the trials as a table: number, state, accuracy, sd, seconds, params, same_as, best_so_far."""
    frame = pd.DataFrame([record.to_dict() for record in records],
                         columns=["number", "params", "accuracy", "sd", "fold_accuracy", "seconds", "state",
                                  "same_as"])
    frame["best_so_far"] = frame["accuracy"].astype(float).cummax()
    return frame[["number", "state", "accuracy", "sd", "seconds", "params", "same_as", "best_so_far"]]


class TuningJob:
    """The tuning's row in the workspace's ``jobs`` table, rewritten after every trial."""

    def __init__(self, workspace: Workspace, table: FeatureTable, split: Split, options: Any) -> None:
        self.workspace = workspace
        self.job_id = f"tune-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        self.created_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.detail: dict[str, object] = {
            "options": options.to_dict(), "split": split.options.to_dict(), "grouped_by": split.grouped_by,
            "start": dict(options.start_settings().values),
            "data": {"origin": table.origin, "n_images": table.n_images, "n_features": table.n_features,
                     "data_hash": table.data_hash()}}

    def save(self, records: list[TrialRecord], state: str, extra: Mapping[str, object] | None = None) -> None:
        """Write the job with every trial so far (one transaction; raises :class:`WorkspaceError`)."""
        self.detail.update(extra or {})
        self.detail["trials"] = [record.to_dict() for record in records]
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with transaction(self.workspace, RESULTS_VERSION) as conn:
            conn.execute("INSERT INTO jobs (job_id, kind, state, created_at, updated_at, detail) "
                         "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(job_id) DO UPDATE SET state = excluded.state, "
                         "updated_at = excluded.updated_at, detail = excluded.detail",
                         (self.job_id, JOB_KIND, state, self.created_at, now,
                          json.dumps(self.detail, default=_json_default)))


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def list_tunings(workspace: Workspace) -> pd.DataFrame:
    """Return every stored tuning, newest first.

    Columns: job_id, created_at, state, trials (complete), baseline_score, best_score, best_trial, run_id.
    """
    with connect(workspace) as conn:
        rows = conn.execute("SELECT job_id, created_at, state, detail FROM jobs WHERE kind = ? "
                            "ORDER BY created_at DESC, job_id DESC", (JOB_KIND,)).fetchall()
    out = []
    for job_id, created_at, state, text in rows:
        detail = json.loads(text)
        records = [_record(item) for item in detail.get("trials", [])]
        best = best_trial(records)
        out.append({"job_id": job_id, "created_at": created_at, "state": state,
                    "trials": sum(record.state == "complete" for record in records),
                    "baseline_score": records[0].accuracy if records else math.nan,
                    "best_score": best.accuracy if best else math.nan,
                    "best_trial": best.number if best else None, "run_id": detail.get("run_id")})
    return pd.DataFrame(out, columns=["job_id", "created_at", "state", "trials", "baseline_score", "best_score",
                                      "best_trial", "run_id"])


def read_tuning(workspace: Workspace, job_id: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """Return a stored tuning's detail (options, split, start, best) and its trials table.

    Raises :class:`WorkspaceError` when the workspace has no tuning with that id.
    """
    with connect(workspace) as conn:
        row = conn.execute("SELECT detail, state FROM jobs WHERE job_id = ? AND kind = ?",
                           (job_id, JOB_KIND)).fetchone()
    if row is None:
        raise WorkspaceError(f"There is no tuning called {job_id} in this workspace.",
                             "Pick a tuning from the list of past tunings.")
    detail = {**json.loads(row["detail"]), "state": row["state"]}
    return detail, trials_frame([_record(item) for item in detail.get("trials", [])])


def _record(item: Mapping[str, Any]) -> TrialRecord:
    accuracy, sd = (math.nan if item.get(name) is None else float(item[name]) for name in ("accuracy", "sd"))
    return TrialRecord(int(item["number"]), dict(item["params"]), accuracy, sd, tuple(item["fold_accuracy"]),
                       float(item["seconds"]), str(item["state"]), item.get("same_as"))


def tuning_figure(trials: pd.DataFrame, baseline_score: float | None, planned: int | None = None) -> go.Figure:
    """Return each trial's mean accuracy as a dot, the best so far as a line and the start as a dashed line.

    ``trials`` is :func:`trials_frame`'s table; ``planned`` fixes the x axis to the trials planned.
    """
    complete = trials[trials["state"] == "complete"]
    figure = go.Figure()
    figure.add_scatter(x=complete["number"], y=complete["accuracy"], mode="markers", name="each trial",
                       marker={"color": "#4c78a8", "size": 7, "opacity": 0.7},
                       customdata=complete["sd"], hovertemplate="trial %{x}: %{y:.3f} (sd %{customdata:.3f})"
                                                                "<extra></extra>")
    figure.add_scatter(x=complete["number"], y=complete["accuracy"].cummax(), mode="lines", name="best so far",
                       line={"color": "#f58518", "shape": "hv", "width": 3})
    if baseline_score is not None and not math.isnan(baseline_score):
        last = max(planned - 1 if planned else 0, int(trials["number"].max()) if len(trials) else 0, 1)
        figure.add_scatter(x=[0, last], y=[baseline_score, baseline_score], mode="lines",
                           name=f"start (trial 0): {baseline_score:.3f}", hoverinfo="skip",
                           line={"color": "#54a24b", "dash": "dash"})
    figure.update_layout(height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}, xaxis_title="Trial",
                         yaxis_title="Mean accuracy over the folds", legend={"orientation": "h", "y": 1.12, "x": 0})
    if planned:
        figure.update_xaxes(range=[-0.5, planned - 0.5])
    return figure
