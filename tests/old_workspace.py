"""Workspace databases as older versions of the app left them (for the upgrade tests), or as a damaged disk
leaves one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kayfabe_core.schema import MIGRATIONS
from kayfabe_core.workspace import PAGE_SIZE, _run_migration


def old_workspace(root: Path, version: int) -> sqlite3.Connection:
    """Make the folder ``root`` with a workspace database of schema ``version`` (its first ``version`` steps)
    (committed) and return a connection to it, for the caller to add the old rows in a ``with`` block (which
    commits them) and close."""
    root.mkdir(parents=True)
    conn = sqlite3.connect(root / "kayfabe.sqlite")
    for migration in MIGRATIONS[:version]:
        _run_migration(conn, migration)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    return conn


def damage(root: Path) -> None:
    """Zero every page of the workspace's database but the first (its header and schema stay readable, so it
    opens; every table read then finds SQLite's "database disk image is malformed")."""
    database = root / "kayfabe.sqlite"
    size = database.stat().st_size
    with database.open("r+b") as file:
        file.seek(PAGE_SIZE)
        file.write(bytes(size - PAGE_SIZE))
