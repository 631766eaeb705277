"""Predict page on the demo: choose a run and posts, see scores, reasons and a CSV."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kayfabe_core.experiment import run_experiment
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.fetch import FetchSettings, fetch_images
from kayfabe_core.predict import all_posts
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.workspace import open_workspace, transaction
from tests.conftest import copy_workspace, picture_server
from tests.predict_support import FETCHED_AT, capture_downloads, new_export
from tests.ui.conftest import ROOT, texts

OPTIONS = FeatureOptions(include_parents=False, metadata=True, caption=True, min_images=3, label_threshold=90)


def test_predict_every_post_of_the_demo(demo_root: Path, tmp_path: Path, open_app) -> None:
    copy_workspace(demo_root, tmp_path / "demo")
    workspace = open_workspace(tmp_path / "demo")
    run = run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(),
                         TrainSettings.from_choices("quick"), name="for predict")
    at = open_app(tmp_path / "demo")
    at.switch_page("pages/7_predict.py").run()
    assert not at.exception
    assert at.selectbox(key="predict_run").value == run.run_id
    # the demo codes every image: the page starts on every post, not on an empty choice
    assert at.radio(key="predict_posts").value == "all"
    assert "**1,954** of 1,954 images scored, decided at the run's threshold 0.50 (" in texts(at)
    assert "how likely it is “In kayfabe” (0 to 1)" in texts(at)
    at.radio(key="predict_posts").set_value("uncoded").run()
    assert "Every post in this workspace has a coded image" in texts(at)
    at.radio(key="predict_posts").set_value("all").run()
    captions = [caption.value for caption in at.caption]
    reasons = [caption for caption in captions if re.search(r"\(\+\d\.\d\d\)", caption)]  # "Lighting (+1.18)"
    assert len(reasons) >= 20  # reasons under the pictures, one per line, without "label: "
    assert all("label: " not in caption and "  \n" in caption for caption in reasons)
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
    assert at.selectbox(key="coding_order").value == "sent"  # the Code page opens on what was just sent
    assert not at.exception
    assert at.session_state["coding_current"] == sent[0]


def test_a_new_export_scored_on_the_page_and_from_the_cli_gives_the_same_scores(
        demo_root: Path, tmp_path: Path, open_app, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_workspace(demo_root, tmp_path / "demo")
    workspace = open_workspace(root)
    run = run_experiment(workspace, build_features(workspace, OPTIONS), SplitOptions(),
                         TrainSettings.from_choices("quick"), name="for a new export")
    known = set(all_posts(workspace))
    downloads = capture_downloads(monkeypatch)
    pictures: dict[str, bytes] = {}
    with picture_server(pictures) as base_url:
        export = new_export(base_url)
        pictures.update(export.pictures)
        assert not known & set(export.posts)
        csv_file = tmp_path / "new-2022.csv"
        csv_file.write_text(export.csv_text)

        at = open_app(root)
        at.switch_page("pages/7_predict.py").run()
        at.radio(key="predict_posts").set_value("upload").run()
        downloads.clear()  # the page opened on every post (all are coded): those scores were offered first
        at.file_uploader(key="predict_upload").set_value(("new-2022.csv", csv_file.read_bytes(), "text/csv")).run()
        assert not at.exception
        assert not known ^ set(all_posts(workspace))  # choosing the file imported nothing: a click does
        at.button(key="predict_import").click().run()
        assert not at.exception
        assert set(export.posts) <= set(all_posts(workspace))
        images = len(export.pictures)
        assert f"new-2022.csv: {len(export.posts)} posts ({len(export.posts)} new to this workspace)." in texts(at)
        assert f"{images} images are not fetched yet, so they cannot be scored." in texts(at)
        assert not downloads  # nothing scored, nothing to download

        fetched = fetch_images(workspace, FetchSettings(allow_private=True, workers=2, now=FETCHED_AT))
        assert fetched.ok == images
        at.run()
        assert f"{images} images have no DetectLabels response" in texts(at)

        labels = tmp_path / "responses.jsonl"
        labels.write_text(export.label_lines)
        assert cli("import-labels", str(root), str(labels)).returncode == 0
        at.run()
    assert not at.exception
    assert f"**{images}** of {images} images scored, decided at the run's threshold 0.50 (" in texts(at)
    page = pd.read_csv(io.BytesIO(downloads[f"scores-{run.run_id}.csv"]))

    out = tmp_path / "scores.csv"
    done = cli("predict", str(root), "--run", run.run_id, str(csv_file), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"Scored {images} of {images} images of {len(export.posts)} posts with run {run.run_id}" in done.stdout
    command_line = pd.read_csv(out)
    assert list(page.columns) == ["post_url", "image_url", "sha256", "score", "decision", "reasons"]
    assert len(page) == images and set(page["post_url"]) == set(export.posts)
    pd.testing.assert_frame_equal(page, command_line, check_exact=True)  # row by row: images, scores, decisions
    assert downloads[f"scores-{run.run_id}.csv"] == out.read_bytes()  # and the very same file
    assert page["score"].is_monotonic_decreasing and page["decision"].nunique() == 2
    assert ((page["score"] >= 0.5) == (page["decision"] == "In kayfabe")).all()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kayfabe_core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_scores_are_kept_across_runs_of_the_page(demo_root: Path, tmp_path: Path, open_app,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from kayfabe_ui import predict_view

    copy_workspace(demo_root, tmp_path / "demo")
    workspace = open_workspace(tmp_path / "demo")
    run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(),
                   TrainSettings.from_choices("quick"), name="kept")
    calls: list[int] = []
    score = predict_view.predict_posts
    monkeypatch.setattr(predict_view, "predict_posts", lambda *args, **kw: calls.append(1) or score(*args, **kw))
    at = open_app(tmp_path / "demo")
    at.switch_page("pages/7_predict.py").run()
    at.radio(key="predict_posts").set_value("all").run()
    at.run()  # e.g. another gallery order: the same posts, the same run
    assert not at.exception and len(calls) == 1
    with transaction(workspace) as conn:  # new data: scored again
        conn.execute("UPDATE posts SET like_count = 1")
    at.run()
    assert not at.exception and len(calls) == 2


def test_a_large_fully_coded_workspace_waits_to_be_asked_before_scoring_everything(
        demo_root: Path, tmp_path: Path, open_app, monkeypatch: pytest.MonkeyPatch) -> None:
    from kayfabe_ui import predict_view

    copy_workspace(demo_root, tmp_path / "demo")
    workspace = open_workspace(tmp_path / "demo")
    run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(),
                   TrainSettings.from_choices("quick"))
    monkeypatch.setattr(predict_view, "AUTO_ALL_POSTS", 1_000)  # the demo's 1,500 posts count as large here
    at = open_app(tmp_path / "demo")
    at.switch_page("pages/7_predict.py").run()
    assert not at.exception
    assert at.radio(key="predict_posts").value == "uncoded"
    assert "Every post in this workspace has a coded image" in texts(at)
    assert "images scored" not in texts(at)


def test_a_chosen_export_is_imported_on_a_click_into_the_open_workspace_only(demo_root: Path, tmp_path: Path,
                                                                             open_app) -> None:
    from kayfabe_core.demo.generator import make_sample_export

    roots = [copy_workspace(demo_root, tmp_path / name, images=False) for name in ("one", "two")]
    for root in roots:  # a run to score with, in each
        workspace = open_workspace(root)
        run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(),
                       TrainSettings.from_choices("quick"))
    before = [set(all_posts(open_workspace(root))) for root in roots]
    at = open_app(roots[0])
    at.switch_page("pages/7_predict.py").run()
    at.radio(key="predict_posts").set_value("upload").run()
    at.file_uploader(key="predict_upload").set_value(("lantern.csv", make_sample_export().encode(), "text/csv")).run()
    assert set(all_posts(open_workspace(roots[0]))) == before[0]  # chosen, not imported
    at.button(key="predict_import").click().run()
    assert not at.exception
    added = set(all_posts(open_workspace(roots[0]))) - before[0]
    assert added and "lantern.csv: " in texts(at)
    at.run()  # drawn again: nothing imported twice
    assert set(all_posts(open_workspace(roots[0]))) - before[0] == added
    at.session_state["workspace_path"] = str(roots[1])  # another workspace, the same file still chosen
    at.run()
    assert not at.exception
    assert set(all_posts(open_workspace(roots[1]))) == before[1]  # asked again, not imported behind its back
    assert at.button(key="predict_import")


def test_images_not_fetched_send_the_user_to_fetching_them(demo_root: Path, tmp_path: Path, open_app) -> None:
    from kayfabe_core.demo.generator import make_sample_export

    root = copy_workspace(demo_root, tmp_path / "ws", images=False)
    workspace = open_workspace(root)
    run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(),
                   TrainSettings.from_choices("quick"))
    at = open_app(root)
    at.switch_page("pages/7_predict.py").run()
    at.radio(key="predict_posts").set_value("upload").run()
    at.file_uploader(key="predict_upload").set_value(("lantern.csv", make_sample_export().encode(), "text/csv")).run()
    at.button(key="predict_import").click().run()
    assert "not fetched yet, so they cannot be scored" in texts(at)
    at.button(key="predict_to_fetch").click().run()
    assert not at.exception
    assert [title.value for title in at.title] == ["Images & labels"]
    assert at.segmented_control(key="images_section").value == "Fetch & label"  # not the gallery
