"""Exports of a run: the methods paragraph, the standalone HTML report and the replication bundle."""

from __future__ import annotations

import io
import json
import shlex
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost

from kayfabe_core.__main__ import main
from kayfabe_core.agreement import measure_agreement
from kayfabe_core.associations import ADJUDICATOR, read_resolved_codes
from kayfabe_core.errors import WorkspaceError
from kayfabe_core.experiment import ExperimentResult, run_experiment
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.methods_text import methods_paragraph
from kayfabe_core.report_export import code_version, export_replication_bundle, export_report_html
from kayfabe_core.runs import read_run
from kayfabe_core.split import SplitOptions
from kayfabe_core.tables import read_feature_table
from kayfabe_core.train import TrainSettings
from kayfabe_core.workspace import Workspace, open_workspace
from tests.conftest import copy_workspace

ROOT = Path(__file__).resolve().parents[1]
EVIL_NAME = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def trained(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, ExperimentResult]:
    """A writable demo copy with one run of the original study's settings."""
    target = tmp_path_factory.mktemp("export") / "ws"
    copy_workspace(demo_root, target, images=False)
    workspace = open_workspace(target, create=False)
    table = build_features(workspace, FeatureOptions())
    result = run_experiment(workspace, table, SplitOptions(), TrainSettings.from_choices("original-2021"))
    return workspace, result


def fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"


def test_the_methods_paragraph_holds_the_runs_own_numbers(trained: tuple[Workspace, ExperimentResult]) -> None:
    workspace, result = trained
    record: dict[str, Any] = read_run(workspace, result.run_id)
    metrics = record["metrics"]
    text = methods_paragraph(workspace, result.run_id)
    agreement = measure_agreement(workspace, ["coder_a", "coder_b"])
    low, high = metrics["intervals"]["accuracy"]
    assert f"accuracy was {fmt(metrics['accuracy'])} (95 % CI {fmt(low)}–{fmt(high)}, bootstrap over posts)" in text
    for name in ("precision", "recall", "f1", "roc_auc"):
        assert fmt(metrics[name]) in text
    assert f"On the {record['n_test']:,} test images" in text
    assert f"We classified {record['data']['n_images']:,} Instagram images" in text
    assert "“In kayfabe”" in text and "“Not in kayfabe”" in text
    assert "≥ 80 % confidence" in text and "fewer than 5 images were dropped" in text
    assert f"giving {record['data']['n_features']:,} binary features" in text
    assert "max_depth 5" in text and "eta 0.2" in text and "100 rounds" in text
    assert f"XGBoost {xgboost.__version__}" in text and "Python 3." in text
    assert f"On the {agreement.images:,} images coded by both coders" in text
    assert f"Cohen's κ = {agreement.statistic:.2f}, 95 % CI {agreement.ci_low:.2f}–{agreement.ci_high:.2f}" in text
    assert "split 70/30 grouped by post" in text and "(seed 2021)" in text
    assert f"{record['n_train']:,} training" in text
    assert "\n" not in text and "nan" not in text


def test_a_threshold_chosen_for_predictions_is_reported_as_optimistic(
        trained: tuple[Workspace, ExperimentResult], tmp_path: Path) -> None:
    from kayfabe_core.predict import save_run_threshold
    from kayfabe_core.results import run_metrics
    from tests.conftest import copy_workspace

    workspace, result = trained
    copy = open_workspace(copy_workspace(workspace.root, tmp_path / "chosen", images=False), create=False)
    assert "decide at a score threshold" not in methods_paragraph(copy, result.run_id)
    save_run_threshold(copy, result.run_id, 0.3)
    text = methods_paragraph(copy, result.run_id)
    at = run_metrics(copy, result.run_id, 0.3)
    assert f"Predictions with this model decide at a score threshold of 0.3, chosen after training while looking " \
           f"at these test images; at it, accuracy {at.accuracy:.3f}" in text
    assert "optimistic figures" in text


def test_missing_runs_raise_the_workspace_error(trained: tuple[Workspace, ExperimentResult]) -> None:
    workspace, _ = trained
    for export in (methods_paragraph, export_report_html, export_replication_bundle):
        with pytest.raises(WorkspaceError, match="There is no run called run-nope"):
            export(workspace, "run-nope")


def test_the_html_report_is_standalone_with_charts_and_escapes_names(
        trained: tuple[Workspace, ExperimentResult]) -> None:
    workspace, result = trained
    page = export_report_html(workspace, result.run_id).decode("utf-8")
    record: dict[str, Any] = read_run(workspace, result.run_id)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert 3_000_000 < len(page) < 8_000_000  # plotly.js inline once: works offline
    assert page.count("plotly-graph-div") >= 6
    assert page.count("Plotly.newPlot") >= 6 and "<script src" not in page  # nothing fetched
    assert page.count("How to read:") >= 6
    assert fmt(record["metrics"]["accuracy"]) in page
    assert record["data"]["data_hash"] in page
    assert xgboost.__version__ in page and "Top 20 features by gain" in page
    assert "Cohen&#x27;s κ" in page  # the methods paragraph, escaped
    assert "finds In kayfabe images with few false alarms" in page and "(Not in kayfabe called In kayfabe)" \
        in page  # the category's words in the charts and how to read them
    assert f"False positives: coded Not in kayfabe, predicted In kayfabe</td><td>{record['metrics']['fp']:,}" in page
    # outside Streamlit nothing grows a chart's margins: each axis makes room for its labels itself, and the two
    # curves said to be "left" and "right" are side by side at a fixed width
    assert page.count('"automargin":true') >= 2 * page.count("Plotly.newPlot")
    assert "<div class='pair'>" in page and page.count('"width":480') == 2
    # the feature and split options in words, with the name the record and the command line use
    assert "<td>Object / scene labels: minimum confidence</td><td>label_threshold</td><td>80.0</td>" in page
    assert "<td>Test share</td><td>test_size</td><td>0.3</td>" in page

    evil = run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(),
                          TrainSettings.from_choices("quick"), name=EVIL_NAME)
    page = export_report_html(workspace, evil.run_id).decode("utf-8")
    assert EVIL_NAME not in page
    assert "Run report: &lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_bundle_reproduces_the_run(trained: tuple[Workspace, ExperimentResult]) -> None:
    workspace, result = trained
    record: dict[str, Any] = read_run(workspace, result.run_id)
    bundle = zipfile.ZipFile(io.BytesIO(export_replication_bundle(workspace, result.run_id)))
    names = {name.removeprefix(f"{result.run_id}/") for name in bundle.namelist()}
    assert {"record.json", "model.ubj", "predictions.csv", "feature_names.json", "methods.txt",
            "README.txt"} <= names
    assert json.loads(bundle.read(f"{result.run_id}/record.json"))["run_id"] == result.run_id
    assert bundle.read(f"{result.run_id}/methods.txt").decode().strip() == methods_paragraph(workspace, result.run_id)
    booster = xgboost.Booster()
    booster.load_model(bytearray(bundle.read(f"{result.run_id}/model.ubj")))
    assert booster.num_boosted_rounds() == 100
    readme = bundle.read(f"{result.run_id}/README.txt").decode()
    assert f"Data hash:    {record['data']['data_hash']}" in readme
    assert f"Code version: {code_version()}" in readme
    command = next(line for line in readme.splitlines() if line.startswith("python -m kayfabe_core train"))
    argv = shlex.split(command)
    for flag in ("--workspace", "--split", "--test-size", "--folds", "--repeats", "--seed", "--threshold",
                 "--min-images"):
        assert flag in argv
    assert argv.count("--param") == len(record["settings"])
    done = subprocess.run([sys.executable, *argv[1:], "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accuracy"] == record["metrics"]["accuracy"]


def test_the_code_version_falls_back_to_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert code_version(tmp_path) == "unknown"

    def no_git(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert code_version() == "unknown"


def test_a_cross_validated_run_gives_the_mean_and_sd(trained: tuple[Workspace, ExperimentResult]) -> None:
    workspace, _ = trained
    result = run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(folds=3),
                            TrainSettings.from_choices("quick"))
    record: dict[str, Any] = read_run(workspace, result.run_id)
    text = methods_paragraph(workspace, result.run_id)
    mean = np.mean([fold["accuracy"] for fold in record["folds"]])
    assert "3-fold cross-validation grouped by post" in text and "one model per fold (3 models)" in text
    assert f"Mean accuracy across the 3 folds was {mean:.3f} ± {record['accuracy_sd']:.3f} (sd" in text
    assert f"Pooled over all {record['data']['n_images']:,} test predictions" in text
    assert "max_depth 3" in text and "30 rounds" in text
    bundle = zipfile.ZipFile(io.BytesIO(export_replication_bundle(workspace, result.run_id)))
    assert f"{result.run_id}/models/fold-03.ubj" in bundle.namelist()
    assert "--folds 3" in bundle.read(f"{result.run_id}/README.txt").decode()


def test_a_table_run_gets_the_table_wording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(7)
    rows = ["kayfabe,ring,crowd,belt,dog,food"]
    for _ in range(80):
        values = rng.integers(0, 2, 5)
        code = int(values[0] + values[1] + rng.integers(0, 2) >= 2)
        rows.append(",".join(map(str, [code, *values])))
    (tmp_path / "tiny.csv").write_text("\n".join(rows) + "\n")
    workspace = open_workspace(tmp_path / "ws")
    table = read_feature_table((tmp_path / "tiny.csv").read_bytes(), "tiny.csv", "kayfabe")
    result = run_experiment(workspace, table, SplitOptions(method="stratified"), TrainSettings.from_choices("quick"))
    text = methods_paragraph(workspace, result.run_id)
    assert "We classified 80 images from a ready-made feature table (tiny.csv) with 5 numeric columns" in text
    assert "“kayfabe = 1”" in text and "column “kayfabe”" in text and "agreement between coders is not" in text
    assert "κ" not in text and "stratified by code" in text and "bootstrap over images" in text
    page = export_report_html(workspace, result.run_id).decode()
    assert page.count("plotly-graph-div") >= 6 and "Codebook" not in page
    readme = zipfile.ZipFile(io.BytesIO(export_replication_bundle(workspace, result.run_id))).read(
        f"{result.run_id}/README.txt").decode()
    command = next(line for line in readme.splitlines() if line.startswith("python -m kayfabe_core train"))
    assert "--table tiny.csv --label kayfabe --positive 1" in command and "tiny.csv is not in this bundle" in readme
    monkeypatch.chdir(tmp_path)
    assert main([*shlex.split(command)[3:], "--json"]) == 0
    accuracy = json.loads(capsys.readouterr().out)["accuracy"]
    assert accuracy == read_run(workspace, result.run_id)["metrics"]["accuracy"]


def _database_copy(workspace: Workspace, target: Path) -> Workspace:
    target.mkdir()
    shutil.copy(workspace.db_path, target / workspace.db_path.name)
    return open_workspace(target, create=False)


def test_one_coder_and_decisions_are_told_honestly(trained: tuple[Workspace, ExperimentResult],
                                                   tmp_path: Path) -> None:
    workspace, result = trained
    one = _database_copy(workspace, tmp_path / "one")
    with sqlite3.connect(one.db_path) as conn:
        conn.execute("DELETE FROM codes WHERE coder = 'coder_b'")
    text = methods_paragraph(one, result.run_id)
    assert "Each image was hand-coded by one coder (1,954 images coded “In kayfabe” or “Not in kayfabe”), so " \
           "agreement between coders could not be measured." in text and "κ" not in text

    few = _database_copy(workspace, tmp_path / "few")
    with sqlite3.connect(few.db_path) as conn:
        conn.execute("DELETE FROM codes WHERE coder = 'coder_b' AND sha256 NOT IN (SELECT sha256 FROM codes "
                     "WHERE coder = 'coder_b' ORDER BY sha256 LIMIT 4)")
    assert "Only 4 images were coded “In kayfabe” or “Not in kayfabe” by two coders, too few to measure their " \
           "agreement (at least 10 are needed)." in methods_paragraph(few, result.run_id)

    decided = _database_copy(workspace, tmp_path / "decided")
    ties_before = len({sha for sha in _decided_images(decided)}) - len(read_resolved_codes(decided))
    with sqlite3.connect(decided.db_path) as conn:
        tied = [row[0] for row in conn.execute(
            "SELECT sha256 FROM codes GROUP BY sha256 HAVING COUNT(DISTINCT value) > 1 ORDER BY sha256 LIMIT 3")]
        conn.executemany("INSERT INTO codes(sha256, coder, value, note, codebook_version, coded_at) VALUES "
                         "(?, ?, 'YES', '', 1, '2999-01-01T00:00:00.000000Z')", [(sha, ADJUDICATOR) for sha in tied])
    text = methods_paragraph(decided, result.run_id)
    assert "or the team's decision where the coders disagreed (3 images)" in text
    assert f"; {ties_before - 3} images with tied codes were left out." in text
    assert "Some codes were added after this model was trained" in text
    with sqlite3.connect(decided.db_path) as conn:  # one decision only: "1 image", not "1 images"
        conn.execute("DELETE FROM codes WHERE coder = ? AND sha256 != ?", (ADJUDICATOR, tied[0]))
    assert "or the team's decision where the coders disagreed (1 image)" in methods_paragraph(decided, result.run_id)


def _decided_images(workspace: Workspace) -> set[str]:
    with sqlite3.connect(workspace.db_path) as conn:
        return {row[0] for row in conn.execute("SELECT sha256 FROM codes WHERE value IN ('YES', 'NO')")}


def test_with_three_coders_the_agreement_is_said_of_pairs_of_coders(demo_root: Path, tmp_path: Path) -> None:
    from kayfabe_core.codes import append_codes
    from kayfabe_core.workspace import transaction

    copy_workspace(demo_root, tmp_path / "ws", images=False)
    workspace = open_workspace(tmp_path / "ws", create=False)
    with sqlite3.connect(workspace.db_path) as conn:  # coder_c codes 80 images both others coded, as coder_a did
        shared = conn.execute("SELECT a.sha256, a.value FROM codes a JOIN codes b ON a.sha256 = b.sha256 "
                              "WHERE a.coder = 'coder_a' AND b.coder = 'coder_b' LIMIT 80").fetchall()
    with transaction(workspace, codes_only=True) as conn:
        append_codes(conn, [(sha256, "coder_c", value) for sha256, value in shared], None)
    run = run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(),
                         TrainSettings.from_choices("quick"))
    text = methods_paragraph(workspace, run.run_id)
    agreement = measure_agreement(workspace, ["coder_a", "coder_b", "coder_c"])
    assert (f"images coded by two or more coders, {agreement.percent * 100:.1f} % of the pairs of coders who coded "
            "the same image agreed") in text
    assert "they agreed on" not in text
