"""What happened to each image so far: fetch statuses and stored Rekognition errors."""

from __future__ import annotations

import pandas as pd

from kayfabe_core.workspace import Workspace, connect

STATUS_NAMES = {
    "ok": "Fetched", "pending": "Not fetched yet", "expired": "Link expired", "http_error": "Server refused",
    "not_an_image": "Not an image", "too_large": "Too large", "too_small": "Too small for Rekognition",
    "refused": "Link not allowed", "failed": "Network problem",
}


def count_fetch_statuses(workspace: Workspace) -> dict[str, int]:
    """Return how many image rows have each fetch status (statuses with none left out)."""
    with connect(workspace) as conn:
        rows = conn.execute("SELECT fetch_status, COUNT(*) FROM images GROUP BY fetch_status").fetchall()
    return {str(status): int(count) for status, count in rows}


def read_problems(workspace: Workspace, limit: int = 500) -> pd.DataFrame:
    """Return images that could not be fetched or labelled, with the reason in words.

    Columns: post_url, stage (Fetch | Rekognition operation), problem.
    """
    with connect(workspace) as conn:
        fetch = pd.read_sql_query(
            "SELECT post_url, 'Fetch' AS stage, COALESCE(fetch_error, fetch_status) AS problem FROM images "
            "WHERE fetch_status NOT IN ('ok', 'pending') LIMIT ?", conn, params=[limit])
        labels = pd.read_sql_query(
            "SELECT MIN(i.post_url) AS post_url, r.operation AS stage, "
            "r.error_code || ': ' || COALESCE(r.error_message, '') AS problem FROM responses r "
            "JOIN images i ON i.sha256 = r.sha256 WHERE r.response IS NULL GROUP BY r.sha256, r.operation LIMIT ?",
            conn, params=[limit])
    return pd.concat([fetch, labels], ignore_index=True)
