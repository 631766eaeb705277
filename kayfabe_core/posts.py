"""Reading posts back from the workspace: pages of the table, counts by month."""

from __future__ import annotations

import pandas as pd

from kayfabe_core.workspace import Workspace, connect

TABLE_COLUMNS = (
    "post_url", "pub_date", "media_type", "n_images", "like_count", "comment_count",
    "view_count", "description",
)


def list_owners(workspace: Workspace) -> list[str]:
    """Return the accounts (owner usernames) that have posts, most posts first."""
    with connect(workspace) as conn:
        rows = conn.execute(
            "SELECT owner FROM posts WHERE owner IS NOT NULL GROUP BY owner ORDER BY COUNT(*) DESC, owner"
        ).fetchall()
    return [str(row[0]) for row in rows]


def count_posts(workspace: Workspace, search: str = "", owner: str | None = None) -> int:
    """Return how many posts match ``search`` (a substring of the caption or link) and ``owner``."""
    where, params = _search_clause(search, owner)
    with connect(workspace) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM posts p {where}", params).fetchone()[0])


def read_posts_page(
    workspace: Workspace, offset: int, limit: int, search: str = "", owner: str | None = None
) -> pd.DataFrame:
    """Return ``limit`` posts from ``offset``, newest first, with their cover image.

    Columns: the :data:`TABLE_COLUMNS`, then ``cover_sha256`` and ``cover_ext``
    (None where the cover image has not been fetched). ``owner`` keeps one account's posts.
    """
    where, params = _search_clause(search, owner)
    columns = ", ".join(f"p.{name}" for name in TABLE_COLUMNS)
    sql = (
        f"SELECT {columns}, i.sha256 AS cover_sha256, i.ext AS cover_ext FROM posts p "
        "LEFT JOIN images i ON i.post_url = p.post_url AND i.position = 0 "
        f"AND i.fetch_status = 'ok' {where} "
        "ORDER BY p.pub_date DESC, p.post_url LIMIT ? OFFSET ?"
    )
    with connect(workspace) as conn:
        return pd.read_sql_query(sql, conn, params=[*params, limit, offset])


def _search_clause(search: str, owner: str | None = None) -> tuple[str, list[str]]:
    conditions, params = [], []
    if search.strip():
        conditions.append("(p.description LIKE ? OR p.post_url LIKE ?)")
        params += [f"%{search.strip()}%"] * 2
    if owner is not None:
        conditions.append("p.owner = ?")
        params.append(owner)
    return ("WHERE " + " AND ".join(conditions) if conditions else ""), params


def count_posts_by_month(workspace: Workspace, owner: str | None = None) -> pd.DataFrame:
    """Return posts per month and media type: columns month (YYYY-MM), media_type, posts.

    Posts without a readable date are left out; ``owner`` keeps one account's posts.
    """
    where, params = _search_clause("", owner)
    where = (where + " AND" if where else "WHERE") + " p.pub_date IS NOT NULL"
    sql = (
        "SELECT substr(p.pub_date, 1, 7) AS month, p.media_type, COUNT(*) AS posts FROM posts p "
        f"{where} GROUP BY month, p.media_type ORDER BY month"
    )
    with connect(workspace) as conn:
        return pd.read_sql_query(sql, conn, params=params)
