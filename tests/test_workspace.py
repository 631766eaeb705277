"""The workspace folder and database: creation, schema version, transactions, durability."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from kayfabe_core.errors import WorkspaceError
from kayfabe_core.schema import SCHEMA_VERSION
from kayfabe_core.workspace import (
    connect,
    default_workspace_path,
    open_connection,
    open_workspace,
    read_data_version,
    read_meta,
    sqlite_in_words,
    transaction,
    write_meta,
)
from tests.workspace_states import damage, limit_growth, old_workspace

ROOT = Path(__file__).resolve().parents[1]


def test_new_workspace_has_folders_and_current_schema(tmp_path: Path) -> None:
    workspace = open_workspace(tmp_path / "new")
    assert workspace.images_dir.is_dir() and workspace.runs_dir.is_dir()
    with connect(workspace) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert open_workspace(tmp_path / "new") == workspace  # reopening is harmless


def test_environment_variable_chooses_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAYFABE_WORKSPACE", "/tmp/elsewhere")
    assert default_workspace_path() == Path("/tmp/elsewhere")
    monkeypatch.delenv("KAYFABE_WORKSPACE")
    assert default_workspace_path() == Path("workspace")


def test_a_file_is_not_a_workspace(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(WorkspaceError) as caught:
        open_workspace(tmp_path / "f")
    assert caught.value.message == f"The workspace must be a folder, but {tmp_path / 'f'} is a file."


def test_a_folder_that_cannot_be_made_names_what_refused_it(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(WorkspaceError) as inside_a_file:
        open_workspace(tmp_path / "notes.txt" / "study")
    assert inside_a_file.value.message == (f"Could not create the workspace folder {tmp_path / 'notes.txt' / 'study'}: "
                                           f"{tmp_path / 'notes.txt'} is a file, so no folder can be made inside it.")
    if Path("/proc/1").is_dir():  # Linux: the folder exists, yet making one in it fails with "No such file"
        with pytest.raises(WorkspaceError) as refused:
            open_workspace("/proc/1/study")
        assert refused.value.message.startswith("Could not create the workspace folder /proc/1/study: /proc/1 does "
                                                "not let this app make folders in it (the system said: ")


def test_opening_without_create_needs_an_existing_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as caught:
        open_workspace(tmp_path / "none", create=False)
    assert caught.value.message == f"No workspace found in {tmp_path / 'none'} (there is no kayfabe.sqlite there)."


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    workspace = open_workspace(tmp_path / "w")
    with sqlite3.connect(workspace.db_path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(WorkspaceError) as caught:
        open_workspace(tmp_path / "w")
    assert caught.value.message == (
        f"This workspace was made by a newer version of the app (schema {SCHEMA_VERSION + 1}; "
        f"this app knows up to {SCHEMA_VERSION})."
    )


def test_a_database_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "kayfabe.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(WorkspaceError) as caught:
        open_workspace(tmp_path / "w")
    assert caught.value.message.startswith(f"The file {tmp_path / 'w' / 'kayfabe.sqlite'} is not a workspace database")


def test_transaction_commits_and_bumps_version(tmp_path: Path) -> None:
    workspace = open_workspace(tmp_path / "w")
    start = read_data_version(workspace)
    with transaction(workspace) as conn:
        write_meta(conn, "k", "v")
    assert read_meta(workspace, "k") == "v"
    assert read_data_version(workspace) == start + 1


def test_results_have_their_own_version_and_leave_the_data_version_alone(tmp_path: Path) -> None:
    """Saving a run, a tuning or a job must not throw away caches of features built from the data."""
    from kayfabe_core.workspace import RESULTS_VERSION

    workspace = open_workspace(tmp_path / "ws")
    data, results = read_data_version(workspace), read_data_version(workspace, RESULTS_VERSION)
    with transaction(workspace, RESULTS_VERSION) as conn:
        conn.execute("INSERT INTO runs (run_id, created_at, backend, record) VALUES ('r', 't', 'local', '{}')")
    assert read_data_version(workspace) == data
    assert read_data_version(workspace, RESULTS_VERSION) == results + 1
    with transaction(workspace) as conn:
        conn.execute("INSERT INTO posts (post_url) VALUES ('https://www.instagram.com/p/A/')")
    assert read_data_version(workspace) == data + 1
    assert read_data_version(workspace, RESULTS_VERSION) == results + 1


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    workspace = open_workspace(tmp_path / "w")
    start = read_data_version(workspace)
    with pytest.raises(RuntimeError), transaction(workspace) as conn:
        write_meta(conn, "k", "v")
        raise RuntimeError("boom")
    assert read_meta(workspace, "k") is None
    assert read_data_version(workspace) == start


WRITER = """
import sys
from kayfabe_core.workspace import open_workspace, transaction, write_meta
workspace = open_workspace(sys.argv[1])
i = 0
while True:
    with transaction(workspace) as conn:
        write_meta(conn, f"k{i}", str(i))
    print(i, flush=True)  # acknowledged only after the commit returned
    i += 1
"""


def test_killed_writer_loses_no_acknowledged_write(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "w")], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    acknowledged = []
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while len(acknowledged) < 30 and time.monotonic() < deadline:
        acknowledged.append(int(process.stdout.readline()))
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert len(acknowledged) == 30
    workspace = open_workspace(tmp_path / "w")
    for i in acknowledged:
        assert read_meta(workspace, f"k{i}") == str(i)


def test_a_version_1_workspace_is_upgraded_and_keeps_its_runs(tmp_path: Path) -> None:
    root = tmp_path / "old"
    with old_workspace(root, 1) as conn:
        conn.execute("INSERT INTO meta VALUES ('data_version', '7')")
        conn.execute("INSERT INTO runs (run_id, created_at, backend, record) VALUES ('r1', 't', 'local', '{}')")
    workspace = open_workspace(root)
    with connect(workspace) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        assert tuple(conn.execute("SELECT run_id, note FROM runs").fetchone()) == ("r1", "")
    assert read_data_version(workspace) == 13  # bumped per step, never reset: caches keyed on it stay honest


OLD_LABEL_ROWS = [  # (sha256, source, key, name, confidence, parents, categories, model_version)
    ("b" * 64, "label", "Person", "Person", 99.5, "[]", '["Person Description"]', "3.0"),
    ("a" * 64, "label", "Person", "Person", 80.25, "[]", '["Person Description"]', "3.0"),
    ("a" * 64, "label", "Face", "Face", 97.0, '["Person"]', "[]", "3.0"),
    ("a" * 64, "label", "Person", "Person", 81.0, "[]", "[]", "2.0"),
    ("a" * 64, "moderation", "Violence", "Violence", 60.0, "[]", "[]", "7.0"),
    ("c" * 64, "celebrity", "1a2B", "Jane Star", 99.0, "[]", "[]", ""),
]


def test_a_version_2_workspace_keeps_every_label_row_under_integer_keys(tmp_path: Path) -> None:
    """Schema 3 moves the long label table to integer rows; the ``labels`` view gives back every old row."""
    from kayfabe_core.label_store import store_label_rows

    root = tmp_path / "old"
    with old_workspace(root, 2) as conn:
        conn.executemany("INSERT INTO labels VALUES (?, ?, ?, ?, ?, ?, ?, ?)", OLD_LABEL_ROWS)
    workspace = open_workspace(root)
    everything = "SELECT * FROM labels ORDER BY sha256, source, key, model_version"
    with connect(workspace) as conn:
        assert sorted(tuple(row) for row in conn.execute(everything)) == sorted(OLD_LABEL_ROWS)
        assert [row[0] for row in conn.execute("SELECT sha256 FROM contents ORDER BY content_no")] == [
            "b" * 64, "a" * 64, "c" * 64]  # numbered in the order they arrived
        assert conn.execute("SELECT count(*) FROM label_names").fetchone()[0] == 5
    with transaction(workspace) as conn:  # a new row reuses the numbers; a stored row is never overwritten
        assert store_label_rows(conn, [("c" * 64, "label", "Person", "Person", 70.0, "[]", "[]", "3.0"),
                                       ("a" * 64, "label", "Face", "Face", 10.0, "[]", "[]", "3.0")]) == 1
    with connect(workspace) as conn:
        assert conn.execute("SELECT count(*) FROM label_names").fetchone()[0] == 5
        assert conn.execute("SELECT max(content_no) FROM contents").fetchone()[0] == 3
        assert conn.execute("SELECT confidence FROM labels WHERE sha256 = ? AND key = 'Face'",
                            ("a" * 64,)).fetchone()[0] == 97.0


def test_what_a_folder_holds_before_it_is_opened(tmp_path: Path) -> None:
    from kayfabe_core.workspace import folder_kind

    assert folder_kind(tmp_path / "nothing") == "new"
    (tmp_path / "empty").mkdir()
    assert folder_kind(tmp_path / "empty") == "new"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "posts.csv").write_text("a\n")
    assert folder_kind(tmp_path / "data") == "other"
    (tmp_path / "file.txt").write_text("x")
    assert folder_kind(tmp_path / "file.txt") == "file"
    open_workspace(tmp_path / "ws")
    assert folder_kind(tmp_path / "ws") == "workspace"


def test_a_folder_this_computer_cannot_look_into_is_unreadable(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from kayfabe_core.workspace import folder_kind

    assert folder_kind("~nosuchuser-kayfabe/study") == "unreadable"  # expanduser raises RuntimeError
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "notes.txt").write_text("x")

    def no_permission(self: Path) -> object:
        raise PermissionError(13, "Permission denied")  # as for another user's folder (root reads every one)

    monkeypatch.setattr(Path, "iterdir", no_permission)
    assert folder_kind(tmp_path / "private") == "unreadable"


def test_a_version_6_workspace_keeps_every_response_under_content_numbers(tmp_path: Path) -> None:
    """Schema 7 keys responses by the image's content number; the ``responses`` view gives back every old row,
    and an image with a response but no labels (an error, say) gets a number after the labelled ones."""
    from kayfabe_core.labels import store_error, store_response

    root = tmp_path / "old"
    old_rows = [  # (sha256, operation, model_version, region, called_at, request_id, request, response,
        #            error_code, error_message, origin)
        ("b" * 64, "DetectLabels", "3.0", "eu-west-1", "t1", "r1", "{}", b"stored", None, None, "rekognition"),
        ("e" * 64, "DetectLabels", "", "eu-west-1", "t2", "r2", "{}", None, "InvalidImageFormatException",
         "bad picture", "rekognition"),
        ("a" * 64, "DetectModerationLabels", "7.0", "", "t3", "", "{}", '{"ModerationLabels": []}', None, None,
         "import"),
    ]
    with old_workspace(root, 6) as conn:
        conn.executemany("INSERT INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", old_rows)
        conn.executemany("INSERT INTO contents(sha256) VALUES (?)", [("a" * 64,), ("b" * 64,)])  # labelled first
    workspace = open_workspace(root)
    with connect(workspace) as conn:
        assert [tuple(row) for row in conn.execute("SELECT * FROM responses ORDER BY called_at")] == old_rows
        assert [tuple(row) for row in conn.execute("SELECT sha256, content_no FROM contents ORDER BY 2")] == [
            ("a" * 64, 1), ("b" * 64, 2), ("e" * 64, 3)]
        assert [row[0] for row in conn.execute("SELECT response_no FROM stored_responses ORDER BY called_at")] == [
            1, 2, 3]  # the old rowids: the labels version read from them does not go back
    with transaction(workspace) as conn:  # stored rows are never overwritten; new images get new numbers
        assert store_response(conn, "b" * 64, "DetectLabels", {"Labels": [], "LabelModelVersion": "3.0"},
                              origin="test", called_at="t4") == 0
        assert not store_error(conn, "e" * 64, "DetectLabels", error_code="X", error_message="", origin="test",
                               called_at="t5")
        assert store_error(conn, "f" * 64, "DetectLabels", error_code="X", error_message="", origin="test",
                           called_at="t6")
    with connect(workspace) as conn:
        assert conn.execute("SELECT count(*) FROM responses").fetchone()[0] == 4
        assert conn.execute("SELECT content_no FROM contents WHERE sha256 = ?", ("f" * 64,)).fetchone()[0] == 4


def test_a_full_disk_is_said_in_words_and_nothing_is_written(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = open_workspace(tmp_path / "w")
    limit_growth(monkeypatch, 2)
    with pytest.raises(WorkspaceError) as caught, transaction(workspace) as conn:
        conn.executemany("INSERT INTO meta VALUES (?, ?)", ((f"k{i}", "x" * 1000) for i in range(500)))
    assert caught.value.message.startswith("The disk that holds the workspace ran out of space (database or "
                                           "disk is full), so nothing was written")
    assert str(workspace.root) in caught.value.hint
    monkeypatch.undo()
    assert read_meta(workspace, "k0") is None
    with transaction(workspace) as conn:  # the workspace still works once there is room
        write_meta(conn, "k0", "x")
    assert read_meta(workspace, "k0") == "x"


def test_an_upgrade_that_fills_the_disk_midway_says_which_steps_are_kept(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Each schema step is one transaction: a later one that fails leaves the earlier ones, and says so."""
    root = tmp_path / "old"
    old_workspace(root, 1).close()
    limit_growth(monkeypatch, 2)  # room for the first step (2), not for the next one
    with pytest.raises(WorkspaceError) as caught:
        open_workspace(root)
    assert caught.value.message == (
        "The disk that holds the workspace ran out of space (database or disk is full), so this step of the "
        f"upgrade was not written; the steps before it are kept (the workspace is at schema 2 of "
        f"{SCHEMA_VERSION}), and opening it again finishes the upgrade.")
    with closing(sqlite3.connect(root / "kayfabe.sqlite")) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    monkeypatch.undo()
    with connect(open_workspace(root)) as conn:  # with room, opening it again finishes the upgrade
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_workspace_that_cannot_be_written_to_is_said_in_words(tmp_path: Path) -> None:
    """A write-protected stick or a read-only shared folder: SQLite refuses the write ("attempt to write a
    readonly database", here from its query_only switch, which refuses writes the same way)."""
    workspace = open_workspace(tmp_path / "w")
    conn = open_connection(workspace)
    conn.execute("PRAGMA query_only=ON")
    try:
        with pytest.raises(WorkspaceError) as caught, sqlite_in_words(workspace):
            conn.execute("INSERT INTO meta VALUES ('k', 'v')")
    finally:
        conn.close()
    assert caught.value.message == (
        f"The workspace in {workspace.root} cannot be written to (attempt to write a readonly database): the app "
        "keeps all its work in the workspace, so it needs to write in that folder.")
    assert "Copy the workspace folder" in caught.value.hint


def test_a_damaged_workspace_file_is_said_in_words_when_read_or_written(tmp_path: Path) -> None:
    workspace = open_workspace(tmp_path / "w")
    damage(workspace.root)
    with pytest.raises(WorkspaceError) as read:
        read_data_version(workspace)
    assert read.value.message == ("The workspace's database is damaged (database disk image is malformed): "
                                  f"SQLite cannot read part of {workspace.db_path}.")
    assert ".recover" in read.value.hint
    with pytest.raises(WorkspaceError, match="is damaged"), transaction(workspace) as conn:
        write_meta(conn, "k", "v")


def test_opening_a_workspace_that_another_program_holds_locked_says_it_is_busy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even opening needs SQLite's locks: a workspace another program holds locked is said to be busy, not to
    be some other file."""
    workspace = open_workspace(tmp_path / "w")
    monkeypatch.setattr("kayfabe_core.workspace.BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(workspace.db_path, isolation_level=None)
    other.execute("PRAGMA journal_mode=DELETE")  # another tool's way of writing: it locks out readers
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(WorkspaceError) as caught:
            open_connection(workspace)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert caught.value.message == ("The workspace was busy: something else kept writing to it for more than 0.2 "
                                    "seconds, so nothing was written: the workspace is as it was before.")
    with connect(workspace) as conn:  # free again, and back to the write-ahead log
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_files_sqlite_cannot_read_or_write_are_said_in_words(tmp_path: Path) -> None:
    """A disk so full that SQLite cannot make its shared-memory file fails the first read with "disk I/O
    error" (seen on a full tmpfs): said in words, like a full disk, and the workspace's other errors pass."""
    workspace = open_workspace(tmp_path / "w")
    with pytest.raises(WorkspaceError) as caught, sqlite_in_words(workspace):
        raise sqlite3.OperationalError("disk I/O error")
    assert caught.value.message == ("The workspace's files could not be read or written (disk I/O error), so "
                                    "nothing was written: the workspace is as it was before.")
    assert str(workspace.root) in caught.value.hint and "free space" in caught.value.hint
    with pytest.raises(sqlite3.OperationalError, match="no such table"), sqlite_in_words(workspace):
        raise sqlite3.OperationalError("no such table: nowhere")


def test_a_write_that_waits_too_long_for_another_says_so_in_words(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = open_workspace(tmp_path / "w")
    monkeypatch.setattr("kayfabe_core.workspace.BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(workspace.db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another window's import, holding the write lock
    try:
        with pytest.raises(WorkspaceError) as caught, transaction(workspace) as conn:
            write_meta(conn, "k", "v")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert caught.value.message == ("The workspace was busy: something else kept writing to it for more than 0.2 "
                                    "seconds, so nothing was written: the workspace is as it was before.")
    assert read_meta(workspace, "k") is None
