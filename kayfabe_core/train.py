"""Train XGBoost on one fold on this computer, round by round, with a learning curve and a stop button.

The curve compares the training images with a check set: 15 % of the
training images (grouped like the split) when early stopping is on, so the
test images never choose anything; otherwise the test images, shown only to
watch, never used to decide.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xgboost as xgb

from kayfabe_core.constraints import BOOSTER_KNOBS, DEFAULT_PRESET, PRESETS, check_settings, find_preset
from kayfabe_core.errors import TrainingStopped
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.split import Fold, grouped_holdout

VALIDATION_SHARE = 0.15


@dataclass(frozen=True)
class TrainSettings:
    """Checked booster settings (every key of :data:`~kayfabe_core.constraints.BOOSTER_KNOBS`)."""

    values: Mapping[str, int | float]

    @classmethod
    def from_choices(cls, preset: str | None = None, overrides: Mapping[str, object] | None = None) -> TrainSettings:
        """Return a preset (default: the original study's) with ``overrides`` on top, all checked.

        Raises :class:`~kayfabe_core.errors.SettingError` for an unknown preset, key or out-of-range value.
        """
        base = find_preset(preset) if preset else dict(PRESETS[DEFAULT_PRESET])
        base.update(check_settings(BOOSTER_KNOBS, overrides or {}))
        return cls(check_settings(BOOSTER_KNOBS, base))

    @property
    def rounds(self) -> int:
        return int(self.values["num_boost_round"])

    @property
    def early_stopping(self) -> int:
        return int(self.values["early_stopping_rounds"])

    def booster_params(self, seed: int) -> dict[str, Any]:
        """Return the parameters for ``xgboost.train`` (rounds and early stopping are passed apart)."""
        params: dict[str, Any] = {key: value for key, value in self.values.items()
                                  if key not in ("num_boost_round", "early_stopping_rounds")}
        params.update(objective="binary:logistic", eval_metric="logloss", tree_method="hist",
                      seed=seed, nthread=os.cpu_count() or 1)
        return params


@dataclass(frozen=True)
class RoundReport:
    """Where training stands after one boosting round (for a progress bar and a live curve)."""

    fold_index: int
    n_folds: int
    round: int
    rounds: int
    train_loss: float
    check_loss: float
    check_name: str


RoundCallback = Callable[[RoundReport], None]


@dataclass(frozen=True, eq=False)
class FoldModel:
    """One fold's trained booster, its test scores and learning curve."""

    fold: Fold
    booster: xgb.Booster
    scores: np.ndarray  # probability of YES for each test row, in fold.test order
    train_curve: list[float]
    check_curve: list[float]
    check_name: str  # "validation" (early stopping) or "test"
    best_round: int  # 1-based number of rounds kept
    seconds: float


def train_fold(table: FeatureTable, fold: Fold, settings: TrainSettings, groups: np.ndarray | None, seed: int,
               position: tuple[int, int] = (0, 1), on_round: RoundCallback | None = None,
               stop: threading.Event | None = None) -> FoldModel:
    """Train one booster on ``fold.train`` and score ``fold.test``.

    ``position`` is (this fold's index, number of folds) for progress reports.
    Raises :class:`TrainingStopped` when ``stop`` is set during training.
    """
    started = time.perf_counter()
    fit_rows, check_rows, check_name = fit_and_check_rows(table, fold, settings, groups, seed)
    dtrain = xgb.DMatrix(table.matrix[fit_rows], label=table.observed[fit_rows], nthread=-1)
    dcheck = xgb.DMatrix(table.matrix[check_rows], label=table.observed[check_rows], nthread=-1)
    curves: dict[str, dict[str, list[float]]] = {}
    watcher = _Watcher(settings.rounds, position, check_name, on_round, stop)
    booster = xgb.train(settings.booster_params(seed), dtrain, num_boost_round=settings.rounds,
                        evals=[(dtrain, "train"), (dcheck, check_name)], evals_result=curves,
                        early_stopping_rounds=settings.early_stopping or None, verbose_eval=False,
                        callbacks=[watcher])
    best_round = booster.best_iteration + 1 if settings.early_stopping else booster.num_boosted_rounds()
    dtest = dcheck if check_name == "test" else xgb.DMatrix(table.matrix[fold.test], nthread=-1)
    scores = booster.predict(dtest, iteration_range=(0, best_round))
    return FoldModel(fold, booster, scores, curves["train"]["logloss"], curves[check_name]["logloss"],
                     check_name, best_round, time.perf_counter() - started)


def fit_and_check_rows(table: FeatureTable, fold: Fold, settings: TrainSettings, groups: np.ndarray | None,
                       seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Return the rows trained on, the rows watched (the check set) and the check set's name.

    With early stopping the check set is :data:`VALIDATION_SHARE` of ``fold.train``
    (grouped like the split), named ``validation``; otherwise it is ``fold.test``,
    named ``test``, only watched.
    """
    if not settings.early_stopping:
        return fold.train, fold.test, "test"
    train = fold.train
    train_groups = groups[train] if groups is not None else train
    held = grouped_holdout(table.observed[train], train_groups, VALIDATION_SHARE, np.random.default_rng(seed))
    return train[~held], train[held], "validation"


class _Watcher(xgb.callback.TrainingCallback):
    """Reports each round and stops training when asked."""

    def __init__(self, rounds: int, position: tuple[int, int], check_name: str,
                 on_round: RoundCallback | None, stop: threading.Event | None) -> None:
        super().__init__()
        self.rounds, self.position, self.check_name = rounds, position, check_name
        self.on_round, self.stop = on_round, stop

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        if self.stop is not None and self.stop.is_set():
            raise TrainingStopped("Training was stopped before it finished; nothing was saved.",
                                  "Press Train again to start over.")
        if self.on_round is not None:
            self.on_round(RoundReport(self.position[0], self.position[1], epoch + 1, self.rounds,
                                      float(evals_log["train"]["logloss"][-1]),
                                      float(evals_log[self.check_name]["logloss"][-1]), self.check_name))
        return False
