"""``python -m kayfabe_core train``: the JSON summary, folds, refusals, and the original study's table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kayfabe_core.__main__ import main
from kayfabe_core.cli_train import format_summary
from kayfabe_core.runs import list_runs, read_run
from kayfabe_core.workspace import open_workspace
from tests.conftest import ORIGINAL_TABLE, copy_workspace

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL_ARGS = ["--label", "kayfabe", "--preset", "original-2021", "--test-size", "0.3",
                 "--drop", "source_row", "postId", "--repeats", "5", "--json"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kayfabe_core", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo_copy(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("cli_train") / "ws"
    copy_workspace(demo_root, target, images=False)
    return target


def test_train_on_a_workspace_prints_the_summary(demo_copy: Path) -> None:
    result = run_cli("train", "--workspace", str(demo_copy), "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    for key in ("accuracy", "accuracy_ci", "precision", "recall", "f1", "roc_auc", "confusion", "n_train",
                "n_test", "run_id", "seconds", "warnings"):
        assert key in printed, key
    assert "accuracy_sd" not in printed
    assert len(printed["accuracy_ci"]) == 2 and all(isinstance(x, float) for x in printed["accuracy_ci"])
    assert printed["accuracy_ci"][0] <= printed["accuracy"] <= printed["accuracy_ci"][1]
    assert set(printed["confusion"]) == {"tn", "fp", "fn", "tp"}
    assert sum(printed["confusion"].values()) == printed["n_test"]
    assert 0.72 <= printed["accuracy"] <= 0.88
    assert printed["seconds"] > 0
    record = read_run(open_workspace(demo_copy, create=False), printed["run_id"])
    assert record["metrics"]["accuracy"] == printed["accuracy"]
    assert record["split"]["grouped_by"] == "post"
    assert record["settings"]["max_depth"] == 5  # the original study's preset is the default
    assert "Training fold" not in result.stderr  # no progress lines with --json


def test_folds_give_a_standard_deviation(demo_copy: Path) -> None:
    result = run_cli("train", "--workspace", str(demo_copy), "--folds", "3", "--param", "max_depth=3",
                     "--rounds", "20", "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["folds"] == 3 and 0 < printed["accuracy_sd"] < 0.1
    record = read_run(open_workspace(demo_copy, create=False), printed["run_id"])
    assert record["settings"]["max_depth"] == 3 and record["settings"]["num_boost_round"] == 20
    assert len(list((demo_copy / "runs" / printed["run_id"] / "models").glob("*.ubj"))) == 3
    assert printed["accuracy"] == pytest.approx(sum(fold["accuracy"] for fold in record["folds"]) / 3)
    low, high = printed["accuracy_ci"]  # the interval of the pooled accuracy, printed beside it
    assert printed["accuracy_pooled"] == record["metrics"]["accuracy"] and low <= printed["accuracy_pooled"] <= high


def test_a_bad_param_exits_1_with_the_message(demo_copy: Path) -> None:
    before = len(list_runs(open_workspace(demo_copy, create=False)))
    result = run_cli("train", "--workspace", str(demo_copy), "--param", "max_depth=40", "--json")
    assert result.returncode == 1
    assert "max_depth" in result.stderr and "must be between 1 and 12; got 40" in result.stderr
    assert "What to do:" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert len(list_runs(open_workspace(demo_copy, create=False))) == before


def test_a_table_needs_a_label(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("a,code\n1,1\n0,0\n")
    result = run_cli("train", "--table", str(table), "--save-in", str(tmp_path / "ws"), "--json")
    assert result.returncode == 1
    assert "--table needs --label" in result.stderr and "--label kayfabe" in result.stderr
    assert "Traceback" not in result.stderr


def test_text_output_and_bad_values_in_process(demo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--workspace", str(demo_copy), "--preset", "quick", "--name", "text"]) == 0
    out, err = capsys.readouterr()
    assert "training images" in out and "Accuracy" in out and "95 % interval" in out and "Saved in" in out
    assert "Training fold 1/1: round 30/30" in err
    assert main(["train", "--workspace", str(demo_copy), "--preset", "nope"]) == 1
    assert "There is no preset called “nope”" in capsys.readouterr().err
    assert main(["train", "--workspace", str(demo_copy), "--label", "kayfabe", "--preset", "nope"]) == 1
    assert "--label and --positive go with --table" in capsys.readouterr().err
    assert main(["train", "--workspace", str(demo_copy), "--param", "max_depth"]) == 1
    assert "must look like KEY=VALUE" in capsys.readouterr().err
    assert main(["train", "--workspace", str(demo_copy), "--drop", "label: Nothing"]) == 1
    assert "There is no feature called “label: Nothing”" in capsys.readouterr().err
    assert main(["train", "--workspace", str(demo_copy.parent / "missing")]) == 1
    assert "No workspace found" in capsys.readouterr().err


def test_sagemaker_options_on_this_computer_are_named_as_left_out(demo_copy: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(demo_copy), "--preset", "quick", "--json"]) == 0
    assert "go with --backend sagemaker" not in capsys.readouterr().err
    assert main(["train", str(demo_copy), "--preset", "quick", "--bucket", "b", "--no-wait", "--json"]) == 0
    assert ("Warning: --no-wait, --bucket go with --backend sagemaker; this runs on this computer, so they are left "
            "out.") in capsys.readouterr().err
    assert main(["tune", str(demo_copy), "--trials", "2", "--folds", "2", "--rounds", "5", "--max-jobs", "4",
                 "--json"]) == 0
    assert "Warning: --max-jobs go with --backend sagemaker" in capsys.readouterr().err
    assert main(["jobs", str(demo_copy), "--force"]) == 0
    assert "--force goes with --delete-data JOB" in capsys.readouterr().err


def test_contradicting_options_are_refused_or_named_as_left_out(demo_copy: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(demo_copy), "--rounds", "80", "--param", "num_boost_round=50"]) == 1
    assert "Error: The setting num_boost_round was given twice: 50 and 80." in capsys.readouterr().err
    assert main(["train", str(demo_copy), "--param", "max_depth=3", "--param", "max_depth=5"]) == 1
    assert "The setting max_depth was given twice: 3 and 5." in capsys.readouterr().err
    assert main(["tune", str(demo_copy), "--vary", "eta", "--param", "eta=0.1"]) == 1
    assert "Error: eta is both fixed (--param) and searched (--vary)." in capsys.readouterr().err
    runs_before = len(list_runs(open_workspace(demo_copy)))
    assert main(["train", str(demo_copy), "--preset", "quick", "--folds", "2", "--test-size", "0.2",
                 "--save-in", str(demo_copy.parent / "elsewhere"), "--json"]) == 0
    err = capsys.readouterr().err
    assert "Warning: --test-size is not used with --folds" in err
    assert "Warning: --save-in goes with --table" in err
    assert len(list_runs(open_workspace(demo_copy))) == runs_before + 1
    assert main(["tune", str(demo_copy), "--backend", "sagemaker", "--trials", "5", "--folds", "3", "--region",
                 "us-east-1", "--bucket", "my-bucket", "--role-arn", "arn:aws:iam::123456789012:role/Kayfabe"]) == 1
    err = capsys.readouterr().err  # stopped at the confirmation: nothing sent
    assert "Warning: --folds, --trials go with tuning on this computer; SageMaker runs --max-jobs training jobs " \
           "(10 here)" in err and "up to 10 training jobs" in err


@pytest.mark.slow
@pytest.mark.skipif(not ORIGINAL_TABLE.exists(), reason="the original study's table is not in shared/datasets")
def test_the_original_study_and_its_grouped_version(tmp_path: Path) -> None:
    stratified = run_cli("train", "--table", str(ORIGINAL_TABLE), "--split", "stratified",
                         "--save-in", str(tmp_path / "ws"), *ORIGINAL_ARGS)
    assert stratified.returncode == 0, stratified.stderr
    by_row = json.loads(stratified.stdout)
    grouped = run_cli("train", "--table", str(ORIGINAL_TABLE), "--group-by", "commentCount,likeCount,pubYear,"
                      "pubMonth,pubDay", "--save-in", str(tmp_path / "ws"), *ORIGINAL_ARGS)
    assert grouped.returncode == 0, grouped.stderr
    by_post = json.loads(grouped.stdout)
    print(f"original table, 5 repeats: stratified by image {by_row['accuracy']:.3f} "
          f"(sd {by_row['accuracy_sd']:.3f}), grouped by post {by_post['accuracy']:.3f} "
          f"(sd {by_post['accuracy_sd']:.3f}); published 0.839")
    assert by_row["folds"] == by_post["folds"] == 5
    assert by_row["n_train"] + by_row["n_test"] == 1470
    # the published 83.9 % came from a split by image; this one lands near it
    assert 0.78 <= by_row["accuracy"] <= 0.88
    # keeping a post's images together can only take away what the model learned from twins
    assert by_post["accuracy"] <= by_row["accuracy"]
    assert any("No --group-by given" in warning for warning in by_row["warnings"])
    assert not any("No --group-by given" in warning for warning in by_post["warnings"])
    record = read_run(open_workspace(tmp_path / "ws", create=False), by_post["run_id"])
    assert record["split"]["grouped_by"] == "commentCount, likeCount, pubYear, pubMonth, pubDay"
    assert record["data"]["n_features"] == 412


def test_runs_verb_lists_the_runs_as_json(tmp_path: Path) -> None:
    import subprocess
    import sys

    from kayfabe_core.workspace import open_workspace

    open_workspace(tmp_path / "ws")
    done = subprocess.run([sys.executable, "-m", "kayfabe_core", "runs", str(tmp_path / "ws"), "--json"],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and json.loads(done.stdout) == []


def test_the_summary_names_undefined_metrics_and_keeps_long_names_whole() -> None:
    nan = float("nan")
    summary = {"run_id": "run-1", "n_train": 26, "n_test": 10, "seconds": 0.4,
               "accuracy": 0.6, "accuracy_ci": [0.3, 0.9], "precision": nan, "precision_ci": [nan, nan],
               "recall": 0.0, "recall_ci": [0.0, 0.0], "f1": nan, "f1_ci": [nan, nan],
               "roc_auc": 0.5, "roc_auc_ci": [0.5, 0.5], "confusion": {"tn": 6, "fp": 0, "fn": 4, "tp": 0}}
    record = {"data": {"n_features": 3, "positive_name": "food = FOOD", "negative_name": "food = NOT FOOD"}}
    text = format_summary(summary, record, Path("runs/run-1"))
    assert "Precision  —       (not defined: no test image was predicted food = FOOD)" in text
    assert "nan" not in text
    assert "food = NOT FOOD" in text.splitlines()[-3]  # the header of the confusion matrix, not cut


def test_many_unknown_drops_are_named_five_at_a_time(demo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drops = [f"label: Nothing {number}" for number in range(12)]
    assert main(["train", "--workspace", str(demo_copy), "--drop", *drops]) == 1
    assert "There is no feature called “label: Nothing 0”, “label: Nothing 1”, “label: Nothing 2”, " \
           "“label: Nothing 3”, “label: Nothing 4” and 7 more." in capsys.readouterr().err


def _strict(text: str) -> object:
    """Parse ``text`` as strict JSON (NaN, Infinity refused, as SQLite, jq and R refuse them)."""
    def refuse(word: str) -> None:
        raise ValueError(f"not JSON: {word}")
    return json.loads(text, parse_constant=refuse)


def test_a_run_with_an_undefined_metric_is_stored_as_json_and_the_next_training_works(
        demo_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)  # random features, 28 % YES: the model scores every image alike, none YES
    table = pd.DataFrame((rng.random((60, 5)) < 0.4).astype(int), columns=[f"f{n}" for n in range(5)])
    table["code"] = (rng.random(60) < 0.28).astype(int)
    path = tmp_path / "flat.csv"
    table.to_csv(path, index=False)
    assert main(["train", "--table", str(path), "--label", "code", "--split", "stratified", "--seed", "1",
                 "--save-in", str(demo_copy), "--json"]) == 0
    summary = _strict(capsys.readouterr().out)
    assert summary["precision"] is None  # type: ignore[index]  # no image predicted YES: undefined, as null
    assert any("same score" in warning for warning in summary["warnings"])  # type: ignore[index]
    run_id = str(summary["run_id"])  # type: ignore[index]
    _strict((demo_copy / "runs" / run_id / "record.json").read_text())
    assert np.isnan(read_run(open_workspace(demo_copy), run_id)["metrics"]["precision"])  # type: ignore[index]
    assert main(["train", str(demo_copy), "--preset", "quick", "--json"]) == 0  # failed: "malformed JSON"
    _strict(capsys.readouterr().out)


def test_the_pace_of_earlier_runs_skips_a_record_stored_with_nan(demo_root: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from kayfabe_core import capacity
    from kayfabe_core.capacity import local_pace

    demo_copy = copy_workspace(demo_root, tmp_path / "ws", images=False)  # its own: a record is damaged below
    monkeypatch.setattr(capacity, "MIN_WORK", 0)  # the demo's runs are small: count them anyway
    for _ in range(2):
        assert main(["train", str(demo_copy), "--preset", "quick", "--json"]) == 0
    assert local_pace(open_workspace(demo_copy))[1] == 2
    conn = sqlite3.connect(demo_copy / "kayfabe.sqlite")
    with conn:  # one record written before records were strict JSON
        conn.execute("UPDATE runs SET record = replace(record, '\"f1\":', '\"precision_old\": NaN, \"f1\":') "
                     "WHERE run_id = (SELECT MAX(run_id) FROM runs)")
    conn.close()
    assert local_pace(open_workspace(demo_copy))[1] == 1  # the NaN record is skipped, not read; the other still counts


def test_a_failed_table_run_leaves_no_workspace_it_made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "tiny.csv"
    table.write_text("f0,f1,code\n1,0,1\n0,1,0\n")  # read fine; too few rows to split
    for verb in ("train", "tune"):
        target = tmp_path / f"new-{verb}"
        assert main([verb, "--table", str(table), "--label", "code", "--save-in", str(target)]) == 1
        assert "The table has only 2 rows" in capsys.readouterr().err
        assert not target.exists()  # an empty workspace was left behind
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    (kept / "images").mkdir()  # a folder of the user's own, by the name a workspace uses
    (kept / "images" / "mine.jpg").write_bytes(b"jpg")
    assert main(["train", "--table", str(table), "--label", "code", "--save-in", str(kept)]) == 1
    assert sorted(path.name for path in kept.iterdir()) == ["images", "notes.txt"]  # the user's files stay
    assert (kept / "images" / "mine.jpg").read_bytes() == b"jpg"


def test_a_failure_after_the_run_was_saved_keeps_the_workspace_and_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Only a workspace with nothing stored in it is removed: a run saved before a later step failed stays."""
    import kayfabe_core.cli_train as cli_train

    table = tmp_path / "table.csv"
    table.write_text("f0,f1,code\n" + "\n".join(f"{n % 2},{n % 3},{n % 2 if n % 5 else 1 - n % 2}"
                                                for n in range(60)) + "\n")

    def broken_printing(*_args: object) -> str:
        raise KeyboardInterrupt  # after the run was saved: Ctrl-C while the summary is printed

    monkeypatch.setattr(cli_train, "format_summary", broken_printing)
    target = tmp_path / "new"
    assert main(["train", "--table", str(table), "--label", "code", "--save-in", str(target)]) != 0
    assert len(list_runs(open_workspace(target, create=False))) == 1


def test_a_workspace_path_that_cannot_be_looked_at_is_one_message(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("f0,code\n" + "\n".join(f"{n % 3},{n % 2}" for n in range(40)) + "\n")
    assert main(["train", "--table", str(table), "--label", "code", "--save-in", "~nosuchuser-kf/study"]) == 1
    err = capsys.readouterr().err
    assert "cannot be used" in err and "Traceback" not in err


def test_a_new_workspace_inside_another_is_refused(demo_root: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    workspace = copy_workspace(demo_root, tmp_path / "ws")
    export = tmp_path / "export.csv"
    export.write_text("postUrl\n")
    assert main(["ingest", str(workspace / "images"), str(export)]) == 1
    assert f"is inside the workspace {workspace.resolve()}" in capsys.readouterr().err
    assert not (workspace / "images" / "kayfabe.sqlite").exists()
