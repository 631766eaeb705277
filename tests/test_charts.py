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
