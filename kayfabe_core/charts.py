"""Plotly figures shared by the pages and exported reports (no Streamlit here)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

TYPE_COLOURS = {"Photo": "#1f77b4", "Carousel": "#ff7f0e", "Video": "#2ca02c"}


def posts_per_month_figure(by_month: pd.DataFrame) -> go.Figure:
    """Return a stacked bar chart of posts per month, coloured by post type.

    ``by_month`` has columns month (YYYY-MM), media_type and posts.
    """
    frame = by_month.assign(month=pd.to_datetime(by_month["month"] + "-01"))
    figure = px.bar(
        frame, x="month", y="posts", color="media_type",
        color_discrete_map=TYPE_COLOURS,
        category_orders={"media_type": list(TYPE_COLOURS)},
        labels={"month": "Month", "posts": "Posts", "media_type": "Post type"},
    )
    figure.update_layout(
        bargap=0.1, height=340, margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "title": None},
    )
    figure.update_xaxes(dtick="M3", tickformat="%b %Y")
    return figure
