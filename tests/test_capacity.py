"""The estimate of a training's time and memory on this computer, and when SageMaker is suggested."""

from __future__ import annotations

from pathlib import Path

import pytest

from kayfabe_core import capacity
from kayfabe_core.__main__ import main
from kayfabe_core.capacity import LocalEstimate, available_memory_mb, duration_words, estimate_local, megabytes
from kayfabe_core.experiment import run_experiment
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.workspace import open_workspace
from tests.conftest import copy_workspace


def test_without_runs_the_benchmark_pace_is_used(demo_root: Path, tmp_path: Path) -> None:
    workspace = open_workspace(copy_workspace(demo_root, tmp_path / "ws", images=False), create=False)
    table = build_features(workspace, FeatureOptions())
    one_split = estimate_local(table, SplitOptions(test_size=0.3), 100, workspace)
    assert one_split.runs_used == 0
    assert one_split.seconds == pytest.approx(table.matrix.nnz * 0.7 * 100 * capacity.SECONDS_PER_CELL_ROUND)
    assert one_split.memory_mb == pytest.approx(table.matrix.nnz * 0.7 * capacity.BYTES_PER_CELL / 1e6)
    folded = estimate_local(table, SplitOptions(folds=5, repeats=2), 100, workspace)
    assert folded.seconds == pytest.approx(one_split.seconds * 10 * 0.8 / 0.7)


def test_a_local_run_sets_the_pace_of_the_next_estimate(demo_root: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = open_workspace(copy_workspace(demo_root, tmp_path / "ws", images=False), create=False)
    table = build_features(workspace, FeatureOptions())
    settings = TrainSettings.from_choices("original-2021")
    result = run_experiment(workspace, table, SplitOptions(), settings)
    spent = sum(fold["seconds"] for fold in result.record["folds"])  # type: ignore[union-attr]
    assert result.record["data"]["n_cells"] == table.matrix.nnz  # type: ignore[index]
    small = estimate_local(table, SplitOptions(), settings.rounds, workspace)
    assert small.runs_used == 0  # the demo's run is too small to tell a pace: mostly fixed costs
    monkeypatch.setattr(capacity, "MIN_WORK", 0)  # as a run large enough would be
    again = estimate_local(table, SplitOptions(), settings.rounds, workspace)
    assert again.runs_used == 1
    assert again.seconds == pytest.approx(spent, rel=0.15)  # the same work at the pace it just had


def test_sagemaker_is_suggested_when_too_long_or_short_of_memory() -> None:
    small = LocalEstimate(seconds=2, memory_mb=90, available_mb=8000, runs_used=3)
    assert not small.too_big and small.advice() == ""
    assert small.sentence() == ("about 2 s at the pace of 3 earlier runs of this workspace; XGBoost's copy of the "
                                "data takes about 90 MB of memory")
    long = LocalEstimate(seconds=capacity.LONG_S + 1, memory_mb=90, available_mb=8000, runs_used=0)
    assert long.too_big and long.advice().startswith("This training is large for this computer: about 15 min at")
    assert "Amazon SageMaker trains it" in long.advice() and "“Drop labels seen on fewer images than”" in long.advice()
    assert "--backend sagemaker trains it" in long.advice(command_line=True) and "--min-images" in \
        long.advice(command_line=True)
    crowded = LocalEstimate(seconds=5, memory_mb=3000, available_mb=4000, runs_used=0)
    assert crowded.too_big and "this computer has 4.0 GB free" in crowded.advice()
    assert not LocalEstimate(seconds=5, memory_mb=3000, available_mb=None, runs_used=0).too_big  # unknown: silent


def test_words_for_durations_and_memory() -> None:
    assert [duration_words(s) for s in (0.2, 42, 600, 5400)] == ["1 s", "42 s", "10 min", "1.5 h"]
    assert [megabytes(m) for m in (0.3, 90.4, 2600, None)] == ["under 1 MB", "90 MB", "2.6 GB", "an unknown amount"]
    if Path("/proc/meminfo").exists():
        assert (available_memory_mb() or 0) > 0


def test_the_command_line_warns_before_a_training_too_big_for_this_computer(
        demo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = copy_workspace(demo_root, tmp_path / "ws", images=False)
    monkeypatch.setattr(capacity, "LONG_S", 0)  # any training is "long"
    assert main(["train", "--workspace", str(workspace), "--preset", "quick", "--json"]) == 0
    assert "Warning: This training is large for this computer" in capsys.readouterr().err


def test_a_big_run_behind_five_quick_looks_still_sets_the_pace(demo_root: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = open_workspace(copy_workspace(demo_root, tmp_path / "ws", images=False), create=False)
    table = build_features(workspace, FeatureOptions())
    big = run_experiment(workspace, table, SplitOptions(), TrainSettings.from_choices("original-2021"))  # 100 rounds
    for _ in range(5):
        run_experiment(workspace, table, SplitOptions(), TrainSettings.from_choices("quick"))  # 30 rounds each
    cells_per_round = table.matrix.nnz * 0.7
    monkeypatch.setattr(capacity, "MIN_WORK", cells_per_round * 60)  # between a quick look's work and the big one's
    rate, used = capacity.local_pace(workspace)
    assert used == 1  # only the big run, read past the five newer quick ones
    spent = sum(fold["seconds"] for fold in big.record["folds"])  # type: ignore[union-attr]
    assert rate == pytest.approx(spent / (cells_per_round * 100), rel=0.05)
