"""The integer label table: numbering on write, and reading back as numbers in ranges."""

from __future__ import annotations

import numpy as np
import pytest

from kayfabe_core import label_store
from kayfabe_core.label_store import read_content_hashes, read_label_numbers, store_label_rows
from kayfabe_core.workspace import Workspace, connect, transaction
from tests.workspace_states import old_workspace

ROWS = [(f"{i:064x}", "label", f"L{i % 3}", f"L{i % 3}", 50.0 + 7 * i, "[]", "[]", "3.0") for i in range(9)]


@pytest.mark.parametrize("chunk", [1, 2, 200_000])
def test_hashes_and_rows_read_in_ranges_equal_a_plain_query(workspace: Workspace, chunk: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with transaction(workspace) as conn:
        assert store_label_rows(conn, ROWS) == 9
    monkeypatch.setattr(label_store, "CHUNK_CONTENTS", chunk)
    with connect(workspace) as conn:
        numbers, hashes = read_content_hashes(conn)
        expected = [tuple(row) for row in conn.execute("SELECT content_no, sha256 FROM contents ORDER BY 1")]
        triples = read_label_numbers(conn, [80.0, 60.0])
        rows = [tuple(row) for row in conn.execute(
            "SELECT content_no, label_no, confidence >= 80 FROM label_rows WHERE confidence >= 60 ORDER BY 1, 2")]
        labels_only = read_label_numbers(conn, [60.0], contents=False)
    assert list(zip(numbers.tolist(), hashes, strict=True)) == expected and len(expected) == 9
    assert [tuple(row) for row in triples.tolist()] == rows and len(rows) == 7
    assert np.array_equal(labels_only, triples[:, 1])
    with connect(workspace) as conn:
        one_cut = read_label_numbers(conn, [60.0])
    assert np.array_equal(one_cut[:, :2], triples[:, :2]) and not one_cut[:, 2].any()


def test_an_image_written_twice_reads_back_in_key_order_with_exact_confidences(workspace: Workspace) -> None:
    """Two writes for one image (say its labels, later its moderation labels) make two packs; reading merges them
    in (content, label) order, and a confidence comes back to the last bit."""
    sha = "f" * 64
    first = [(sha, "label", key, key, confidence, "[]", "[]", "3.0")
             for key, confidence in (("A", 99.55699920654297), ("C", 0.1))]
    with transaction(workspace) as conn:
        assert store_label_rows(conn, first) == 2
    with transaction(workspace) as conn:  # B is numbered after C, D after it; the stored A is not written again
        assert store_label_rows(conn, [(sha, "moderation", "B", "B", 61.0, "[]", "[]", "7.0"),
                                       (sha, "label", "A", "A", 10.0, "[]", "[]", "3.0"),
                                       (sha, "label", "D", "D", 54.99999999999999, "[]", "[]", "3.0")]) == 2
    with connect(workspace) as conn:
        assert conn.execute("SELECT count(*) FROM label_packs").fetchone()[0] == 2
        numbers = dict(conn.execute("SELECT key, label_no FROM label_names").fetchall())
        rows = read_label_numbers(conn, [0.0, 55.0])
        stored = dict(conn.execute("SELECT key, confidence FROM labels").fetchall())
    assert rows.tolist() == [[1, numbers["A"], 1], [1, numbers["C"], 0], [1, numbers["B"], 1], [1, numbers["D"], 0]]
    assert stored == {"A": 99.55699920654297, "C": 0.1, "B": 61.0, "D": 54.99999999999999}


@pytest.mark.parametrize("confidences", ["[1.0,2.0]", '["high"]'])
def test_a_damaged_pack_is_one_clear_message(workspace: Workspace, confidences: str) -> None:
    from kayfabe_core.errors import WorkspaceError

    with transaction(workspace) as conn:
        store_label_rows(conn, ROWS[:2])
        conn.execute("UPDATE label_packs SET confidences = ? WHERE pack_no = 1", (confidences,))
    with connect(workspace) as conn, pytest.raises(WorkspaceError, match="label table is damaged"):
        read_label_numbers(conn, [0.0])


def test_a_schema_3_workspace_moves_to_packs_and_its_inputs_version_moves(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Schema 4 (older apps refuse the workspace, so kept inputs stay honest) and 5 (packs) on a schema-3 workspace."""
    from kayfabe_core.workspace import INPUTS_VERSION, open_workspace, read_data_version

    root = tmp_path / "old"
    with old_workspace(root, 3) as conn:
        conn.execute("INSERT INTO meta VALUES ('inputs_version', '5')")
        conn.executemany("INSERT INTO contents VALUES (?, ?)", [(1, "a" * 64), (2, "b" * 64)])
        conn.executemany("INSERT INTO label_names(label_no, source, key, name) VALUES (?, 'label', ?, ?)",
                         [(1, "X", "X"), (2, "Y", "Y")])
        old_rows = [(2, 2, 0.1), (1, 2, 99.55699920654297), (1, 1, 7.0)]
        conn.executemany("INSERT INTO label_rows VALUES (?, ?, ?)", old_rows)
    workspace = open_workspace(root)
    assert read_data_version(workspace, INPUTS_VERSION) > 5
    with connect(workspace) as conn:
        assert sorted(tuple(row) for row in conn.execute("SELECT * FROM label_rows")) == sorted(old_rows)
        assert [tuple(row) for row in conn.execute("SELECT content_no, label_nos, confidences FROM label_packs")] == [
            (1, "[1,2]", "[7.0,99.55699920654297]"), (2, "[2]", "[0.1]")]  # shortest exact texts


def test_the_cli_says_so_before_converting_an_older_workspace(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from kayfabe_core.__main__ import main
    from kayfabe_core.workspace import needs_upgrade, open_workspace

    old, current = tmp_path / "old", tmp_path / "current"
    old_workspace(old, 3).close()
    open_workspace(current)
    (tmp_path / "file").mkdir()
    (tmp_path / "file" / "kayfabe.sqlite").write_text("not a database")
    assert needs_upgrade(old) and not needs_upgrade(current) and not needs_upgrade(tmp_path / "none")
    assert not needs_upgrade(tmp_path / "file")
    assert main(["runs", str(old)]) == 0
    assert "Converting the workspace" in capsys.readouterr().err
    assert not needs_upgrade(old)
    assert main(["runs", str(current)]) == 0
    assert "Converting" not in capsys.readouterr().err


def test_a_range_of_label_rows_too_long_for_one_text_is_read_in_halves(demo_root) -> None:  # type: ignore[no-untyped-def]
    """SQLite's length limit on one joined text splits the label list's read; the rows are the same."""
    import sqlite3

    with sqlite3.connect(demo_root / "kayfabe.sqlite") as conn:
        whole = np.sort(read_label_numbers(conn, [60.0], contents=False))
        whole_rows = read_label_numbers(conn, [60.0, 90.0])
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 2_000)
        halves = np.sort(read_label_numbers(conn, [60.0], contents=False))
        halves_rows = read_label_numbers(conn, [60.0, 90.0])
    assert len(whole) > 3_000 and np.array_equal(whole, halves)
    assert np.array_equal(whole_rows, halves_rows) and np.array_equal(np.sort(whole_rows[:, 1]), whole)


def test_packs_whose_lengths_disagree_one_by_one_are_damaged_even_when_the_totals_agree(workspace: Workspace) -> None:
    """Packs of two and one labels: a confidence moved from the first to the second leaves the totals equal."""
    from kayfabe_core.errors import WorkspaceError

    two_and_one = [ROWS[0], (*ROWS[0][:2], "Other", "Other", *ROWS[0][4:]), ROWS[1]]
    with transaction(workspace) as conn:
        store_label_rows(conn, two_and_one)
        conn.execute("UPDATE label_packs SET confidences = '[5.0]' WHERE pack_no = 1")
        conn.execute("UPDATE label_packs SET confidences = '[5.0,6.0]' WHERE pack_no = 2")
    with connect(workspace) as conn, pytest.raises(WorkspaceError, match="label table is damaged"):
        read_label_numbers(conn, [0.0])
