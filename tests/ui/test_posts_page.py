"""The Posts page: empty workspace, upload and import, a bad file, the report and table."""

from __future__ import annotations

from pathlib import Path

from kayfabe_core.ingest import ingest_files
from kayfabe_core.workspace import connect, open_workspace
from tests.conftest import error_row, make_csv, post_row
from tests.ui.conftest import texts


def test_empty_workspace_offers_import_and_demo(tmp_path: Path, open_app) -> None:
    at = open_app(tmp_path / "empty")
    assert not at.exception
    assert at.title[0].value == "Posts"
    assert "This workspace has no posts yet" in texts(at)
    assert at.button(key="build_demo")
    assert at.button(key="import").disabled


def test_upload_and_import_shows_the_same_report_as_the_core(tmp_path: Path, open_app) -> None:
    data = make_csv([post_row("A1"), post_row("A1", "2"), post_row("A1"), post_row("B1"), error_row()]).encode()
    expected = ingest_files(open_workspace(tmp_path / "reference"), [("mine.csv", data)])
    at = open_app(tmp_path / "ws")
    at.file_uploader(key="csv").set_value(("mine.csv", data, "text/csv"))
    at.run()
    at.button(key="import").click().run()
    assert not at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics == {"Rows read": f"{expected.rows_read}", "Posts": f"{expected.posts}",
                       "Images": f"{expected.images}", "Duplicates dropped": f"{expected.duplicates_dropped}",
                       "Error rows": f"{expected.error_rows}"}
    assert metrics["Posts"] == "2" and metrics["Duplicates dropped"] == "1"
    assert len(at.get("plotly_chart")) == 1
    table = at.dataframe[0].value
    assert set(table["post_url"]) == {"https://www.instagram.com/p/A1/", "https://www.instagram.com/p/B1/"}


def test_a_bad_upload_shows_one_message_and_keeps_the_workspace(tmp_path: Path, open_app) -> None:
    workspace = open_workspace(tmp_path / "ws")
    ingest_files(workspace, [("first.csv", make_csv([post_row("A1")]).encode())])
    at = open_app(tmp_path / "ws")
    at.file_uploader(key="csv").set_value(("people.csv", b"name,age\nann,3\n", "text/csv"))
    at.run()
    at.button(key="import").click().run()
    assert not at.exception
    assert len(at.error) == 1
    assert "people.csv does not look like a PhantomBuster Instagram export" in at.error[0].value
    assert "Columns found: name, age." in at.error[0].value
    assert "Nothing was imported" in texts(at)
    with connect(workspace) as conn:
        assert conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 1
    assert {metric.label: metric.value for metric in at.metric}["Posts"] == "1"  # previous report stays


def test_search_narrows_the_table(tmp_path: Path, open_app) -> None:
    rows = [post_row(f"P{i}", description="ring night" if i < 3 else "pancakes") for i in range(8)]
    ingest_files(open_workspace(tmp_path / "ws"), [("p.csv", make_csv(rows).encode())])
    at = open_app(tmp_path / "ws")
    assert len(at.dataframe[0].value) == 8
    at.text_input(key="posts_search").set_value("ring").run()
    assert len(at.dataframe[0].value) == 3
    at.text_input(key="posts_search").set_value("kayfabe").run()
    assert not at.exception and not at.dataframe
    assert "No post has “kayfabe” in its caption or link" in at.info[0].value
