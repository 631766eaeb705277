"""The experiment loop on the demo workspace: a saved run that can be trusted, reloaded and stopped."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from kayfabe_core.errors import WorkspaceError
from kayfabe_core.experiment import ExperimentResult, run_experiment
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.runs import (
    MODEL_FILE,
    list_runs,
    load_booster,
    read_predictions,
    read_run,
    read_test_features,
    run_folder,
)
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import RoundReport, TrainingStopped, TrainSettings
from kayfabe_core.workspace import Workspace, open_workspace
from tests.conftest import copy_workspace

SUMMARY_KEYS = {"run_id", "accuracy", "accuracy_ci", "precision", "recall", "f1", "roc_auc", "precision_ci",
                "recall_ci", "f1_ci", "roc_auc_ci", "confusion", "n_train", "n_test", "seconds", "warnings"}


def copy_demo(demo_root: Path, target: Path) -> Workspace:
    """A writable copy of the demo workspace (training needs the database, not the pictures)."""
    copy_workspace(demo_root, target, images=False)
    return open_workspace(target, create=False)


@pytest.fixture(scope="module")
def demo(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return copy_demo(demo_root, tmp_path_factory.mktemp("experiment") / "ws")


@pytest.fixture(scope="module")
def table(demo: Workspace) -> FeatureTable:
    return build_features(demo, FeatureOptions())


@pytest.fixture(scope="module")
def original(demo: Workspace, table: FeatureTable) -> ExperimentResult:
    return run_experiment(demo, table, SplitOptions(), TrainSettings.from_choices("original-2021"), name="first")


def runs_in_database(workspace: Workspace) -> list[str]:
    with sqlite3.connect(workspace.db_path) as conn:
        return [row[0] for row in conn.execute("SELECT run_id FROM runs ORDER BY run_id")]


def test_the_run_is_saved(demo: Workspace, original: ExperimentResult) -> None:
    folder = demo.runs_dir / original.run_id
    for name in (MODEL_FILE, "record.json", "predictions.csv", "test_features.npz", "feature_names.json"):
        assert (folder / name).is_file(), name
    assert not (folder / "models").exists()  # one split: one model
    assert run_folder(demo, original.run_id) == folder
    assert original.run_id in runs_in_database(demo)
    assert not list(demo.runs_dir.glob(".*.partial"))
    stored = read_run(demo, original.run_id)
    assert stored == json.loads((folder / "record.json").read_text()) | {"note": ""}  # + the editable note
    assert stored["run_id"] == original.run_id and stored["name"] == "first" and stored["backend"] == "local"
    listed = list_runs(demo).set_index("run_id").loc[original.run_id]
    assert listed["accuracy"] == pytest.approx(original.summary["accuracy"])
    assert listed["name"] == "first"


def test_the_record_describes_data_split_and_settings(table: FeatureTable, original: ExperimentResult) -> None:
    record = original.record
    assert record["data"]["n_images"] == table.n_images
    assert record["data"]["data_hash"] == table.data_hash()
    assert record["data"]["origin"]["kind"] == "workspace"
    assert record["split"]["grouped_by"] == "post" and record["split"]["folds"] == 1
    assert record["settings"]["max_depth"] == 5 and record["settings"]["eta"] == pytest.approx(0.2)
    assert record["n_train"] + record["n_test"] == table.n_images
    assert record["curve"]["check_name"] == "test" and len(record["curve"]["train"]) == 100
    assert record["curve"]["best_round"] == 100
    assert record["accuracy_sd"] is None
    assert {"python", "xgboost", "numpy", "pandas", "scipy", "scikit-learn"} <= set(record["versions"])
    assert {"features_s", "split_s", "train_s", "evaluate_s", "save_s"} <= set(record["timings"])


def test_the_summary_and_a_sane_accuracy(original: ExperimentResult) -> None:
    summary = original.summary
    assert set(summary) == SUMMARY_KEYS
    # the demo's codes are built so that an honest (grouped) split scores about 0.80
    assert 0.72 <= summary["accuracy"] <= 0.88
    low, high = summary["accuracy_ci"]
    assert low < summary["accuracy"] < high and high - low < 0.15
    confusion = summary["confusion"]
    assert sum(confusion.values()) == summary["n_test"]
    assert summary["accuracy"] == pytest.approx((confusion["tp"] + confusion["tn"]) / summary["n_test"])


def test_metrics_equal_sklearn_on_the_saved_predictions(demo: Workspace, table: FeatureTable,
                                                        original: ExperimentResult) -> None:
    predictions = read_predictions(demo, original.run_id)
    assert list(predictions.columns) == ["repeat", "fold", "row", "item", "post", "observed", "score"]
    assert len(predictions) == original.summary["n_test"]
    rows = predictions["row"].to_numpy()
    assert np.array_equal(predictions["observed"], table.observed[rows])
    assert list(predictions["item"]) == list(table.context["item"].to_numpy()[rows])
    # grouped: no post on both sides
    test_posts = set(predictions["post"])
    train_rows = np.setdiff1d(np.arange(table.n_images), rows)
    assert not test_posts & set(table.context["post"].to_numpy()[train_rows])
    observed, scores = predictions["observed"].to_numpy(), predictions["score"].to_numpy()
    predicted = scores >= 0.5
    metrics = original.record["metrics"]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(observed, predicted), abs=1e-12)
    assert metrics["precision"] == pytest.approx(precision_score(observed, predicted), abs=1e-12)
    assert metrics["recall"] == pytest.approx(recall_score(observed, predicted), abs=1e-12)
    assert metrics["f1"] == pytest.approx(f1_score(observed, predicted), abs=1e-12)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(observed, scores), abs=1e-12)


def test_the_saved_model_reproduces_the_saved_scores(demo: Workspace, table: FeatureTable,
                                                    original: ExperimentResult) -> None:
    booster = load_booster(demo, original.run_id)
    matrix, names = read_test_features(demo, original.run_id)
    predictions = read_predictions(demo, original.run_id)
    first = predictions[(predictions["repeat"] == 1) & (predictions["fold"] == 1)]
    assert matrix.shape == (len(first), len(names))
    assert names == table.names
    assert (matrix != table.matrix[first["row"].to_numpy()]).nnz == 0
    rounds = original.record["curve"]["best_round"]
    scores = booster.predict(xgb.DMatrix(matrix), iteration_range=(0, rounds))
    assert scores == pytest.approx(first["score"].to_numpy(), abs=1e-6)


def test_the_same_seed_trains_the_same_model(demo: Workspace, table: FeatureTable, original: ExperimentResult) -> None:
    again = run_experiment(demo, table, SplitOptions(), TrainSettings.from_choices("original-2021"))
    assert again.run_id != original.run_id
    first, second = read_predictions(demo, original.run_id), read_predictions(demo, again.run_id)
    assert first[["row", "observed"]].equals(second[["row", "observed"]])
    assert np.allclose(first["score"], second["score"])
    assert again.summary["accuracy"] == original.summary["accuracy"]


def test_five_folds(demo: Workspace, table: FeatureTable) -> None:
    result = run_experiment(demo, table, SplitOptions(folds=5), TrainSettings.from_choices("original-2021"))
    summary, record = result.summary, result.record
    assert set(summary) == SUMMARY_KEYS | {"accuracy_sd", "folds", "accuracy_pooled"}
    assert summary["folds"] == 5 and len(record["folds"]) == 5
    fold_accuracy = [fold["accuracy"] for fold in record["folds"]]
    assert summary["accuracy"] == pytest.approx(np.mean(fold_accuracy))
    assert summary["accuracy_sd"] == pytest.approx(np.std(fold_accuracy, ddof=1))
    assert 0 < summary["accuracy_sd"] < 0.1
    assert 0.72 <= summary["accuracy"] <= 0.88
    models = sorted((demo.runs_dir / result.run_id / "models").glob("fold-*.ubj"))
    assert [path.name for path in models] == [f"fold-0{n}.ubj" for n in range(1, 6)]
    predictions = read_predictions(demo, result.run_id)
    assert sorted(predictions["row"]) == list(range(table.n_images))  # every image tested once
    first_fold = predictions[predictions["fold"] == 1]
    assert record["n_test"] == len(first_fold) == record["folds"][0]["n_test"]
    matrix, _ = read_test_features(demo, result.run_id)
    assert matrix.shape[0] == len(first_fold)
    fold_two = xgb.Booster(model_file=str(models[1]))
    second = predictions[predictions["fold"] == 2]
    scores = fold_two.predict(xgb.DMatrix(table.matrix[second["row"].to_numpy()]))
    assert scores == pytest.approx(second["score"].to_numpy(), abs=1e-6)


def test_round_reports_and_early_stopping(demo: Workspace, table: FeatureTable) -> None:
    reports: list[RoundReport] = []
    settings = TrainSettings.from_choices("quick", {"num_boost_round": 300, "early_stopping_rounds": 5,
                                                    "eta": 0.5})
    result = run_experiment(demo, table, SplitOptions(), settings, on_round=reports.append)
    curve = result.record["curve"]
    assert curve["check_name"] == "validation"
    assert 1 <= curve["best_round"] < len(curve["train"]) < 300  # stopped early
    assert [report.round for report in reports] == list(range(1, len(curve["train"]) + 1))
    assert all(report.rounds == 300 and report.check_name == "validation" for report in reports)
    assert reports[-1].train_loss == pytest.approx(curve["train"][-1])
    booster = load_booster(demo, result.run_id)
    matrix, _ = read_test_features(demo, result.run_id)
    saved = read_predictions(demo, result.run_id)["score"].to_numpy()
    assert booster.predict(xgb.DMatrix(matrix), iteration_range=(0, curve["best_round"])) == pytest.approx(
        saved, abs=1e-6)


def test_stopping_saves_nothing(demo_root: Path, tmp_path: Path) -> None:
    workspace = copy_demo(demo_root, tmp_path / "ws")
    table = build_features(workspace, FeatureOptions())
    stop = threading.Event()
    seen: list[int] = []

    def on_round(report: RoundReport) -> None:
        seen.append(report.round)
        if report.round == 3:
            stop.set()

    with pytest.raises(TrainingStopped, match="Training was stopped before it finished; nothing was saved"):
        run_experiment(workspace, table, SplitOptions(folds=3), TrainSettings.from_choices("original-2021"),
                       on_round=on_round, stop=stop)
    assert seen == [1, 2, 3]
    assert list(workspace.runs_dir.iterdir()) == []  # no run folder and no .partial folder
    assert runs_in_database(workspace) == []
    assert list_runs(workspace).empty


def test_unknown_runs(demo: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="There is no run called run-nope in this workspace"):
        read_run(demo, "run-nope")
    with pytest.raises(WorkspaceError, match="The files of run run-nope are missing"):
        load_booster(demo, "run-nope")


def test_results_page_metrics_are_the_records_at_its_threshold(demo: Workspace, original: ExperimentResult) -> None:
    """One run, one interval: the Results page's numbers at 0.5 are the record's (the Runs page shows those)."""
    from kayfabe_core.results import run_metrics

    shown = run_metrics(demo, original.run_id, 0.5).to_dict()
    stored = original.record["metrics"]
    assert shown["intervals"] == {name: tuple(pair) for name, pair in stored["intervals"].items()}  # type: ignore[index]
    assert shown["accuracy"] == stored["accuracy"]  # type: ignore[index]
    # at another threshold the AUC's interval is the record's, as drawing it again from the saved predictions gives
    from kayfabe_core.evaluate import metrics_of_predictions
    from kayfabe_core.runs import read_predictions

    moved = run_metrics(demo, original.run_id, 0.3)
    seed = int(original.record["split"]["options"]["seed"])  # type: ignore[index]
    drawn = metrics_of_predictions(read_predictions(demo, original.run_id), 0.3, seed)
    assert moved.intervals == drawn.intervals


def test_a_model_that_learned_nothing_is_called_out(demo: Workspace, table: FeatureTable) -> None:
    import scipy.sparse as sp

    blank = FeatureTable(matrix=sp.csr_matrix(table.matrix.shape, dtype=np.float32), names=table.names,
                         observed=table.observed, context=table.context, origin=table.origin)  # nothing to split on
    result = run_experiment(demo, blank, SplitOptions(), TrainSettings.from_choices("original-2021",
                                                                                    {"num_boost_round": 5}))
    (warning,) = result.record["model_warnings"]
    assert warning.startswith("The model gives every test image the same score")
    assert "min_child_weight (now 6) and gamma (now 4)" in warning
    assert result.summary["warnings"] == [warning]


def test_a_model_that_learned_something_has_no_warning(original: ExperimentResult) -> None:
    assert original.record["model_warnings"] == [] and original.summary["warnings"] == []


def test_training_waits_for_the_feature_table_still_being_written_behind(
        demo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kayfabe_core import experiment, feature_cache

    workspace = copy_demo(demo_root, tmp_path / "ws")
    written = threading.Event()
    write_entry = feature_cache._write_entry

    def slow_write(folder: Path, table: FeatureTable) -> None:
        time.sleep(0.5)  # a large table, or a slow disk
        write_entry(folder, table)
        written.set()

    seen_written: list[bool] = []
    train_fold = experiment.train_fold

    def watched_train_fold(*args: object, **kwargs: object) -> object:
        seen_written.append(written.is_set())
        return train_fold(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(feature_cache, "_write_entry", slow_write)
    monkeypatch.setattr(experiment, "train_fold", watched_train_fold)
    table, cached = feature_cache.load_features(workspace, FeatureOptions(), write_behind=True)
    assert not cached and not written.is_set()  # the Train page has the table; its entry is still being written
    run_experiment(workspace, table, SplitOptions(), TrainSettings.from_choices("original-2021"))
    assert seen_written == [True]
    assert feature_cache.load_features(workspace, FeatureOptions())[1]  # and the entry is there
