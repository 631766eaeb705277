"""Metrics against scikit-learn, bootstrap intervals (rows and whole posts) and the curves' tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from kayfabe_core import evaluate
from kayfabe_core.evaluate import (
    METRIC_NAMES,
    _weighted_auc,
    _weighted_metrics,
    bootstrap_intervals,
    calibration_points,
    compute_metrics,
    precision_recall_points,
    roc_points,
)


def random_data(n: int, seed: int, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Codes and scores that go together a little; with ``ties`` scores take few distinct values."""
    rng = np.random.default_rng(seed)
    observed = (rng.random(n) < 0.4).astype(int)
    scores = np.clip(0.3 * observed + rng.random(n) * 0.7, 0, 1)
    if ties:
        scores = np.round(scores * 5) / 5
    return observed, scores


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("threshold", [0.2, 0.4, 0.5, 0.8])
def test_metrics_equal_sklearn(seed: int, ties: bool, threshold: float) -> None:
    observed, scores = random_data(150 + 37 * seed, seed, ties)
    metrics = compute_metrics(observed, scores, threshold, n_boot=0)
    predicted = (scores >= threshold).astype(int)
    assert metrics.threshold == threshold
    assert metrics.accuracy == pytest.approx(accuracy_score(observed, predicted), abs=1e-12)
    assert metrics.precision == pytest.approx(precision_score(observed, predicted), abs=1e-12)
    assert metrics.recall == pytest.approx(recall_score(observed, predicted), abs=1e-12)
    assert metrics.f1 == pytest.approx(f1_score(observed, predicted), abs=1e-12)
    assert metrics.roc_auc == pytest.approx(roc_auc_score(observed, scores), abs=1e-12)
    tn, fp, fn, tp = confusion_matrix(observed, predicted, labels=[0, 1]).ravel()
    assert (metrics.tn, metrics.fp, metrics.fn, metrics.tp) == (tn, fp, fn, tp)
    assert metrics.n == len(observed)
    assert metrics.intervals == {}


def test_a_score_equal_to_the_threshold_counts_as_yes() -> None:
    metrics = compute_metrics(np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.9, 0.1]), 0.5, n_boot=0)
    assert (metrics.tp, metrics.fp, metrics.tn, metrics.fn) == (2, 1, 1, 0)


def test_auc_with_all_scores_tied_is_one_half() -> None:
    metrics = compute_metrics(np.array([1, 0, 1, 0, 0]), np.full(5, 0.3), n_boot=0)
    assert metrics.roc_auc == pytest.approx(0.5)


def test_precision_is_nan_when_nothing_is_predicted_yes() -> None:
    observed, scores = random_data(100, 1)
    metrics = compute_metrics(observed, scores * 0.1, 0.5, n_boot=0)
    assert metrics.tp == metrics.fp == 0
    assert np.isnan(metrics.precision)
    assert metrics.recall == 0.0 and metrics.f1 == 0.0
    assert metrics.accuracy == pytest.approx(1 - observed.mean())
    assert not np.isnan(metrics.roc_auc)


def test_auc_and_recall_are_nan_with_one_code_only() -> None:
    metrics = compute_metrics(np.zeros(20, dtype=int), np.linspace(0, 1, 20), n_boot=50)
    assert np.isnan(metrics.roc_auc) and np.isnan(metrics.recall)
    assert np.isnan(metrics.intervals["roc_auc"][0])
    assert metrics.accuracy == pytest.approx(0.5)


def test_weighted_metrics_equal_metrics_on_repeated_rows() -> None:
    observed, scores = random_data(60, 2, ties=True)
    observed = observed.astype(bool)
    counts = np.random.default_rng(0).integers(0, 4, 60)
    weighted = _weighted_metrics(counts[None, :].astype(float), observed, scores, 0.5)
    repeated = compute_metrics(np.repeat(observed, counts), np.repeat(scores, counts), 0.5, n_boot=0)
    for name in METRIC_NAMES:
        assert weighted[name][0] == pytest.approx(getattr(repeated, name), abs=1e-12)


def test_weighted_auc_equals_sklearn_with_sample_weights() -> None:
    observed, scores = random_data(80, 3, ties=True)
    weights = np.random.default_rng(1).random((3, 80))
    aucs = _weighted_auc(weights, observed.astype(bool), scores)
    for row, auc in zip(weights, aucs, strict=True):
        assert auc == pytest.approx(roc_auc_score(observed, scores, sample_weight=row), abs=1e-12)


def test_intervals_contain_the_point_estimate_and_are_reproducible() -> None:
    observed, scores = random_data(300, 4)
    metrics = compute_metrics(observed, scores, 0.5, n_boot=300, seed=5)
    assert set(metrics.intervals) == set(METRIC_NAMES)
    for name in METRIC_NAMES:
        low, high = metrics.intervals[name]
        assert low < getattr(metrics, name) < high, name
        assert 0 <= low and high <= 1
    again = compute_metrics(observed, scores, 0.5, n_boot=300, seed=5)
    assert again.intervals == metrics.intervals
    other = compute_metrics(observed, scores, 0.5, n_boot=300, seed=6)
    assert other.intervals != metrics.intervals


def test_a_kept_auc_interval_spares_drawing_it_and_the_other_intervals_are_unchanged() -> None:
    observed, scores = random_data(400, 7)
    groups = np.arange(400) // 3
    full = compute_metrics(observed, scores, 0.3, groups, n_boot=300, seed=2)
    kept = compute_metrics(observed, scores, 0.3, groups, n_boot=300, seed=2, auc_interval=(0.25, 0.75))
    assert kept.intervals["roc_auc"] == (0.25, 0.75)
    assert {name: kept.intervals[name] for name in METRIC_NAMES if name != "roc_auc"} == \
        {name: full.intervals[name] for name in METRIC_NAMES if name != "roc_auc"}
    # the AUC's interval does not depend on the threshold: drawn at 0.5 it is the one drawn at 0.3
    assert compute_metrics(observed, scores, 0.5, groups, n_boot=300, seed=2).intervals["roc_auc"] == \
        full.intervals["roc_auc"]


def test_intervals_narrow_with_more_data() -> None:
    small = compute_metrics(*random_data(100, 7), n_boot=300)
    large = compute_metrics(*random_data(1600, 7), n_boot=300)
    for name in METRIC_NAMES:
        small_width = small.intervals[name][1] - small.intervals[name][0]
        large_width = large.intervals[name][1] - large.intervals[name][0]
        # four times narrower in theory (sqrt of 16); ask for half
        assert large_width < 0.5 * small_width, name


def test_a_cluster_bootstrap_is_wider_when_a_posts_images_agree() -> None:
    observed, scores = random_data(60, 8)
    # ten identical images per post: 600 images but only 60 independent posts
    observed, scores = np.repeat(observed, 10), np.repeat(scores, 10)
    posts = np.repeat([f"post {n}" for n in range(60)], 10)
    by_image = bootstrap_intervals(observed.astype(bool), scores, 0.5, None, n_boot=400)
    by_post = bootstrap_intervals(observed.astype(bool), scores, 0.5, posts, n_boot=400)
    for name in METRIC_NAMES:
        image_width = by_image[name][1] - by_image[name][0]
        post_width = by_post[name][1] - by_post[name][0]
        assert post_width > 2 * image_width, name  # about sqrt(10) ≈ 3.2 times in theory
    grouped = compute_metrics(observed, scores, 0.5, groups=posts, n_boot=400)
    assert grouped.intervals == by_post


def test_one_group_per_image_is_the_row_bootstrap() -> None:
    observed, scores = random_data(200, 9)
    rows = bootstrap_intervals(observed.astype(bool), scores, 0.5, None, n_boot=200, seed=1)
    groups = bootstrap_intervals(observed.astype(bool), scores, 0.5, np.arange(200), n_boot=200, seed=1)
    assert rows == groups


def test_n_boot_not_a_multiple_of_the_chunk() -> None:
    observed, scores = random_data(100, 10)
    metrics = compute_metrics(observed, scores, n_boot=150)
    assert all(low <= high for low, high in metrics.intervals.values())


def test_to_dict_keeps_counts_metrics_and_intervals() -> None:
    metrics = compute_metrics(*random_data(100, 11), n_boot=20)
    data = metrics.to_dict()
    assert {"threshold", "tn", "fp", "fn", "tp", *METRIC_NAMES, "intervals"} == set(data)
    assert data["accuracy"] == metrics.accuracy


def test_roc_points() -> None:
    observed, scores = random_data(200, 12, ties=True)
    points = roc_points(observed, scores)
    fpr, tpr, thresholds = roc_curve(observed, scores)
    assert list(points.columns) == ["false_positive_rate", "true_positive_rate", "threshold"]
    assert len(points) == len(fpr)
    assert np.array_equal(points["false_positive_rate"], fpr) and np.array_equal(points["true_positive_rate"], tpr)
    assert points["threshold"].max() <= 1.0 and np.isfinite(points["threshold"]).all()
    assert (points.iloc[0]["false_positive_rate"], points.iloc[-1]["true_positive_rate"]) == (0.0, 1.0)


def test_precision_recall_points() -> None:
    observed, scores = random_data(200, 13, ties=True)
    points = precision_recall_points(observed, scores)
    precision, recall, thresholds = precision_recall_curve(observed, scores)
    assert list(points.columns) == ["recall", "precision", "threshold"]
    assert len(points) == len(precision) == len(thresholds) + 1
    assert np.array_equal(points["precision"], precision)
    assert points["threshold"].iloc[-1] == 1.0


@pytest.mark.parametrize(("n", "bins", "rows"), [(200, 10, 10), (200, 4, 4), (7, 10, 7)])
def test_calibration_points(n: int, bins: int, rows: int) -> None:
    observed, scores = random_data(n, 14)
    points = calibration_points(observed, scores, bins)
    assert list(points.columns) == ["mean_score", "observed_share", "images"]
    assert len(points) == rows
    assert points["images"].sum() == n
    assert points["images"].max() - points["images"].min() <= 1
    assert points["mean_score"].is_monotonic_increasing
    assert (points["observed_share"] * points["images"]).sum() == pytest.approx(observed.sum())


def test_long_curves_are_thinned_for_drawing_keeping_their_ends() -> None:
    from kayfabe_core.charts_model import MAX_CURVE_POINTS, precision_recall_figure, roc_figure, thinned

    rng = np.random.default_rng(3)
    observed = rng.random(20_000) < 0.4
    scores = np.clip(observed * 0.3 + rng.random(20_000) * 0.7, 0, 1)
    points = roc_points(observed, scores)
    assert len(points) > 2_000
    short = thinned(points, 2_000)
    assert len(short) <= 2_000 and short.index.is_monotonic_increasing
    pd.testing.assert_frame_equal(short.iloc[[0, -1]], points.iloc[[0, -1]])
    assert len(thinned(points.head(50), 2_000)) == 50  # short curves are left whole
    metrics = compute_metrics(observed, scores, 0.5, n_boot=0)
    assert len(roc_figure(points, metrics).data[0].x) <= MAX_CURVE_POINTS
    pr_points = precision_recall_points(observed, scores)
    assert len(precision_recall_figure(pr_points, 0.4, metrics).data[0].x) <= MAX_CURVE_POINTS


def test_smaller_chunks_for_many_groups_give_the_same_intervals_up_to_chance(
        monkeypatch: pytest.MonkeyPatch) -> None:
    observed, scores = random_data(2000, 11)
    usual = bootstrap_intervals(observed.astype(bool), scores, 0.5, None, n_boot=1000)
    monkeypatch.setattr(evaluate, "CHUNK_CELLS", 2000 * 7)  # seven resamples a chunk, 143 chunks
    small = bootstrap_intervals(observed.astype(bool), scores, 0.5, None, n_boot=1000)
    assert small != usual  # other random streams ...
    for name in METRIC_NAMES:  # ... the same intervals within a fraction of their width
        width = usual[name][1] - usual[name][0]
        assert abs(small[name][0] - usual[name][0]) < 0.15 * width, name
        assert abs(small[name][1] - usual[name][1]) < 0.15 * width, name


def _case(n: int, seed: int, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Codes, scores (many ties) and posts (some of several images, in no order) for the exact tests below."""
    observed, scores = random_data(n, seed, ties=kind == "ties")
    observed = observed.astype(bool) if kind != "no YES" else np.zeros(n, dtype=bool)
    if kind != "ties":
        scores = np.round(scores, 2)  # ties, but not all at the same few levels
    posts = np.random.default_rng(seed).integers(0, max(1, 2 * n // 3), n) if kind != "images" else None
    return observed, scores, posts


def _drawn_counts(n_groups: int, n_boot: int, seed: int) -> np.ndarray:
    """How often each resample draws each group: the very draws of ``bootstrap_intervals``, redone."""
    chunk = max(1, min(evaluate.CHUNK, evaluate.CHUNK_CELLS // max(n_groups, 1)))
    starts = range(0, n_boot, chunk)
    counts = [np.bincount(drawn, minlength=n_groups)
              for start, rng in zip(starts, np.random.default_rng(seed).spawn(len(starts)), strict=True)
              for drawn in rng.integers(0, n_groups, size=(min(chunk, n_boot - start), n_groups), dtype=np.int32)]
    return np.array(counts).reshape(n_boot, n_groups)


@pytest.mark.parametrize(("n", "kind"), [(1, "images"), (2, "posts"), (9, "ties"), (60, "posts"), (60, "images"),
                                         (60, "no YES"), (400, "ties"), (400, "posts"),
                                         (12_000, "posts")])  # the AUC's numerators pass 2**24: float32 won't do
def test_each_resamples_sums_per_group_are_those_of_its_images_exactly(n: int, kind: str) -> None:
    # the group sums (a confusion cell, or the AUC's per score level) times how often each group is drawn
    # give, bit for bit, the metrics of the images weighted by how often their group is drawn
    observed, scores, posts = _case(n, n, kind)
    group_index = pd.factorize(posts)[0] if posts is not None else np.arange(n)
    n_groups = int(group_index.max()) + 1
    counts = _drawn_counts(n_groups, 150, seed=3)
    for threshold in (0.0, 0.5, 0.9):
        sums = evaluate._group_sums(observed, scores, scores >= threshold, group_index, n_groups, auc=True)
        drawn = sums.by_group @ np.ascontiguousarray(counts.T, dtype=np.float32)
        tp, fp, fn, tn = drawn[:4].astype(float)
        auc = evaluate._resampled_auc(sums, drawn[4:], tp + fn, fp + tn)
        expected = _weighted_metrics(counts[:, group_index].astype(float), observed, scores, threshold)
        for name, values in (("tp", tp), ("fp", fp), ("fn", fn), ("tn", tn), ("roc_auc", auc)):
            assert np.array_equal(values, expected[name], equal_nan=True), name
        if n >= 60:  # not only NaNs compared
            assert np.isfinite(auc).all() == (kind != "no YES")


@pytest.mark.parametrize(("n", "kind"), [(0, "images"), (1, "posts"), (2, "images"), (50, "posts"),
                                         (50, "ties"), (50, "no YES"), (300, "posts"), (300, "images")])
@pytest.mark.parametrize("auc", [True, False])
def test_intervals_are_the_percentiles_of_the_resamples_metrics_exactly(
        monkeypatch: pytest.MonkeyPatch, n: int, kind: str, auc: bool) -> None:
    monkeypatch.setattr(evaluate, "CHUNK_CELLS", 3000)  # several chunks, the last one short
    observed, scores, posts = _case(n, n + 1, kind)
    group_index = pd.factorize(posts)[0] if posts is not None else np.arange(n)
    n_groups = int(group_index.max()) + 1 if n else 0
    weights = _drawn_counts(n_groups, 250, seed=4)[:, group_index].astype(float)
    for threshold in (0.3, 0.6):
        resampled = _weighted_metrics(weights, observed, scores, threshold)
        if not auc:
            resampled["roc_auc"] = np.full(250, np.nan)
        expected = {}
        for name in METRIC_NAMES:
            values = resampled[name][~np.isnan(resampled[name])]
            expected[name] = (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))) \
                if values.size else (float("nan"), float("nan"))
        got = bootstrap_intervals(observed, scores, threshold, posts, n_boot=250, seed=4, auc=auc)
        assert got.keys() == expected.keys()
        for name in METRIC_NAMES:  # == (NaN only where both are NaN), not approx
            assert got[name] == expected[name] or (np.isnan(got[name]).all() and np.isnan(expected[name]).all()), \
                name
        if n >= 50 and kind != "no YES":
            assert np.isfinite(got["accuracy"]).all() and np.isfinite(got["roc_auc"]).all() == auc


def test_an_image_tested_in_several_repeats_is_drawn_once_with_all_its_predictions() -> None:
    import pandas as pd

    from kayfabe_core.evaluate import metrics_of_predictions

    observed, scores = random_data(300, 11)
    noise = np.random.default_rng(3).normal(0, 0.05, 1500)
    repeated = pd.DataFrame({"row": np.tile(np.arange(300), 5), "post": np.nan,
                             "observed": np.tile(observed, 5).astype(int),
                             "score": np.clip(np.tile(scores, 5) + noise, 0, 1)})
    by_image = metrics_of_predictions(repeated, 0.5, seed=1, n_boot=400)
    by_prediction = metrics_of_predictions(repeated.drop(columns="row"), 0.5, seed=1, n_boot=400)
    low, high = by_image.intervals["accuracy"]
    narrow_low, narrow_high = by_prediction.intervals["accuracy"]
    assert high - low > 1.7 * (narrow_high - narrow_low)
    # one split: every image once, so drawing images is drawing predictions, the very same draws
    once = repeated.iloc[:300]
    assert metrics_of_predictions(once, 0.5, seed=1, n_boot=200).intervals == \
        metrics_of_predictions(once.drop(columns="row"), 0.5, seed=1, n_boot=200).intervals


def test_the_threshold_dot_sits_where_the_confusion_matrix_puts_it() -> None:
    from kayfabe_core.charts_model import precision_recall_figure, roc_figure

    rng = np.random.default_rng(5)
    observed = (rng.random(577) < 0.47).astype(int)
    scores = np.round(np.clip(observed * 0.25 + rng.random(577) * 0.75, 0, 1), 3)  # ties, as real scores have
    for threshold in (0.3, 0.5, 0.62, 0.9):
        metrics = compute_metrics(observed, scores, threshold, n_boot=0)
        roc_dot = roc_figure(roc_points(observed, scores), metrics).data[-1]
        assert (roc_dot.x[0], roc_dot.y[0]) == (metrics.fp / (metrics.fp + metrics.tn), metrics.recall)
        pr_dot = precision_recall_figure(precision_recall_points(observed, scores), 0.47, metrics).data[-1]
        assert (pr_dot.x[0], pr_dot.y[0]) == (metrics.recall, metrics.precision)
    nothing_yes = compute_metrics(observed, scores, float(scores.max()) + 0.001, n_boot=0)
    assert nothing_yes.tp + nothing_yes.fp == 0 and np.isnan(nothing_yes.precision)
    pr_dot = precision_recall_figure(precision_recall_points(observed, scores), 0.47, nothing_yes).data[-1]
    assert len(pr_dot.x) == 0  # precision undefined: no dot rather than an invented one


def test_fold_accuracies_go_by_position_whatever_the_frames_index() -> None:
    from kayfabe_core.evaluate import fold_accuracies

    predictions = pd.DataFrame({"repeat": [1, 1, 1, 1], "fold": [1, 1, 2, 2], "observed": [1, 0, 1, 0],
                                "score": [0.9, 0.1, 0.1, 0.9]})  # fold 1 all right, fold 2 all wrong
    expected = [1.0, 0.0]
    assert list(fold_accuracies(predictions, 0.5)["accuracy"]) == expected
    assert list(fold_accuracies(predictions.set_axis([10, 11, 12, 13]), 0.5)["accuracy"]) == expected
    shuffled = predictions.iloc[::-1]  # index 3, 2, 1, 0: fold 2's rows first
    assert dict(zip(fold_accuracies(shuffled, 0.5)["fold"], fold_accuracies(shuffled, 0.5)["accuracy"],
                    strict=True)) == {1: 1.0, 2: 0.0}
