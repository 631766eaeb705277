"""The "How to read" lines shared by the Results page and the exported report."""

from __future__ import annotations

from kayfabe_core import chart_readings as readings

WORKSPACE_RUN = {"data": {"origin": {"kind": "workspace"}}, "folds": [{}], "accuracy_sd": None}


def test_metrics_reading_names_what_the_bootstrap_resampled() -> None:
    posts = readings.metrics_reading(WORKSPACE_RUN, 1234, 0.61)
    assert posts == ("How to read: each number is measured on the 1,234 test predictions; the interval is where it "
                     "would likely land on another sample like this one (bootstrap over posts, 1,000 draws). Always "
                     "answering the more common code would score an accuracy of 0.610.")
    table = {"data": {"origin": {"kind": "table"}}, "split": {"options": {"group_by": ["pubYear"]}}}
    assert "(bootstrap over groups of pubYear, 1,000 draws)" in readings.metrics_reading(table, 10, 0.5)
    assert "(bootstrap over images, 1,000 draws)" in readings.metrics_reading({"data": {}}, 10, 0.5)


def test_the_spread_is_told_only_for_several_models() -> None:
    folded = {**WORKSPACE_RUN, "folds": [{}, {}, {}], "accuracy_sd": 0.0421}
    assert readings.metrics_reading(folded, 10, 0.5, 0.0193).endswith(
        " Over its 3 models, accuracy at this threshold varied with a standard deviation of 0.019.")
    assert "Over its" not in readings.metrics_reading(folded, 10, 0.5)  # no spread given: none told
    assert "Over its" not in readings.metrics_reading({**WORKSPACE_RUN, "accuracy_sd": 0.0421}, 10, 0.5, 0.03)


def test_every_reading_starts_alike_and_uses_the_category_words() -> None:
    names = ("In kayfabe", "Not in kayfabe")
    every = [readings.confusion_reading(), readings.confusion_reading(clickable=True),
             readings.curves_reading(names[0]), readings.calibration_reading(names[0]),
             readings.learning_curve_reading("validation"), readings.learning_curve_reading("test"),
             readings.importance_reading(names), readings.importance_reading(names, on_page=True),
             readings.balance_reading("fold 1 of 5"), readings.shap_reading(577, names)]
    assert all(text.startswith(readings.PREFIX) for text in every)
    assert "finds In kayfabe images" in readings.curves_reading(names[0])
    assert "actually coded In kayfabe" in readings.calibration_reading(names[0])
    assert "(In kayfabe or Not in kayfabe); the SHAP tab does." in readings.importance_reading(names, on_page=True)
    assert "the SHAP tab" not in readings.importance_reading(names)
    assert "Click a cell" in readings.confusion_reading(clickable=True) and "Click" not in readings.confusion_reading()
    assert "carved from the training images" in readings.learning_curve_reading("validation")
    assert "the test images (watched only" in readings.learning_curve_reading("test")
    assert "one side of fold 1 of 5;" in readings.balance_reading("fold 1 of 5")
    assert "(577) and feature" in readings.shap_reading(577, names)
    assert "towards In kayfabe, left towards Not in kayfabe" in readings.shap_reading(577, names)
