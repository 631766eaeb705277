"""Build the feature table from a workspace: labels at chosen cuts, plus post metadata and captions.

Reads the long label table (never the raw JSON), so any confidence cut works
with no new Rekognition calls. Each coded image is one row; its code is the
resolved code (:func:`kayfabe_core.associations.read_resolved_codes`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from kayfabe_core.associations import read_resolved_codes
from kayfabe_core.constraints import FEATURE_KNOBS, check_settings
from kayfabe_core.errors import StageNotReadyError
from kayfabe_core.feature_table import FeatureTable, build_matrix, join_columns
from kayfabe_core.features_post import caption_block, metadata_block, read_image_posts
from kayfabe_core.workspace import Workspace, connect

SOURCE_PREFIX = {"label": "label", "moderation": "moderation", "celebrity": "celebrity"}


@dataclass(frozen=True)
class FeatureOptions:
    """How labels become features. Thresholds are confidences in per cent (50–100)."""

    label_threshold: float = 80.0
    moderation_threshold: float = 80.0
    celebrity_threshold: float = 80.0
    sources: tuple[str, ...] = ("label", "moderation", "celebrity")
    include_parents: bool = True  # False keeps only the most specific label of a chain (Face, not Person)
    min_images: int = 5
    metadata: bool = False  # likes, comments, views, type, carousel, hour, weekday, year
    caption: bool = False  # hashtags and words of the post's caption

    def checked(self) -> FeatureOptions:
        """Return self after checking every number against the constraints table (raises SettingError)."""
        check_settings(FEATURE_KNOBS, {"label_threshold": self.label_threshold,
                                       "moderation_threshold": self.moderation_threshold,
                                       "celebrity_threshold": self.celebrity_threshold,
                                       "min_images": self.min_images})
        return self

    def threshold(self, source: str) -> float:
        return {"label": self.label_threshold, "moderation": self.moderation_threshold,
                "celebrity": self.celebrity_threshold}[source]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def build_features(workspace: Workspace, options: FeatureOptions) -> FeatureTable:
    """Return the :class:`FeatureTable` of every coded image of ``workspace``.

    Raises :class:`StageNotReadyError` when no image is both coded and fetched,
    and :class:`~kayfabe_core.errors.SettingError` for an option out of range.
    """
    options.checked()
    codes = read_resolved_codes(workspace)
    posts = read_image_posts(workspace)
    codes = codes[codes["sha256"].isin(posts["sha256"])].reset_index(drop=True)
    if codes.empty:
        raise StageNotReadyError("No image is both fetched and coded (YES or NO) yet.",
                                 "Code some images on the Code page, then come back.")
    context = codes[["sha256"]].merge(posts, on="sha256", how="left")
    index = pd.Index(codes["sha256"])
    label_matrix, label_names, kept = _label_block(workspace, options, index)
    blocks = [(label_matrix, label_names)]
    post_level: list[str] = []
    if options.metadata:
        block = metadata_block(context)
        blocks.append(block)
        post_level += [name for name in block[1] if name != "position in the carousel"]
    if options.caption:
        block = caption_block(context, options.min_images)
        blocks.append(block)
        post_level += block[1]
    matrix, names = join_columns(blocks)
    book = _codebook_names(workspace)
    return FeatureTable(
        matrix=matrix, names=names, observed=(codes["value"] == "YES").to_numpy(np.int8),
        context=pd.DataFrame({"item": codes["sha256"], "post": context["post_url"], "time": context["time"],
                              "owner": context["owner"], "media_type": context["media_type"]}),
        origin={"kind": "workspace", "workspace": str(workspace.root), "options": options.to_dict(),
                "labels_before_parents": kept if not options.include_parents else []},
        positive_name=book[0], negative_name=book[1], post_level=tuple(post_level),
    )


def _label_block(workspace: Workspace, options: FeatureOptions,
                 index: pd.Index) -> tuple[object, list[str], list[str]]:
    """Return the label features, their names, and the labels kept before parents were dropped."""
    labels = read_labels(workspace, options)
    labels = labels[labels["sha256"].isin(index)]
    counts = labels.groupby(["source", "key"])["sha256"].transform("size")
    labels = labels[counts >= options.min_images]  # rare labels go first: a rare child keeps its parent
    kept = sorted(set(feature_names(labels)))
    if not options.include_parents:
        labels = drop_parent_labels(labels)
    keys = labels["source"] + "\x00" + labels["key"]
    columns, uniques = pd.factorize(keys, sort=True)
    names_by_key = dict(zip(keys, feature_names(labels), strict=True))
    rows = index.get_indexer(labels["sha256"])
    matrix = build_matrix(rows, columns, np.ones(len(rows)), (len(index), len(uniques)))
    return matrix, [names_by_key[key] for key in uniques], kept


def feature_names(labels: pd.DataFrame) -> pd.Series:
    """Return the readable feature name of each label row, e.g. ``label: Wrestling``."""
    return labels["source"].map(SOURCE_PREFIX) + ": " + labels["name"]


def read_labels(workspace: Workspace, options: FeatureOptions, only: list[str] | None = None) -> pd.DataFrame:
    """Return the labels at or above each source's cut: sha256, source, key, name (and parents).

    One row per image and label, whatever the number of model versions stored;
    with ``only``, just the labels of those images (for scoring in chunks).
    """
    sources = [source for source in options.sources if source in SOURCE_PREFIX]
    if not sources:
        return pd.DataFrame(columns=["sha256", "source", "key", "name", "parents"])
    where = " OR ".join("(source = ? AND confidence >= ?)" for _ in sources)
    params: list[object] = [value for source in sources for value in (source, options.threshold(source))]
    parents = "" if options.include_parents else ", parents"
    sql = f"SELECT sha256, source, key, name{parents} FROM labels WHERE ({where})"
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


def _codebook_names(workspace: Workspace) -> tuple[str, str]:
    """Return the names of the YES and NO codes from the latest codebook (default YES, NO)."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT yes_name, no_name FROM codebooks ORDER BY version DESC LIMIT 1").fetchone()
    return (str(row[0]), str(row[1])) if row else ("YES", "NO")
