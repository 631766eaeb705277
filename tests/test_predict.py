"""Scoring and predicting with a saved run: the run's own test predictions come back exactly."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kayfabe_core.errors import StageNotReadyError, WorkspaceError
from kayfabe_core.experiment import run_experiment
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.predict import all_posts, predict_posts, run_threshold, save_run_threshold, uncoded_posts
from kayfabe_core.runs import read_predictions, read_run
from kayfabe_core.sagemaker_client import make_sagemaker_clients
from kayfabe_core.sagemaker_finish import finish_job
from kayfabe_core.sagemaker_launch import launch_training, plan_sagemaker_training
from kayfabe_core.scoring import latest_workspace_run, score_images
from kayfabe_core.split import SplitOptions
from kayfabe_core.tables import read_feature_table
from kayfabe_core.train import TrainSettings
from kayfabe_core.workspace import Workspace, connect, open_workspace
from tests.conftest import copy_workspace, make_csv, post_row
from tests.predict_support import capture_downloads
from tests.sagemaker_support import (
    REGION,
    SETTINGS,
    fake_aws,  # noqa: F401
    local_booster,
    moto_clients,
    place_artifact,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A copy of the demo with one run trained on it, so each test can run on its own."""
    target = tmp_path_factory.mktemp("predict") / "demo"
    copy_workspace(demo_root, target)
    workspace = open_workspace(target)
    run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(), TrainSettings.from_choices())
    return workspace


@pytest.mark.parametrize("options", [
    FeatureOptions(),
    FeatureOptions(include_parents=False, metadata=True, caption=True, min_images=3, label_threshold=90),
], ids=["labels", "no-parents+metadata+caption"])
def test_scoring_reproduces_the_runs_test_predictions_exactly(demo: Workspace, options: FeatureOptions) -> None:
    run = run_experiment(demo, build_features(demo, options), SplitOptions(), TrainSettings.from_choices())
    saved = read_predictions(demo, run.run_id)
    scores = score_images(demo, run.run_id, list(saved["item"]))
    np.testing.assert_array_equal(scores["score"].to_numpy(), saved["score"].to_numpy())

    table, report = predict_posts(demo, run.run_id, list(saved["post"].unique()))
    assert report.scored == len(table) == report.images
    by_image = table.drop_duplicates("sha256").set_index("sha256")["score"]
    np.testing.assert_array_equal(by_image.reindex(saved["item"]).to_numpy(), saved["score"].to_numpy())
    decided_yes = table["score"] >= 0.5
    assert (table.loc[decided_yes, "decision"] == "In kayfabe").all()
    assert table["reasons"].str.len().gt(0).mean() > 0.95  # nearly every image has a reason given


def test_a_saved_threshold_moves_the_decisions(demo: Workspace) -> None:
    run_id = latest_workspace_run(demo)
    posts = list(read_predictions(demo, run_id)["post"].unique())
    save_run_threshold(demo, run_id, 0.9)
    assert run_threshold(demo, run_id) == pytest.approx(0.9)
    table, report = predict_posts(demo, run_id, posts)
    assert report.threshold == pytest.approx(0.9)
    assert ((table["score"] >= 0.9) == (table["decision"] == "In kayfabe")).all()
    save_run_threshold(demo, run_id, 0.5)


def test_images_lacking_a_response_the_run_needs_are_reported_not_scored(demo: Workspace) -> None:
    run = run_experiment(demo, build_features(demo, FeatureOptions()), SplitOptions(), TrainSettings.from_choices())
    posts = list(read_predictions(demo, run.run_id)["post"].unique())[:20]
    with sqlite3.connect(demo.db_path) as conn:
        marks = ",".join("?" * len(posts))
        victims = [row[0] for row in conn.execute(f"SELECT sha256 FROM images WHERE post_url IN ({marks})", posts)][:3]
        victim_rows = ("operation = 'DetectModerationLabels' AND content_no IN "
                       "(SELECT content_no FROM contents WHERE sha256 IN (?, ?, ?))")
        saved = conn.execute(f"SELECT * FROM stored_responses WHERE {victim_rows}", victims).fetchall()
        conn.execute(f"DELETE FROM stored_responses WHERE {victim_rows}", victims)
    try:
        table, report = predict_posts(demo, run.run_id, posts)
        assert report.missing_responses == {"DetectModerationLabels": 3}
        assert not set(victims) & set(table["sha256"])
    finally:
        with sqlite3.connect(demo.db_path) as conn:
            conn.executemany(f"INSERT INTO stored_responses VALUES ({','.join('?' * len(saved[0]))})", saved)


def test_a_run_trained_on_a_table_cannot_score_images(demo: Workspace) -> None:
    rows = ["code,f1,f2"] + [f"{i % 2},{i % 3},{i % 5}" for i in range(60)]
    table = read_feature_table("\n".join(rows).encode(), "t.csv", "code")
    run = run_experiment(demo, table, SplitOptions(method="stratified"), TrainSettings.from_choices("quick"))
    with pytest.raises(StageNotReadyError, match="trained on an uploaded table"):
        predict_posts(demo, run.run_id, ["x"])
    assert latest_workspace_run(demo) != run.run_id


def test_cli_predict_writes_the_csv_the_page_would_show(demo: Workspace, tmp_path: Path) -> None:
    run_id = latest_workspace_run(demo)
    out = tmp_path / "scores.csv"
    done = subprocess.run([sys.executable, "-m", "kayfabe_core", "predict", str(demo.root), "--all", "--out",
                           str(out), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["run_id"], report["scored"], report["images"]) == (run_id, 1954, 1954)
    written = pd.read_csv(out, keep_default_na=False)
    assert list(written.columns) == ["post_url", "image_url", "sha256", "score", "decision", "reasons"]
    page_table, _ = predict_posts(demo, run_id, uncoded_posts(demo) or list(written["post_url"].unique()))
    pd.testing.assert_frame_equal(written, page_table, check_exact=True, check_dtype=False)  # row by row
    nothing = subprocess.run([sys.executable, "-m", "kayfabe_core", "predict", str(demo.root), "--out",
                              str(tmp_path / "none.csv")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert nothing.returncode == 0 and "Every post of the workspace has a coded image" in nothing.stdout \
        and "--all" in nothing.stdout


def test_cli_predict_without_a_workspace_run_says_so(tmp_path: Path) -> None:
    open_workspace(tmp_path / "empty")
    done = subprocess.run([sys.executable, "-m", "kayfabe_core", "predict", str(tmp_path / "empty"), "--out",
                           str(tmp_path / "s.csv")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "needs a model trained on this workspace" in done.stderr and "Traceback" not in done.stderr


def test_cli_predict_checks_the_run_before_importing_the_posts_to_score(demo_root: Path, tmp_path: Path) -> None:
    workspace = open_workspace(copy_workspace(demo_root, tmp_path / "ws", images=False), create=False)
    export = tmp_path / "new.csv"
    export.write_text(make_csv([post_row("NEW1"), post_row("NEW2")]))
    before = _counts(workspace)
    done = subprocess.run([sys.executable, "-m", "kayfabe_core", "predict", str(workspace.root), "--run", "nope",
                           "--out", str(tmp_path / "s.csv"), str(export)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("Error: There is no run called nope in this workspace.")
    assert _counts(workspace) == before  # the export was not imported


def test_cli_predict_says_a_missing_export_does_not_exist(demo: Workspace, tmp_path: Path) -> None:
    missing = subprocess.run([sys.executable, "-m", "kayfabe_core", "predict", str(demo.root), "--out",
                              str(tmp_path / "s.csv"), str(tmp_path / "gone.csv")], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 1  # said as ingest says it
    assert missing.stderr.startswith(f"Error: The file {tmp_path / 'gone.csv'} does not exist.")


def test_damaged_run_files_give_one_message(demo: Workspace, tmp_path: Path) -> None:
    run_id = latest_workspace_run(demo)
    for name in ("feature_names.json", "model.ubj", "test_features.npz"):
        damaged = open_workspace(copy_workspace(demo.root, tmp_path / name, images=False), create=False)
        (damaged.runs_dir / run_id / name).write_text("not what it was")
        with pytest.raises(WorkspaceError) as caught:
            predict_posts(damaged, run_id, all_posts(damaged))
        assert caught.value.message.startswith(f"The file {name} of run {run_id} is damaged or missing")


def _counts(workspace: Workspace) -> tuple[int, int]:
    with connect(workspace) as conn:
        return (conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM images").fetchone()[0])


# --- a run trained on SageMaker (moto server) ----------------------------------------------------------------------

SAGEMAKER_OPTIONS = FeatureOptions(include_parents=False, metadata=True, caption=True, min_images=3,
                                   label_threshold=90)
EARLY = TrainSettings.from_choices("careful", {"num_boost_round": 60, "early_stopping_rounds": 5, "eta": 0.3})


def sagemaker_run(workspace: Workspace, moto_url: str) -> str:
    """Launch a SageMaker job on the workspace's features (moto), place the container's model, finish it."""
    clients = moto_clients(moto_url)
    plan = plan_sagemaker_training(build_features(workspace, SAGEMAKER_OPTIONS), SplitOptions(), EARLY, SETTINGS,
                                   "cloud")
    status = launch_training(workspace, clients, plan, confirmed=True)
    booster, _ = local_booster(plan.table.matrix, plan.table.observed, plan.fit_rows, plan.check_rows, EARLY,
                               SplitOptions().seed)
    place_artifact(clients.s3, status.model_artifact, booster)
    restarted = open_workspace(workspace.root, create=False)
    return finish_job(restarted, make_sagemaker_clients(REGION, moto_url, max_attempts=1), status.job_name).run_id


def test_a_run_trained_on_sagemaker_predicts_here_too(demo_root: Path, tmp_path: Path, moto_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = open_workspace(copy_workspace(demo_root, tmp_path / "demo"))
    run_id = sagemaker_run(workspace, moto_url)
    record = read_run(workspace, run_id)
    assert record["backend"] == "sagemaker" and record["curve"]["best_round"] < 60  # type: ignore[index]
    saved = read_predictions(workspace, run_id)
    posts = list(saved["post"].unique())

    table, report = predict_posts(workspace, run_id, posts)
    assert report.scored == len(table) == report.images and not report.missing_responses
    by_image = table.drop_duplicates("sha256").set_index("sha256")["score"]
    np.testing.assert_array_equal(by_image.reindex(saved["item"]).to_numpy(), saved["score"].to_numpy())

    out = tmp_path / "scores.csv"
    done = subprocess.run([sys.executable, "-m", "kayfabe_core", "predict", str(workspace.root), "--run", run_id,
                           "--all", "--out", str(out), "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["run_id"] == run_id
    written = pd.read_csv(out).drop_duplicates("sha256").set_index("sha256")["score"]
    np.testing.assert_array_equal(written.reindex(saved["item"]).to_numpy(), saved["score"].to_numpy())

    downloads = capture_downloads(monkeypatch)
    monkeypatch.setenv("KAYFABE_WORKSPACE", str(workspace.root))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/7_predict.py").run()
    assert not at.exception
    choice = at.selectbox(key="predict_run")
    assert choice.value == run_id
    accuracy = record["metrics"]["accuracy"]  # type: ignore[index]
    assert choice.options == [f"cloud · trained on SageMaker · accuracy {accuracy:.3f} at 0.5"]
    at.radio(key="predict_posts").set_value("all").run()
    assert not at.exception
    shown = "\n".join(md.value for md in at.markdown)
    assert "**1,954** of 1,954 images scored, decided at the run's threshold 0.50 (" in shown
    assert downloads[f"scores-{run_id}.csv"] == out.read_bytes()  # the page and the command line agree


def test_uncoded_posts_are_those_without_a_coded_image(workspace: Workspace) -> None:
    """Against SQL on a small workspace: a coded carousel, an uncoded one, undated posts, a shared picture."""
    from kayfabe_core.codes import append_codes
    from kayfabe_core.images import StoredImage, mark_fetched
    from kayfabe_core.ingest import ingest_files
    from kayfabe_core.workspace import connect, transaction
    from tests.conftest import make_csv, post_row

    rows = [post_row("A", pubDate="2020-01-01T00:00:00.000Z"), post_row("B", pubDate=""),
            post_row("C", pubDate="2020-01-03T00:00:00.000Z"), post_row("D", pubDate=""),
            post_row("E", pubDate="2020-01-03T00:00:00.000Z")]
    ingest_files(workspace, [("u.csv", make_csv(rows).encode())])
    with transaction(workspace) as conn:
        ids = dict(conn.execute("SELECT post_url, image_id FROM images").fetchall())
        for post, sha in (("A", "a" * 64), ("B", "b" * 64), ("C", "c" * 64), ("E", "a" * 64)):  # E shares A's
            mark_fetched(conn, ids[f"https://www.instagram.com/p/{post}/"], StoredImage(sha, "jpg", 9, 9, 1))
        append_codes(conn, [("a" * 64, "ann", "YES"), ("c" * 64, "ann", "UNSURE")], None, "")
    with connect(workspace) as conn:
        expected = [row[0] for row in conn.execute(
            "SELECT post_url FROM posts WHERE post_url NOT IN (SELECT i.post_url FROM images i JOIN codes c "
            "ON c.sha256 = i.sha256) ORDER BY pub_date DESC, post_url")]
    assert uncoded_posts(workspace) == expected == [f"https://www.instagram.com/p/{post}/" for post in "BD"]


def test_reasons_are_the_strongest_pushes_in_order() -> None:
    import scipy.sparse as sp

    from kayfabe_core.predict import _reasons

    rng = np.random.default_rng(0)
    contributions = rng.normal(size=(200, 30))
    decided_yes = rng.random(200) < 0.5
    names = tuple(f"label: f{n}" for n in range(30))
    present = sp.csr_matrix((rng.random((200, 30)) < 0.3).astype(float))
    reasons = _reasons(contributions, decided_yes, names, present)
    for row in range(200):
        signed = contributions[row] if decided_yes[row] else -contributions[row]
        best = [column for column in np.argsort(-signed)[:3] if signed[column] > 0]
        assert reasons[row] == "; ".join(
            f"label: f{column} {'present' if present[row, column] else 'absent'} ({contributions[row, column]:+.2f})"
            for column in best)
    two = sp.csr_matrix(np.array([[1.0, 120.0]]))
    assert _reasons(np.array([[0.5, 0.2]]), np.array([True]), ("label: a", "likes"), two) == \
        ["label: a present (+0.50); likes = 120 (+0.20)"]  # fewer than 3 columns; a number as it is


def test_an_images_reasons_read_back_one_by_one() -> None:
    from kayfabe_core.predict import reason_list

    assert reason_list("label: a present (+0.50); likes = 120 (+0.20)") == ["label: a present (+0.50)",
                                                                          "likes = 120 (+0.20)"]
    assert reason_list("") == []
    assert reason_list(None) == []  # type: ignore[arg-type]  # a scored image with no push towards its decision
