"""The label features the slow, obvious way (SQL on the ``labels`` view, pandas, a Python loop for parents):
the reference that the integer-array code of :mod:`kayfabe_core.features` and :mod:`kayfabe_core.scoring` is
checked against."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from kayfabe_core.features import SOURCE_PREFIX, FeatureOptions
from kayfabe_core.workspace import Workspace, connect


def _label_query(options: FeatureOptions,
                 columns: str = "sha256, source, key, name") -> tuple[str, list[object]] | None:
    sources = [source for source in options.sources if source in SOURCE_PREFIX]
    if not sources:
        return None
    # "+source" makes SQLite scan the table: through the labels_key index it fetched every row by rowid, 10x slower
    where = " OR ".join("(+source = ? AND confidence >= ?)" for _ in sources)
    params: list[object] = [value for source in sources for value in (source, options.threshold(source))]
    parents = "" if options.include_parents else ", parents"
    return f"SELECT {columns}{parents} FROM labels WHERE ({where})", params


def feature_names(labels: pd.DataFrame) -> pd.Series:
    """Return the readable feature name of each label row, e.g. ``label: Wrestling``."""
    return labels["source"].map(SOURCE_PREFIX) + ": " + labels["name"]


def read_labels(workspace: Workspace, options: FeatureOptions, only: list[str] | None = None) -> pd.DataFrame:
    """Return the labels at or above each source's cut: sha256, source, key, name (and parents).

    One row per image and label, whatever the number of model versions stored;
    with ``only``, just the labels of those images (for scoring in chunks).
    """
    query = _label_query(options)
    if query is None:
        return pd.DataFrame(columns=["sha256", "source", "key", "name", "parents"])
    sql, params = query
    with connect(workspace) as conn:
        if only is not None:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (sha256 TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM wanted")
            conn.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((sha,) for sha in only))
            sql += " AND sha256 IN (SELECT sha256 FROM wanted)"
        labels = pd.read_sql_query(sql, conn, params=params)
    return labels.drop_duplicates(["sha256", "source", "key"])


def drop_parent_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """Return ``labels`` without those that are a parent of another label of the same source on the same image.

    Sources are kept apart: a moderation label's parent (e.g. Alcohol) never removes the object label of that name.
    """
    with_parents = labels[labels["parents"].str.len() > 2]
    parent_pairs: set[tuple[str, str, str]] = set()
    for sha256, source, parents in zip(with_parents["sha256"], with_parents["source"], with_parents["parents"],
                                       strict=True):
        parent_pairs.update((sha256, source, parent) for parent in json.loads(parents))
    if not parent_pairs:
        return labels
    is_parent = [(sha256, source, name) in parent_pairs
                 for sha256, source, name in zip(labels["sha256"], labels["source"], labels["name"], strict=True)]
    return labels[~np.array(is_parent, dtype=bool)]
