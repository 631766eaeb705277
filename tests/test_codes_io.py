"""Codes go out to CSV with their history and come back in, matched by hash, image link or post link."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest

from kayfabe_core.codes import Codebook, append_codes, write_codebook
from kayfabe_core.codes_io import EXPORT_COLUMNS, export_codes, import_codes
from kayfabe_core.errors import InputFileError
from kayfabe_core.ingest import ingest_files
from kayfabe_core.workspace import DB_NAME, Workspace, connect, open_workspace, transaction
from tests.conftest import make_csv, post_row
from tests.test_gallery import labelled_workspace

BOOK = Codebook("Kayfabe", "In kayfabe", "Not in kayfabe", "In character.")


def table(workspace: Workspace) -> list[tuple[object, ...]]:
    with connect(workspace) as conn:
        rows = conn.execute("SELECT sha256, coder, value, note, codebook_version, coded_at FROM codes "
                            "ORDER BY code_id").fetchall()
    return [tuple(row) for row in rows]


def csv_bytes(header: list[str], rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def hashes(workspace: Workspace) -> dict[str, str]:
    """Posts A–D with fetched images, and post E whose image is not fetched yet."""
    found = labelled_workspace(workspace)
    ingest_files(workspace, [("e.csv", make_csv([post_row("E")]).encode())])
    return found


def test_rows_match_by_hash_image_link_and_post_link(workspace: Workspace, hashes: dict[str, str]) -> None:
    raw = csv_bytes(["Sha256", "imgUrl", "postUrl", "Value"], [
        [hashes["A"].upper(), "", "", "YES"],
        ["", "https://other-cdn.example/v/B_1_n.jpg?oh=zz&oe=62000000", "", "NO"],
        ["", "", "https://www.instagram.com/p/C?igshid=x", "UNSURE"],
        [hashes["D"], "https://cdn.example/v/A_1_n.jpg", "https://www.instagram.com/p/A/", "yes"],
    ])
    report = import_codes(workspace, "codes.csv", raw)
    assert (report.rows_read, report.codes_added, report.images_matched, report.unmatched_rows,
            report.blank_codes) == (4, 4, 4, 0, 0)
    assert [row[:3] for row in table(workspace)] == [
        (hashes["A"], "imported", "YES"), (hashes["B"], "imported", "NO"),
        (hashes["C"], "imported", "UNSURE"), (hashes["D"], "imported", "YES")]


def test_exact_image_link_when_the_path_is_unknown(workspace: Workspace, hashes: dict[str, str]) -> None:
    with transaction(workspace) as conn:
        conn.execute("UPDATE images SET image_key = 'elsewhere' WHERE sha256 = ?", (hashes["B"],))
    url = "https://cdn.example/v/B_1_n.jpg?oh=ab12&oe=61E00000"
    report = import_codes(workspace, "codes.csv", csv_bytes(["image_url", "code"], [[url, "no"]]))
    assert report.codes_added == 1
    assert table(workspace)[0][:3] == (hashes["B"], "imported", "NO")


def test_value_spellings_and_blank_codes(workspace: Workspace, hashes: dict[str, str]) -> None:
    spellings = ["yes", "No", "TRUE", "false", "1", "0", " Unsure ", "YES", "", "y", "N"]
    raw = csv_bytes(["sha256", "kayfabe"], [[hashes["A"], value] for value in spellings])
    report = import_codes(workspace, "codes.csv", raw)
    assert [row[2] for row in table(workspace)] == ["YES", "NO", "YES", "NO", "YES", "NO", "UNSURE", "YES", "YES",
                                                    "NO"]
    assert (report.codes_added, report.blank_codes) == (10, 1)
    assert report.blank_examples == ("row 10: no code",)
    assert report.images_matched == 1


def test_a_value_that_is_not_a_code_refuses_the_whole_file(workspace: Workspace, hashes: dict[str, str]) -> None:
    raw = csv_bytes(["sha256", "value"], [[hashes["A"], "YES"], [hashes["A"], "maybe"], [hashes["A"], "2"]])
    with pytest.raises(InputFileError) as caught:
        import_codes(workspace, "codes.csv", raw)
    assert caught.value.message == ("2 of the 3 rows of codes.csv hold something that is not a code in the column "
                                    "“value” (row 3: 'maybe'; row 4: '2'). Nothing was imported.")
    assert caught.value.hint.startswith("Write each code as YES, NO or UNSURE (also yes/no, y/n")
    assert table(workspace) == []


def test_the_codebooks_own_names_are_codes(workspace: Workspace, hashes: dict[str, str]) -> None:
    with transaction(workspace) as conn:
        write_codebook(conn, Codebook("Shows food", "Food", "Not food", "A plate, a meal, a snack."))
    raw = csv_bytes(["sha256", "value"], [[hashes["A"], "FOOD"], [hashes["A"], "not food"], [hashes["A"], "pasta"]])
    with pytest.raises(InputFileError) as caught:
        import_codes(workspace, "codes.csv", raw)
    assert "or the codebook's “Food” and “Not food”" in caught.value.hint
    report = import_codes(workspace, "codes.csv", raw.replace(b"pasta", b"Food"))
    assert [row[2] for row in table(workspace)] == ["YES", "NO", "YES"] and report.codes_added == 3


def test_importing_a_file_without_times_again_adds_nothing(workspace: Workspace, hashes: dict[str, str]) -> None:
    raw = csv_bytes(["sha256", "value", "coder"], [[hashes["A"], "YES", "ana"], [hashes["B"], "NO", "ana"]])
    assert import_codes(workspace, "codes.csv", raw).codes_added == 2
    again = import_codes(workspace, "codes.csv", raw)
    assert (again.codes_added, again.already_stored) == (0, 2)
    changed = import_codes(workspace, "codes.csv", raw.replace(b"NO", b"YES"))
    assert (changed.codes_added, changed.already_stored) == (1, 1)
    assert len(table(workspace)) == 3


def test_an_import_that_adds_nothing_moves_no_version(workspace: Workspace, hashes: dict[str, str]) -> None:
    """Nothing written, nothing to build again: the data version (what the feature cache is keyed on) stays."""
    from kayfabe_core.workspace import INPUTS_VERSION, read_data_version

    raw = csv_bytes(["sha256", "value", "coder"], [[hashes["A"], "YES", "ana"]])
    import_codes(workspace, "codes.csv", raw)
    versions = read_data_version(workspace), read_data_version(workspace, INPUTS_VERSION)
    assert import_codes(workspace, "codes.csv", raw).codes_added == 0  # the same code again
    assert import_codes(workspace, "c.csv", csv_bytes(["sha256", "value"], [["deadbeef", "NO"]])).codes_added == 0
    assert (read_data_version(workspace), read_data_version(workspace, INPUTS_VERSION)) == versions


def test_unmatched_rows_are_counted_with_reasons(workspace: Workspace, hashes: dict[str, str]) -> None:
    raw = csv_bytes(["postUrl", "sha256", "label"], [
        ["https://www.instagram.com/p/E/", "", "YES"],
        ["https://www.instagram.com/p/Z/", "", "YES"],
        ["", "deadbeef", "NO"],
        ["", "", "NO"],
        ["https://www.instagram.com/p/A/", "", "NO"],
    ])
    report = import_codes(workspace, "codes.csv", raw)
    assert (report.rows_read, report.codes_added, report.unmatched_rows) == (5, 1, 4)
    assert report.unmatched_examples == (
        "row 2: https://www.instagram.com/p/E/ (image not fetched yet)",
        "row 3: https://www.instagram.com/p/Z/ (no post with this link)",
        "row 4: deadbeef (no fetched image has this sha256)",
        "row 5: no image given",
    )
    assert report.to_dict()["unmatched_examples"] == list(report.unmatched_examples)


def test_coder_from_column_argument_or_default(workspace: Workspace, hashes: dict[str, str]) -> None:
    raw = csv_bytes(["sha256", "value", "Coder"], [[hashes["A"], "YES", "ann"], [hashes["B"], "NO", ""]])
    import_codes(workspace, "codes.csv", raw)
    import_codes(workspace, "codes.csv", raw, coder="zoe")
    assert [row[1] for row in table(workspace)] == ["ann", "imported", "zoe", "zoe"]


def test_semicolons_and_byte_order_mark_are_read(workspace: Workspace, hashes: dict[str, str]) -> None:
    raw = csv_bytes(["post_url", "value", "note"], [["https://www.instagram.com/p/A/", "NO", "café; ring"]],
                    delimiter=";", encoding="utf-8-sig")
    assert import_codes(workspace, "codes.csv", raw).codes_added == 1
    assert table(workspace)[0][:4] == (hashes["A"], "imported", "NO", "café; ring")


def test_missing_columns_are_named(workspace: Workspace) -> None:
    with pytest.raises(InputFileError) as no_image:
        import_codes(workspace, "codes.csv", csv_bytes(["id", "value"], [["1", "YES"]]))
    assert no_image.value.message == (
        "The file codes.csv has no column naming the image (sha256, image_url, imgUrl, postUrl or post_url); "
        "its columns are: id, value.")
    assert no_image.value.hint == (
        "Give a CSV with one row per code: a sha256, image_url or postUrl column naming the image and a "
        "value column holding YES, NO or UNSURE, as the codes download (or export-codes) writes it.")
    with pytest.raises(InputFileError) as no_value:
        import_codes(workspace, "codes.csv", csv_bytes(["postUrl", "verdict"], [["x", "YES"]]))
    assert no_value.value.message == (
        "The file codes.csv has no column holding the code (value, code, kayfabe or label); "
        "its columns are: postUrl, verdict.")
    with pytest.raises(InputFileError) as neither:
        import_codes(workspace, "codes.csv", csv_bytes(["a"], [["1"]]))
    assert neither.value.message == (
        "The file codes.csv has no column naming the image (sha256, image_url, imgUrl, postUrl or post_url) "
        "and no column holding the code (value, code, kayfabe or label); its columns are: a.")


def coded(workspace: Workspace) -> dict[str, str]:
    """Labelled posts A–D, two codebook versions and a history of codes with awkward notes."""
    hashes = labelled_workspace(workspace)
    with transaction(workspace) as conn:
        write_codebook(conn, BOOK)
        append_codes(conn, [(hashes["A"], "ann", "YES"), (hashes["B"], "ann", "NO")], 1, note='ring, "heel" turn')
        write_codebook(conn, BOOK)
        append_codes(conn, [(hashes["A"], "ann", "NO"), (hashes["C"], "bob", "UNSURE")], 2,
                     note=" two lines\nand ünïcödé ")
        append_codes(conn, [(hashes["D"], "bob", "YES"), (hashes["A"], "bob", "YES")], None)
    return hashes


def test_export_lists_every_code_with_its_image(workspace: Workspace) -> None:
    hashes = coded(workspace)
    rows = list(csv.DictReader(io.StringIO(export_codes(workspace).decode("utf-8"))))
    assert tuple(rows[0]) == EXPORT_COLUMNS == ("code_id", "sha256", "post_url", "image_url", "coder", "value",
                                                "note", "codebook_version", "coded_at")
    assert [(r["code_id"], r["coder"], r["value"], r["codebook_version"]) for r in rows] == [
        ("1", "ann", "YES", "1"), ("2", "ann", "NO", "1"), ("3", "ann", "NO", "2"), ("4", "bob", "UNSURE", "2"),
        ("5", "bob", "YES", ""), ("6", "bob", "YES", "")]
    assert rows[0]["sha256"] == hashes["A"]
    assert rows[0]["post_url"] == "https://www.instagram.com/p/A/"
    assert rows[0]["image_url"] == "https://cdn.example/v/A_1_n.jpg?oh=ab12&oe=61E00000"
    assert rows[3]["note"] == " two lines\nand ünïcödé "


def test_export_then_import_round_trips_exactly(tmp_path: Path) -> None:
    source = open_workspace(tmp_path / "source")
    coded(source)
    target = open_workspace(tmp_path / "target")
    labelled_workspace(target)
    with transaction(target) as conn:
        write_codebook(conn, BOOK)
        write_codebook(conn, BOOK)
    exported = export_codes(source)
    report = import_codes(target, "codes.csv", exported)
    assert (report.rows_read, report.codes_added, report.unmatched_rows, report.blank_codes) == (6, 6, 0, 0)
    assert table(target) == table(source)
    assert export_codes(target) == exported
    again = import_codes(target, "codes.csv", exported)
    assert (again.codes_added, again.already_stored) == (0, 6)
    assert table(target) == table(source)


def test_unknown_codebook_version_is_left_empty(workspace: Workspace, hashes: dict[str, str]) -> None:
    raw = csv_bytes(["sha256", "value", "codebook_version", "coded_at"], [[hashes["A"], "YES", "7", "2021-01-01"]])
    import_codes(workspace, "codes.csv", raw)
    assert table(workspace) == [(hashes["A"], "imported", "YES", "", None, "2021-01-01")]


def test_demo_codes_round_trip_exactly(demo_root: Path, tmp_path: Path) -> None:
    demo = open_workspace(demo_root, create=False)
    (tmp_path / "copy").mkdir()
    with sqlite3.connect(demo.db_path) as source, sqlite3.connect(tmp_path / "copy" / DB_NAME) as target:
        source.backup(target)
    copy = open_workspace(tmp_path / "copy", create=False)
    with transaction(copy) as conn:
        conn.execute("DELETE FROM codes")
    exported = export_codes(demo)
    report = import_codes(copy, "codes.csv", exported)
    assert report.codes_added == report.rows_read == len(table(demo)) > 2000
    assert table(copy) == table(demo)
    assert export_codes(copy) == exported


@pytest.mark.parametrize(("raw", "phrase"), [
    (b"", "is empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
    (b'sha256,value\n"abc,YES\n', 'a quotation mark (") opened on line 2 is never closed'),
])
def test_unreadable_codes_files_get_advice_about_codes(workspace: Workspace, raw: bytes, phrase: str) -> None:
    """Not the PhantomBuster advice of the posts' reader, and no parser jargon."""
    with pytest.raises(InputFileError) as caught:
        import_codes(workspace, "codes.csv", raw)
    assert phrase in caught.value.message
    assert "PhantomBuster" not in str(caught.value) and "C error" not in str(caught.value)
    assert caught.value.hint.startswith("Give a CSV with one row per code")
