"""The integer label table: numbering on write, and reading back as numbers in ranges."""

from __future__ import annotations

import numpy as np
import pytest

from kayfabe_core import label_store
from kayfabe_core.label_store import read_content_hashes, read_label_numbers, store_label_rows
from kayfabe_core.workspace import Workspace, connect, transaction

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
