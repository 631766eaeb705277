"""Runs page: the table, one run's actions, a comparison of two runs, repeat."""

from __future__ import annotations

from pathlib import Path

import pytest

from kayfabe_core.experiment import run_experiment
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.runs import list_runs, read_run
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.workspace import open_workspace
from tests.conftest import copy_workspace
from tests.ui.conftest import texts


@pytest.fixture(scope="module")
def two_runs(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    root = tmp_path_factory.mktemp("runs_ui") / "demo"
    copy_workspace(demo_root, root)
    workspace = open_workspace(root)
    table = build_features(workspace, FeatureOptions())
    first = run_experiment(workspace, table, SplitOptions(), TrainSettings.from_choices("original-2021"), "original")
    second = run_experiment(workspace, table, SplitOptions(), TrainSettings.from_choices("quick"), "quick")
    return root, first.run_id, second.run_id


def test_the_table_lists_every_run_with_its_interval(two_runs: tuple[Path, str, str], open_app) -> None:
    root, first, second = two_runs
    at = open_app(root)
    at.switch_page("pages/6_runs.py").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert set(shown["run_id"]) >= {first, second}
    record = read_run(open_workspace(root), first)
    low, high = record["metrics"]["intervals"]["accuracy"]
    row = shown[shown["run_id"] == first].iloc[0]
    assert row["interval"] == f"{low:.3f}–{high:.3f}" and row["max_depth"] == 5
    at.text_input(key="runs_filter").set_value("quick").run()
    assert list(at.dataframe[0].value["run_id"]) == [second]
    at.text_input(key="runs_filter").set_value("zzzz").run()
    assert not at.exception and "No run's name, note, split or id holds “zzzz”" in at.info[0].value
    assert not any("Choose one run" in info.value for info in at.info)  # nothing to choose from: not asked


def test_comparing_two_runs_shows_only_what_differs(two_runs: tuple[Path, str, str], open_app) -> None:
    root, first, second = two_runs
    at = open_app(root)
    at.switch_page("pages/6_runs.py").run()
    at.multiselect(key="runs_selected").set_value([first, second]).run()
    assert not at.exception
    assert "Comparing 2 runs" in texts(at)
    differs = at.dataframe[1].value
    depth, columns = "XGBoost: Tree depth (max_depth)", "XGBoost: Features per tree (colsample_bytree)"
    assert depth in differs.index and columns not in differs.index
    assert list(differs.loc[depth]) == ["5", "3"]
    side = at.dataframe[2].value
    accuracy = read_run(open_workspace(root), second)["metrics"]["accuracy"]
    assert side.loc["Accuracy", f"quick ·{second[-4:]}"].startswith(f"{accuracy:.3f} (")
    assert len(at.get("plotly_chart")) >= 3
    assert "separates In kayfabe from Not in kayfabe better" in texts(at)  # the category's own words


def test_rename_note_repeat_and_delete(two_runs: tuple[Path, str, str], open_app) -> None:
    root, first, second = two_runs
    workspace = open_workspace(root)
    at = open_app(root)
    at.switch_page("pages/6_runs.py").run()
    at.multiselect(key="runs_selected").set_value([second]).run()
    at.text_input(key=f"name_{second}").set_value("quick look")
    at.text_input(key=f"note_{second}").set_value("for the class")
    at.button(key=f"FormSubmitter:edit_{second}-Save name and note").click().run()
    assert not at.exception
    row = list_runs(workspace).set_index("run_id").loc[second]
    assert (row["name"], row["note"]) == ("quick look", "for the class")

    at.number_input(key="repeat_count").set_value(3).run()
    at.button(key="repeat_run").click().run()
    assert not at.exception
    repeated = list_runs(workspace).iloc[0]
    assert repeated["name"] == "quick look × 3 repeats" and repeated["split"].endswith("×3")
    assert any(f"Saved run “{repeated['name']}”" in message.value for message in at.success)
    assert repeated["run_id"] in set(at.dataframe[0].value["run_id"])  # the table drawn again, with the new run
    assert repeated["accuracy_sd"] > 0

    at.button(key="delete_run").click().run()
    assert not at.exception
    assert any("Deleted run quick look" in message.value for message in at.success)  # said, after the redraw
    assert second not in set(list_runs(workspace)["run_id"])
    assert not (workspace.runs_dir / second).exists()


def test_saving_a_note_keeps_the_name(two_runs: tuple[Path, str, str], open_app) -> None:
    root, first, _ = two_runs
    at = open_app(root)
    at.switch_page("pages/6_runs.py").run()
    at.multiselect(key="runs_selected").set_value([first]).run()
    assert at.text_input(key=f"name_{first}").value == "original"
    assert f"Run original ·{first[-4:]}" in [header.value for header in at.subheader]
    at.text_input(key=f"note_{first}").set_value("shown in class")
    at.button(key=f"FormSubmitter:edit_{first}-Save name and note").click().run()
    assert not at.exception
    row = list_runs(open_workspace(root)).set_index("run_id").loc[first]
    assert (row["name"], row["note"]) == ("original", "shown in class")


def test_one_run_offers_its_methods_paragraph_and_exports(two_runs: tuple[Path, str, str], open_app) -> None:
    root, first, _ = two_runs
    at = open_app(root)
    at.switch_page("pages/6_runs.py").run()
    at.multiselect(key="runs_selected").set_value([first]).run()
    assert not at.exception
    accuracy = read_run(open_workspace(root), first)["metrics"]["accuracy"]
    paragraph = at.code[0].value
    assert f"accuracy was {accuracy:.3f}" in paragraph and "max_depth 5" in paragraph
    assert {button.proto.label for button in at.get("download_button")} >= {
        "Report (HTML, works offline)", "Replication bundle (ZIP)"}


def test_one_run_shows_its_models_warnings_from_the_list_of_runs(demo_root: Path, tmp_path: Path, open_app,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import kayfabe_ui.runs_view

    root = copy_workspace(demo_root, tmp_path / "ws", images=False)
    workspace = open_workspace(root)
    note = "Tuned on these very folds: confirm the gain."
    run = run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(),
                         TrainSettings.from_choices("quick", {"num_boost_round": 5}), "noted", notes=(note,))
    at = open_app(root)
    at.switch_page("pages/6_runs.py").run()
    records_read: list[str] = []
    monkeypatch.setattr(kayfabe_ui.runs_view, "read_run",
                        lambda workspace, run_id: records_read.append(run_id) or read_run(workspace, run_id))
    at.multiselect(key="runs_selected").set_value([run.run_id]).run()
    assert not at.exception
    assert note in [warning.value for warning in at.warning]
    assert records_read == []  # the warnings come with the cached list of runs: no record parsed on each page run
