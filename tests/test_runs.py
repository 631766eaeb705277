"""The list of saved runs: one row per run, with what the Runs page shows without reading a record again."""

from __future__ import annotations

from pathlib import Path

from kayfabe_core.experiment import run_experiment
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.runs import list_runs
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.workspace import open_workspace
from tests.conftest import copy_workspace

NOTE = "A note every reader of this run must see."


def test_each_row_carries_its_models_warnings(demo_root: Path, tmp_path: Path) -> None:
    workspace = open_workspace(copy_workspace(demo_root, tmp_path / "ws", images=False))
    table = build_features(workspace, FeatureOptions())
    quick = TrainSettings.from_choices("quick", {"num_boost_round": 5})
    plain = run_experiment(workspace, table, SplitOptions(), quick)
    noted = run_experiment(workspace, table, SplitOptions(), quick, notes=(NOTE,))
    rows = list_runs(workspace).set_index("run_id")
    assert rows.loc[noted.run_id, "model_warnings"] == noted.model_warnings and NOTE in noted.model_warnings
    assert rows.loc[plain.run_id, "model_warnings"] == []
