"""Explanations: importances under readable names, SHAP values that add up to the model's output."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import xgboost as xgb

from kayfabe_core.explain import (
    IMPORTANCE_KINDS,
    _feature_name,
    explain_image,
    importance_table,
    shap_points,
    shap_summary,
    shap_values,
)

NAMES = ("label: Wrestling", "label: Crowd", "label: Breakfast", "moderation: Violence", "likes", "label: Unused")


def synthetic(n: int = 400, seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    """Sparse 0/1 labels plus 'likes'; YES depends strongly on Wrestling, less on Crowd, not on Breakfast."""
    rng = np.random.default_rng(seed)
    binary = (rng.random((n, 4)) < [0.4, 0.5, 0.3, 0.1]).astype(np.float32)
    likes = rng.integers(0, 500, n).astype(np.float32)
    dense = np.column_stack([binary, likes, np.zeros(n, dtype=np.float32)])
    logit = 3.0 * binary[:, 0] + 1.0 * binary[:, 1] - 2.0 + rng.normal(0, 0.5, n)
    observed = (logit > 0).astype(int)
    return sp.csr_matrix(dense), observed


@pytest.fixture(scope="module")
def trained() -> tuple[xgb.Booster, sp.csr_matrix, np.ndarray]:
    matrix, observed = synthetic()
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": 1, "nthread": 1},
                        xgb.DMatrix(matrix, label=observed), num_boost_round=20)
    return booster, matrix, observed


def test_importance_table_uses_readable_names(trained: tuple[xgb.Booster, sp.csr_matrix, np.ndarray]) -> None:
    booster, _, _ = trained
    table = importance_table(booster, NAMES)
    assert list(table.columns) == ["feature", *IMPORTANCE_KINDS]
    assert set(table["feature"]) <= set(NAMES)
    assert "label: Unused" not in set(table["feature"])  # never split on
    assert table.iloc[0]["feature"] == "label: Wrestling"
    assert table["gain"].is_monotonic_decreasing
    raw = booster.get_score(importance_type="weight")
    for key, weight in raw.items():
        row = table[table["feature"] == NAMES[int(key[1:])]]
        assert row["weight"].item() == weight
    total = booster.get_score(importance_type="total_gain")
    assert table.set_index("feature").loc["label: Wrestling", "total_gain"] == pytest.approx(total["f0"])


def test_feature_name_mapping() -> None:
    assert _feature_name("f0", NAMES) == "label: Wrestling"
    assert _feature_name("f4", NAMES) == "likes"
    assert _feature_name("likes", NAMES) == "likes"  # a booster trained with its own names
    assert _feature_name("foo", NAMES) == "foo"


def test_shap_values_add_up_to_the_raw_margin(trained: tuple[xgb.Booster, sp.csr_matrix, np.ndarray]) -> None:
    booster, matrix, _ = trained
    contributions = shap_values(booster, matrix, booster.num_boosted_rounds())
    assert contributions.shape == (matrix.shape[0], len(NAMES) + 1)
    margin = booster.predict(xgb.DMatrix(matrix), output_margin=True)
    assert contributions.sum(axis=1) == pytest.approx(margin, abs=1e-4)
    assert np.allclose(contributions[:, -1], contributions[0, -1])  # one base value for every image
    assert np.allclose(contributions[:, NAMES.index("label: Unused")], 0)


def test_shap_values_respect_the_rounds_kept(trained: tuple[xgb.Booster, sp.csr_matrix, np.ndarray]) -> None:
    booster, matrix, _ = trained
    contributions = shap_values(booster, matrix, 5)
    margin = booster.predict(xgb.DMatrix(matrix), output_margin=True, iteration_range=(0, 5))
    full = booster.predict(xgb.DMatrix(matrix), output_margin=True)
    assert contributions.sum(axis=1) == pytest.approx(margin, abs=1e-4)
    assert not np.allclose(margin, full)


def test_shap_summary_orders_by_mean_absolute_value(trained: tuple[xgb.Booster, sp.csr_matrix, np.ndarray]) -> None:
    booster, matrix, _ = trained
    contributions = shap_values(booster, matrix, booster.num_boosted_rounds())
    summary = shap_summary(contributions, NAMES)
    assert list(summary.columns) == ["feature", "mean_abs", "mean"]
    assert len(summary) == len(NAMES)
    order = summary["feature"].tolist()
    assert order[0] == "label: Wrestling"
    assert order.index("label: Crowd") < order.index("label: Breakfast")
    assert order[-1] == "label: Unused"
    expected = [NAMES[i] for i in np.argsort(-np.abs(contributions[:, :-1]).mean(axis=0), kind="stable")]
    assert order[:3] == expected[:3]
    assert summary["mean_abs"].is_monotonic_decreasing
    wrestling = contributions[:, 0]
    assert summary.iloc[0]["mean_abs"] == pytest.approx(np.abs(wrestling).mean(), rel=1e-5)
    assert summary.iloc[0]["mean"] == pytest.approx(wrestling.mean(), rel=1e-5)
    assert len(shap_summary(contributions, NAMES, top=3)) == 3


def test_shap_points(trained: tuple[xgb.Booster, sp.csr_matrix, np.ndarray]) -> None:
    booster, matrix, _ = trained
    contributions = shap_values(booster, matrix, booster.num_boosted_rounds())
    points = shap_points(contributions, matrix, NAMES, ["label: Wrestling", "likes"])
    assert list(points.columns) == ["feature", "shap", "value", "row"]
    assert len(points) == 2 * matrix.shape[0]
    wrestling = points[points["feature"] == "label: Wrestling"]
    dense = matrix.toarray()
    has = dense[:, 0] == 1
    assert np.array_equal(wrestling["value"].notna().to_numpy(), has)  # absent (not stored): NaN
    assert np.allclose(wrestling["shap"], contributions[:, 0])
    # the label pushes towards YES where present and away where absent
    assert wrestling["shap"][has].min() > 0 > wrestling["shap"][~has].max()
    empty = shap_points(contributions, matrix, NAMES, [])
    assert empty.empty and list(empty.columns) == ["feature", "shap", "value", "row"]


def test_explain_image(trained: tuple[xgb.Booster, sp.csr_matrix, np.ndarray]) -> None:
    booster, matrix, _ = trained
    contributions = shap_values(booster, matrix, booster.num_boosted_rounds())
    dense = matrix.toarray()
    row = int(np.flatnonzero(dense[:, 0] == 1)[0])
    table = explain_image(contributions, row, matrix, NAMES, top=4)
    assert list(table.columns) == ["feature", "value", "shap"]
    assert len(table) == 4
    assert np.all(np.diff(np.abs(table["shap"])) <= 0)
    assert table.iloc[0]["feature"] == "label: Wrestling" and table.iloc[0]["value"] == 1
    for feature, value in zip(table["feature"], table["value"], strict=True):
        column = NAMES.index(feature)
        assert (np.isnan(value) and dense[row, column] == 0) or value == dense[row, column]
    assert table["shap"].tolist() == pytest.approx(
        [contributions[row, NAMES.index(feature)] for feature in table["feature"]])


def test_a_feature_is_named_with_its_value_on_the_image() -> None:
    import pandas as pd

    from kayfabe_core.charts_model import explanation_figure
    from kayfabe_core.explain import feature_with_value

    assert [feature_with_value("label: Food", value) for value in (1.0, 0.0, np.nan, None)] == [
        "label: Food present", "label: Food absent", "label: Food absent", "label: Food absent"]
    assert feature_with_value("hashtag: #wwe", 1) == "hashtag: #wwe present"
    assert [feature_with_value("likes", value) for value in (120.0, 0.0, np.nan)] == [
        "likes = 120", "likes = 0", "likes not known"]
    explanation = pd.DataFrame({"feature": ["label: Food", "likes"], "value": [np.nan, 3.0], "shap": [-1.5, 0.2]})
    assert list(explanation_figure(explanation).data[0].y) == ["likes = 3", "label: Food absent"]


def test_importance_counts_only_the_trees_the_run_kept(trained: tuple[xgb.Booster, sp.csr_matrix, np.ndarray]) -> None:
    booster, _, _ = trained  # 20 rounds grown; say early stopping kept the first 8
    kept = importance_table(booster, NAMES, rounds=8)
    every = importance_table(booster, NAMES)
    expected = booster[:8].get_score(importance_type="weight")
    assert kept["weight"].sum() == sum(expected.values()) < every["weight"].sum()
    assert importance_table(booster, NAMES, rounds=20).equals(every)
    assert importance_table(booster, NAMES, rounds=None).equals(every)
