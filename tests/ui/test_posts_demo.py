"""The Posts page on the demo workspace, and building the demo from the page."""

from __future__ import annotations

from pathlib import Path

from kayfabe_core.demo import make_sample_export
from kayfabe_core.demo_workspace import build_demo_workspace
from tests.ui.conftest import texts


def test_demo_posts_page_shows_report_chart_and_thumbnails(demo_root: Path, open_app) -> None:
    at = open_app(demo_root)
    assert not at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Posts"] == "1,500" and metrics["Error rows"] == "5"
    assert len(at.get("plotly_chart")) == 1
    table = at.dataframe[0].value
    assert len(table) == 50
    assert table["image"].str.startswith("data:image/jpeg;base64,").all()
    assert "1,500 posts · 50 per page" in texts(at)
    at.number_input(key="posts_page").set_value(30).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 50


def test_build_demo_button_fills_an_empty_workspace(tmp_path: Path, open_app) -> None:
    at = open_app(tmp_path / "new")
    at.button(key="build_demo").click().run()
    assert not at.exception
    assert {metric.label: metric.value for metric in at.metric}["Posts"] == "1,500"


def test_second_account_gets_an_account_choice(tmp_path: Path, open_app) -> None:
    build_demo_workspace(tmp_path / "two")
    at = open_app(tmp_path / "two")
    assert not at.selectbox  # one account: no choice needed
    at.file_uploader(key="csv").set_value(("sample.csv", make_sample_export().encode(), "text/csv"))
    at.run()
    at.button(key="import").click().run()
    assert not at.exception
    account = at.selectbox(key="posts_account")
    assert account.options[0] == "All accounts" and len(account.options) == 3
    account.set_value(account.options[2]).run()
    assert "40 posts · 50 per page" in texts(at)
