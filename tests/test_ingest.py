"""Importing PhantomBuster exports: counts, grouping, and that bad files change nothing."""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from kayfabe_core.__main__ import main
from kayfabe_core.demo import make_export
from kayfabe_core.errors import InputFileError
from kayfabe_core.ingest import ingest_files, ingest_paths, read_export, read_last_report, store_export
from kayfabe_core.workspace import Workspace, connect, open_workspace
from tests.conftest import HEADER, error_row, make_csv, post_row


def _rows(workspace: Workspace, sql: str) -> list[tuple]:
    with connect(workspace) as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]


def test_report_counts_posts_images_duplicates_and_errors(workspace: Workspace) -> None:
    rows = [
        post_row("A1"),
        post_row("C1", "1", isSidecar="true"), post_row("C1", "2", isSidecar="true"),
        post_row("C1", "3", isSidecar="true"),
        post_row("A1") | {"imgUrl": post_row("A1")["imgUrl"].replace("oh=ab12", "oh=ffff")},  # re-scrape
        post_row("V1", "", type="Video"),
        error_row(), error_row(),
        post_row("X9") | {"postUrl": ""},
    ]
    report = ingest_files(workspace, [("one.csv", make_csv(rows).encode())])
    assert (report.rows_read, report.posts, report.images) == (9, 3, 4)
    assert (report.duplicates_dropped, report.error_rows, report.rows_without_post_url) == (1, 2, 1)
    assert (report.posts_without_image, report.new_posts, report.workspace_posts) == (1, 3, 3)
    assert _rows(workspace, "SELECT post_url, media_type, n_images FROM posts ORDER BY post_url") == [
        ("https://www.instagram.com/p/A1/", "Photo", 1),
        ("https://www.instagram.com/p/C1/", "Carousel", 3),
        ("https://www.instagram.com/p/V1/", "Video", 0),
    ]
    positions = _rows(workspace, "SELECT position, image_key FROM images WHERE post_url LIKE '%C1/'")
    assert positions == [(0, "/v/C1_1_n.jpg"), (1, "/v/C1_2_n.jpg"), (2, "/v/C1_3_n.jpg")]


def test_expiry_comes_from_the_oe_parameter(workspace: Workspace) -> None:
    ingest_files(workspace, [("e.csv", make_csv([post_row("E1")]).encode())])
    assert _rows(workspace, "SELECT url_expiry FROM images") == [("2022-01-13T10:33:36Z",)]


def test_fields_are_parsed(workspace: Workspace) -> None:
    row = post_row("F1", likeCount="1,204", pubDate="2021-07-04T23:59:01.000Z", taggedUsername1="pal")
    ingest_files(workspace, [("f.csv", make_csv([row]).encode())])
    assert _rows(workspace, "SELECT like_count, comment_count, pub_date, tagged, media_id FROM posts") == [
        (1204, 3, "2021-07-04T23:59:01Z", json.dumps(["pal"]), "992")]


def test_unreadable_dates_and_unknown_columns_are_reported(workspace: Workspace) -> None:
    header = [*HEADER, "mystery", "other"]
    text = make_csv([post_row("D1", pubDate="last tuesday")], header=header)
    report = ingest_files(workspace, [("d.csv", text.encode())])
    assert report.unreadable_dates == 1
    assert report.unknown_columns == ("mystery", "other")
    assert _rows(workspace, "SELECT pub_date FROM posts") == [(None,)]


def test_several_files_are_combined_and_cross_file_duplicates_dropped(workspace: Workspace) -> None:
    first = make_csv([post_row("A1"), post_row("B1")])
    second = make_csv([post_row("B1"), post_row("B1", "2"), post_row("C1")])
    report = ingest_files(workspace, [("1.csv", first.encode()), ("2.csv", second.encode())])
    assert (report.rows_read, report.posts, report.images, report.duplicates_dropped) == (5, 3, 4, 1)
    assert [file.rows for file in report.files] == [2, 3]


def test_reimport_adds_only_what_is_new(workspace: Workspace) -> None:
    ingest_files(workspace, [("1.csv", make_csv([post_row("A1"), post_row("B1")]).encode())])
    report = ingest_files(workspace, [("2.csv", make_csv([post_row("B1"), post_row("B1", "2"),
                                                          post_row("C1")]).encode())])
    assert (report.new_posts, report.new_images, report.workspace_posts) == (1, 2, 3)
    assert _rows(workspace, "SELECT n_images FROM posts WHERE post_url LIKE '%B1/'") == [(2,)]


def test_post_links_are_normalised(workspace: Workspace) -> None:
    rows = [post_row("N1") | {"postUrl": " https://www.instagram.com/p/N1?utm_source=x "},
            post_row("N1")]
    report = ingest_files(workspace, [("n.csv", make_csv(rows).encode())])
    assert (report.posts, report.duplicates_dropped) == (1, 1)


def test_alias_columns_of_other_exports_are_understood(workspace: Workspace) -> None:
    text = "postURL,displayUrl,postType,ownerUsername\nhttps://www.instagram.com/p/Z/,https://c/x.jpg,Video,zed\n"
    report = ingest_files(workspace, [("apify.csv", text.encode())])
    assert (report.posts, report.images) == (1, 1)
    assert _rows(workspace, "SELECT media_type, owner FROM posts") == [("Video", "zed")]


def test_last_report_is_kept_in_the_workspace(workspace: Workspace) -> None:
    report = ingest_files(workspace, [("1.csv", make_csv([post_row("A1")]).encode())])
    assert read_last_report(workspace) == report


def test_no_post_link_column_names_expected_and_found(workspace: Workspace) -> None:
    with pytest.raises(InputFileError) as caught:
        read_export([("people.csv", b"name,age\nann,3\n")])
    assert caught.value.message == (
        "people.csv does not look like a PhantomBuster Instagram export: it has no column "
        "with the post's link. Columns found: name, age."
    )
    assert caught.value.hint.startswith("A PhantomBuster Instagram export has a column postUrl")


def test_repeated_column_name_is_refused() -> None:
    with pytest.raises(InputFileError) as caught:
        read_export([("r.csv", b"postUrl,likeCount,likeCount\nu,1,2\n")])
    assert caught.value.message == "r.csv has the column name 'likeCount' more than once."


def test_no_files_is_refused() -> None:
    with pytest.raises(InputFileError) as caught:
        read_export([])
    assert caught.value.message == "No file was given."


def test_a_bad_file_among_good_ones_writes_nothing(workspace: Workspace) -> None:
    ingest_files(workspace, [("1.csv", make_csv([post_row("A1")]).encode())])
    before = _rows(workspace, "SELECT * FROM posts"), _rows(workspace, "SELECT * FROM imports")
    good = make_csv([post_row("B1")]).encode()
    with pytest.raises(InputFileError):
        ingest_files(workspace, [("good.csv", good), ("bad.csv", b"postUrl,a\n1,2,3\n")])
    assert (_rows(workspace, "SELECT * FROM posts"), _rows(workspace, "SELECT * FROM imports")) == before


def test_a_failure_while_writing_rolls_everything_back(workspace: Workspace) -> None:
    parsed = read_export([("1.csv", make_csv([post_row("A1"), post_row("B1")]).encode())])
    broken = parsed.images.copy()
    broken.loc[1, "post_url"] = "https://www.instagram.com/p/unknown/"  # no such post
    from kayfabe_core.ingest import ParsedExport, store_export

    with pytest.raises(sqlite3.IntegrityError):
        store_export(workspace, ParsedExport(parsed.posts, broken, parsed.report))
    assert _rows(workspace, "SELECT COUNT(*) FROM posts") == [(0,)]
    assert _rows(workspace, "SELECT COUNT(*) FROM imports") == [(0,)]


# --- streaming: chunked from disk gives exactly what the whole-file path gives ---------------------------

def _dump(workspace: Workspace) -> tuple[list[tuple], list[tuple]]:
    posts = _rows(workspace, "SELECT * FROM posts ORDER BY post_url")
    images = _rows(workspace, "SELECT * FROM images ORDER BY image_id")
    return posts, images


def _import_both_ways(tmp_path: Path, batches: list[list[str]], chunk_rows: int) -> None:
    """Import each batch of CSV texts into one workspace whole (one chunk, parsed then stored) and into
    another streamed from disk ``chunk_rows`` rows at a time; assert equal reports and rows."""
    whole, streamed = open_workspace(tmp_path / "whole"), open_workspace(tmp_path / "streamed")
    for b, texts in enumerate(batches):
        paths = [tmp_path / f"{b}-{i}.csv" for i in range(len(texts))]
        for path, text in zip(paths, texts, strict=True):
            path.write_text(text, encoding="utf-8")
        files = [(path.name, path.read_bytes()) for path in paths]
        expected = store_export(whole, read_export(files, chunk_rows=10**9))
        assert ingest_paths(streamed, paths, chunk_rows=chunk_rows).to_dict() == expected.to_dict()
    assert _dump(streamed) == _dump(whole)


def mixed_rows() -> list[dict[str, str]]:
    """Rows of every kind the rules tell apart: carousels, a re-signed duplicate, videos, an error row, a row
    without a post link, imageless posts (one gets an image later), unreadable dates."""
    return [
        post_row("I1", ""), post_row("A1"),
        post_row("C1", "1", isSidecar="true"), post_row("C1", "2"), post_row("C1", "3", pubDate="x"),
        post_row("A1") | {"imgUrl": post_row("A1")["imgUrl"].replace("oh=ab12", "oh=ffff")},
        post_row("V1", "", type="Video"), error_row(), post_row("I1", "1", likeCount="9"),
        post_row("X9") | {"postUrl": ""}, post_row("V1", "", type="Video"), post_row("C1", "1"),
        post_row("N1", "", pubDate="soon"), post_row("C1", "4"),
    ]


def scattered_export(seed: int, n_posts: int = 60) -> str:
    """A generated export (carousels, videos, errors, duplicates) with its rows shuffled, so a carousel's
    images lie in several chunks, plus rows without an image of posts that have images elsewhere."""
    header, *rows = list(csv.reader(io.StringIO(make_export(n_posts, seed=seed).csv_text)))
    random.Random(seed).shuffle(rows)
    image_column = header.index("imgUrl")
    for row in rows[:3] + rows[-3:]:
        rows.insert(len(rows) // 2, [*row[:image_column], "", *row[image_column + 1:]])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    return buffer.getvalue()


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 7, 50_000])
def test_chunked_import_equals_the_whole_file_import(tmp_path: Path, chunk_rows: int) -> None:
    first = [make_csv(mixed_rows()), scattered_export(3)]
    second = [make_csv([post_row("C1", "5"), post_row("A1", "2"), post_row("Z1")]), scattered_export(4)]
    _import_both_ways(tmp_path, [first, second], chunk_rows)


def test_a_carousel_split_by_chunks_keeps_its_positions_and_type(tmp_path: Path) -> None:
    rows = [post_row("C1", "", pubDate="2020-01-01T00:00:00Z"), post_row("B1"),
            post_row("C1", "1", likeCount="5"), post_row("B1"), post_row("C1", "2"), post_row("C1", "3")]
    path = tmp_path / "c.csv"
    path.write_text(make_csv(rows))
    report = ingest_paths(open_workspace(tmp_path / "ws"), [path], chunk_rows=2)
    workspace = open_workspace(tmp_path / "ws")
    assert (report.posts, report.images, report.duplicates_dropped, report.posts_without_image) == (2, 4, 2, 0)
    assert _rows(workspace, "SELECT post_url, media_type, n_images, like_count, pub_date FROM posts "
                            "ORDER BY post_url") == [
        ("https://www.instagram.com/p/B1/", "Photo", 1, 120, "2020-03-01T17:04:05Z"),
        ("https://www.instagram.com/p/C1/", "Carousel", 3, 5, "2020-03-01T17:04:05Z"),  # from its first image row
    ]
    assert _rows(workspace, "SELECT position, image_key FROM images WHERE post_url LIKE '%C1/' ORDER BY image_id") == [
        (0, "/v/C1_1_n.jpg"), (1, "/v/C1_2_n.jpg"), (2, "/v/C1_3_n.jpg")]


def test_streaming_the_same_file_again_adds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(scattered_export(5))
    workspace = open_workspace(tmp_path / "ws")
    first = ingest_paths(workspace, [path], chunk_rows=4)
    before = _dump(workspace)
    again = ingest_paths(workspace, [path], chunk_rows=4)
    assert (again.new_posts, again.new_images, again.workspace_posts) == (0, 0, first.workspace_posts)
    assert _dump(workspace) == before


def test_a_bad_row_mid_way_writes_nothing(tmp_path: Path) -> None:
    workspace = open_workspace(tmp_path / "ws")
    ingest_files(workspace, [("1.csv", make_csv([post_row("A1")]).encode())])
    before = _dump(workspace), _rows(workspace, "SELECT * FROM imports")
    lines = make_csv([post_row(f"P{i}", description="x" * 500) for i in range(3000)]).splitlines()
    lines.insert(2500, lines[2499] + ",extra")  # line 2501 of the file has one cell too many
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError) as caught:
        ingest_paths(workspace, [path], chunk_rows=100)
    assert caught.value.message == (
        f"Line 2501 of bad.csv has {len(HEADER) + 1} cells, but the header has {len(HEADER)} columns.")
    assert (_dump(workspace), _rows(workspace, "SELECT * FROM imports")) == before
    assert main(["ingest", str(workspace.root), str(path)]) == 1
    assert (_dump(workspace), _rows(workspace, "SELECT * FROM imports")) == before


def test_files_that_are_not_utf8_are_read_as_uploads_are(tmp_path: Path) -> None:
    text = make_csv([post_row("W1", description="café crème"), post_row("W1", "2")], delimiter=";")
    path = tmp_path / "w.csv"
    path.write_bytes(text.encode("cp1252"))
    report = ingest_paths(open_workspace(tmp_path / "a"), [path], chunk_rows=1)
    expected = ingest_files(open_workspace(tmp_path / "b"), [("w.csv", text.encode("cp1252"))])
    assert report.to_dict() == expected.to_dict()
    assert report.files[0].encoding.startswith("Windows-1252") and report.files[0].delimiter == ";"
    assert _rows(open_workspace(tmp_path / "a"), "SELECT description FROM posts") == [("café crème",)]


def test_a_utf8_file_with_byte_order_mark_is_streamed(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + make_csv([post_row("B1", description="ünïcode")]).encode())
    report = ingest_paths(open_workspace(tmp_path / "ws"), [path])
    assert (report.posts, report.files[0].encoding) == (1, "UTF-8 with byte-order mark")


def test_counts_that_are_not_whole_numbers_are_left_empty(workspace: Workspace) -> None:
    rows = [post_row("K1", likeCount="1.5", commentCount="1e3", viewCount="99999999999999999999")]
    ingest_files(workspace, [("k.csv", make_csv(rows).encode())])
    assert _rows(workspace, "SELECT like_count, comment_count, view_count FROM posts") == [(None, 1000, None)]


def test_expiry_times_in_bulk_equal_one_at_a_time() -> None:
    """Arrow's regular expression and numpy's times give what Python's re and strftime give, URL by URL."""
    from kayfabe_core.ingest_rows import url_expiries, url_expiry

    urls = ["https://x/a.jpg?oe=61DFFF00", "https://x/a.jpg?_nc=1&oe=61dfff00&x=2", "https://x/a.jpg?oe=0",
            "https://x/a.jpg?oe=zz", "https://x/a.jpg?oe=61DFFF00x", "https://x/a.jpg?oe=FFFFFFFFFFFF",
            "https://x/a.jpg?oe=2222222222", "https://x/a.jpg?oe=1234567890123", "", "https://x/a.jpg#oe=61DFFF00",
            "https://x/a.jpg?a=1&oe=7FFFFFFF&", "https://x/é.jpg?oe=61DFFF00&oe=1"]
    urls += [f"https://x/{i}.jpg?oe={random.Random(i).randrange(16 ** random.Random(-i).randrange(1, 13)):X}"
             for i in range(300)]
    assert url_expiries(urls) == [url_expiry(url) for url in urls]
    assert url_expiries([]) == []


def test_counts_in_bulk_equal_the_rule_one_at_a_time() -> None:
    from kayfabe_core.ingest_rows import _counts, _whole

    cases = [["1,204", "", "12", "x"], ["3", "4"], ["1.5", "2.0", "-0"], ["9223372036854775807", "1"],
             ["99999999999999999999", "2"], ["1e3", "inf", "-9223372036854775808", "nan"]]
    for raw in cases:
        reference = [_whole(value) for value in
                     pd.to_numeric(pd.Series(raw, dtype=object).str.replace(",", ""), errors="coerce").tolist()]
        assert _counts(raw) == reference, raw


def test_every_bad_file_of_several_is_named_and_nothing_is_written(workspace: Workspace, tmp_path: Path) -> None:
    good = ("good.csv", make_csv([post_row("A")]).encode())
    files = [good, ("empty.csv", b""), ("notes.txt", b"just some notes\nnothing else\n")]
    with pytest.raises(InputFileError) as caught:
        ingest_files(workspace, files)
    message = caught.value.message
    assert message.startswith("2 of the 3 files cannot be imported:\n- ")
    lines = message.split("\n- ")[1:]  # one line per file (a list on the page)
    assert len(lines) == 2 and "empty.csv" in lines[0] and "notes.txt" in lines[1] and "good.csv" not in message
    with connect(workspace) as conn:
        assert conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 0
    for name, raw in files:
        (tmp_path / name).write_bytes(raw)
    with pytest.raises(InputFileError, match="2 of the 3 files"):
        ingest_paths(workspace, [tmp_path / name for name, _ in files])
    with pytest.raises(InputFileError, match="empty.csv is empty"):  # one bad file: its own message, as before
        ingest_files(workspace, [good, files[1]])


def test_a_file_with_only_its_header_is_refused_and_nothing_is_written(workspace: Workspace) -> None:
    good = make_csv([post_row("H1")]).encode()
    with pytest.raises(InputFileError) as caught:
        ingest_files(workspace, [("good.csv", good), ("header.csv", make_csv([]).encode())])
    assert caught.value.message == ("header.csv has column names but no rows: there is no post in it. Nothing was "
                                    "imported.")
    assert _rows(workspace, "SELECT COUNT(*) FROM posts") == [(0,)]


def test_words_where_the_post_link_belongs_are_not_a_post(workspace: Workspace) -> None:
    good, junk = post_row("A"), post_row("B")
    junk["postUrl"] = "not a url"
    report = ingest_files(workspace, [("mixed.csv", make_csv([good, junk]).encode())])
    assert (report.posts, report.rows_without_post_url) == (1, 1)  # the junk row is counted, not kept
    with pytest.raises(InputFileError) as caught:
        ingest_files(workspace, [("junk.csv", make_csv([junk]).encode())])
    assert caught.value.message == ("No row of junk.csv has a post link (a postUrl starting with https://), so "
                                    "nothing was imported.")
    with connect(workspace) as conn:
        assert [row[0] for row in conn.execute("SELECT post_url FROM posts")] == ["https://www.instagram.com/p/A/"]
