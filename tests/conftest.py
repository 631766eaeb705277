"""Shared fixtures: a fresh workspace, and builders for small PhantomBuster CSVs."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from kayfabe_core.workspace import Workspace, open_workspace

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL_TABLE = ROOT.parent / "shared" / "datasets" / "rondarousey_features.csv"

HEADER = ["postUrl", "description", "commentCount", "likeCount", "pubDate", "isSidecar", "type",
          "imgUrl", "postId", "query", "timestamp", "error", "taggedUsername1"]


def post_row(code: str, image: str = "1", **fields: str) -> dict[str, str]:
    """One export row for post ``code`` showing image ``image`` (empty image: none)."""
    row = {
        "postUrl": f"https://www.instagram.com/p/{code}/",
        "description": f"caption of {code}",
        "commentCount": "3",
        "likeCount": "120",
        "pubDate": "2020-03-01T17:04:05.000Z",
        "isSidecar": "false",
        "type": "Photo",
        "imgUrl": f"https://cdn.example/v/{code}_{image}_n.jpg?oh=ab12&oe=61E00000" if image else "",
        "postId": f"99{len(code)}",
        "query": "https://www.instagram.com/someone/",
        "timestamp": "2022-01-10T10:00:00.000Z",
        "error": "",
        "taggedUsername1": "",
    }
    row.update(fields)
    return row


def error_row() -> dict[str, str]:
    """A failure row as PhantomBuster writes it: only query, timestamp and error."""
    return {name: "" for name in HEADER} | {
        "query": "https://www.instagram.com/gone/", "timestamp": "2022-01-10T10:00:00.000Z",
        "error": "Can't access posts"}


def make_csv(rows: list[dict[str, str]], header: list[str] | None = None, delimiter: str = ",") -> str:
    """Return CSV text with ``header`` (default :data:`HEADER`) and ``rows``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header or HEADER, delimiter=delimiter,
                            extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A new empty workspace in a temporary folder."""
    return open_workspace(tmp_path / "ws")
