"""Codes are appended with their codebook version; codebooks are versioned."""

from kayfabe_core.codes import Codebook, append_codes, write_codebook
from kayfabe_core.workspace import Workspace, connect, transaction


def test_codebook_versions_count_up_and_codes_carry_them(workspace: Workspace) -> None:
    book = Codebook("Kayfabe", "In kayfabe", "Not in kayfabe", "In character.")
    with transaction(workspace) as conn:
        assert write_codebook(conn, book) == 1
        assert write_codebook(conn, book) == 2
        assert append_codes(conn, [("h1", "ann", "YES"), ("h1", "ann", "NO")], 2) == 2
    with connect(workspace) as conn:
        rows = conn.execute("SELECT sha256, coder, value, codebook_version FROM codes ORDER BY code_id").fetchall()
    assert [tuple(row) for row in rows] == [("h1", "ann", "YES", 2), ("h1", "ann", "NO", 2)]
