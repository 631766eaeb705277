"""Where a workspace stands: which stages have produced what the next one needs.

The stages, in order: Posts → Images & labels → Code → Train → Results → Runs → Predict.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from kayfabe_core.code_log import VALUES, read_code_log
from kayfabe_core.sql_columns import count_distinct
from kayfabe_core.wording import counted
from kayfabe_core.workspace import Workspace, connect


@dataclass(frozen=True)
class Progress:
    """Counts of what the workspace holds, one per stage's output."""

    posts: int
    images: int
    images_fetched: int
    images_labelled: int
    images_coded: int
    runs: int


@dataclass(frozen=True)
class Stage:
    """One step of the walk-through: its title, what it needs and whether that is there."""

    title: str
    done: bool
    summary: str


def read_progress(workspace: Workspace) -> Progress:
    """Return the workspace's :class:`Progress`."""
    return Progress(**read_material_counts(workspace), **read_work_counts(workspace))


def read_material_counts(workspace: Workspace) -> dict[str, int]:
    """Return the counts coding and training leave alone (posts, images, fetched and labelled images): a
    cache keyed on the inputs version keeps them while someone codes (seconds on 100,000 posts)."""
    with connect(workspace) as conn:
        return {
            "posts": _count(conn, "SELECT COUNT(*) FROM posts"),
            "images": _count(conn, "SELECT COUNT(*) FROM images"),
            "images_fetched": count_distinct(conn, "sha256", "images WHERE fetch_status = 'ok'"),
            "images_labelled": count_distinct(conn, "content_no", "stored_responses WHERE response IS NOT NULL"),
        }


def read_work_counts(workspace: Workspace) -> dict[str, int]:
    """Return the counts of coded images and of runs."""
    with connect(workspace) as conn:
        log = read_code_log(conn, workspace)
        decided = np.bincount(log.image[log.value != VALUES.index("UNSURE")], minlength=len(log.hashes))
        return {"images_coded": int(np.count_nonzero(decided)), "runs": _count(conn, "SELECT COUNT(*) FROM runs")}


def _count(conn: sqlite3.Connection, sql: str) -> int:
    return int(conn.execute(sql).fetchone()[0])


def list_stages(progress: Progress) -> list[Stage]:
    """Return the stage checklist for ``progress``, in walk-through order."""
    return [
        Stage("Posts", progress.posts > 0, counted(progress.posts, "post")),
        Stage("Images & labels", progress.images_labelled > 0,
              f"{counted(progress.images_fetched, 'image')}, {progress.images_labelled:,} labelled"),
        Stage("Code", progress.images_coded > 0, counted(progress.images_coded, "image") + " coded"),
        Stage("Train", progress.runs > 0, counted(progress.runs, "run")),
    ]
