"""Large imports write through a rollback journal when they have the workspace to themselves, then go back
to the write-ahead log; everyone else keeps working, and a crash loses nothing committed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kayfabe_core import ingest
from kayfabe_core.demo import make_export
from kayfabe_core.errors import WorkspaceError
from kayfabe_core.workspace import (
    Workspace,
    connect,
    open_connection,
    open_workspace,
    read_data_version,
    read_meta,
    transaction,
    write_meta,
)

ROOT = Path(__file__).resolve().parents[1]


def journal_mode(conn: sqlite3.Connection) -> str:
    return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def workspace_files(workspace: Workspace) -> set[str]:
    return {path.name for path in workspace.root.iterdir() if path.name.startswith(workspace.db_path.name)}


def test_a_write_alone_goes_through_a_rollback_journal_then_back_to_the_log(tmp_path: Path) -> None:
    workspace = open_workspace(tmp_path / "w")
    with transaction(workspace, alone=True) as conn:
        assert journal_mode(conn) == "delete"
        write_meta(conn, "k", "v")
    assert read_meta(workspace, "k") == "v"
    with connect(workspace) as conn:
        assert journal_mode(conn) == "wal"
    assert f"{workspace.db_path.name}-journal" not in workspace_files(workspace)


def test_a_write_alone_keeps_the_log_while_another_connection_is_open(tmp_path: Path) -> None:
    """Another window with the workspace open: the import does not wait for it, it writes through the log."""
    workspace = open_workspace(tmp_path / "w")
    with connect(workspace) as other, transaction(workspace, alone=True) as conn:
        assert journal_mode(conn) == "wal"
        write_meta(conn, "k", "v")
        assert other.execute("SELECT value FROM meta WHERE key = 'k'").fetchone() is None  # not committed yet
    assert read_meta(workspace, "k") == "v"


def test_a_connection_opened_during_a_write_alone_reads_what_was_there(tmp_path: Path) -> None:
    """Opening the workspace cannot switch it back to the log while the import holds it: the new connection
    reads through the rollback journal instead, and sees the workspace as it was before the import."""
    workspace = open_workspace(tmp_path / "w")
    with transaction(workspace) as conn:
        write_meta(conn, "before", "1")
    with transaction(workspace, alone=True) as conn:
        write_meta(conn, "during", "2")
        reader = open_connection(workspace)
        try:
            assert journal_mode(reader) == "delete"
            assert reader.execute("SELECT value FROM meta WHERE key = 'before'").fetchone()[0] == "1"
            assert reader.execute("SELECT value FROM meta WHERE key = 'during'").fetchone() is None
        finally:
            reader.close()
    assert read_meta(workspace, "during") == "2"
    with connect(workspace) as conn:
        assert journal_mode(conn) == "wal"


def test_a_write_alone_that_fails_leaves_nothing_and_goes_back_to_the_log(tmp_path: Path) -> None:
    workspace = open_workspace(tmp_path / "w")
    start = read_data_version(workspace)
    with pytest.raises(RuntimeError), transaction(workspace, alone=True) as conn:
        write_meta(conn, "k", "v")
        raise RuntimeError("boom")
    assert read_meta(workspace, "k") is None
    assert read_data_version(workspace) == start
    with connect(workspace) as conn:
        assert journal_mode(conn) == "wal"


WRITER_ALONE = """
import sys
from kayfabe_core.workspace import open_workspace, transaction, write_meta
workspace = open_workspace(sys.argv[1])
with transaction(workspace) as conn:
    for i in range(2000):
        write_meta(conn, f"old{i}", "x" * 1000)
with transaction(workspace, alone=True) as conn:
    conn.execute("PRAGMA cache_size = 8")  # a tiny page cache: changed pages spill into the database file
    for i in range(2000):
        write_meta(conn, f"old{i}", "y" * 1000)
        write_meta(conn, f"new{i}", "z" * 1000)
    print(conn.execute("PRAGMA journal_mode").fetchone()[0], flush=True)
    import time
    time.sleep(60)  # killed here, before the commit
"""


def test_a_writer_killed_while_writing_alone_leaves_the_workspace_as_it_was(tmp_path: Path) -> None:
    """The rollback journal holds the old content of every page the import overwrote: whoever opens the
    workspace next puts it back, and switches to the log again."""
    root = tmp_path / "w"
    process = subprocess.Popen([sys.executable, "-c", WRITER_ALONE, str(root)], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "delete"
    journal = root / "kayfabe.sqlite-journal"
    assert journal.exists() and journal.stat().st_size > 0  # a hot journal, with pages to put back
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    workspace = open_workspace(root)
    with connect(workspace) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert journal_mode(conn) == "wal"
        values = dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'old%' OR key LIKE 'new%'"))
    assert len(values) == 2000 and set(values.values()) == {"x" * 1000}
    assert not journal.exists()


def dump(workspace: Workspace) -> tuple[list[tuple[object, ...]], ...]:
    with connect(workspace) as conn:
        return tuple([tuple(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
                     for table in ("posts", "images"))


def test_a_large_export_is_imported_through_a_rollback_journal(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An export of at least ALONE_MIN_BYTES is written through the rollback journal (here the threshold is
    lowered to the file's size), stores exactly what the log does, and leaves the workspace in the log's mode."""
    path = tmp_path / "export.csv"
    path.write_text(make_export(200, seed=4).csv_text, encoding="utf-8")
    modes: list[str] = []
    add = ingest._ChunkWriter.add

    def add_and_look(self: ingest._ChunkWriter, *args: Any) -> None:
        modes.append(journal_mode(self.conn))
        add(self, *args)

    monkeypatch.setattr(ingest._ChunkWriter, "add", add_and_look)
    through_log = open_workspace(tmp_path / "log")
    log_report = ingest.ingest_paths(through_log, [path])
    assert set(modes) == {"wal"}  # smaller than the threshold: the log
    monkeypatch.setattr(ingest, "ALONE_MIN_BYTES", path.stat().st_size)
    modes.clear()
    through_journal = open_workspace(tmp_path / "journal")
    journal_report = ingest.ingest_paths(through_journal, [path])
    assert set(modes) == {"delete"}
    assert journal_report.to_dict() == log_report.to_dict() and journal_report.posts == 200
    assert dump(through_journal) == dump(through_log)
    with connect(through_journal) as conn:
        assert journal_mode(conn) == "wal"


def test_waiting_for_a_write_alone_is_said_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once an import through the rollback journal holds the workspace exclusively, opening it waits up to the
    busy timeout and then says the workspace is busy, as for any long write."""
    workspace = open_workspace(tmp_path / "w")
    monkeypatch.setattr("kayfabe_core.workspace.BUSY_TIMEOUT_S", 0.2)
    with transaction(workspace, alone=True) as conn:
        conn.execute("PRAGMA cache_size = 8")
        for i in range(500):
            write_meta(conn, f"k{i}", "v" * 1000)  # pages spill: the import now holds the workspace exclusively
        started = time.monotonic()
        with pytest.raises(WorkspaceError) as caught:
            open_connection(workspace)
        waited = time.monotonic() - started
    assert caught.value.message.startswith("The workspace was busy")
    assert waited >= 0.15  # it waited for the import rather than failing at once
    assert read_meta(workspace, "k499") == "v" * 1000
