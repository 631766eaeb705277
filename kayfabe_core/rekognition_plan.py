"""Which images still need which Rekognition operation, and what sending them would cost.

A pair (image, operation) is done when the ``responses`` table holds a response
for it, or an error that retrying cannot fix; done pairs are never sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from kayfabe_core.errors import KayfabeError
from kayfabe_core.labels import OPERATIONS
from kayfabe_core.rekognition_client import RETRYABLE_CODES
from kayfabe_core.workspace import Workspace, connect

PRICE_PER_IMAGE_USD = 0.001
FREE_TIER_NOTE = ("New AWS accounts may have a free tier for their first 12 months (AWS pages disagree: "
                  "1,000 or 5,000 images a month); this estimate ignores it.")


@dataclass(frozen=True)
class LabelPlan:
    """What a labelling run would do and cost, shown before anything is paid."""

    operations: tuple[str, ...]
    images_total: int
    calls_needed: int
    calls_skipped: int
    estimated_usd: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Call:
    """One image to send to one operation."""

    sha256: str
    ext: str
    operation: str


def check_operations(operations: Sequence[str]) -> tuple[str, ...]:
    """Return ``operations`` without duplicates; raise :class:`KayfabeError` for unknown or none."""
    unknown = [op for op in operations if op not in OPERATIONS]
    if unknown or not operations:
        raise KayfabeError(f"Unknown or missing Rekognition operation: {', '.join(unknown) or 'none chosen'}.",
                           f"Choose one or more of {', '.join(OPERATIONS)}.")
    return tuple(dict.fromkeys(operations))


def _fetched_images(workspace: Workspace) -> list[tuple[str, str]]:
    with connect(workspace) as conn:
        rows = conn.execute("SELECT sha256, MIN(ext) FROM images WHERE fetch_status = 'ok' "
                            "AND sha256 IS NOT NULL GROUP BY sha256 ORDER BY sha256").fetchall()
    return [(row[0], row[1]) for row in rows]


def _done_pairs(workspace: Workspace) -> set[tuple[str, str]]:
    marks = ", ".join("?" for _ in RETRYABLE_CODES)
    with connect(workspace) as conn:
        rows = conn.execute(f"SELECT DISTINCT sha256, operation FROM responses "
                            f"WHERE error_code IS NULL OR error_code NOT IN ({marks})",
                            tuple(RETRYABLE_CODES)).fetchall()
    return {(row[0], row[1]) for row in rows}


def pending_calls(workspace: Workspace, operations: Sequence[str]) -> tuple[list[Call], int]:
    """Return the calls still needed for ``operations`` and how many pairs are already stored."""
    ops = check_operations(operations)
    done = _done_pairs(workspace)
    images = _fetched_images(workspace)
    calls = [Call(sha, ext, op) for sha, ext in images for op in ops if (sha, op) not in done]
    return calls, len(images) * len(ops) - len(calls)


def plan_labeling(workspace: Workspace, operations: Sequence[str]) -> LabelPlan:
    """Return what labelling the fetched images with ``operations`` would call and cost (first tier)."""
    ops = check_operations(operations)
    calls, skipped = pending_calls(workspace, ops)
    images_total = len(_fetched_images(workspace))
    return LabelPlan(ops, images_total, len(calls), skipped, round(len(calls) * PRICE_PER_IMAGE_USD, 6))
