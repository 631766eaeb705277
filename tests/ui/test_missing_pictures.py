"""A workspace whose picture files are gone (the database copied without ``images/``): every page that
shows pictures still draws, saying which are missing, instead of stopping on a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from kayfabe_core.experiment import run_experiment
from kayfabe_core.feature_cache import load_features
from kayfabe_core.features import FeatureOptions
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.workspace import open_workspace
from tests.conftest import copy_workspace
from tests.ui.conftest import texts

MISSING = "picture file missing from images/"


@pytest.fixture(scope="module")
def without_pictures(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_workspace(demo_root, tmp_path_factory.mktemp("bare") / "ws", images=False)
    workspace = open_workspace(root)
    table, _ = load_features(workspace, FeatureOptions())
    run_experiment(workspace, table, SplitOptions(), TrainSettings.from_choices("original-2021"))
    assert not any((root / "images").glob("*.*"))
    return root


@pytest.mark.parametrize("page", ["pages/1_posts.py", "pages/2_images.py", "pages/3_code.py",
                                  "pages/5_results.py"])
def test_pages_draw_without_the_picture_files(without_pictures: Path, open_app, page: str) -> None:
    at = open_app(without_pictures)
    at.session_state["coder"] = "ana"  # the Code page then shows an image to code
    at.switch_page(page).run()
    assert not at.exception
    if page != "pages/1_posts.py":  # the posts table shows an empty cell instead
        assert MISSING in texts(at)
