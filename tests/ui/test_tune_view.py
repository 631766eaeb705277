"""The tuning tab on the demo: choose ranges, tune, see the best against the start; a click stops cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException
from streamlit.testing.v1 import AppTest

from kayfabe_core.tune import TrialRecord, TuneReport, list_tunings
from kayfabe_core.workspace import open_workspace
from kayfabe_ui import tune_view
from tests.conftest import copy_workspace
from tests.ui.conftest import texts


def tuning_tab(root: str) -> None:
    """The tab as the Runs page draws it: the workspace's features, split grouped by post."""
    from kayfabe_core.features import FeatureOptions, build_features
    from kayfabe_core.split import SplitOptions
    from kayfabe_core.workspace import open_workspace
    from kayfabe_ui.tune_view import render_tuning

    workspace = open_workspace(root, create=False)
    render_tuning(workspace, build_features(workspace, FeatureOptions()), SplitOptions())


@pytest.fixture
def demo_copy(demo_root: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    copy_workspace(demo_root, target, images=False)
    return target


def test_tune_on_the_demo_shows_the_best_against_the_start(demo_copy: Path) -> None:
    at = AppTest.from_function(tuning_tab, args=(str(demo_copy),), default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.multiselect(key="tune_knobs").value == ["eta", "max_depth", "min_child_weight", "subsample",
                                                      "colsample_bytree", "gamma"]
    assert at.slider(key="tune_range_max_depth").value == (2, 10)
    assert at.number_input(key="tune_trials").value == 30 and at.number_input(key="tune_folds").value == 5
    assert "Latest tuning" not in texts(at)
    at.multiselect(key="tune_knobs").set_value(["eta", "max_depth"])
    at.selectbox(key="tune_preset").set_value("Quick look")
    at.number_input(key="tune_trials").set_value(4)
    at.number_input(key="tune_folds").set_value(3)
    at.run()
    at.button(key="tune_button").click().run()
    assert not at.exception, at.exception
    tunings = list_tunings(open_workspace(demo_copy, create=False))
    assert len(tunings) == 1 and tunings["trials"].iloc[0] == 4 and tunings["state"].iloc[0] == "finished"
    shown = texts(at)
    assert "Latest tuning" in shown and "How to read: each dot is one trial's mean accuracy" in shown
    assert f"saved as run **{tunings['run_id'].iloc[0]}**" in shown and "`--param eta=" in shown
    assert at.session_state["selected_run_id"] == tunings["run_id"].iloc[0]
    assert [metric.label for metric in at.metric][:2] == ["Start (trial 0)", f"Best (trial {tunings['best_trial'][0]})"]
    comparison = at.dataframe[0].value  # best against start comes first
    assert list(comparison["setting"]) == ["Learning rate (eta)", "Tree depth (max_depth)"]
    assert list(comparison["start"]) == [0.3, 3]  # the Quick look preset


def test_a_bad_range_is_explained_and_offers_no_button(demo_copy: Path) -> None:
    at = AppTest.from_function(tuning_tab, args=(str(demo_copy),), default_timeout=60).run()
    at.multiselect(key="tune_knobs").set_value([]).run()
    assert not at.exception
    assert "Choose at least one setting to tune." in texts(at)
    assert not [button for button in at.button if button.key == "tune_button"]


class InterruptedBar:
    """Stands in for st.progress when Streamlit has a rerun pending: every update raises."""

    def progress(self, value: float, text: str = "") -> None:
        raise RerunException(None)


def test_a_click_stops_tuning_and_the_rerun_goes_on_afterwards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tune_view.st, "progress", lambda *args, **kwargs: InterruptedBar())
    progress = tune_view.TuningProgress(10)
    start = TrialRecord(0, {"eta": 0.2}, 0.8, 0.01, (0.79, 0.81), 1.0)
    progress(TuneReport(1, 10, 0, 2, (start,)))  # the core's callback must not see the exception
    assert progress.stop.is_set()
    progress(TuneReport(1, 10, 1, 2, (start,)))
    with pytest.raises(RerunException):
        progress.finish()
