"""What drove a model: XGBoost's feature importances and SHAP values from its own ``pred_contribs``.

SHAP values split each image's score (in log-odds) into one share per
feature plus a base value; they add up to the model's raw output exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xgboost as xgb

from kayfabe_core.features_post import METADATA_FEATURES, YES_MARK

IMPORTANCE_KINDS = {
    "gain": "Gain: average improvement of the fit when a tree splits on the feature",
    "total_gain": "Total gain: gain summed over every split on the feature",
    "weight": "Weight: how many times trees split on the feature",
    "cover": "Cover: average number of training images a split on the feature affects",
}


def importance_table(booster: xgb.Booster, names: tuple[str, ...], rounds: int | None = None) -> pd.DataFrame:
    """Return one row per feature the trees use: feature, gain, total_gain, weight, cover (by gain).

    ``rounds``: the rounds the run kept (early stopping keeps the best round's trees; those grown after it, which
    the scores and SHAP values leave out, are left out here too). None: every tree.
    """
    if rounds is not None and 0 < rounds < booster.num_boosted_rounds():
        booster = booster[:rounds]
    columns = {}
    for kind in IMPORTANCE_KINDS:
        scores = booster.get_score(importance_type=kind)
        columns[kind] = {_feature_name(key, names): value for key, value in scores.items()}
    table = pd.DataFrame(columns).fillna(0.0)
    table.index.name = "feature"
    return table.sort_values("gain", ascending=False).reset_index()


def _feature_name(key: str, names: tuple[str, ...]) -> str:
    """Map XGBoost's ``f12`` to the feature's readable name."""
    return names[int(key[1:])] if key.startswith("f") and key[1:].isdigit() else key


def shap_values(booster: xgb.Booster, matrix: sp.csr_matrix, best_round: int) -> np.ndarray:
    """Return SHAP values: one row per image, one column per feature, then the base value last."""
    data = xgb.DMatrix(matrix, nthread=-1)
    return np.asarray(booster.predict(data, pred_contribs=True, iteration_range=(0, best_round)))


def shap_summary(contributions: np.ndarray, names: tuple[str, ...], top: int = 20) -> pd.DataFrame:
    """Return the ``top`` features by mean absolute SHAP value: feature, mean_abs, mean (signed)."""
    values = contributions[:, :-1]
    table = pd.DataFrame({"feature": names, "mean_abs": np.abs(values).mean(axis=0), "mean": values.mean(axis=0)})
    return table.sort_values("mean_abs", ascending=False).head(top).reset_index(drop=True)


def shap_points(contributions: np.ndarray, matrix: sp.csr_matrix, names: tuple[str, ...],
                features: list[str]) -> pd.DataFrame:
    """Return one point per image and listed feature: feature, shap, value (NaN where absent), row."""
    index = {name: position for position, name in enumerate(names)}
    dense = matrix.tocsc()
    frames = []
    for name in features:
        column = index[name]
        values = np.full(matrix.shape[0], np.nan)
        part = dense[:, column]
        values[part.indices] = part.data
        frames.append(pd.DataFrame({"feature": name, "shap": contributions[:, column], "value": values,
                                    "row": np.arange(matrix.shape[0])}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["feature", "shap", "value", "row"])


def explain_image(contributions: np.ndarray, row: int, matrix: sp.csr_matrix, names: tuple[str, ...],
                  top: int = 12) -> pd.DataFrame:
    """Return the features that moved one image's score most: feature, value, shap (log-odds)."""
    shares = contributions[row, :-1]
    order = np.argsort(-np.abs(shares))[:top]
    values = matrix[row].toarray().ravel()
    present = set(matrix[row].indices)
    return pd.DataFrame({"feature": [names[i] for i in order],
                         "value": [values[i] if i in present else np.nan for i in order],
                         "shap": shares[order]})


YES_NO_FEATURES = ("label: ", "moderation: ", "celebrity: ", "hashtag: ", "caption word: ")  # 1: on the image


def is_yes_no(name: str, values: np.ndarray | None = None) -> bool:
    """Whether a feature says yes (1) or no (0, or missing), not how much: a label, a hashtag or caption word
    (present where 1), a post fact marked "(1 = yes)". A column of an uploaded table (none of the app's names)
    is yes/no when every one of its ``values`` is 0, 1 or missing; a post number (likes, the weekday, Monday
    being 0) never is."""
    if name.startswith(YES_NO_FEATURES) or name.endswith(YES_MARK):
        return True
    if name in METADATA_FEATURES or values is None:
        return False
    values = np.asarray(values, dtype=float)
    return bool(np.isin(values[~np.isnan(values)], (0.0, 1.0)).all())


def feature_with_value(name: str, value: float | None) -> str:
    """``name`` with an image's value of it: "label: Food present", "label: Food absent" (0 or missing),
    "likes = 120", "likes not known" (missing). An absent label pushes a score too; without the word a reader
    takes "Food" as found on the picture."""
    missing = value is None or bool(np.isnan(value))
    if name.startswith(YES_NO_FEATURES):
        return f"{name} {'absent' if missing or value == 0 else 'present'}"
    return f"{name} not known" if missing else f"{name} = {value:g}"
