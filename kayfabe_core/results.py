"""What the Results page reads about a run: predictions by confusion cell, image files, SHAP inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kayfabe_core.evaluate import Metrics, metrics_of_predictions
from kayfabe_core.explain import importance_table, shap_values
from kayfabe_core.runs import load_booster, read_predictions, read_run, read_test_features
from kayfabe_core.workspace import Workspace, connect

CELLS = {"fp": "False positives", "fn": "False negatives", "tp": "True positives", "tn": "True negatives"}


def cell_meaning(cell: str, names: tuple[str, str]) -> str:
    """Say what a confusion cell holds in the category's own words: "coded NO, predicted YES" for fp."""
    positive, negative = names
    observed = positive if cell in ("tp", "fn") else negative
    predicted = positive if cell in ("tp", "fp") else negative
    return f"coded {observed}, predicted {predicted}"
SHAP_ROWS = 2000


def cell_of(predictions: pd.DataFrame, threshold: float) -> pd.Series:
    """Return each prediction's confusion cell at ``threshold``: tp, fp, fn or tn."""
    predicted = predictions["score"] >= threshold
    observed = predictions["observed"] == 1
    cells = np.select([observed & predicted, ~observed & predicted, observed & ~predicted], ["tp", "fp", "fn"], "tn")
    return pd.Series(cells, index=predictions.index)


def predictions_in_cell(predictions: pd.DataFrame, threshold: float, cell: str) -> pd.DataFrame:
    """Return the predictions in ``cell``, the most confident first (the worst mistakes lead)."""
    chosen = predictions[cell_of(predictions, threshold) == cell]
    confidence = (chosen["score"] - threshold).abs()
    return chosen.assign(confidence=confidence).sort_values("confidence", ascending=False)


def image_files(workspace: Workspace, items: list[str]) -> dict[str, str]:
    """Return the stored file of each item that is a fetched image (sha256 → path)."""
    if not items:
        return {}
    marks = ",".join("?" * len(items))
    with connect(workspace) as conn:
        rows = conn.execute("SELECT DISTINCT sha256, ext FROM images WHERE fetch_status = 'ok' "
                            f"AND sha256 IN ({marks})", items).fetchall()
    return {sha256: str(workspace.image_path(sha256, ext)) for sha256, ext in rows}


def run_metrics(workspace: Workspace, run_id: str, threshold: float) -> Metrics:
    """Return the run's metrics at ``threshold``, with the intervals its record holds at its own threshold."""
    return metrics_at(read_run(workspace, run_id), read_predictions(workspace, run_id), threshold)


def metrics_at(record: dict[str, object], predictions: pd.DataFrame, threshold: float) -> Metrics:
    """Like :func:`run_metrics` for a run record and predictions already read (the page keeps them).

    The AUC's interval does not depend on the threshold: the record's, drawn with the same seed, is used
    (drawing it again was most of a threshold move: 4.5 s of 4.8 at 750,000 predictions).
    """
    seed = int(record["split"]["options"].get("seed", 0))  # type: ignore[index]
    metrics: dict[str, Any] = record.get("metrics") or {}  # type: ignore[assignment]
    kept = (metrics.get("intervals") or {}).get("roc_auc")
    auc_interval = (float(kept[0]), float(kept[1])) if kept else None
    return metrics_of_predictions(predictions, threshold, seed, auc_interval=auc_interval)


def majority_baseline(observed: np.ndarray) -> float:
    """Return the accuracy of always predicting the more common code."""
    share = float(np.mean(observed)) if len(observed) else 0.0
    return max(share, 1 - share)


@dataclass(frozen=True, eq=False)
class ShapData:
    """SHAP values of (up to :data:`SHAP_ROWS`) first-fold test images, with their features."""

    contributions: np.ndarray
    matrix: object  # scipy CSR matrix, the same rows
    names: tuple[str, ...]
    items: list[str]
    scores: np.ndarray


def read_importance(workspace: Workspace, run_id: str) -> pd.DataFrame:
    """Return the importances of the run's first-fold model, counting the trees up to the round it kept (see
    :func:`~kayfabe_core.explain.importance_table`)."""
    _, names = read_test_features(workspace, run_id)
    rounds = int(read_run(workspace, run_id)["curve"]["best_round"])  # type: ignore[index]
    return importance_table(load_booster(workspace, run_id), names, rounds)


def read_shap(workspace: Workspace, run_id: str) -> ShapData:
    """Compute SHAP values for the run's first-fold test images (a random 2,000 when there are more)."""
    record = read_run(workspace, run_id)
    matrix, names = read_test_features(workspace, run_id)
    predictions = pd.read_csv(workspace.runs_dir / run_id / "predictions.csv", dtype={"item": str},
                              nrows=matrix.shape[0])
    rows = np.arange(matrix.shape[0])
    if len(rows) > SHAP_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(rows, SHAP_ROWS, replace=False))
    best_round = int(record["curve"]["best_round"])  # type: ignore[index]
    contributions = shap_values(load_booster(workspace, run_id), matrix[rows], best_round)
    return ShapData(contributions, matrix[rows], names, list(predictions["item"].iloc[rows]),
                    predictions["score"].to_numpy()[rows])
