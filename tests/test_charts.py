"""The posts-per-month figure."""

import pandas as pd

from kayfabe_core.charts import posts_per_month_figure


def test_one_bar_trace_per_post_type_with_the_counts() -> None:
    by_month = pd.DataFrame({"month": ["2020-01", "2020-01", "2020-02"],
                             "media_type": ["Photo", "Video", "Photo"], "posts": [4, 1, 2]})
    figure = posts_per_month_figure(by_month)
    traces = {trace.name: list(trace.y) for trace in figure.data}
    assert traces == {"Photo": [4, 2], "Video": [1]}
    assert figure.layout.yaxis.title.text == "Posts"


def test_the_runs_parallel_plot_names_settings_in_words_and_rounds_the_score() -> None:
    from kayfabe_core.compare import parallel_figure

    runs = pd.DataFrame({"num_boost_round": [100, 300, 100], "eta": [0.2, 0.05, 0.2], "max_depth": [5, 5, 3],
                         "min_child_weight": [6, 6, 6], "gamma": [4, 4, 4], "subsample": [0.8, 0.8, 0.8],
                         "accuracy": [0.8141594, 0.7954939, 0.801]})
    figure = parallel_figure(runs, "accuracy")
    dimensions = figure.data[0].dimensions
    assert [d.label for d in dimensions] == ["Rounds", "Learning<br>rate", "Tree<br>depth", "Accuracy"]  # fits at 1024
    assert dimensions[-1].tickformat == ".3f"
    assert list(dimensions[0].tickvals) == [100, 300] and list(dimensions[1].ticktext) == ["0.05", "0.2"]
    images = parallel_figure(runs.assign(images=[1922, 1923, 1923]), "accuracy").data[0].dimensions[0]
    assert list(images.ticktext) == ["1922", "1923"]  # the runs' own values: no 1922.2 images
    many = pd.concat([runs] * 4, ignore_index=True).assign(eta=[0.01 * (n + 1) for n in range(12)])
    assert parallel_figure(many, "accuracy").data[0].dimensions[1].tickvals is None  # twelve values: plotly's ticks
    assert figure.data[0].rangefont.color == "rgba(0,0,0,0)"  # the end values once, as ticks, not twice
    close = parallel_figure(runs.assign(accuracy=[0.8041, 0.8032, 0.8035]), "accuracy")
    assert close.data[0].dimensions[-1].tickformat == ".4f"  # runs within 0.01: ticks that still differ


def test_the_runs_matrices_and_curves_speak_the_categorys_words(demo_root, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kayfabe_core.compare import confusion_grid_figure, roc_overlay_figure
    from kayfabe_core.experiment import run_experiment
    from kayfabe_core.features import FeatureOptions, build_features
    from kayfabe_core.runs import read_predictions
    from kayfabe_core.split import SplitOptions
    from kayfabe_core.train import TrainSettings
    from kayfabe_core.workspace import open_workspace
    from tests.conftest import copy_workspace

    workspace = open_workspace(copy_workspace(demo_root, tmp_path / "ws", images=False))
    run = run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(),
                         TrainSettings.from_choices("Quick look"))
    names = ("Food", "Not food")
    predictions = {"one": read_predictions(workspace, run.run_id)}
    matrix = confusion_grid_figure(predictions, names).data[0]
    assert list(matrix.x) == ["predicted Not food", "predicted Food"]
    assert list(matrix.y) == ["coded Not food", "coded Food"]
    roc = roc_overlay_figure(predictions, names)
    assert roc.layout.xaxis.title.text == "False alarm rate<br>(Not food called Food)"



def test_the_learning_overlay_names_what_each_run_watched() -> None:
    from kayfabe_core.compare import learning_overlay_figure

    records = {"a": {"curve": {"check": [0.6, 0.5], "check_name": "validation"}},
               "b": {"curve": {"check": [0.7, 0.4], "check_name": "test"}}}
    figure = learning_overlay_figure(records)
    assert [trace.name for trace in figure.data] == ["a (validation images)", "b (test images)"]
    assert "check images" not in figure.layout.yaxis.title.text


def test_an_empty_predicted_column_reads_no_images_not_nan() -> None:
    from kayfabe_core.charts_model import confusion_figure
    from kayfabe_core.evaluate import Metrics

    nothing_called_yes = Metrics(threshold=0.99, tn=40, fp=0, fn=10, tp=0, accuracy=0.8, precision=float("nan"),
                                 recall=0.0, f1=0.0, roc_auc=0.7)
    text = confusion_figure(nothing_called_yes, ("Food", "Not food"), normalise="predicted").data[0].text
    assert "nan" not in str(text)
    assert text[0][1] == "<b>0</b><br>no images<br>false Food"
    assert text[1][0] == "<b>10</b><br>20%<br>false Not food"


def test_the_runs_parallel_plot_shows_a_split_that_differs_in_words() -> None:
    from kayfabe_core.compare import parallel_figure

    runs = pd.DataFrame({"split": ["grouped 30 %", "stratified 30 %", "grouped 5 folds"], "images": [1923] * 3,
                         "num_boost_round": [100] * 3, "eta": [0.2] * 3, "max_depth": [5] * 3,
                         "min_child_weight": [6] * 3, "gamma": [4] * 3, "subsample": [0.8] * 3,
                         "accuracy": [0.80, 0.83, 0.79]})
    dimensions = parallel_figure(runs, "accuracy").data[0].dimensions
    assert [d.label for d in dimensions] == ["Split", "Accuracy"]  # not a "Tree depth" axis every run shares
    assert list(dimensions[0].ticktext) == ["grouped 30 %", "grouped 5 folds", "stratified 30 %"]
    assert list(dimensions[0].values) == [0, 2, 1]


def test_a_clickable_matrix_has_one_dot_per_cell_naming_its_cell() -> None:
    from kayfabe_core.charts_model import confusion_figure
    from kayfabe_core.evaluate import Metrics

    metrics = Metrics(threshold=0.5, tn=40, fp=5, fn=10, tp=45, accuracy=0.85, precision=0.9, recall=0.82,
                      f1=0.86, roc_auc=0.9)
    assert len(confusion_figure(metrics, ("Food", "Not food")).data) == 1  # the report's: no dots
    dots = confusion_figure(metrics, ("Food", "Not food"), clickable=True).data[1]
    where = {key: (x, y) for key, x, y in zip(dots.customdata, dots.x, dots.y, strict=True)}
    assert where["tp"] == ("predicted Food", "coded Food")
    assert where["fp"] == ("predicted Food", "coded Not food")
    assert where["fn"] == ("predicted Not food", "coded Food")


def test_shap_dots_call_a_yes_no_feature_present_where_it_is_1_and_a_number_wherever_it_has_a_value() -> None:
    import numpy as np

    from kayfabe_core.charts_model import shap_beeswarm_figure

    points = pd.DataFrame({"feature": ["rekog_rope"] * 3 + ["label: Food"] * 2 + ["weekday"] * 3,
                           "shap": [0.5, -0.1, -0.2, 0.3, -0.3, 0.1, 0.2, -0.4],
                           "value": [1.0, 0.0, np.nan, 1.0, np.nan, 0.0, 4.0, np.nan],
                           "row": [0, 1, 2, 0, 1, 0, 1, 2]})
    figure = shap_beeswarm_figure(points, ["rekog_rope", "label: Food", "weekday"])
    dots = {trace.name: sorted(zip(trace.y, trace.x, strict=True)) for trace in figure.data}
    assert dots == {"present": [("label: Food", 0.3), ("rekog_rope", 0.5), ("weekday", 0.1), ("weekday", 0.2)],
                    "absent": [("label: Food", -0.3), ("rekog_rope", -0.2), ("rekog_rope", -0.1),
                               ("weekday", -0.4)]}  # a 0/1 column's 0 is absent; Monday (0) is a weekday


def test_runs_trained_on_different_data_are_said_to_have_different_test_images() -> None:
    from kayfabe_core.compare import data_difference

    def record(codes_hash: str | None, images: int, data_hash: str = "d") -> dict[str, object]:
        data: dict[str, object] = {"data_hash": data_hash, "n_images": images}
        return {"data": data if codes_hash is None else {**data, "codes_hash": codes_hash}}

    assert data_difference({"a": record("h1", 1923), "b": record("h1", 1923)}) == ""
    assert data_difference({"a": record("h1", 1923, "d1"), "b": record("h1", 1923, "d2")}) == ""  # features only
    said = data_difference({"a": record("h1", 1923), "b": record("h2", 1922)})
    assert said.startswith("These runs were trained on different coded images (1,922 and 1,923 images)")
    assert "Their training and test images differ too" in said
    assert "(" not in data_difference({"a": record("h1", 1923), "b": record("h2", 1923)}).split(":")[0]
    assert data_difference({"a": record(None, 1923), "b": record("h2", 1922)}) == ""  # an older run: cannot tell


def test_two_runs_differing_only_in_their_features_share_their_coded_images(demo_root, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kayfabe_core.compare import data_difference
    from kayfabe_core.experiment import run_experiment
    from kayfabe_core.features import FeatureOptions, build_features
    from kayfabe_core.split import SplitOptions
    from kayfabe_core.train import TrainSettings
    from kayfabe_core.workspace import open_workspace
    from tests.conftest import copy_workspace

    workspace = open_workspace(copy_workspace(demo_root, tmp_path / "ws", images=False))
    runs = [run_experiment(workspace, build_features(workspace, FeatureOptions(min_images=images)), SplitOptions(),
                           TrainSettings.from_choices("quick")).record for images in (5, 10)]
    assert runs[0]["data"]["data_hash"] != runs[1]["data"]["data_hash"]  # type: ignore[index]
    assert data_difference({"a": runs[0], "b": runs[1]}) == ""  # type: ignore[dict-item]


def test_a_post_number_whose_sample_holds_only_0_and_1_is_still_a_number_and_a_marked_fact_is_yes_no() -> None:
    """One rule for yes/no (explain.is_yes_no): 'comments' with only 0 and 1 on the shown images is a count
    (its 0 is a value, so present), 'video post (1 = yes)' is yes/no by its name."""
    import numpy as np

    from kayfabe_core.charts_model import present_values

    points = pd.DataFrame({"feature": ["comments"] * 2 + ["video post (1 = yes)"] * 2,
                           "value": [0.0, 1.0, 0.0, 1.0], "shap": [0.1, 0.2, -0.1, 0.3], "row": [0, 1, 0, 1]})
    assert present_values(points).tolist() == [True, True, False, True]
    assert present_values(points.assign(value=[0.0, np.nan, 0.0, 1.0])).tolist() == [True, False, False, True]
