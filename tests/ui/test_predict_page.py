"""Predict page on the demo: choose a run and posts, see scores, reasons and a CSV."""

from __future__ import annotations

from pathlib import Path

from kayfabe_core.experiment import run_experiment
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.workspace import open_workspace
from tests.conftest import copy_workspace
from tests.ui.conftest import texts


def test_predict_every_post_of_the_demo(demo_root: Path, tmp_path: Path, open_app) -> None:
    copy_workspace(demo_root, tmp_path / "demo")
    workspace = open_workspace(tmp_path / "demo")
    run = run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(),
                         TrainSettings.from_choices("quick"), name="for predict")
    at = open_app(tmp_path / "demo")
    at.switch_page("pages/7_predict.py").run()
    assert not at.exception
    assert at.selectbox(key="predict_run").value == run.run_id
    assert "Every post in this workspace has a coded image" in texts(at)  # the demo codes every image
    at.radio(key="predict_posts").set_value("all").run()
    assert not at.exception
    assert "**1,954** of 1,954 images scored, decided at the run's threshold 0.50." in texts(at)
    captions = [caption.value for caption in at.caption]
    assert sum("label: " in caption for caption in captions) >= 20  # reasons under the pictures
    assert any("How to read" in caption for caption in captions)
    assert at.get("download_button")
    assert not at.exception

    at.button(key="send_to_coding").click().run()
    assert not at.exception
    from kayfabe_core.coding import read_sent_to_coding
    from kayfabe_core.predict import all_posts, predict_posts

    sent = read_sent_to_coding(workspace)
    table, _ = predict_posts(workspace, run.run_id, all_posts(workspace))
    closest = table.assign(distance=(table["score"] - 0.5).abs()).sort_values("distance")
    assert sent == list(closest.drop_duplicates("sha256")["sha256"].head(50))

    at.session_state["coder"] = "ana"
    at.switch_page("pages/3_code.py").run()
    at.selectbox(key="coding_order").set_value("sent").run()
    assert not at.exception
    assert at.session_state["coding_current"] == sent[0]
