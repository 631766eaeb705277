"""Browsing labelled images: label lists, filtered pages of images, frequencies.

All queries read the long label table, so any confidence threshold works with
no new Rekognition calls.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kayfabe_core.arrays import unique_sorted
from kayfabe_core.label_store import read_label_numbers
from kayfabe_core.sql_columns import read_columns
from kayfabe_core.workspace import Workspace, connect

SOURCES = ("label", "moderation", "celebrity")
SOURCE_NAMES = {"label": "Object / scene", "moderation": "Moderation", "celebrity": "Celebrity"}


@dataclass(frozen=True)
class LabelChoice:
    """One label to filter on: its source and key (the key of a celebrity is its Id)."""

    source: str
    key: str


def labels_version(workspace: Workspace) -> int:
    """Return a number that changes whenever labels are added (they are never changed or deleted): a cache
    key for what depends on the labels alone, which coding an image does not touch.

    Label rows are only ever stored with a new response, so the newest response's number serves.
    """
    with connect(workspace) as conn:
        return int(conn.execute("SELECT COALESCE(MAX(response_no), 0) FROM stored_responses").fetchone()[0])


def list_labels(workspace: Workspace, min_confidence: float) -> pd.DataFrame:
    """Return every label seen at or above ``min_confidence``.

    Columns: source, key, name, images (distinct images carrying it); most frequent first.
    """
    with connect(workspace) as conn:
        names = pd.read_sql_query("SELECT label_no, source, key, name FROM label_names", conn)
        several_versions = len(names) > len(names.drop_duplicates(["source", "key"]))
        rows = read_label_numbers(conn, [min_confidence], contents=several_versions)
    if names.empty:
        return pd.DataFrame({"source": [], "key": [], "name": [], "images": []})
    key_of, keys = pd.factorize(pd.MultiIndex.from_frame(names[["source", "key"]]))
    key_by_label = np.zeros(int(names["label_no"].max()) + 1, dtype=np.int64)
    key_by_label[names["label_no"].to_numpy()] = key_of
    if several_versions:  # a label under several model versions: count each image once
        images_plus_one = int(rows[:, 0].max(initial=0)) + 1
        key = unique_sorted(key_by_label[rows[:, 1]] * images_plus_one + rows[:, 0]) // images_plus_one
    else:
        key = key_by_label[rows]
    images = np.bincount(key, minlength=len(keys))  # a row is one (image, label): its primary key
    frame = pd.DataFrame({"source": keys.get_level_values(0), "key": keys.get_level_values(1),
                          "name": names.groupby(key_of)["name"].max().to_numpy(), "images": images})
    frame = frame[frame["images"] > 0]
    return frame.sort_values(["images", "name"], ascending=[False, True], kind="stable").reset_index(drop=True)


def list_label_keys(workspace: Workspace) -> pd.DataFrame:
    """Return every label stored, whatever its confidence: columns source, key, name (sorted by name).

    Reads the label names only: a choice of label must survive any threshold, and counting every
    label's images at 0 % read all label rows (0.35 s at 150,000 images) for nothing.
    """
    with connect(workspace) as conn:
        keys = pd.read_sql_query("SELECT source, key, MAX(name) AS name FROM label_names GROUP BY source, key",
                                 conn)
    return keys.sort_values(["name", "source", "key"], kind="stable").reset_index(drop=True)


def _filter_sql(conn: sqlite3.Connection, choices: Sequence[LabelChoice],
                min_confidence: float) -> tuple[str, list[object]]:
    """SQL selecting the fetched images that carry every chosen label (all images if none)."""
    base = "SELECT DISTINCT i.sha256 FROM images i WHERE i.fetch_status = 'ok'"
    if not choices:
        return base, []
    numbers = [[int(row[0]) for row in conn.execute(
        "SELECT label_no FROM label_names WHERE source = ? AND key = ?", (choice.source, choice.key))]
        for choice in choices]  # a label under several model versions has several numbers
    if not all(numbers):
        return "SELECT NULL AS sha256 WHERE 0", []
    # Images whose packs' texts hold every chosen label are found by a scan of the texts; only their packs are
    # unpacked. (An image's labels may lie in several packs, say its labels and its moderation labels.)
    wrapped = "(',' || substr(p.label_nos, 2, length(p.label_nos) - 2) || ',')"
    holds = ["(" + " OR ".join(f"instr({wrapped}, ?) > 0" for _ in group) + ")" for group in numbers]
    pairs = [(number, place) for place, group in enumerate(numbers) for number in group]
    sql = (f"WITH chosen_labels(label_no, choice) AS (VALUES {', '.join('(?, ?)' for _ in pairs)}), "
           f"candidates AS (SELECT p.content_no FROM label_packs p WHERE {' OR '.join(holds)} "
           f"GROUP BY p.content_no HAVING {' AND '.join(f'MAX{hold}' for hold in holds)}) "
           "SELECT c.sha256 FROM candidates JOIN label_packs p ON p.content_no = candidates.content_no "
           "JOIN contents c ON c.content_no = p.content_no "
           "JOIN json_each(p.label_nos) label JOIN json_each(p.confidences) confidence ON confidence.key = label.key "
           "JOIN chosen_labels n ON n.label_no = label.value WHERE confidence.value >= ? "
           "GROUP BY p.content_no HAVING COUNT(DISTINCT n.choice) = ?")
    texts: list[object] = [f",{number}," for group in numbers for number in group]
    params: list[object] = [value for pair in pairs for value in pair]
    params += texts + texts
    return sql, [*params, min_confidence, len(choices)]


def count_images(workspace: Workspace, choices: Sequence[LabelChoice], min_confidence: float) -> int:
    """Return how many fetched images carry every chosen label at ``min_confidence`` or more."""
    with connect(workspace) as conn:
        sql, params = _filter_sql(conn, choices, min_confidence)
        return int(conn.execute(f"SELECT COUNT(*) FROM ({sql})", params).fetchone()[0])


def read_image_page(
    workspace: Workspace, choices: Sequence[LabelChoice], min_confidence: float, offset: int, limit: int
) -> pd.DataFrame:
    """Return one page of matching images: sha256, ext, post_url, description, pub_date.

    Ordered by post date (newest first); an image shared by several posts appears once.
    """
    with connect(workspace) as conn:
        if not choices:
            every = _every_image(conn)
            return every.iloc[offset:None if limit < 0 else offset + limit].reset_index(drop=True)
        sql, params = _filter_sql(conn, choices, min_confidence)
        query = (f"WITH chosen AS ({sql}) SELECT i.sha256, MIN(i.ext) AS ext, MIN(p.post_url) AS post_url, "
                 "MIN(p.description) AS description, MAX(p.pub_date) AS pub_date FROM chosen c "
                 "JOIN images i ON i.sha256 = c.sha256 JOIN posts p ON p.post_url = i.post_url "
                 "GROUP BY i.sha256 ORDER BY pub_date DESC, i.sha256 LIMIT ? OFFSET ?")
        return pd.read_sql_query(query, conn, params=[*params, limit, offset])


def _every_image(conn: sqlite3.Connection) -> pd.DataFrame:
    """Every fetched image in gallery order, as :func:`read_image_page` gives them.

    Two scans joined, grouped and sorted by pandas: SQLite's GROUP BY and ORDER BY on the join took four
    times as long at 150,000 images (3.4 s against 0.85 s).
    """
    images = read_columns(conn, "SELECT sha256, ext, post_url FROM images WHERE fetch_status = 'ok' AND "
                                "sha256 IS NOT NULL", ["sha256", "ext", "post_url"])
    posts = read_columns(conn, "SELECT post_url, description, pub_date FROM posts",
                         ["post_url", "description", "pub_date"])
    frame = images.merge(posts, on="post_url")
    repeated = frame["sha256"].duplicated(keep=False)
    if repeated.any():  # an image in several posts: one row, as SQL's MIN and MAX per image would give
        merged = frame[repeated].groupby("sha256", as_index=False).agg(
            ext=("ext", "min"), post_url=("post_url", "min"), description=("description", "min"),
            pub_date=("pub_date", "max"))
        frame = pd.concat([frame[~repeated], merged])
    frame = frame.sort_values(["pub_date", "sha256"], ascending=[False, True], na_position="last", kind="stable")
    return frame[["sha256", "ext", "post_url", "description", "pub_date"]].reset_index(drop=True)


def read_top_labels(
    workspace: Workspace, hashes: Sequence[str], min_confidence: float, per_image: int
) -> dict[str, list[str]]:
    """Return up to ``per_image`` label names per image, most confident first."""
    if not hashes:
        return {}
    marks = ", ".join("?" * len(hashes))
    sql = (f"SELECT sha256, name FROM labels WHERE sha256 IN ({marks}) AND confidence >= ? "
           "ORDER BY sha256, confidence DESC")
    names: dict[str, list[str]] = {sha: [] for sha in hashes}
    with connect(workspace) as conn:
        for sha, name in conn.execute(sql, [*hashes, min_confidence]):
            if len(names[sha]) < per_image:
                names[sha].append(name)
    return names


def label_frequencies(workspace: Workspace, min_confidence: float, top_n: int,
                      labels: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the ``top_n`` most frequent labels of each source at ``min_confidence``.

    ``labels`` is :func:`list_labels` at that confidence when the caller has it already (it takes seconds
    on millions of label rows). Columns: source, name, images, share (of labelled images).
    """
    frame = list_labels(workspace, min_confidence) if labels is None else labels
    with connect(workspace) as conn:
        labelled = conn.execute("SELECT COUNT(DISTINCT content_no) FROM stored_responses "
                                "WHERE response IS NOT NULL").fetchone()[0]
    top = frame.groupby("source", sort=False).head(top_n)
    return top.assign(share=top["images"] / max(labelled, 1))[["source", "name", "images", "share"]]
