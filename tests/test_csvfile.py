"""Reading the bytes of users' CSV files: encodings, delimiters and refusals."""

from __future__ import annotations

import pytest

from kayfabe_core.csvfile import decode_csv, read_header, read_table
from kayfabe_core.errors import InputFileError


def test_plain_utf8_with_quoted_newline() -> None:
    text = decode_csv("a.csv", b'postUrl,description\nx,"two\nlines"\n')
    assert (text.encoding, text.delimiter, text.notes) == ("UTF-8", ",", ())
    table = read_table(text)
    assert table["description"].tolist() == ["two\nlines"]


def test_byte_order_mark_is_not_part_of_the_first_column() -> None:
    text = decode_csv("a.csv", "\ufeffpostUrl,x\n1,2\n".encode("utf-8"))
    assert read_header(text) == ["postUrl", "x"]
    assert text.encoding == "UTF-8 with byte-order mark"


def test_latin1_semicolon_file_is_read_and_said_so() -> None:
    raw = "postUrl;description\nhttps://x/p/1/;café crème\n".encode("cp1252")
    text = decode_csv("excel.csv", raw)
    assert text.delimiter == ";"
    assert read_table(text)["description"].tolist() == ["café crème"]
    assert text.notes == (
        "excel.csv was read as Windows-1252 (Western European) text (it is not UTF-8).",
        "excel.csv separates its columns with semicolons, not commas; it was read that way.",
    )


def test_utf16_tab_separated_file() -> None:
    text = decode_csv("t.tsv", "postUrl\tlikeCount\nu\t5\n".encode("utf-16"))
    assert (text.encoding, text.delimiter) == ("UTF-16", "\t")
    assert read_table(text)["likeCount"].tolist() == ["5"]


def test_commas_inside_quotes_do_not_decide_the_delimiter() -> None:
    text = decode_csv("a.csv", b'"a,b,c";d;e\n1;2;3\n')
    assert text.delimiter == ";"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "The file f.csv is empty."),
        (b"  \n\n", "The file f.csv is empty."),
        (b"PK\x03\x04rest", "The file f.csv is a zip archive or an Excel workbook, not a CSV file."),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "The file f.csv holds binary data, not text, so it cannot be a CSV export."),
    ],
)
def test_files_that_are_not_text_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(InputFileError) as caught:
        decode_csv("f.csv", raw)
    assert caught.value.message == message
    assert caught.value.hint


def test_garbled_bytes_are_refused() -> None:
    raw = bytes(range(0x80, 0xA0)) * 50 + b"\x01\x02\x03" * 50
    with pytest.raises(InputFileError) as caught:
        decode_csv("odd.csv", raw)
    assert caught.value.message == (
        "The text of odd.csv is in an encoding that could not be recognised "
        "(it is neither UTF-8, UTF-16 nor Latin-1)."
    )


def test_row_with_more_cells_than_the_header_is_refused_with_its_line() -> None:
    text = decode_csv("r.csv", b"postUrl,a\n1,2\n3,4,5,6\n")
    with pytest.raises(InputFileError) as caught:
        read_table(text)
    assert caught.value.message == "Line 3 of r.csv has 4 cells, but the header has 2 columns."


def test_short_rows_are_padded_with_empty_cells() -> None:
    table = read_table(decode_csv("s.csv", b"postUrl,a,b\n1,2\n"))
    assert table.iloc[0].tolist() == ["1", "2", ""]


def test_every_row_longer_than_the_header_is_refused() -> None:
    with pytest.raises(InputFileError) as caught:
        read_table(decode_csv("w.csv", b"postUrl,a\n1,2,3\n4,5,6\n"))
    assert caught.value.message == "The rows of w.csv have more cells than its header has columns."
