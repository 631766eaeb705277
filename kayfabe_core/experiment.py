"""One experiment from feature table to saved run: split, train every fold, evaluate, save.

The Train page and ``python -m kayfabe_core train`` both call
:func:`run_experiment`; its summary is what ``--json`` prints.
"""

from __future__ import annotations

import platform
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import scipy.sparse as sp

from kayfabe_core.evaluate import fold_accuracies, metrics_of_predictions
from kayfabe_core.feature_cache import wait_for_cache_writes
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.runs import new_run_id, save_run
from kayfabe_core.split import Split, SplitOptions, class_balance, group_ids, make_split
from kayfabe_core.train import FoldModel, RoundCallback, TrainSettings, train_fold
from kayfabe_core.workspace import Workspace


@dataclass(frozen=True)
class ExperimentResult:
    """The saved run's id, its full record, and the short summary the CLI prints."""

    run_id: str
    record: dict[str, object]
    summary: dict[str, object]

    @property
    def model_warnings(self) -> list[str]:
        """What the models learned that a reader must know (a model giving every test image the same score)."""
        return [str(warning) for warning in self.record.get("model_warnings", [])]  # type: ignore[attr-defined]

    def summary_with(self, warnings: list[str]) -> dict[str, object]:
        """The summary the command line prints as JSON: ``warnings`` (the split's, the data's), then the
        models'."""
        return {**self.summary, "warnings": [*warnings, *self.model_warnings]}


def run_experiment(workspace_root: object, table: FeatureTable, split_options: SplitOptions,
                   settings: TrainSettings, name: str = "", on_round: RoundCallback | None = None,
                   stop: threading.Event | None = None, features_seconds: float = 0.0,
                   notes: tuple[str, ...] = ()) -> ExperimentResult:
    """Split ``table``, train each fold, evaluate and save the run in the workspace.

    ``notes``: what a reader of the results must know beyond what the models show (kept with the models'
    warnings, e.g. that a tuner chose the settings on these very folds).

    ``workspace_root`` is a :class:`~kayfabe_core.workspace.Workspace`. Raises
    :class:`~kayfabe_core.errors.SettingError` for a split that does not fit
    the data and :class:`~kayfabe_core.train.TrainingStopped` when stopped
    (then nothing is saved).
    """
    assert isinstance(workspace_root, Workspace)
    started = time.perf_counter()
    split = make_split(table, split_options)
    groups, _ = group_ids(table, split_options) if split.grouped_by else (None, "")
    split_seconds = time.perf_counter() - started
    # a feature table's cache entry still being written behind (the Train page's, on a quick click) is finished
    # first: written while XGBoost trained, it slowed training by twice its own time on two cores
    wait_for_cache_writes()
    models = [train_fold(table, fold, settings, groups, split_options.seed + fold.repeat,
                         (index, len(split.folds)), on_round, stop)
              for index, fold in enumerate(split.folds)]
    timings = {"features_s": features_seconds, "split_s": split_seconds,
               "train_s": time.perf_counter() - started - split_seconds}
    predictions = predictions_frame(models, table.context["item"].to_numpy(), post_values(table, groups),
                                    table.observed)
    return complete_run(workspace_root, draft_record(table, split, settings, name), models, predictions,
                        table.matrix[models[0].fold.test], table.names, split_options.seed, timings, notes)


def draft_record(table: FeatureTable, split: Split, settings: TrainSettings, name: str,
                 backend: str = "local") -> dict[str, object]:
    """Return the part of a run record known before training: name, backend, data, split, settings, sizes."""
    first = split.folds[0]
    return {
        "name": name, "backend": backend,
        "data": {"origin": table.origin, "n_images": table.n_images, "n_features": table.n_features,
                 "n_cells": int(table.matrix.nnz),  # the table's size, for the next estimate of training time
                 "n_positive": table.n_positive, "data_hash": table.data_hash(),
                 "codes_hash": table.codes_hash(),
                 "positive_name": table.positive_name, "negative_name": table.negative_name,
                 "post_level": list(table.post_level), "identifiers": list(table.identifiers),
                 "notes": list(table.notes)},
        "split": {"options": split.options.to_dict(), "grouped_by": split.grouped_by,
                  "warnings": list(split.warnings), "folds": len(split.folds),
                  "balance": class_balance(table, first).to_dict(orient="records")},
        "settings": dict(settings.values),
        "n_train": len(first.train), "n_test": len(first.test),
    }


def post_values(table: FeatureTable, groups: np.ndarray | None) -> np.ndarray:
    """Return each row's post, or the group the split kept together when posts are unknown (for the bootstrap)."""
    posts = table.context["post"].to_numpy()
    if groups is not None and table.context["post"].isna().any():
        posts = np.array([f"group {number}" for number in groups], dtype=object)
    return posts


def predictions_frame(models: list[FoldModel], items: np.ndarray, posts: np.ndarray,
                      observed: np.ndarray) -> pd.DataFrame:
    """Return every test prediction (repeat, fold, row, item, post, observed, score).

    ``items``, ``posts`` and ``observed`` hold one value per row of the feature table.
    """
    frames = []
    for model in models:
        rows = model.fold.test
        frames.append(pd.DataFrame({
            "repeat": model.fold.repeat + 1, "fold": model.fold.number + 1, "row": rows,
            "item": items[rows], "post": posts[rows],
            "observed": observed[rows].astype(int), "score": model.scores.astype(float)}))
    return pd.concat(frames, ignore_index=True)


def complete_run(workspace: Workspace, draft: dict[str, object], models: list[FoldModel],
                 predictions: pd.DataFrame, test_matrix: sp.csr_matrix, names: tuple[str, ...], seed: int,
                 timings: dict[str, float], notes: tuple[str, ...] = ()) -> ExperimentResult:
    """Evaluate trained ``models`` on their test rows, save the run and return it.

    ``draft`` is :func:`draft_record`'s dict (with any backend details added);
    ``predictions`` is :func:`predictions_frame`'s table; ``test_matrix`` holds
    the first fold's test rows; ``notes`` join the models' warnings (see :func:`run_experiment`). The boosters
    may come from anywhere (this computer or SageMaker). Raises :class:`~kayfabe_core.errors.WorkspaceError`
    when the run cannot be saved.
    """
    started = time.perf_counter()
    metrics = metrics_of_predictions(predictions, 0.5, seed).to_dict()
    fold_accuracy = _fold_accuracy(predictions)
    record = _record(draft, models, metrics, fold_accuracy, {**timings, "evaluate_s": time.perf_counter() - started})
    record["model_warnings"] = [*model_warnings(predictions, dict(draft["settings"])),  # type: ignore[call-overload]
                                *notes]
    saved = time.perf_counter()
    save_run(workspace, record, [m.booster for m in models], predictions, test_matrix, names)
    record["timings"]["save_s"] = time.perf_counter() - saved  # type: ignore[index]
    seconds = sum(record["timings"].values())  # type: ignore[attr-defined]
    return ExperimentResult(str(record["run_id"]), record, _summary(record, metrics, fold_accuracy, seconds))


def model_warnings(predictions: pd.DataFrame, settings: dict[str, object]) -> list[str]:
    """Return warnings about what the models learned: a fold whose model gives every test image the same score
    learned nothing from the features (with few images, min_child_weight and gamma can forbid every split)."""
    spread = predictions.groupby(["repeat", "fold"], sort=False)["score"].agg(lambda scores: np.ptp(scores))
    flat = int((spread.to_numpy() < 1e-9).sum())
    if not flat:
        return []
    where = "The model gives" if len(spread) == 1 else f"In {flat:,} of the {len(spread):,} folds the model gives"
    return [f"{where} every test image the same score, so every image gets the same prediction: it found "
            "nothing in the features to tell the codes apart. With few training images the settings "
            f"min_child_weight (now {float(settings.get('min_child_weight', 1)):g}) and gamma (now "  # type: ignore[arg-type]
            f"{float(settings.get('gamma', 0)):g}) "  # type: ignore[arg-type]
            "can forbid every split: try the “XGBoost defaults” preset, or code more images."]


def _fold_accuracy(predictions: pd.DataFrame) -> list[float]:
    return [float(value) for value in fold_accuracies(predictions, 0.5)["accuracy"]]


def _record(draft: dict[str, object], models: list[FoldModel], metrics: dict[str, object],
            fold_accuracy: list[float], timings: dict[str, float]) -> dict[str, object]:
    first = models[0]
    return {
        "run_id": new_run_id(), "created_at": datetime.now(UTC).isoformat(timespec="seconds"), **draft,
        "folds": [{"repeat": m.fold.repeat + 1, "fold": m.fold.number + 1, "n_train": len(m.fold.train),
                   "n_test": len(m.fold.test), "accuracy": accuracy, "rounds_kept": m.best_round,
                   "seconds": m.seconds} for m, accuracy in zip(models, fold_accuracy, strict=True)],
        "curve": {"check_name": first.check_name, "train": first.train_curve, "check": first.check_curve,
                  "best_round": first.best_round},
        "metrics": metrics, "accuracy_sd": float(np.std(fold_accuracy, ddof=1)) if len(models) > 1 else None,
        "versions": _versions(), "timings": timings,
    }


def _versions() -> dict[str, str]:
    import scipy
    import sklearn
    import xgboost

    return {"python": platform.python_version(), "xgboost": xgboost.__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__}


def _summary(record: dict[str, object], metrics: dict[str, object], fold_accuracy: list[float],
             seconds: float) -> dict[str, object]:
    intervals = metrics["intervals"]
    assert isinstance(intervals, dict)
    several = len(fold_accuracy) > 1
    summary: dict[str, object] = {
        "run_id": record["run_id"],
        "accuracy": float(np.mean(fold_accuracy)) if several else metrics["accuracy"],
        "accuracy_ci": list(intervals["accuracy"]),
        **{name: metrics[name] for name in ("precision", "recall", "f1", "roc_auc")},
        **{f"{name}_ci": list(intervals[name]) for name in ("precision", "recall", "f1", "roc_auc")},
        "confusion": {name: metrics[name] for name in ("tn", "fp", "fn", "tp")},
        "n_train": record["n_train"], "n_test": record["n_test"], "seconds": round(seconds, 3),
        "warnings": list(record.get("model_warnings", [])),  # type: ignore[call-overload]
    }
    if several:
        summary["accuracy_sd"] = record["accuracy_sd"]
        # the interval above is the pooled predictions' (as on Results): the accuracy it surrounds, beside the mean
        summary["accuracy_pooled"] = metrics["accuracy"]
        summary["folds"] = len(fold_accuracy)
    return summary
