"""Plotly figures shared by the pages and exported reports (no Streamlit here)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from kayfabe_core.gallery import SOURCE_NAMES

TYPE_COLOURS = {"Photo": "#72b7b2", "Carousel": "#f58518", "Video": "#b279a2"}  # not the codes' red and blue


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


SOURCE_COLOURS = {"label": "#72b7b2", "moderation": "#b279a2", "celebrity": "#eeca3b"}  # not the codes' red and blue
YES_COLOUR, NO_COLOUR = "#e45756", "#4c78a8"  # the two codes, the same on every chart of the app


def label_frequency_figure(frequencies: pd.DataFrame) -> go.Figure:
    """Return horizontal bars: the share of labelled images carrying each label, by source.

    ``frequencies`` has columns source, name, images, share.
    """
    frame = frequencies.assign(kind=frequencies["source"].map(SOURCE_NAMES))
    figure = px.bar(
        frame.iloc[::-1], x="share", y="name", color="kind", orientation="h",
        color_discrete_map={SOURCE_NAMES[k]: v for k, v in SOURCE_COLOURS.items()},
        hover_data={"images": True, "share": ":.1%"},
        labels={"share": "Share of labelled images", "name": "", "kind": "Source"},
    )
    figure.update_layout(height=max(300, 22 * len(frame) + 80), margin={"l": 10, "r": 10, "t": 40, "b": 10},
                         legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0, "title": None,
                                 "traceorder": "reversed"})  # the sources in the order of the bars, top first
    figure.update_xaxes(tickformat=".0%")
    return figure


def label_association_figure(associations: pd.DataFrame, yes_name: str, no_name: str, top_n: int) -> go.Figure:
    """Return diverging bars: labels most tied to YES (right) and to NO (left).

    ``associations`` has columns source, name, images, yes_share, lift (sorted by lift).
    """
    ends = pd.concat([associations.head(top_n), associations.tail(top_n)]).drop_duplicates()
    ends = ends.sort_values("lift")
    colours = [YES_COLOUR if lift > 0 else NO_COLOUR for lift in ends["lift"]]
    figure = go.Figure(go.Bar(
        x=ends["lift"], y=ends["name"] + " (" + ends["source"].map(SOURCE_NAMES) + ")", orientation="h",
        marker_color=colours, customdata=ends[["images", "yes_share"]],
        hovertemplate="%{y}<br>%{customdata[0]} coded images<br>%{customdata[1]:.0%} coded "
                      + yes_name + "<extra></extra>",
    ))
    figure.update_layout(height=max(300, 22 * len(ends) + 80), margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         xaxis_title=f"← more often {no_name}   ·   more often {yes_name} →")
    figure.update_xaxes(tickformat="+.0%", zeroline=True, zerolinewidth=2)
    return figure
