"""Train and Results pages on the demo: split → settings → Train → results that match the core."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from kayfabe_core.associations import read_resolved_codes
from kayfabe_core.evaluate import compute_metrics
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.runs import list_runs, read_predictions, read_run
from kayfabe_core.workspace import open_workspace
from tests.conftest import copy_workspace
from tests.ui.conftest import texts


@pytest.fixture(scope="module")
def demo_copy(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the demo workspace: training writes runs into it."""
    target = tmp_path_factory.mktemp("train_ui") / "demo"
    copy_workspace(demo_root, target)
    return target


def _train(open_app, root: Path) -> AppTest:  # type: ignore[no-untyped-def]
    at = open_app(root)
    at.switch_page("pages/4_train.py").run()
    assert not at.exception
    at.button(key="train_button").click().run()
    assert not at.exception, at.exception
    return at


def test_train_page_describes_the_data_and_split(demo_copy: Path, open_app) -> None:
    table = build_features(open_workspace(demo_copy), FeatureOptions())
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    assert not at.exception
    shown = texts(at)
    resolved = read_resolved_codes(open_workspace(demo_copy))
    assert table.n_images == len(resolved)  # every resolved code of a fetched image
    assert f"Training will use **{len(resolved):,} images** × **{table.n_features:,} features**" in shown
    assert "the team's decision where coders disagreed, else the majority" in shown
    assert "How to read: each bar is one side of the split" in shown
    assert at.selectbox(key="train_preset").value == "Original study (2021)"
    assert at.slider(key="knob_max_depth_1").value == 5
    assert at.slider(key="knob_eta_1").value == pytest.approx(0.2)
    assert not at.warning  # grouped by post: no leakage warning
    assert at.button(key="tune_button") and at.multiselect(key="tune_knobs")  # the tuner's tab
    assert "1 model × up to 100 rounds (100 rounds in all) on this computer: about 1 s at the pace of" in shown


def test_a_training_too_big_for_this_computer_suggests_sagemaker(demo_copy: Path, open_app,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from kayfabe_core import capacity

    monkeypatch.setattr(capacity, "LONG_S", 0)  # any training is "long"
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    assert not at.exception
    advice = [warning.value for warning in at.warning if "large for this computer" in warning.value]
    assert advice and "Amazon SageMaker trains it on AWS machines" in advice[0]


def test_click_train_lands_on_results_matching_the_saved_predictions(demo_copy: Path, open_app) -> None:
    before = len(list_runs(open_workspace(demo_copy)))
    at = _train(open_app, demo_copy)
    runs = list_runs(open_workspace(demo_copy))
    assert len(runs) == before + 1
    run_id = at.session_state["selected_run_id"]
    assert run_id == runs["run_id"].iloc[0]
    assert [title.value for title in at.title] == ["Results"]

    at.switch_page("pages/5_results.py").run()
    assert not at.exception
    predictions = read_predictions(open_workspace(demo_copy), run_id)
    expected = compute_metrics(predictions["observed"].to_numpy(), predictions["score"].to_numpy(), 0.5, n_boot=0)
    values = [metric.value for metric in at.metric]
    assert values == [f"{expected.accuracy:.3f}", f"{expected.precision:.3f}", f"{expected.recall:.3f}",
                      f"{expected.f1:.3f}", f"{expected.roc_auc:.3f}"]
    assert 0.72 <= expected.accuracy <= 0.88
    assert sum("How to read" in caption.value for caption in at.caption) >= 3
    assert "finds In kayfabe images with few false alarms" in texts(at)  # the category's words, not YES
    for section in ("Calibration", "Learning curve", "Importance", "SHAP"):
        at.segmented_control(key="results_section").set_value(section).run()
        assert not at.exception
        assert any("How to read" in caption.value for caption in at.caption[-3:]), section
    assert "red bars push towards In kayfabe, blue towards Not in kayfabe" in texts(at)
    assert at.radio(key="confusion_cell").options[0] == "False positives: coded Not in kayfabe, predicted In kayfabe"
    assert f"**False positives** — coded Not in kayfabe, predicted In kayfabe: {expected.fp:,} image" in texts(at)


def test_threshold_slider_moves_every_metric(demo_copy: Path, open_app) -> None:
    at = _train(open_app, demo_copy)
    run_id = at.session_state["selected_run_id"]
    at.switch_page("pages/5_results.py").run()
    at.slider(key=f"threshold_{run_id}").set_value(0.2).run()
    assert not at.exception
    predictions = read_predictions(open_workspace(demo_copy), run_id)
    low = compute_metrics(predictions["observed"].to_numpy(), predictions["score"].to_numpy(), 0.2, n_boot=0)
    assert at.metric[2].value == f"{low.recall:.3f}"
    assert at.metric[4].value == f"{low.roc_auc:.3f}"  # AUC does not depend on the threshold
    assert low.recall > compute_metrics(predictions["observed"], predictions["score"], 0.5, n_boot=0).recall

    at.radio(key="confusion_cell").set_value("fn").run()
    assert f"**False negatives** — coded In kayfabe, predicted Not in kayfabe: {low.fn:,} image" in texts(at)

    # predictions decide at the saved threshold until the moved one is chosen for them
    from kayfabe_core.predict import run_threshold

    assert "Predictions with this run still decide at 0.50." in texts(at)
    at.button(key="save_threshold").click().run()
    assert not at.exception
    assert run_threshold(open_workspace(demo_copy), run_id) == 0.2
    assert "(the Predict page, the predict command) decide at 0.20." in texts(at)
    assert not [button for button in at.button if button.key == "save_threshold"]


def test_the_settings_speak_the_categorys_words(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    weight = next(slider for slider in at.slider if slider.key and slider.key.startswith("knob_scale_pos_weight"))
    assert weight.label == "Weight of In kayfabe images (scale_pos_weight)"
    assert "number of Not in kayfabe images divided by the number of In kayfabe images" in weight.help


def test_a_split_that_cannot_work_says_why_and_hides_train(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    at.radio(key="split_method").set_value("time").run()
    at.number_input(key="split_folds").set_value(5).run()
    assert not at.exception
    assert "cannot be cut into folds" in at.error[0].value
    assert not any(button.key == "train_button" for button in at.button)
    assert "Training and tuning wait for settings that work" in at.info[-1].value  # not a page that just ends
    at.radio(key="split_method").set_value("grouped").run()
    at.number_input(key="split_folds").set_value(1).run()
    assert at.error[0].value.startswith("Cross-validation needs at least 2 folds; got 1.")
    at.number_input(key="split_folds").set_value(2).run()
    assert not at.error and any(button.key == "train_button" for button in at.button)


def test_stratified_split_warns_about_carousels(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    at.radio(key="split_method").set_value("stratified").run()
    assert not at.exception
    assert "posts have images on both sides of this split" in at.warning[0].value


def test_a_preset_sets_every_slider(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    at.selectbox(key="train_preset").set_value("Quick look").run()
    assert not at.exception
    assert at.slider(key="knob_max_depth_2").value == 3
    assert at.slider(key="knob_num_boost_round_2").value == 30
    assert "1 model × up to 30 rounds" in texts(at)
    assert "Changed from it" not in texts(at)
    at.slider(key="knob_num_boost_round_2").set_value(200).run()
    at.slider(key="knob_max_depth_2").set_value(4).run()
    assert "Changed from it below: rounds 200 and tree depth 4." in texts(at)  # the preset's words no longer all


def test_k_fold_runs_show_the_spread(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    at.number_input(key="split_folds").set_value(3).run()
    at.button(key="train_button").click().run()
    assert not at.exception
    at.switch_page("pages/5_results.py").run()
    run_id = at.session_state["selected_run_id"]
    record = read_run(open_workspace(demo_copy), run_id)
    said = (f"Over its 3 models, accuracy at this threshold varied with a standard deviation of "
            f"{record['accuracy_sd']:.3f}")
    assert said in texts(at)
    predictions = read_predictions(open_workspace(demo_copy), run_id)
    at.slider(key=f"threshold_{run_id}").set_value(0.3).run()  # the spread follows the threshold
    hits = (predictions["score"] >= 0.3) == (predictions["observed"] == 1)
    assert f"standard deviation of {hits.groupby(predictions['fold']).mean().std():.3f}" in texts(at)
    at.segmented_control(key="results_section").set_value("Folds").run()
    shown = at.dataframe[-1].value
    assert list(shown["accuracy"].round(6)) == list(hits.groupby(predictions["fold"]).mean().round(6))
    assert sorted(set(predictions["fold"])) == [1, 2, 3]
    assert len(predictions) == len(set(predictions["item"])) == len(np.unique(predictions["row"]))
    for section in ("Learning curve", "Importance", "SHAP"):  # drawn from the first model only: said so
        at.segmented_control(key="results_section").set_value(section).run()
        assert "It shows the first of the run's 3 models" in texts(at), section


def test_results_guard_on_a_workspace_without_runs(tmp_path: Path, open_app) -> None:
    at = open_app(tmp_path / "ws")
    at.switch_page("pages/5_results.py").run()
    assert not at.exception
    assert "There is no trained model in this workspace yet" in texts(at)
    assert not at.metric


def test_settings_are_as_left_after_visiting_results(demo_copy: Path, open_app) -> None:
    """A student changes settings, trains, looks at the results and comes back to change one more thing."""
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    at.slider(key="knob_eta_1").set_value(0.3).run()
    at.slider(key="split_test_size").set_value(0.2).run()
    at.toggle(key="feature_metadata").set_value(True).run()
    at.number_input(key="tune_trials").set_value(12).run()
    at.switch_page("pages/5_results.py").run()
    at.switch_page("pages/4_train.py").run()
    assert not at.exception
    assert at.slider(key="knob_eta_1").value == 0.3
    assert at.slider(key="split_test_size").value == 0.2
    assert at.slider(key="split_test_size").proto.format == "percent"  # shown as 20%, like the page's other shares
    assert at.slider(key="knob_eta_1").proto.format == "%.2f"
    assert at.toggle(key="feature_metadata").value is True
    assert at.number_input(key="tune_trials").value == 12


def test_test_share_is_off_with_cross_validation(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    assert not at.slider(key="split_test_size").disabled
    at.number_input(key="split_folds").set_value(5).run()
    assert at.slider(key="split_test_size").disabled
    assert "Not used with cross-validation" in at.slider(key="split_test_size").help


def test_results_name_a_split_by_time(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    at.radio(key="split_method").set_value("time").run()
    at.button(key="train_button").click().run()
    at.switch_page("pages/5_results.py").run()
    assert not at.exception
    assert "split by time (trained on older posts, tested on the newest), 30% test share" in texts(at)


def test_a_model_that_learned_nothing_is_called_out_on_results(demo_copy: Path, open_app) -> None:
    rows = "\n".join(f"{n},0,{n % 2}" for n in range(60))  # one feature, the same on every row: nothing to split on
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    at.radio(key="train_source").set_value("table").run()
    at.file_uploader(key="train_table_file").set_value(("flat.csv", f"row,f1,code\n{rows}\n".encode(), "text/csv"))
    at.run()
    at.radio(key="split_method").set_value("stratified").run()
    at.button(key="train_button").click().run()
    at.switch_page("pages/5_results.py").run()
    assert not at.exception
    assert "The model gives every test image the same score" in "\n".join(warning.value for warning in at.warning)
