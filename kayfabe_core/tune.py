"""Local tuning: search XGBoost settings with Optuna under one cross-validation, keep every trial, save the best.

Every trial is scored on the same folds (grouped by post unless the split
says otherwise): the mean accuracy over the folds, with its standard
deviation. Trial 0 is always the starting settings (a preset with the fixed
settings on top), so the search is judged against where it started. Optuna's
TPE sampler proposes the other trials. The trials are written to the
workspace's ``jobs`` table (kind ``tuning``) after each one, and the best
settings are trained once more with :func:`~kayfabe_core.experiment.run_experiment`
on the same folds to become a saved run.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kayfabe_core.constraints import BOOSTER_KNOBS, DEFAULT_PRESET, PRESETS, SPLIT_KNOBS, check_settings, knob_table
from kayfabe_core.errors import SettingError, TrainingStopped
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.split import Split, SplitOptions, group_ids, make_split
from kayfabe_core.train import TrainSettings, train_fold
from kayfabe_core.tune_store import (
    JOB_KIND,
    TrialRecord,
    TuningJob,
    best_trial,
    list_tunings,
    read_tuning,
    trials_frame,
    tuning_figure,
)
from kayfabe_core.workspace import Workspace

if TYPE_CHECKING:
    from kayfabe_core.experiment import ExperimentResult

Number = int | float
DEFAULT_VARIED = ("eta", "max_depth", "min_child_weight", "subsample", "colsample_bytree", "gamma")
SEARCH_RANGES: dict[str, tuple[Number, Number]] = {
    "num_boost_round": (50, 500), "eta": (0.01, 0.5), "max_depth": (2, 10), "min_child_weight": (0.0, 10.0),
    "gamma": (0.0, 10.0), "subsample": (0.5, 1.0), "colsample_bytree": (0.3, 1.0), "lambda": (0.0, 10.0),
    "alpha": (0.0, 10.0), "scale_pos_weight": (0.5, 5.0), "early_stopping_rounds": (0, 50),
}
LOG_SCALE = frozenset({"eta", "lambda", "alpha"})  # searched on a log scale (from LOG_FLOOR when a range starts at 0)
LOG_FLOOR = 0.001
MAX_TRIALS = 1000
KNOBS = knob_table(BOOSTER_KNOBS)


def _show(number: float) -> str:
    return f"{number:g}"


def parse_range(text: str) -> tuple[str, tuple[Number, Number]]:
    """Return (key, (low, high)) from ``KEY`` (the usual range) or ``KEY=LOW:HIGH``.

    Raises :class:`SettingError` for text of another shape or a key with no usual range.
    """
    key, sep, bounds = text.partition("=")
    key = key.strip()
    if not sep:
        if key not in SEARCH_RANGES:
            raise SettingError(f"There is no setting called “{key}” to tune.",
                               "The settings are: " + ", ".join(SEARCH_RANGES) + ".")
        return key, SEARCH_RANGES[key]
    low, colon, high = bounds.partition(":")
    try:
        if not colon or not key:
            raise ValueError
        return key, (float(low), float(high))
    except ValueError:
        raise SettingError(f"A range to tune must look like KEY=LOW:HIGH (or just KEY); got “{text}”.",
                           "For example: --vary max_depth=2:8 eta=0.01:0.3 subsample") from None


def _check_range(key: str, bounds: object) -> tuple[Number, Number]:
    """Return ``bounds`` as the knob's type; raise :class:`SettingError` for a range the table does not allow."""
    if key not in KNOBS:
        raise SettingError(f"There is no setting called “{key}” to tune.",
                           "The settings are: " + ", ".join(KNOBS) + ".")
    knob = KNOBS[key]
    usual = SEARCH_RANGES[key]
    example = f"For example {key}={_show(usual[0])}:{_show(usual[1])}."
    try:
        low, high = (float(end) for end in bounds)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise SettingError(f"The range searched for “{knob.title}” ({key}) must be two numbers, the lowest "
                           f"and the highest; got {bounds!r}.", example) from None
    if knob.kind is int and not (low.is_integer() and high.is_integer()):
        raise SettingError(f"The range searched for “{knob.title}” ({key}) must run between whole numbers; "
                           f"got {_show(low)}–{_show(high)}.", example)
    if not knob.low <= low <= knob.high or not knob.low <= high <= knob.high:
        raise SettingError(f"The range searched for “{knob.title}” ({key}) must lie between {_show(knob.low)} and "
                           f"{_show(knob.high)}; got {_show(low)}–{_show(high)}.",
                           f"Choose both ends inside that range. {example}")
    if low > high:
        raise SettingError(f"The range searched for “{knob.title}” ({key}) starts above where it ends: "
                           f"{_show(low)}–{_show(high)}.", f"Give the lowest value first. {example}")
    return (int(low), int(high)) if knob.kind is int else (low, high)


@dataclass(frozen=True)
class TuneOptions:
    """What to search and how long.

    ``knobs`` maps each booster setting to vary to its (low, high) range, inside
    the range of :data:`~kayfabe_core.constraints.BOOSTER_KNOBS`. ``trials``
    counts every setting tried, the start (trial 0) included. ``timeout_s``
    stops starting new trials after that many seconds. ``folds`` is the
    cross-validation every trial shares; ``seed`` seeds the sampler. The start
    is ``start_preset`` with ``fixed`` on top; the settings not varied keep
    those values in every trial.
    """

    knobs: Mapping[str, tuple[Number, Number]] = field(
        default_factory=lambda: {key: SEARCH_RANGES[key] for key in DEFAULT_VARIED})
    trials: int = 30
    timeout_s: float | None = None
    folds: int = 5
    seed: int = 2021
    start_preset: str = DEFAULT_PRESET
    fixed: Mapping[str, object] = field(default_factory=dict)

    def checked(self) -> TuneOptions:
        """Return a copy with every range and setting converted and checked.

        Raises :class:`SettingError` for an unknown setting, a range outside the
        constraints table, too few trials or folds, a time limit of 0 or less,
        or an unknown preset.
        """
        if not self.knobs:
            raise SettingError("Choose at least one setting to tune.",
                               "For example the learning rate (eta) and the tree depth (max_depth).")
        knobs = {key: _check_range(key, bounds) for key, bounds in self.knobs.items()}
        if not 2 <= self.trials <= MAX_TRIALS:
            raise SettingError(f"Tuning needs between 2 and {MAX_TRIALS:,} trials (the starting settings and at "
                               f"least one other); got {self.trials}.", "Try 30 trials to begin with.")
        if not 2 <= self.folds <= 10:
            raise SettingError(f"Tuning compares settings by cross-validation, which needs 2 to 10 folds; got "
                               f"{self.folds}.", "Use 5 folds (fewer when there are few posts).")
        if self.timeout_s is not None and not self.timeout_s > 0:
            raise SettingError(f"The time limit must be more than 0 seconds; got {self.timeout_s:g}.",
                               "Leave it out to run every trial.")
        check_settings(SPLIT_KNOBS, {"seed": self.seed})
        fixed = check_settings(BOOSTER_KNOBS, self.fixed)
        TrainSettings.from_choices(self.start_preset, fixed)
        return replace(self, knobs=knobs, fixed=fixed)

    def start_settings(self) -> TrainSettings:
        """Return trial 0's settings: the preset with ``fixed`` on top (raises :class:`SettingError`)."""
        return TrainSettings.from_choices(self.start_preset, self.fixed)

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "knobs": {key: list(bounds) for key, bounds in self.knobs.items()},
                "fixed": dict(self.fixed)}


@dataclass(frozen=True)
class TuneReport:
    """Where tuning stands (for a progress bar and a live plot): sent before each fold and after each trial."""

    trial: int  # number of the trial running (or just finished)
    trials: int  # trials planned
    fold: int  # folds done in this trial
    folds: int
    finished: tuple[TrialRecord, ...]

    @property
    def done(self) -> float:
        """Return the share of the planned work done, 0 to 1."""
        return min((len(self.finished) + (self.fold / self.folds if self.fold < self.folds else 0)) / self.trials,
                   1.0)

    @property
    def best(self) -> TrialRecord | None:
        return best_trial(self.finished)


TuneCallback = Callable[[TuneReport], None]


@dataclass(frozen=True, eq=False)
class TuneResult:
    """The outcome: the best settings against the start, every trial, the saved run and stored job.

    ``best_params`` holds the varied settings and any setting that differs
    from the default preset, so ``--param KEY=VALUE`` for each reproduces the
    best with ``train``. ``run_id`` and ``best_run`` (the saved run, its record and models' warnings) are None
    when tuning was stopped.
    """

    best_params: dict[str, Number]
    best_settings: dict[str, Number]
    best_trial: int
    best_score: float
    best_score_sd: float
    baseline_settings: dict[str, Number]
    baseline_score: float
    baseline_sd: float
    trials: pd.DataFrame  # number, state, accuracy, sd, seconds, params, same_as, best_so_far
    stopped: bool
    message: str
    run_id: str | None
    job_id: str
    grouped_by: str
    warnings: tuple[str, ...]
    seconds: float
    best_run: ExperimentResult | None = None

    def summary_with(self, warnings: list[str]) -> dict[str, object]:
        """Return what ``tune --json`` prints: :meth:`summary`, with ``warnings`` (the split's, the data's) and
        then the saved run's models' warnings, joined as ``train --json`` joins them."""
        joined = self.best_run.summary_with(warnings)["warnings"] if self.best_run else list(warnings)
        return {**self.summary(), "warnings": joined}

    def summary(self) -> dict[str, object]:
        """Return what ``tune --json`` prints."""
        complete = int((self.trials["state"] == "complete").sum())
        return {"best_params": self.best_params, "best_score": self.best_score, "best_score_sd": self.best_score_sd,
                "baseline_score": self.baseline_score, "baseline_sd": self.baseline_sd, "trials": complete,
                "best_trial": self.best_trial, "run_id": self.run_id, "job_id": self.job_id,
                "stopped": self.stopped, "message": self.message, "grouped_by": self.grouped_by,
                "seconds": round(self.seconds, 3)}


def tune(workspace: Workspace, table: FeatureTable, split_options: SplitOptions, options: TuneOptions,
         name: str = "", on_trial: TuneCallback | None = None, stop: threading.Event | None = None) -> TuneResult:
    """Search settings on ``table``, store every trial in the workspace, and save the best as a run.

    ``split_options`` says how to keep images together (its method, grouping
    columns and seed); the folds come from ``options.folds``, one repeat.
    When ``stop`` is set, the trials done are kept and returned
    (``stopped``), and no run is saved. Raises :class:`SettingError` for
    options or a split that do not fit the data, and
    :class:`~kayfabe_core.train.TrainingStopped` when stopped before the
    starting settings were measured (then nothing is saved).
    """
    started = time.perf_counter()
    options = options.checked()
    split = make_split(table, replace(split_options, folds=options.folds, repeats=1))
    job = TuningJob(workspace, table, split, options)
    search = _Search(table, split, options, on_trial, stop or threading.Event(), job.save)
    try:
        search.run()
    except BaseException:
        if any(record.state == "complete" for record in search.records):
            job.save(search.records, "failed")  # keep what was measured, say it did not finish
        raise
    best = best_trial(search.records)
    if best is None:
        raise TrainingStopped("Tuning was stopped before the starting settings were measured; nothing was saved.",
                              "Press Tune again to start over.")
    baseline = search.records[0]
    settings = search.settings_for(best.params)
    done = sum(record.state == "complete" for record in search.records)
    best_run = None if search.stopped else _save_best_run(workspace, table, split.options, settings, done, name,
                                                          stop)
    run_id = best_run.run_id if best_run else None
    stopped = search.stopped or run_id is None
    message = _message(stopped, search.timed_out, done, options)
    best_params = {key: value for key, value in settings.values.items()
                   if key in options.knobs or value != PRESETS[DEFAULT_PRESET][key]}
    job.save(search.records, "stopped" if stopped else "finished",
             {"best_trial": best.number, "best_params": best_params, "run_id": run_id, "message": message})
    return TuneResult(best_params, dict(settings.values), best.number, best.accuracy, best.sd,
                      dict(search.settings_for(baseline.params).values), baseline.accuracy, baseline.sd,
                      trials_frame(search.records), stopped, message, run_id, job.job_id, split.grouped_by,
                      split.warnings, time.perf_counter() - started, best_run)


def _save_best_run(workspace: Workspace, table: FeatureTable, split_options: SplitOptions, settings: TrainSettings,
                   done: int, name: str, stop: threading.Event | None) -> ExperimentResult | None:
    from kayfabe_core.experiment import run_experiment

    try:
        note = (f"A tuner chose these settings as the best of {done} trials scored on these same folds, so these "
                "figures flatter them a little: confirm the gain over other seeds (Repeat on the Runs page) or on new "
                "data before believing it.")
        return run_experiment(workspace, table, split_options, settings, name or f"tuned (best of {done} trials)",
                              stop=stop, notes=(note,))
    except TrainingStopped:
        return None


def _message(stopped: bool, timed_out: bool, done: int, options: TuneOptions) -> str:
    if stopped:
        return (f"Tuning was stopped after {done} of {options.trials} trials: the best so far is shown and every "
                "trial is kept, but no run was saved. Train one with these settings on the Train page, or with "
                "`train` and the settings shown as --param.")
    if timed_out:
        return f"The time limit ({options.timeout_s:g} s) ended the search after {done} of {options.trials} trials."
    return ""


class _Search:
    """One Optuna study over the varied settings; trial 0 is the start, measured on the same folds."""

    def __init__(self, table: FeatureTable, split: Split, options: TuneOptions, on_trial: TuneCallback | None,
                 stop: threading.Event, on_record: Callable[[list[TrialRecord], str], None]) -> None:
        self.table, self.split, self.options = table, split, options
        self.on_trial, self.stop, self.on_record = on_trial, stop, on_record
        self.groups = group_ids(table, split.options)[0] if split.grouped_by else None
        self.start = options.start_settings()
        self.records: list[TrialRecord] = []
        self.seen: dict[tuple[tuple[str, Number], ...], TrialRecord] = {}
        self.stopped = self.timed_out = False

    def settings_for(self, params: Mapping[str, Number]) -> TrainSettings:
        return TrainSettings.from_choices(self.options.start_preset, {**self.options.fixed, **params})

    def run(self) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        started = time.monotonic()
        start_params = {key: self.start.values[key] for key in self.options.knobs}
        baseline = self._measure(start_params)
        if baseline is None:
            return
        sampler = optuna.samplers.TPESampler(seed=self.options.seed, multivariate=True,
                                             n_startup_trials=max(3, min(10, self.options.trials // 3)))
        study = optuna.create_study(direction="maximize", sampler=sampler)
        distributions = {key: _distribution(key, *bounds) for key, bounds in self.options.knobs.items()}
        if all(dist.low <= start_params[key] <= dist.high for key, dist in distributions.items()):
            # the sampler learns from the start too (a start outside the ranges is measured but not shown to it)
            study.add_trial(optuna.trial.create_trial(params=start_params, distributions=distributions,
                                                      value=baseline.accuracy))
        timeout = None if self.options.timeout_s is None else self.options.timeout_s - (time.monotonic() - started)
        if timeout is not None and timeout <= 0:
            self.timed_out = True
            return

        def objective(trial: optuna.Trial) -> float:
            params = {key: _suggest(trial, key, *bounds) for key, bounds in self.options.knobs.items()}
            record = self._measure(params)
            if record is None:
                study.stop()
                raise optuna.TrialPruned()
            return record.accuracy

        def check(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            if self.stop.is_set():
                self.stopped = True
                study.stop()

        study.optimize(objective, n_trials=self.options.trials - 1, timeout=timeout, callbacks=[check],
                       gc_after_trial=False)
        self.timed_out = not self.stopped and len(self.records) < self.options.trials

    def _measure(self, params: dict[str, Number]) -> TrialRecord | None:
        """Cross-validate ``params``; return its record, or None when stopped (a ``stopped`` record is kept)."""
        number, key = len(self.records), tuple(sorted(params.items()))
        if key in self.seen:
            earlier = self.seen[key]
            record = replace(earlier, number=number, seconds=0.0, same_as=earlier.number)
        else:
            record = self._cross_validate(number, params)
        self.records.append(record)
        if record.state != "complete":
            self.stopped = True  # tune() stores the job once more at the end
            return None
        self.seen.setdefault(key, record)
        self.on_record(self.records, "running")
        self._report(number, len(self.split.folds))
        return record

    def _cross_validate(self, number: int, params: dict[str, Number]) -> TrialRecord:
        began = time.perf_counter()
        settings = self.settings_for(params)
        accuracies: list[float] = []
        folds = self.split.folds
        try:
            for index, fold in enumerate(folds):
                if self.stop.is_set():
                    raise TrainingStopped("stopped")
                self._report(number, index)
                model = train_fold(self.table, fold, settings, self.groups, self.split.options.seed + fold.repeat,
                                   (index, len(folds)), stop=self.stop)
                accuracies.append(float(((model.scores >= 0.5) == self.table.observed[fold.test]).mean()))
        except TrainingStopped:
            return TrialRecord(number, params, math.nan, math.nan, tuple(accuracies), time.perf_counter() - began,
                               "stopped")
        return TrialRecord(number, params, float(np.mean(accuracies)), float(np.std(accuracies, ddof=1)),
                           tuple(accuracies), time.perf_counter() - began)

    def _report(self, number: int, fold: int) -> None:
        if self.on_trial is not None:
            self.on_trial(TuneReport(number, self.options.trials, fold, len(self.split.folds), tuple(self.records)))


def _distribution(key: str, low: Number, high: Number) -> Any:
    """Return the Optuna distribution searched for ``key``: whole numbers, a log scale, or a plain range."""
    from optuna.distributions import FloatDistribution, IntDistribution

    if KNOBS[key].kind is int:
        return IntDistribution(int(low), int(high))
    if key in LOG_SCALE and high > LOG_FLOOR:
        return FloatDistribution(max(float(low), LOG_FLOOR), float(high), log=True)
    return FloatDistribution(float(low), float(high))


def _suggest(trial: Any, key: str, low: Number, high: Number) -> Number:
    """Return Optuna's proposal for ``key``, floats kept to 3 significant digits and inside the range."""
    distribution = _distribution(key, low, high)
    if KNOBS[key].kind is int:
        return int(trial.suggest_int(key, distribution.low, distribution.high))
    value = trial.suggest_float(key, distribution.low, distribution.high, log=distribution.log)
    return min(max(float(f"{value:.3g}"), float(low)), float(high))


__all__ = ["JOB_KIND", "TrialRecord", "best_trial", "list_tunings", "read_tuning", "trials_frame",
           "tuning_figure"]
