"""Importing PhantomBuster exports: counts, grouping, and that bad files change nothing."""

from __future__ import annotations

import json
import sqlite3

import pytest

from kayfabe_core.errors import InputFileError
from kayfabe_core.ingest import ingest_files, read_export, read_last_report
from kayfabe_core.workspace import Workspace, connect
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
