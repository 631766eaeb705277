"""Local tuning: ranges checked against the constraints table, a search that beats its start, every trial kept."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from kayfabe_core.__main__ import main
from kayfabe_core.constraints import BOOSTER_KNOBS, DEFAULT_PRESET, PRESETS
from kayfabe_core.errors import SettingError
from kayfabe_core.experiment import run_experiment
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.runs import list_runs, read_run
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainingStopped, TrainSettings
from kayfabe_core.tune import (
    DEFAULT_VARIED,
    SEARCH_RANGES,
    TuneOptions,
    TuneReport,
    TuneResult,
    list_tunings,
    parse_range,
    read_tuning,
    tune,
    tuning_figure,
)
from kayfabe_core.workspace import Workspace, open_workspace
from tests.conftest import ORIGINAL_TABLE, copy_workspace

ROOT = Path(__file__).resolve().parents[1]
FAST = {"num_boost_round": 20}  # fewer rounds than the preset's 100, for the start and every trial alike
ORIGINAL_GROUPS = "commentCount,likeCount,pubYear,pubMonth,pubDay"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kayfabe_core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)


@pytest.mark.parametrize(("knobs", "message"), [
    ({"max_depth": (0, 20)}, "The range searched for “Tree depth (max_depth)” (max_depth) must lie between 1 and 12; "
                             "got 0–20."),
    ({"max_depth": (2.5, 6)}, "(max_depth) must run between whole numbers; got 2.5–6."),
    ({"eta": (0.5, 0.1)}, "The range searched for “Learning rate (eta)” (eta) starts above where it ends: 0.5–0.1."),
    ({"subsample": (0.05, 1.0)}, "(subsample) must lie between 0.1 and 1; got 0.05–1."),
    ({"eta": ("fast", 1)}, "(eta) must be two numbers, the lowest and the highest; got ('fast', 1)."),
    ({"nope": (1, 2)}, "There is no setting called “nope” to tune."),
    ({}, "Choose at least one setting to tune."),
])
def test_ranges_are_checked_against_the_constraints_table(knobs: dict[str, tuple[object, object]],
                                                          message: str) -> None:
    with pytest.raises(SettingError) as caught:
        TuneOptions(knobs).checked()  # type: ignore[arg-type]
    assert message in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize(("changes", "message"), [
    ({"trials": 1}, "Tuning needs between 2 and 1,000 trials (the starting settings and at least one other); got 1."),
    ({"folds": 1}, "which needs 2 to 10 folds; got 1."),
    ({"folds": 11}, "which needs 2 to 10 folds; got 11."),
    ({"timeout_s": 0.0}, "The time limit must be more than 0 seconds; got 0."),
    ({"fixed": {"max_depth": 40}}, "must be between 1 and 12; got 40."),
    ({"start_preset": "nope"}, "There is no preset called “nope”."),
])
def test_other_options_are_checked(changes: dict[str, object], message: str) -> None:
    with pytest.raises(SettingError) as caught:
        TuneOptions(**changes).checked()  # type: ignore[arg-type]
    assert message in caught.value.message


def test_the_usual_ranges_fit_the_table_and_are_converted() -> None:
    assert set(SEARCH_RANGES) == {knob.key for knob in BOOSTER_KNOBS}
    checked = TuneOptions(dict(SEARCH_RANGES)).checked()
    assert checked.knobs["max_depth"] == (2, 10) and isinstance(checked.knobs["max_depth"][0], int)
    assert set(TuneOptions().checked().knobs) == set(DEFAULT_VARIED)
    assert TuneOptions({"max_depth": (3.0, 3.0)}).checked().knobs == {"max_depth": (3, 3)}


def test_ranges_from_the_command_line() -> None:
    assert parse_range("eta") == ("eta", SEARCH_RANGES["eta"])
    assert parse_range(" max_depth = 2:8") == ("max_depth", (2.0, 8.0))
    for text, message in (("eta=0.1", "must look like KEY=LOW:HIGH"), ("eta=a:b", "must look like KEY=LOW:HIGH"),
                          ("=1:2", "must look like KEY=LOW:HIGH"), ("nope", "There is no setting called “nope”")):
        with pytest.raises(SettingError, match=message):
            parse_range(text)


@pytest.fixture(scope="module")
def demo(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, FeatureTable]:
    target = tmp_path_factory.mktemp("tune") / "ws"
    copy_workspace(demo_root, target, images=False)
    workspace = open_workspace(target, create=False)
    return workspace, build_features(workspace, FeatureOptions())


@pytest.fixture(scope="module")
def tuned(demo: tuple[Workspace, FeatureTable]) -> tuple[TuneResult, list[TuneReport]]:
    workspace, table = demo
    reports: list[TuneReport] = []
    result = tune(workspace, table, SplitOptions(), TuneOptions(trials=12, folds=3, fixed=FAST),
                  on_trial=reports.append)
    return result, reports


def test_tuning_on_the_demo_improves_on_its_start(tuned: tuple[TuneResult, list[TuneReport]]) -> None:
    result, _ = tuned
    print(f"demo, 3 folds grouped by post, 12 trials of 20 rounds: start {result.baseline_score:.4f} "
          f"(sd {result.baseline_sd:.4f}), best {result.best_score:.4f} (sd {result.best_score_sd:.4f}, "
          f"trial {result.best_trial}), {result.seconds:.1f} s")
    trials = result.trials
    assert list(trials["number"]) == list(range(12)) and set(trials["state"]) == {"complete"}
    start = TrainSettings.from_choices(DEFAULT_PRESET, FAST).values
    assert trials["params"].iloc[0] == {key: start[key] for key in DEFAULT_VARIED}
    assert result.baseline_settings == dict(start)
    assert result.baseline_score == trials["accuracy"].iloc[0]
    assert result.best_score == trials["accuracy"].max() == trials["best_so_far"].iloc[-1]
    # the search found settings better than the start, not the start again
    assert result.best_score > result.baseline_score and result.best_trial > 0
    assert result.best_settings != result.baseline_settings
    assert not result.stopped and result.message == "" and result.grouped_by == "post"
    for key in DEFAULT_VARIED:
        low, high = SEARCH_RANGES[key]
        assert all(low <= params[key] <= high for params in trials["params"])
    assert trials["seconds"].iloc[1:].gt(0).all()
    assert 0 < result.best_score_sd < 0.1


def test_the_start_is_measured_on_the_same_folds_as_a_run(demo: tuple[Workspace, FeatureTable],
                                                          tuned: tuple[TuneResult, list[TuneReport]]) -> None:
    workspace, table = demo
    result, _ = tuned
    again = run_experiment(workspace, table, SplitOptions(folds=3), TrainSettings.from_choices(None, FAST), "start")
    assert again.summary["accuracy"] == pytest.approx(result.baseline_score, abs=1e-12)
    assert again.summary["accuracy_sd"] == pytest.approx(result.baseline_sd, abs=1e-12)


def test_the_best_becomes_a_run_and_every_trial_is_kept(demo: tuple[Workspace, FeatureTable],
                                                        tuned: tuple[TuneResult, list[TuneReport]]) -> None:
    workspace, _ = demo
    result, _ = tuned
    assert result.run_id is not None
    record = read_run(workspace, result.run_id)
    assert record["name"] == "tuned (best of 12 trials)"
    assert record["settings"] == result.best_settings
    assert record["split"]["options"]["folds"] == 3 and record["split"]["grouped_by"] == "post"
    assert any("best of 12 trials scored on these same folds" in warning  # said wherever the run's figures are
               for warning in record["model_warnings"])
    assert "notes" not in record
    assert np.mean([fold["accuracy"] for fold in record["folds"]]) == pytest.approx(result.best_score, abs=1e-12)
    # best_params are enough to train the best again with the default preset
    assert set(DEFAULT_VARIED) | {"num_boost_round"} == set(result.best_params)
    assert TrainSettings.from_choices(None, result.best_params).values == result.best_settings
    stored = list_tunings(workspace)
    row = stored[stored["job_id"] == result.job_id].iloc[0]
    assert (row["state"], row["trials"], row["run_id"], row["best_trial"]) == ("finished", 12, result.run_id,
                                                                               result.best_trial)
    detail, trials = read_tuning(workspace, result.job_id)
    assert len(detail["trials"]) == 12 and len(trials) == 12
    assert list(trials["accuracy"]) == list(result.trials["accuracy"])
    assert list(trials["params"]) == list(result.trials["params"])
    assert detail["options"]["trials"] == 12 and detail["split"]["folds"] == 3 and detail["best_params"]
    assert detail["start"] == result.baseline_settings
    assert all(len(item["fold_accuracy"]) == 3 for item in detail["trials"])


def test_progress_is_reported_per_fold_and_per_trial(tuned: tuple[TuneResult, list[TuneReport]]) -> None:
    result, reports = tuned
    ends = [report for report in reports if report.fold == report.folds]
    assert [len(report.finished) for report in ends] == list(range(1, 13))
    assert len(reports) - len(ends) == 12 * 3
    assert reports[0].trial == 0 and reports[0].fold == 0 and reports[0].done == 0
    assert ends[-1].done == 1.0 and ends[-1].best is not None
    assert ends[-1].best.accuracy == result.best_score
    dones = [report.done for report in reports]
    assert dones == sorted(dones)


def test_the_plot_shows_trials_best_so_far_and_start(tuned: tuple[TuneResult, list[TuneReport]]) -> None:
    result, _ = tuned
    figure = tuning_figure(result.trials, result.baseline_score, 12)
    dots, line, start = figure.data
    assert list(dots.y) == list(result.trials["accuracy"]) and dots.mode == "markers"
    assert list(line.y) == list(result.trials["best_so_far"]) and line.mode == "lines"
    assert start.line.dash == "dash" and list(start.y) == [result.baseline_score] * 2 and list(start.x) == [0, 11]
    assert start.name.startswith("start (trial 0)")


@pytest.mark.parametrize("during_a_trial", [True, False])
def test_stopping_keeps_the_trials_done_and_saves_no_run(demo: tuple[Workspace, FeatureTable],
                                                         during_a_trial: bool) -> None:
    workspace, table = demo
    stop = threading.Event()
    runs_before = len(list_runs(workspace))

    def stop_after_three(report: TuneReport) -> None:
        if len(report.finished) == 3 and report.fold == (1 if during_a_trial else report.folds):
            stop.set()

    result = tune(workspace, table, SplitOptions(), TuneOptions(trials=12, folds=3, fixed=FAST),
                  on_trial=stop_after_three, stop=stop)
    assert result.stopped and result.run_id is None
    expected = ["complete"] * 3 + (["stopped"] if during_a_trial else [])
    assert list(result.trials["state"]) == expected
    assert "stopped after 3 of 12 trials" in result.message and "no run was saved" in result.message
    assert len(list_runs(workspace)) == runs_before
    detail, trials = read_tuning(workspace, result.job_id)
    assert detail["state"] == "stopped" and len(trials) == len(expected) and detail["run_id"] is None
    assert list_tunings(workspace).set_index("job_id").loc[result.job_id, "trials"] == 3


def test_stopped_before_the_start_is_measured_saves_nothing(demo: tuple[Workspace, FeatureTable]) -> None:
    workspace, table = demo
    stop = threading.Event()
    stop.set()
    before = len(list_tunings(workspace))
    with pytest.raises(TrainingStopped, match="before the starting settings were measured"):
        tune(workspace, table, SplitOptions(), TuneOptions(trials=5, folds=3, fixed=FAST), stop=stop)
    assert len(list_tunings(workspace)) == before


def test_a_time_limit_ends_the_search_and_keeps_the_best(demo: tuple[Workspace, FeatureTable]) -> None:
    workspace, table = demo
    result = tune(workspace, table, SplitOptions(), TuneOptions(trials=50, folds=3, timeout_s=0.01, fixed=FAST))
    assert len(result.trials) == 1 and result.best_trial == 0 and result.best_score == result.baseline_score
    assert "time limit (0.01 s) ended the search after 1 of 50 trials" in result.message
    assert not result.stopped and result.run_id is not None


def test_a_start_outside_the_ranges_and_repeated_settings(demo: tuple[Workspace, FeatureTable]) -> None:
    workspace, table = demo
    result = tune(workspace, table, SplitOptions(), TuneOptions({"max_depth": (2, 3)}, trials=6, folds=3, fixed=FAST))
    trials = result.trials
    assert trials["params"].iloc[0] == {"max_depth": 5}  # the preset's depth, outside 2–3, is still trial 0
    assert {params["max_depth"] for params in trials["params"].iloc[1:]} <= {2, 3}
    repeats = trials[trials["same_as"].notna()]
    assert len(repeats) >= 6 - 3  # only two new settings exist: the others reuse an earlier trial's scores
    for _, row in repeats.iterrows():
        earlier = trials.iloc[int(row["same_as"])]
        assert row["params"] == earlier["params"] and row["accuracy"] == earlier["accuracy"]
        assert row["seconds"] == 0.0


def test_a_split_by_time_cannot_be_tuned(demo: tuple[Workspace, FeatureTable]) -> None:
    workspace, table = demo
    with pytest.raises(SettingError, match="A split by time tests once on the newest posts"):
        tune(workspace, table, SplitOptions(method="time"), TuneOptions(trials=2, folds=3, fixed=FAST))


def test_the_cli_prints_the_best_params_ready_to_pass_back(demo: tuple[Workspace, FeatureTable],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    workspace, _ = demo
    result = run_cli("tune", "--workspace", str(workspace.root), "--trials", "4", "--folds", "3", "--rounds", "20",
                     "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    for key in ("best_params", "best_score", "best_score_sd", "baseline_score", "baseline_sd", "trials", "run_id",
                "seconds", "job_id", "best_trial", "stopped", "warnings"):
        assert key in printed, key
    assert printed["trials"] == 4 and printed["best_score"] >= printed["baseline_score"]
    assert "Trial" not in result.stderr  # no progress lines with --json
    # pass best_params back to train: the same folds give the same score
    params = [item for key, value in printed["best_params"].items() for item in ("--param", f"{key}={value}")]
    assert main(["train", "--workspace", str(workspace.root), "--folds", "3", *params, "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["accuracy"] == pytest.approx(printed["best_score"], abs=1e-12)


def test_the_summary_joins_the_saved_runs_warnings_as_train_does(demo: tuple[Workspace, FeatureTable],
                                                                   tuned: tuple[TuneResult, list[TuneReport]]) -> None:
    workspace, _ = demo
    result, _ = tuned
    assert result.best_run is not None and result.best_run.run_id == result.run_id
    saved = read_run(workspace, str(result.run_id))["model_warnings"]
    summary = result.summary_with(["A warning of the split."])
    assert summary["warnings"] == ["A warning of the split.", *saved]
    assert any("these figures flatter them" in warning for warning in summary["warnings"])  # type: ignore[attr-defined]
    assert {key: value for key, value in summary.items() if key != "warnings"} == result.summary()


def test_the_cli_prints_the_saved_runs_warnings(demo: tuple[Workspace, FeatureTable],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    root = str(demo[0].root)
    assert main(["tune", "--workspace", root, "--trials", "2", "--folds", "3", "--rounds", "10", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["warnings"] == read_run(demo[0], printed["run_id"])["model_warnings"]  # no split warning here
    assert any("these figures flatter them" in warning for warning in printed["warnings"])
    assert main(["tune", "--workspace", root, "--trials", "2", "--folds", "3", "--rounds", "10"]) == 0
    assert "Warning: A tuner chose these settings as the best of 2 trials" in capsys.readouterr().out


def test_the_cli_in_text_and_its_refusals(demo: tuple[Workspace, FeatureTable],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = str(demo[0].root)
    assert main(["tune", "--workspace", root, "--trials", "3", "--folds", "3", "--rounds", "10",
                 "--vary", "max_depth=2:4", "eta"]) == 0
    out, err = capsys.readouterr()
    assert "Tuned 3 trials" in out and "start (trial 0)" in out and "Saved the best as run" in out
    assert "Use: --param num_boost_round=10 --param eta=" in out and "--param max_depth=" in out
    assert "Trial 0 (1/3): accuracy" in err and "(the start)" in err
    assert main(["tune", "--workspace", root, "--vary", "max_depth=0:20"]) == 1
    assert "must lie between 1 and 12; got 0–20" in capsys.readouterr().err
    assert main(["tune", "--workspace", root, "--vary", "eta=0.1"]) == 1
    assert "must look like KEY=LOW:HIGH" in capsys.readouterr().err
    assert main(["tune", "--workspace", root, "--trials", "1"]) == 1
    assert "What to do:" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not ORIGINAL_TABLE.exists(), reason="the original study's table is not in shared/datasets")
def test_tuning_the_original_study_beats_its_preset(tmp_path: Path) -> None:
    source = ["--table", str(ORIGINAL_TABLE), "--label", "kayfabe", "--drop", "source_row", "postId",
              "--group-by", ORIGINAL_GROUPS, "--folds", "5", "--save-in", str(tmp_path / "ws"), "--json"]
    tuned = run_cli("tune", "--trials", "30", *source)
    assert tuned.returncode == 0, tuned.stderr
    printed = json.loads(tuned.stdout)
    print(f"original table, 5 folds grouped by post: original preset {printed['baseline_score']:.4f} "
          f"(sd {printed['baseline_sd']:.4f}), best of {printed['trials']} trials {printed['best_score']:.4f} "
          f"(sd {printed['best_score_sd']:.4f}, trial {printed['best_trial']}), {printed['seconds']:.0f} s; "
          f"best_params {printed['best_params']}")
    assert printed["trials"] == 30 and printed["grouped_by"] == ORIGINAL_GROUPS.replace(",", ", ")
    assert printed["best_score"] > printed["baseline_score"]
    # the start is the original preset under the same cross-validation as `train`
    trained = run_cli("train", "--preset", "original-2021", *source)
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["accuracy"] == pytest.approx(printed["baseline_score"], abs=1e-12)
    assert PRESETS[DEFAULT_PRESET]["max_depth"] == 5
