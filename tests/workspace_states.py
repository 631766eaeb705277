"""Workspaces in the states the tests need: as an older version of the app left one, damaged, or on a disk
that fills up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import kayfabe_core.workspace as workspace_module
from kayfabe_core.schema import MIGRATIONS
from kayfabe_core.workspace import PAGE_SIZE, Workspace, _run_migration


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


def limit_growth(monkeypatch: pytest.MonkeyPatch, pages_left: int, *modules: str) -> None:
    """Let each new workspace connection (also those ``modules`` open, by their own name for open_connection)
    grow the database by ``pages_left`` pages only: past them SQLite itself reports a full disk."""
    real = workspace_module.open_connection

    def limited(workspace: Workspace) -> sqlite3.Connection:
        conn = real(workspace)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + pages_left}")
        return conn

    for module in ("kayfabe_core.workspace", *modules):
        monkeypatch.setattr(f"{module}.open_connection", limited)
