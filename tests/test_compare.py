"""Comparing runs: the options named as the report names them, the parallel plot's ticks, the data's difference."""

from __future__ import annotations

from typing import Any

from kayfabe_core.compare import flatten_settings
from kayfabe_core.constraints import OPTION_TITLES, SETTING_TITLES
from kayfabe_core.report_export import _options_table


def _record(features: dict[str, object], split: dict[str, object]) -> dict[str, Any]:
    return {"data": {"origin": {"kind": "workspace", "options": features}, "data_hash": "d", "n_images": 10,
                     "n_features": 3},
            "split": {"options": split}, "settings": {"max_depth": 5}}


def test_the_compare_view_and_the_report_name_every_option_alike() -> None:
    features = {"include_parents": True, "metadata": False, "caption": True, "sources": ["labels"]}
    split = {"method": "grouped", "group_by": ["likeCount"]}
    flat = flatten_settings(_record(features, split))
    report = _options_table({**features, **split})
    for section, options in (("Features", features), ("Split", split)):
        for key in options:
            title = SETTING_TITLES[key]
            assert f"{section}: {title}" in flat, key
            assert f"<td>{title}</td><td>{key}</td>" in report, key
    assert flat["Features: Keep parent labels (Person as well as Face)"] is True
    assert flat["XGBoost: Tree depth (max_depth)"] == 5
    # an uploaded table's own options are named by the same table
    assert {"file", "label", "positive", "drop"} <= set(OPTION_TITLES)
    assert "<td>Value meaning YES</td><td>positive</td><td>yes</td>" in _options_table({"positive": "yes"})


def test_the_parallel_plot_keeps_large_whole_numbers_whole() -> None:
    import pandas as pd

    from kayfabe_core.compare import parallel_figure

    runs = pd.DataFrame({"images": [1_234_567, 1_234_568, 1_234_567], "eta": [0.05, 0.2, 0.3],
                         "accuracy": [0.80, 0.82, 0.81]})
    images, eta = parallel_figure(runs, "accuracy").data[0].dimensions[:2]
    assert list(images.ticktext) == ["1234567", "1234568"]  # not "1.23457e+06" twice
    assert list(eta.ticktext) == ["0.05", "0.2", "0.3"]


def test_three_runs_on_different_data_name_their_counts_as_a_list() -> None:
    from kayfabe_core.compare import data_difference

    records = {name: {"data": {"codes_hash": name, "n_images": images, "data_hash": name}}
               for name, images in (("a", 1923), ("b", 1900), ("c", 1910))}
    assert data_difference(records).startswith("These runs were trained on different coded images "
                                               "(1,900, 1,910 and 1,923 images):")
