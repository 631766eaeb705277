"""The coding queue: which image a coder sees next, and one code written per click.

Codes are append-only: recoding an image appends a new code and the coder's
latest code wins, so an "undo" is simply showing the previous image again.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection
from dataclasses import dataclass

from kayfabe_core.codes import VALUES, append_codes
from kayfabe_core.errors import KayfabeError
from kayfabe_core.sql_columns import count_distinct
from kayfabe_core.workspace import Workspace, connect, read_meta, transaction, write_meta

DOUBLE_CODING_SHARE = 0.15  # default share of images every coder codes, for agreement
SHARE_KEY = "double_coding_share"

ORDERS = {
    "uncoded_random": "Not yet coded first, in random order",
    "double_sample": "Double-coding sample first (the images every coder codes)",
    "oldest": "By date, oldest first",
    "newest": "By date, newest first",
    "uncertain": "Most uncertain first (the latest model's scores closest to 0.5)",
    "sent": "Sent from Predict first (closest to the threshold first)",
}
SENT_KEY = "sent_to_coding"


@dataclass(frozen=True)
class CodingProgress:
    """How far a coder (and the team) has got."""

    images: int
    coded_by_coder: int
    coded_by_anyone: int


def _check_coder(coder: str) -> str:
    name = coder.strip()
    if not name:
        raise KayfabeError("No coder name is set, so the code cannot be credited to anyone.",
                           "Type your name in the sidebar under 'Coder', then code again.")
    return name


def build_queue(workspace: Workspace, coder: str, order: str, seed: int = 0) -> list[str]:
    """Return the fetched images' hashes in the order this coder should see them.

    Images the coder has not coded come first (in ``order``), then the ones they
    have coded, so recoding is possible but never in the way. "uncertain" scores
    every image with the newest model trained on this workspace and puts those
    closest to 0.5 first (raises :class:`~kayfabe_core.errors.StageNotReadyError`
    when there is no such model). Raises KeyError for an unknown order.
    """
    by_date = ("SELECT sha256, MIN(p.pub_date) AS day FROM images i JOIN posts p ON p.post_url = i.post_url "
               "WHERE i.fetch_status = 'ok' GROUP BY sha256")
    with connect(workspace) as conn:
        rows = conn.execute(by_date).fetchall()
        done = {row[0] for row in conn.execute("SELECT DISTINCT sha256 FROM codes WHERE coder = ?", (coder,))}
    if order == "uncertain":
        hashes = _most_uncertain_first(workspace, sorted(row[0] for row in rows))
    elif order == "sent":
        sent = read_sent_to_coding(workspace)
        sent_set, fetched = set(sent), {row[0] for row in rows}  # once: per image they made it quadratic
        rest = sorted(sha for sha in fetched if sha not in sent_set)
        random.Random(seed).shuffle(rest)
        hashes = [sha for sha in sent if sha in fetched] + rest
    elif order in ("uncoded_random", "double_sample"):
        hashes = sorted(row[0] for row in rows)
        random.Random(seed).shuffle(hashes)
        if order == "double_sample":
            share = read_double_coding_share(workspace)
            hashes.sort(key=lambda sha: not in_double_sample(sha, share))  # stable: sample first, still shuffled
    else:
        newest = {"oldest": False, "newest": True}[order]
        hashes = [row[0] for row in sorted(rows, key=lambda row: (row[1] or "", row[0]), reverse=newest)]
    return [sha for sha in hashes if sha not in done] + [sha for sha in hashes if sha in done]


def send_to_coding(workspace: Workspace, sha256s: list[str]) -> int:
    """Put ``sha256s`` (in this order) at the head of the "sent" coding order; return how many are there now."""
    with transaction(workspace, codes_only=True) as conn:
        write_meta(conn, SENT_KEY, json.dumps(list(dict.fromkeys(sha256s))))
    return len(set(sha256s))


def read_sent_to_coding(workspace: Workspace) -> list[str]:
    """Return the images last sent to coding from the Predict page (empty when none)."""
    stored = read_meta(workspace, SENT_KEY)
    return list(json.loads(stored)) if stored else []


def _most_uncertain_first(workspace: Workspace, hashes: list[str]) -> list[str]:
    from kayfabe_core.scoring import latest_workspace_run, score_images

    scores = score_images(workspace, latest_workspace_run(workspace), hashes)
    distance = (scores["score"] - 0.5).abs()
    return list(scores.assign(distance=distance).sort_values(["distance", "sha256"])["sha256"])


def read_double_coding_share(workspace: Workspace) -> float:
    """Return the workspace's double-coding share (default :data:`DOUBLE_CODING_SHARE`)."""
    stored = read_meta(workspace, SHARE_KEY)
    return DOUBLE_CODING_SHARE if stored is None else float(stored)


def write_double_coding_share(workspace: Workspace, share: float) -> None:
    """Set the share of images every coder codes. Raises KayfabeError outside 1–100 %."""
    if not 0.01 <= share <= 1.0:
        raise KayfabeError(f"The double-coding share must be between 1 % and 100 %; got {share * 100:.0f} %.",
                           "Choose a share such as 10–20 % of the images.")
    with transaction(workspace, codes_only=True) as conn:
        write_meta(conn, SHARE_KEY, repr(share))


def in_double_sample(sha256: str, share: float = DOUBLE_CODING_SHARE) -> bool:
    """Return whether the image belongs to the fixed double-coding sample (the same for every coder)."""
    return int(sha256[:8], 16) % 1000 < share * 1000


def next_image(queue: list[str], skipped: Collection[str], coded: Collection[str]) -> str | None:
    """Return the first image of ``queue`` neither skipped nor coded in this sitting, or None."""
    return next((sha for sha in queue if sha not in skipped and sha not in coded), None)


def code_image(workspace: Workspace, sha256: str, coder: str, value: str, note: str = "") -> None:
    """Write one code in its own transaction, stamped with the latest codebook version.

    Raises :class:`KayfabeError` when the coder's name is empty or the value unknown.
    """
    name = _check_coder(coder)
    if value not in VALUES:
        raise KayfabeError(f"{value!r} is not a code.", f"Use one of {', '.join(VALUES)}.")
    with transaction(workspace, codes_only=True) as conn:
        version = conn.execute("SELECT MAX(version) FROM codebooks").fetchone()[0]
        append_codes(conn, [(sha256, name, value)], version, note)


def read_latest_code(workspace: Workspace, sha256: str, coder: str) -> str | None:
    """Return the coder's latest code for the image, or None."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT value FROM codes WHERE sha256 = ? AND coder = ? ORDER BY code_id DESC LIMIT 1",
                           (sha256, coder)).fetchone()
    return None if row is None else str(row[0])


def read_coding_progress(workspace: Workspace, coder: str, images: int | None = None) -> CodingProgress:
    """Return how many fetched images there are, and how many this coder and anyone coded.

    ``images``, the number of fetched images, is counted unless the caller knows it (the Code page keeps it
    while coding does not change it: 0.13 s of each key press at 150,000 images).
    """
    with connect(workspace) as conn:
        if images is None:  # counted by Arrow: SQLite's COUNT(DISTINCT) sorted 150,000 hashes (0.6 s)
            images = count_distinct(conn, "sha256", "images WHERE fetch_status = 'ok'")
        # the codes' counts walk the index on (sha256, coder) in order, which needs no sort (0.03 s each)
        mine = conn.execute("SELECT COUNT(DISTINCT sha256) FROM codes WHERE coder = ?", (coder,)).fetchone()[0]
        anyone = conn.execute("SELECT COUNT(DISTINCT sha256) FROM codes").fetchone()[0]
    return CodingProgress(images, int(mine), int(anyone))


def list_coders(workspace: Workspace) -> list[str]:
    """Return every coder who has coded something, most codes first."""
    with connect(workspace) as conn:
        rows = conn.execute("SELECT coder FROM codes GROUP BY coder ORDER BY COUNT(*) DESC, coder").fetchall()
    return [str(row[0]) for row in rows]
