"""Warnings about information that lets a model recognise a post instead of learning from a picture.

Three kinds: images of one post on both sides of the split; features every
image of a post shares (engagement, dates, caption) under a split that does
not keep posts together; columns that identify a row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kayfabe_core.feature_table import FeatureTable


def leakage_warnings(table: FeatureTable, method: str, grouped_by: str, train: np.ndarray,
                     test: np.ndarray, post_numbers: np.ndarray | None = None, splits: int = 1) -> list[str]:
    """Return plain-language warnings for this table and one (training, test) pair (``post_numbers``: each
    row's post numbered, when the caller has them; ``splits``: how many pairs the split has, this the first)."""
    warnings = []
    shared = _posts_on_both_sides(table, train, test, post_numbers)
    where = "this split" if splits == 1 else f"the first of its {splits:,} splits (the others are alike)"
    if shared:
        warnings.append(
            f"{shared:,} posts have images on both sides of {where}. Slides of one carousel look alike, "
            "so the test score will be optimistic: choose the split grouped by post.")
    if table.post_level and not grouped_by:
        warnings.append(
            "These features are the same on every image of a post: " + _list(table.post_level) + ". With "
            "a split that does not keep posts together, they let the model recognise posts it saw in "
            "training; group by post (or by columns that identify a post) or leave them out.")
    if table.identifiers:
        warnings.append(
            "These columns look like identifiers (a different value on nearly every row): "
            + _list(table.identifiers) + ". A model cannot learn anything general from them; leave them out.")
    return warnings


def _posts_on_both_sides(table: FeatureTable, train: np.ndarray, test: np.ndarray,
                         numbers: np.ndarray | None) -> int:
    if numbers is None:
        posts = table.context["post"]
        if posts.isna().all():
            return 0
        numbers = pd.factorize(posts)[0]  # one number per post; -1 where the post is unknown
    if len(numbers) and int(numbers.min()) >= -1 and int(numbers.max()) < len(numbers):  # numbered 0, 1, …
        # marked by number: np.intersect1d's two np.unique took 40 ms of every Train page run at 150,000 images
        on_train, on_test = np.zeros(len(numbers) + 1, dtype=bool), np.zeros(len(numbers) + 1, dtype=bool)
        on_train[numbers[train] + 1] = True  # -1 (no post) lands on the first place, not counted
        on_test[numbers[test] + 1] = True
        return int((on_train[1:] & on_test[1:]).sum())
    shared = np.intersect1d(numbers[train], numbers[test])
    return int((shared >= 0).sum())


def _list(names: tuple[str, ...], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")

