"""The Images & labels page on the demo: gallery, filter, charts, detail dialog."""

from __future__ import annotations

from pathlib import Path

import pytest

from kayfabe_core.demo_workspace import build_demo_workspace
from kayfabe_core.ingest import ingest_files
from kayfabe_core.workspace import open_workspace
from tests.conftest import make_csv, post_row
from tests.ui.conftest import texts


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("imgdemo") / "ws"
    build_demo_workspace(root)
    return root


def test_gallery_filter_charts_and_detail(demo_root: Path, open_app) -> None:
    at = open_app(demo_root)
    at.switch_page("pages/2_images.py").run()
    assert not at.exception
    assert [metric.value for metric in at.metric] == ["1,954", "1,954", "1,954"]
    assert len(at.get("plotly_chart")) == 2  # frequency and labels-vs-codes
    assert "1,954 images match · 24 per page" in texts(at)
    detail_buttons = [button for button in at.button if button.key and button.key.startswith("detail_")]
    assert len(detail_buttons) == 24
    at.multiselect(key="label_filter").set_value(["label/Wrestling"]).run()
    assert not at.exception
    matched = int(next(c.value for c in at.caption if "images match" in c.value).split()[0].replace(",", ""))
    assert 50 < matched < 1954
    at.slider(key="min_confidence").set_value(99).run()
    narrower = int(next(c.value for c in at.caption if "images match" in c.value).split()[0].replace(",", ""))
    assert narrower < matched
    at.slider(key="min_confidence").set_value(80).run()
    first = [button for button in at.button if button.key and button.key.startswith("detail_")][0]
    first.click().run()
    assert not at.exception
    assert "Open the post" in texts(at)
    assert len(at.dataframe) == 1


def test_posts_without_fetched_images_say_what_comes_next(tmp_path: Path, open_app) -> None:
    ingest_files(open_workspace(tmp_path / "ws"), [("p.csv", make_csv([post_row("A1")]).encode())])
    at = open_app(tmp_path / "ws")
    at.switch_page("pages/2_images.py").run()
    assert not at.exception
    assert "No image has labels yet" in texts(at)
    assert "is not built yet" in texts(at)
