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
                         "accuracy": [0.8041594, 0.7954939, 0.801]})
    dimensions = parallel_figure(runs, "accuracy").data[0].dimensions
    assert [d.label for d in dimensions] == ["Rounds", "Learning rate", "Tree depth", "Accuracy"]
    assert dimensions[-1].tickformat == ".3f"
