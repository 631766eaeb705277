"""Features that come from an image's post rather than its pixels: metadata and caption words.

They are the same on every image of a post (except the position in a
carousel), so with a split that is not grouped by post they let a model
recognise the post instead of the picture: the feature table lists them in
``post_level`` and the split warns.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import scipy.sparse as sp

from kayfabe_core.feature_table import build_matrix
from kayfabe_core.sql_columns import read_columns
from kayfabe_core.workspace import Workspace, connect

IMAGES_SQL = "SELECT sha256, position, post_url FROM images WHERE fetch_status = 'ok' AND +sha256 IS NOT NULL"
POSTS_SQL = ("SELECT post_url, owner, media_type, n_images, pub_date, like_count, comment_count, view_count, "
             "description FROM posts")
IMAGE_COLUMNS = ["sha256", "position", "post_url"]
POST_COLUMNS = ["post_url", "owner", "media_type", "n_images", "pub_date", "like_count", "comment_count",
                "view_count", "description"]
POST_NUMBERS = ["n_images", "like_count", "comment_count", "view_count"]
WORD = re.compile(r"[a-z][a-z']{2,}")
HASHTAG = re.compile(r"#(\w+)")
STOP_WORDS = frozenset(
    "the and for you your with this that are was but not all have from out our just get what who how "
    "can will one its it's i'm don't when they them their there here about more some than then".split()
)


def read_image_posts(workspace: Workspace, captions: bool = True) -> pd.DataFrame:
    """Return one row per fetched image (by sha256) with its first post's facts.

    Columns: sha256, position, post_url, owner, media_type, n_images, time (UTC),
    like_count, comment_count, view_count, description (empty without
    ``captions``: the captions are most of the posts' bytes). An image found in
    several posts takes the earliest. Rows are in no particular order.
    """
    posts_sql = POSTS_SQL if captions else POSTS_SQL.replace("description FROM", "NULL AS description FROM")
    with connect(workspace) as conn:  # two scans joined here: SQLite's join walked both by text keys, 5x slower
        images = read_columns(conn, IMAGES_SQL, IMAGE_COLUMNS, numbers=["position"])
        posts = read_columns(conn, posts_sql, POST_COLUMNS, numbers=POST_NUMBERS)
    frame = images.merge(posts, on="post_url")[["sha256", "position", "post_url", *POST_COLUMNS[1:]]]
    repeated = frame["sha256"].duplicated(keep=False)
    if repeated.any():  # the earliest post wins (NULL dates first, as SQLite orders them)
        first = frame[repeated].sort_values(["sha256", "pub_date", "post_url", "position"], na_position="first",
                                            kind="stable").drop_duplicates("sha256")
        frame = pd.concat([frame[~repeated], first])
    frame = frame.reset_index(drop=True)  # callers join on sha256: sorting 1.5 million hashes took 1.2 s
    frame["time"] = pd.to_datetime(frame.pop("pub_date"), utc=True, errors="coerce", format="ISO8601")
    return frame


YES_MARK = " (1 = yes)"  # ends the name of a post fact that is yes (1) or no (0)
METADATA_FEATURES = ("likes", "comments", "video views", f"video post{YES_MARK}", f"carousel post{YES_MARK}",
                     "images in the post", "position in the carousel", "posted hour (UTC)",
                     "posted weekday (0 = Monday)", "posted year")


def metadata_block(context: pd.DataFrame) -> tuple[sp.csr_matrix, list[str]]:
    """Return post metadata as features (named by :data:`METADATA_FEATURES`): engagement, type, carousel facts
    and posting time."""
    time = context["time"]
    values = (context["like_count"], context["comment_count"], context["view_count"],
              (context["media_type"] == "Video").astype(float), (context["n_images"].fillna(1) > 1).astype(float),
              context["n_images"], context["position"], time.dt.hour, time.dt.day_of_week, time.dt.year)
    columns = dict(zip(METADATA_FEATURES, values, strict=True))
    frame = pd.DataFrame(columns).astype(float)
    values = frame.to_numpy(np.float32)
    rows, cols = np.nonzero(~np.isnan(values))
    matrix = build_matrix(rows, cols, values[rows, cols], values.shape)
    return matrix, list(columns)


def caption_block(context: pd.DataFrame, min_images: int) -> tuple[sp.csr_matrix, list[str]]:
    """Return caption hashtags and words as 0/1 features, kept when on at least ``min_images`` images."""
    tokens = [_caption_tokens(text) for text in context["description"].fillna("")]
    pairs = pd.DataFrame([(row, token) for row, found in enumerate(tokens) for token in found],
                         columns=["row", "token"])
    if pairs.empty:
        return sp.csr_matrix((len(context), 0), dtype=np.float32), []
    pairs = pairs[pairs.groupby("token")["row"].transform("size") >= min_images]
    columns, names = pd.factorize(pairs["token"], sort=True)
    matrix = build_matrix(pairs["row"].to_numpy(), columns, np.ones(len(pairs)), (len(context), len(names)))
    return matrix, list(names)


def _caption_tokens(text: str) -> set[str]:
    lowered = text.lower()
    hashtags = {f"hashtag: #{tag}" for tag in HASHTAG.findall(lowered)}
    without_tags = HASHTAG.sub(" ", lowered)
    words = {f"caption word: {word}" for word in WORD.findall(without_tags) if word not in STOP_WORDS}
    return hashtags | words
