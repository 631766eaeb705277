"""Where a workspace stands: which stages have produced what the next one needs.

The stages, in order: Posts → Images & labels → Code → Train → Results → Runs → Predict.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """Return the workspace's :class:`Progress` (a few COUNT queries)."""
    with connect(workspace) as conn:
        def count(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        return Progress(
            posts=count("SELECT COUNT(*) FROM posts"),
            images=count("SELECT COUNT(*) FROM images"),
            images_fetched=count("SELECT COUNT(DISTINCT sha256) FROM images WHERE fetch_status = 'ok'"),
            images_labelled=count("SELECT COUNT(DISTINCT sha256) FROM responses WHERE response IS NOT NULL"),
            images_coded=count("SELECT COUNT(DISTINCT sha256) FROM codes WHERE value != 'UNSURE'"),
            runs=count("SELECT COUNT(*) FROM runs"),
        )


def list_stages(progress: Progress) -> list[Stage]:
    """Return the stage checklist for ``progress``, in walk-through order."""
    return [
        Stage("Posts", progress.posts > 0, counted(progress.posts, "post")),
        Stage("Images & labels", progress.images_labelled > 0,
              f"{counted(progress.images_fetched, 'image')}, {progress.images_labelled:,} labelled"),
        Stage("Code", progress.images_coded > 0, counted(progress.images_coded, "image") + " coded"),
        Stage("Train", progress.runs > 0, counted(progress.runs, "run")),
    ]
