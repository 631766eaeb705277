"""Which labels go with YES and which with NO, once images are coded.

Uses each image's resolved code: the latest code of every coder, then the
majority (ties and Unsure left out). This is description, not a model: a label
common on YES images may still be useless to a classifier.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kayfabe_core.arrays import unique_sorted
from kayfabe_core.code_log import VALUES, read_code_log
from kayfabe_core.label_store import read_label_numbers
from kayfabe_core.sql_columns import read_columns
from kayfabe_core.workspace import Workspace, connect

ADJUDICATOR = "adjudicated"  # the coder name under which the team's decisions on disagreements are kept


def _read_codes(conn: sqlite3.Connection) -> pd.DataFrame:
    """Return every code (columns sha256, coder, value), in the order they were coded."""
    return read_columns(conn, "SELECT sha256, coder, value FROM codes ORDER BY code_id", ["sha256", "coder", "value"])


def _latest(image: np.ndarray, coder: np.ndarray) -> np.ndarray:
    """Return the positions of each coder's latest code per image, in increasing order.

    ``image`` and ``coder`` number the images and coders (from 0) of codes in the order they were coded.
    """
    key = image * (int(coder.max(initial=0)) + 1) + coder
    order = np.argsort(key, kind="stable")
    last = np.ones(len(key), dtype=bool)  # the last of its run of equal keys
    last[:-1] = key[order[1:]] != key[order[:-1]]
    return np.sort(order[last])


def read_latest_codes(conn: sqlite3.Connection) -> pd.DataFrame:
    """Return each coder's latest code per image (columns sha256, coder, value), in the order they were coded.

    Keeps the last code per (image, coder) with numpy on numbered images and coders: SQL's MAX(code_id)
    per group took twice as long as reading all codes and keeping the last in pandas on 1.5 million codes
    (6.5 s against 3.3 s).
    """
    codes = _read_codes(conn)
    rows = _latest(pd.factorize(codes["sha256"])[0], pd.factorize(codes["coder"])[0])
    return codes.take(rows).reset_index(drop=True)


def read_resolved_codes(workspace: Workspace) -> pd.DataFrame:
    """Return one YES/NO per coded image: columns sha256, value (sorted by sha256).

    An adjudicated code (coder :data:`ADJUDICATOR`) decides; otherwise the majority of
    the coders' latest codes (ties and Unsure left out). Counts votes with numpy on the
    numbered codes of :func:`~kayfabe_core.code_log.read_code_log`.
    """
    with connect(workspace) as conn:
        log = read_code_log(conn, workspace)
    n_images = len(log.hashes)
    yes, no = log.value == VALUES.index("YES"), log.value == VALUES.index("NO")
    by_adjudicator = log.coder == (log.coders.index(ADJUDICATOR) if ADJUDICATOR in log.coders else -1)
    rows = _latest(log.image.astype(np.int64), log.coder)
    rows = rows[(yes | no)[rows]]  # latest codes that decide: Unsure left out
    image, yes, by_adjudicator = log.image[rows], yes[rows], by_adjudicator[rows]
    adjudicated = np.zeros(n_images, dtype=bool)
    adjudicated[image[by_adjudicator]] = True
    adjudicated_yes = np.zeros(n_images, dtype=bool)
    adjudicated_yes[image[by_adjudicator]] = yes[by_adjudicator]
    votes = np.bincount(image[~by_adjudicator], minlength=n_images)  # ignored where adjudicated
    yes_votes = np.bincount(image[~by_adjudicator & yes], minlength=n_images)
    resolved = np.flatnonzero(adjudicated | (2 * yes_votes != votes))
    value = pa.array(np.where(adjudicated, adjudicated_yes, 2 * yes_votes > votes)[resolved])
    return pd.DataFrame({"sha256": pd.array(log.hash_texts(resolved), dtype="str"),
                         "value": pd.array(pc.if_else(value, "YES", "NO"), dtype="str")})


MIN_CODED_IMAGES = 20  # a label is shown once this many coded images carry it: fewer make the shares noise


def label_code_association(workspace: Workspace, min_confidence: float,
                           min_images: int = MIN_CODED_IMAGES) -> pd.DataFrame:
    """Return, per label seen on at least ``min_images`` coded images, how often it goes with YES.

    Columns: source, name, images, yes_share (share of those images coded YES), lift
    (yes_share minus the share of YES among all coded images). Sorted by lift.
    """
    codes = read_resolved_codes(workspace)
    if codes.empty:
        return pd.DataFrame(columns=["source", "name", "images", "yes_share", "lift"])
    with connect(workspace) as conn:
        names = pd.read_sql_query("SELECT label_no, source, key, name FROM label_names", conn)
        contents = pd.read_sql_query("SELECT content_no, sha256 FROM contents", conn)
        rows = read_label_numbers(conn, [min_confidence])
    if names.empty:
        return pd.DataFrame(columns=["source", "name", "images", "yes_share", "lift"])
    coded = contents.merge(codes, on="sha256")
    yes_of = np.full(int(contents["content_no"].to_numpy().max(initial=0)) + 1, -1, dtype=np.int64)  # -1: not coded
    yes_of[coded["content_no"].to_numpy()] = (coded["value"] == "YES").to_numpy()
    key_of, keys = pd.factorize(pd.MultiIndex.from_frame(names[["source", "key"]]))
    key_by_label = np.zeros(int(names["label_no"].max()) + 1, dtype=np.int64)
    key_by_label[names["label_no"].to_numpy()] = key_of
    rows = rows[yes_of[rows[:, 0]] >= 0]
    # distinct (label, coded image) pairs: an image counts once whatever the number of model versions
    pairs = unique_sorted(key_by_label[rows[:, 1]] * len(yes_of) + rows[:, 0])
    key, content = pairs // len(yes_of), pairs % len(yes_of)
    images = np.bincount(key, minlength=len(keys))
    yes = np.bincount(key, weights=yes_of[content], minlength=len(keys))
    grouped = pd.DataFrame({"source": keys.get_level_values(0), "name": names.groupby(key_of)["name"].first(),
                            "images": images, "yes_share": yes / np.maximum(images, 1)})
    grouped = grouped[grouped["images"] >= max(min_images, 1)]
    base_rate = float((codes["value"] == "YES").mean())
    grouped["lift"] = grouped["yes_share"] - base_rate
    return grouped.sort_values("lift", ascending=False)[["source", "name", "images", "yes_share", "lift"]]
