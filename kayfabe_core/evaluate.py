"""How good is a model: the confusion matrix and metrics at a threshold, with bootstrap intervals.

Intervals resample whole posts (a cluster bootstrap) when the split knows the
posts, because images of one post are not independent; otherwise images.
Everything is computed from (observed code, score) pairs, so a threshold
slider needs no model.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import precision_recall_curve, roc_curve

METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "roc_auc")
METRIC_TITLES = {"accuracy": "Accuracy", "precision": "Precision", "recall": "Recall", "f1": "F1",
                 "roc_auc": "ROC AUC"}
N_BOOT = 1000
CHUNK = 100  # resamples drawn at a time ...
CHUNK_CELLS = 2_000_000  # ... or fewer, so that a chunk's draws stay about this many (memory: a few 10 MB each)


@dataclass(frozen=True)
class Metrics:
    """Confusion counts and metrics at ``threshold``; ``intervals`` maps a metric to its 95 % interval."""

    threshold: float
    tn: int
    fp: int
    fn: int
    tp: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.tn + self.fp + self.fn + self.tp

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def compute_metrics(observed: np.ndarray, scores: np.ndarray, threshold: float = 0.5,
                    groups: np.ndarray | None = None, n_boot: int = N_BOOT, seed: int = 0,
                    auc_interval: tuple[float, float] | None = None) -> Metrics:
    """Return :class:`Metrics` for scores cut at ``threshold`` (predicted YES when score ≥ threshold).

    ``groups`` (e.g. post of each image) makes the bootstrap resample groups.
    Precision (or AUC) is NaN when nothing is predicted YES (or one code is absent). ``auc_interval``, the
    AUC's interval already drawn with this ``seed`` (it does not depend on the threshold), spares drawing it
    again: most of the bootstrap's time at large sizes.
    """
    observed = np.asarray(observed).astype(bool)
    scores = np.asarray(scores, dtype=float)
    point = _weighted_metrics(np.ones((1, len(observed))), observed, scores, threshold)
    values = {name: float(point[name][0]) for name in METRIC_NAMES}
    intervals = bootstrap_intervals(observed, scores, threshold, groups, n_boot, seed,
                                    auc=auc_interval is None) if n_boot else {}
    if intervals and auc_interval is not None:
        intervals["roc_auc"] = (float(auc_interval[0]), float(auc_interval[1]))
    tn, fp, fn, tp = (int(round(point[name][0])) for name in ("tn", "fp", "fn", "tp"))
    return Metrics(threshold, tn, fp, fn, tp, values["accuracy"], values["precision"], values["recall"],
                   values["f1"], values["roc_auc"], intervals)


def metrics_of_predictions(predictions: pd.DataFrame, threshold: float, seed: int,
                           n_boot: int = N_BOOT, auc_interval: tuple[float, float] | None = None) -> Metrics:
    """Return a run's :class:`Metrics` from its test predictions (columns observed, score, post).

    Posts are resampled when every prediction knows its post, else images (an image tested in several
    repeats is one draw, with all its predictions: drawn apart they made the interval too narrow). ``seed`` is
    the run's split seed: the run record and the Results page give the same intervals at the same threshold.
    """
    groups = predictions["post"].to_numpy() if predictions["post"].notna().all() else \
        predictions["row"].to_numpy() if "row" in predictions else None
    return compute_metrics(predictions["observed"].to_numpy(), predictions["score"].to_numpy(), threshold, groups,
                           n_boot, seed, auc_interval)


def bootstrap_intervals(observed: np.ndarray, scores: np.ndarray, threshold: float, groups: np.ndarray | None,
                        n_boot: int = N_BOOT, seed: int = 0, auc: bool = True) -> dict[str, tuple[float, float]]:
    """Return the 2.5th and 97.5th percentiles of each metric over ``n_boot`` resamples (without ``auc``, the
    AUC's is NaN: the same draws, without the sums per score level)."""
    group_index = pd.factorize(groups, use_na_sentinel=False)[0] if groups is not None else np.arange(len(observed))
    n_groups = int(group_index.max()) + 1 if len(group_index) else 0
    # A resample draws whole groups, so every sum it needs is a sum over groups: add up each group once
    # (its images in each confusion cell, its YES and NO images at each score) instead of per image and draw.
    sums = _group_sums(observed, scores, scores >= threshold, group_index, n_groups, auc)
    chunk = max(1, min(CHUNK, CHUNK_CELLS // max(n_groups, 1)))

    def resample(start: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        size = min(chunk, n_boot - start)
        # how often each group is drawn in each resample: n_groups draws with replacement (a multinomial)
        dtype = np.int32 if n_groups < 2**31 else np.int64  # int32: half the memory to walk
        draws = rng.integers(0, n_groups, size=(size, n_groups), dtype=dtype)
        counts = np.empty((size, n_groups), dtype=np.float32)
        for row, drawn in enumerate(draws):  # one resample at a time stays in the CPU cache: twice as fast as
            counts[row] = np.bincount(drawn, minlength=n_groups)  # one bincount over the whole chunk
        # groups x resamples, so that the sums come out sums x resamples, each resample's down a column. All of
        # them in one sparse product, not BLAS: OpenBLAS's own threads would fight the chunks' for the cores.
        drawn_sums = sums.by_group @ np.ascontiguousarray(counts.T)
        tp, fp, fn, tn = drawn_sums[:4].astype(float)
        return _metrics_from_counts(tp, fp, fn, tn, _resampled_auc(sums, drawn_sums[4:], tp + fn, fp + tn)
                                    if auc else np.full(size, np.nan))

    starts = range(0, n_boot, chunk)
    # each chunk its own random stream (the same whatever the number of threads), in worker threads: in the
    # main thread glibc hands each large array back to the system when freed and faults it in again (twice as
    # slow); the draws and the sparse products leave the interpreter lock, so the chunks share the cores (the
    # bincounts and cumulative sums keep it)
    with ThreadPoolExecutor(max_workers=max(1, min(len(starts), os.cpu_count() or 1))) as pool:
        chunks = list(pool.map(resample, starts, np.random.default_rng(seed).spawn(len(starts))))
    samples = {name: [drawn[name] for drawn in chunks] for name in METRIC_NAMES}
    intervals = {}
    for name in METRIC_NAMES:
        values = np.concatenate(samples[name])
        values = values[~np.isnan(values)]
        intervals[name] = (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))) \
            if values.size else (float("nan"), float("nan"))
    return intervals


@dataclass(frozen=True)
class _GroupSums:
    """Each group's images in every sum a resample needs: one row of ``by_group`` per sum, one column per group.

    Rows 0 to 3: the images in each confusion cell (tp, fp, fn, tn). Then, for the AUC, whose numerator is
    sum_k P_k (B_k + T_k / 2) over the ``yes_levels`` score levels k that hold YES images (ascending; P_k the
    YES images at k, B_k the NO images below k, T_k the NO images tied at k): rows P_k; rows D_k, the NO
    images below k but not below the YES level before it (that level's ties included), so that B is D's
    cumulative sum; and rows T_k for the ``tied`` levels (their index in k) only, T being nought elsewhere.
    Fewer rows than a YES and a NO histogram over every level, and no cumulative sum over the NO levels.
    """

    by_group: sp.csr_matrix
    yes_levels: int
    tied: np.ndarray


def _group_sums(observed: np.ndarray, scores: np.ndarray, predicted: np.ndarray, group_index: np.ndarray,
                n_groups: int, auc: bool) -> _GroupSums:
    """Return :class:`_GroupSums` for the images' codes, scores, predictions and groups (without ``auc``, the
    confusion cells only)."""
    rows, columns = [2 * ~predicted + ~observed], [group_index]  # tp 0, fp 1, fn 2, tn 3
    n = 0
    tied_at = np.zeros(0, dtype=np.intp)
    if auc:
        level = _score_levels(observed, scores)
        n_levels = int(level.max()) + 1 if len(level) else 0
        has_yes = np.bincount(level[observed], minlength=n_levels) > 0
        tied = has_yes & (np.bincount(level[~observed], minlength=n_levels) > 0)
        n, tied_at = int(has_yes.sum()), np.flatnonzero(tied[has_yes])
        yes_up_to = np.cumsum(has_yes)  # YES levels at or below each level: the index of the next one above
        no_level, no_group = level[~observed], group_index[~observed]
        below = yes_up_to[no_level] < n  # NO images under the top YES level (those above it beat none)
        tie = tied[no_level]
        rows += [4 + yes_up_to[level[observed]] - 1, 4 + n + yes_up_to[no_level[below]],
                 4 + 2 * n + (np.cumsum(tied) - 1)[no_level[tie]]]
        columns += [group_index[observed], no_group[below], no_group[tie]]
    row, column = np.concatenate(rows), np.concatenate(columns)
    # float32 like the draws' counts: every sum is a whole number below 2**24, exact (duplicates add up)
    by_group = sp.csr_matrix((np.ones(len(row), dtype=np.float32), (row, column)),
                             shape=(4 + 2 * n + len(tied_at), n_groups))
    return _GroupSums(by_group, n, tied_at)


def _resampled_auc(sums: _GroupSums, drawn: np.ndarray, positives: np.ndarray,
                   negatives: np.ndarray) -> np.ndarray:
    """ROC AUC per resample, a column of ``drawn`` (the AUC's rows of ``sums.by_group`` times how often the
    resample draws each group), given its YES and NO images. The same, bit for bit, as
    :func:`_auc_from_histograms` on the same draws: every sum in both is a whole number (or a half), exact.
    """
    n = sums.yes_levels
    yes, below = drawn[:n], np.cumsum(drawn[n:2 * n], axis=0)  # B: float32, whole numbers below 2**24
    with np.errstate(invalid="ignore", divide="ignore"):
        wins = (np.einsum("kr,kr->r", yes, below, dtype=np.float64)  # float64: the products may pass 2**24
                + 0.5 * np.einsum("kr,kr->r", yes[sums.tied], drawn[2 * n:], dtype=np.float64))
        return wins / (positives * negatives)


def _score_levels(observed: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Return each image's rank among the distinct scores, neighbouring ranks that hold only YES (or only NO)
    images merged: they compare alike with every image of the other code, so the AUC is the same, on
    fewer columns.
    """
    _, position = np.unique(scores, return_inverse=True)
    if not len(position):
        return position
    has_yes = np.bincount(position, weights=observed) > 0
    has_no = np.bincount(position, weights=~observed) > 0
    kind = np.where(has_yes & has_no, 2, has_yes.astype(int))
    starts = np.concatenate([[True], (kind[1:] != kind[:-1]) | (kind[1:] == 2)])
    return (np.cumsum(starts) - 1)[position]


def _weighted_metrics(weights: np.ndarray, observed: np.ndarray, scores: np.ndarray,
                      threshold: float) -> dict[str, np.ndarray]:
    """Metrics for each row of ``weights`` (one resample per row: how often each image is drawn)."""
    predicted = scores >= threshold
    tp = weights @ (observed & predicted)
    fp = weights @ (~observed & predicted)
    fn = weights @ (observed & ~predicted)
    tn = weights @ (~observed & ~predicted)
    return _metrics_from_counts(tp, fp, fn, tn, _weighted_auc(weights, observed, scores))


def _metrics_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray,
                         auc: np.ndarray) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"tp": tp, "fp": fp, "fn": fn, "tn": tn,
                "accuracy": (tp + tn) / (tp + tn + fp + fn),
                "precision": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
                "recall": np.where(tp + fn > 0, tp / (tp + fn), np.nan),
                "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan),
                "roc_auc": auc}


def _weighted_auc(weights: np.ndarray, observed: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC per row of ``weights``: chance a drawn YES scores above a drawn NO (ties count half)."""
    unique, position = np.unique(scores, return_inverse=True)
    rows = np.arange(len(scores))
    by_score = sp.csr_matrix((np.ones(len(scores)), (rows, position)), shape=(len(scores), len(unique)))
    positive = np.asarray((by_score.T @ (weights * observed).T).T)
    negative = np.asarray((by_score.T @ (weights * ~observed).T).T)
    return _auc_from_histograms(positive, negative)


def _auc_from_histograms(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """ROC AUC per row, from the weight of YES and of NO images at each distinct score (ascending).

    Works along the last axis; pass transposed views of C-ordered (score x resample) arrays for speed.
    """
    positive, negative = positive.T, negative.T  # scores x resamples: cumsum down contiguous rows
    below = np.cumsum(negative, axis=0) - negative
    with np.errstate(invalid="ignore", divide="ignore"):
        wins = np.multiply(positive, below + 0.5 * negative, dtype=np.float64).sum(axis=0)  # may pass 2**24
        return wins / (positive.sum(axis=0, dtype=np.float64) * negative.sum(axis=0, dtype=np.float64))


def fold_accuracies(predictions: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """Return each model's test accuracy at ``threshold``: columns repeat, fold, accuracy, in the order the
    predictions list them (``predictions`` as a run saves them: repeat, fold, observed, score)."""
    hits = (predictions["score"].to_numpy() >= threshold) == (predictions["observed"].to_numpy() == 1)
    keyed = pd.DataFrame({"repeat": predictions["repeat"].to_numpy(), "fold": predictions["fold"].to_numpy(),
                          "accuracy": hits})  # by position: the frame's own index may be anything
    return keyed.groupby(["repeat", "fold"], sort=False)["accuracy"].mean().reset_index()


def folds_at(record: dict[str, Any], predictions: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Return the run's folds (``record["folds"]``: repeat, fold, sizes, rounds kept, seconds) with each model's
    accuracy at ``threshold`` instead of the one saved at 0.5."""
    saved = pd.DataFrame(record["folds"])
    at = fold_accuracies(predictions, threshold)
    return saved.drop(columns="accuracy").merge(at, on=["repeat", "fold"], how="left")[saved.columns]


def accuracy_spread(predictions: pd.DataFrame, threshold: float) -> float | None:
    """Return the standard deviation (sample) of the models' accuracies at ``threshold``; None for one model."""
    accuracies = fold_accuracies(predictions, threshold)["accuracy"]
    return float(accuracies.std(ddof=1)) if len(accuracies) > 1 else None


def roc_points(observed: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """Return the ROC curve: columns false_positive_rate, true_positive_rate, threshold."""
    fpr, tpr, thresholds = roc_curve(observed, scores)
    return pd.DataFrame({"false_positive_rate": fpr, "true_positive_rate": tpr,
                         "threshold": np.minimum(thresholds, 1.0)})


def precision_recall_points(observed: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """Return the precision-recall curve: columns recall, precision, threshold."""
    precision, recall, thresholds = precision_recall_curve(observed, scores)
    return pd.DataFrame({"recall": recall, "precision": precision,
                         "threshold": np.append(thresholds, 1.0)})


def calibration_points(observed: np.ndarray, scores: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Return, per bin of scores (about equal counts), mean score, observed YES share and images."""
    frame = pd.DataFrame({"score": scores, "observed": np.asarray(observed, dtype=float)})
    frame["bin"] = pd.qcut(frame["score"].rank(method="first"), q=min(bins, len(frame)), labels=False)
    grouped = frame.groupby("bin").agg(mean_score=("score", "mean"), observed_share=("observed", "mean"),
                                       images=("score", "size"))
    return grouped.reset_index(drop=True)
