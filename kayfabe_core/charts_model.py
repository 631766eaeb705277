"""Plotly figures of the Train and Results pages (no Streamlit here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from kayfabe_core.charts import NO_COLOUR, YES_COLOUR
from kayfabe_core.evaluate import Metrics
from kayfabe_core.explain import feature_with_value, is_yes_no

MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
TRAIN_COLOUR, CHECK_COLOUR = "#555555", "#f58518"  # dark grey and orange: blue and red mean the two codes


def balance_figure(balance: pd.DataFrame) -> go.Figure:
    """Return stacked bars: images of each code on the training and test sides (``class_balance``).

    Drawn with graph objects: plotly express took 0.05 s of every Train page run for four bars.
    """
    figure = go.Figure()
    for code, colour in zip(balance["code"].drop_duplicates(), (YES_COLOUR, NO_COLOUR), strict=False):
        part = balance[balance["code"] == code]
        figure.add_bar(x=part["images"], y=part["side"], name=str(code), orientation="h", marker_color=colour,
                       text=part["images"], customdata=part["share"],
                       hovertemplate="%{y}: %{x:,} " + str(code) + " images (%{customdata:.1%})<extra></extra>")
    figure.update_layout(height=200, margin=MARGIN, barmode="stack", xaxis_title="Images",
                         yaxis={"autorange": "reversed"},
                         legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "title": None,
                                 "traceorder": "normal"})  # above the bars, not on them
    return figure


def learning_curve_figure(train: list[float], check: list[float], check_name: str,
                          best_round: int | None = None, rounds: int | None = None) -> go.Figure:
    """Return the loss per boosting round on the training images and on the check set."""
    figure = go.Figure()
    steps = np.arange(1, len(train) + 1)
    figure.add_scatter(x=steps, y=train, name="training images", line={"color": TRAIN_COLOUR})
    figure.add_scatter(x=steps, y=check, name=f"{check_name} images", line={"color": CHECK_COLOUR})
    if best_round and best_round < len(train):
        figure.add_vline(x=best_round, line_dash="dot", annotation_text=f"kept {best_round} rounds")
    figure.update_layout(height=300, margin=MARGIN, xaxis_title="Boosting round",
                         yaxis_title="Log loss (lower is better)",
                         legend={"orientation": "h", "y": 1.12, "x": 0})
    if rounds:
        figure.update_xaxes(range=[0, rounds])
    return figure


def confusion_figure(metrics: Metrics, names: tuple[str, str], normalise: str = "observed",
                     clickable: bool = False) -> go.Figure:
    """Return the 2×2 confusion matrix: rows coded (observed), columns predicted, counts and rates in each cell.

    ``names`` is (positive, negative). ``normalise`` is "observed" (rates along rows) or "predicted".
    ``clickable`` lays an invisible dot over each cell, its cell's key ("tp", ...) as its custom data.
    """
    positive, negative = names
    counts = np.array([[metrics.tn, metrics.fp], [metrics.fn, metrics.tp]], dtype=float)
    axis = 1 if normalise == "observed" else 0
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = counts / counts.sum(axis=axis, keepdims=True)
    words = [["true " + negative, "false " + positive], ["false " + negative, "true " + positive]]
    shares = [[f"{rate:.0%}" if np.isfinite(rate) else "no images" for rate in row] for row in rates]  # 0 of 0
    text = [[f"<b>{int(counts[r, c]):,}</b><br>{shares[r][c]}<br>{words[r][c]}" for c in range(2)]
            for r in range(2)]
    rows = [f"coded {negative}", f"coded {positive}"]  # what the coders said, as the cell list says
    columns = [f"predicted {negative}", f"predicted {positive}"]
    figure = go.Figure(go.Heatmap(z=np.nan_to_num(rates), x=columns, y=rows, text=text, texttemplate="%{text}",
                                  colorscale="Blues", zmin=0, zmax=1, showscale=False,
                                  hovertemplate="%{y}, %{x}<br>%{text}<extra></extra>"))
    if clickable:  # a click on a heatmap selects nothing in Streamlit, a click on a dot does
        _add_cell_dots(figure, columns, rows, text)
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(height=360, margin=MARGIN, font={"size": 14})
    return figure


def _add_cell_dots(figure: go.Figure, columns: list[str], rows: list[str], text: list[list[str]]) -> None:
    figure.add_scatter(x=columns * 2, y=[rows[0], rows[0], rows[1], rows[1]], mode="markers", showlegend=False,
                       marker={"size": 110, "opacity": 0, "symbol": "square"}, customdata=["tn", "fp", "fn", "tp"],
                       text=[text[0][0], text[0][1], text[1][0], text[1][1]],
                       hovertemplate="%{y}, %{x}<br>%{text}<br>Click to see these images<extra></extra>")


MAX_CURVE_POINTS = 300  # of a curve of 45,000 test images: 2,000 took Chromium 1 s to draw; 300 look the same


def thinned(points: pd.DataFrame, most: int = MAX_CURVE_POINTS) -> pd.DataFrame:
    """Return at most ``most`` of the curve's points, evenly spaced along it, the first and last kept."""
    if len(points) <= most:
        return points
    return points.iloc[np.unique(np.linspace(0, len(points) - 1, most).round().astype(int))]


def roc_figure(points: pd.DataFrame, metrics: Metrics, names: tuple[str, str] = ("YES", "NO")) -> go.Figure:
    """Return the ROC curve with the diagonal of guessing and the threshold of ``metrics`` marked where its
    confusion matrix puts it (axes in the category's ``names`` of YES and NO)."""
    yes, no = names
    figure = px.line(thinned(points), x="false_positive_rate", y="true_positive_rate", hover_data=["threshold"],
                     labels={"false_positive_rate": f"False alarm rate<br>({no} called {yes})",
                             "true_positive_rate": f"Recall ({yes} images found)"})
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"}, name="guessing")
    negatives = metrics.fp + metrics.tn
    figure.add_trace(_threshold_marker(metrics.fp / negatives if negatives else np.nan, metrics.recall,
                                       metrics.threshold))
    figure.update_layout(height=340, margin=MARGIN, title=f"ROC curve (area {metrics.roc_auc:.3f})",
                         showlegend=False)
    return figure


def precision_recall_figure(points: pd.DataFrame, base_rate: float, metrics: Metrics,
                            names: tuple[str, str] = ("YES", "NO")) -> go.Figure:
    """Return the precision-recall curve with the YES share (what guessing gets) and the threshold of
    ``metrics`` marked (none where no image is called YES: precision is undefined there)."""
    yes = names[0]
    figure = px.line(thinned(points), x="recall", y="precision", hover_data=["threshold"],
                     labels={"recall": f"Recall ({yes} images found)", "precision": f"Precision ({yes} calls right)"})
    figure.add_hline(y=base_rate, line_dash="dot", line_color="grey", annotation_text="guessing",
                     annotation_position="bottom left")  # clear of the curve's end at recall 1
    figure.add_trace(_threshold_marker(metrics.recall, metrics.precision, metrics.threshold))
    figure.update_layout(height=340, margin=MARGIN, title="Precision and recall", showlegend=False)
    figure.update_yaxes(range=[0, 1.02])
    return figure


def _threshold_marker(x: float, y: float, threshold: float) -> go.Scatter:
    """The dot of the threshold in use, at the rates its confusion matrix gives (the curve's nearest point
    could be one step off; an undefined rate draws no dot)."""
    shown = bool(np.isfinite(x) and np.isfinite(y))
    return go.Scatter(x=[x] if shown else [], y=[y] if shown else [], mode="markers",
                      marker={"size": 12, "color": YES_COLOUR}, name=f"threshold {threshold:.2f}")


def calibration_figure(points: pd.DataFrame, names: tuple[str, str] = ("YES", "NO")) -> go.Figure:
    """Return observed YES share against mean score per bin, with the diagonal of perfect calibration."""
    figure = px.scatter(points, x="mean_score", y="observed_share", size="images", hover_data=["images"],
                        labels={"mean_score": "Model's score (average in the bin)",
                                "observed_share": f"Share actually coded {names[0]}"})
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"},
                       name="perfectly calibrated")
    figure.update_layout(height=340, margin=MARGIN, showlegend=False)
    figure.update_xaxes(range=[0, 1])
    figure.update_yaxes(range=[0, 1])
    return figure


def importance_figure(table: pd.DataFrame, kind: str, top: int = 20) -> go.Figure:
    """Return horizontal bars of the ``top`` features by importance ``kind``."""
    shown = table.nlargest(top, kind).iloc[::-1]
    figure = px.bar(shown, x=kind, y="feature", orientation="h", labels={kind: kind.replace("_", " "), "feature": ""})
    figure.update_layout(height=max(260, 22 * len(shown) + 80), margin=MARGIN)
    return figure


def shap_beeswarm_figure(points: pd.DataFrame, order: list[str], names: tuple[str, str] = ("YES", "NO")) -> go.Figure:
    """Return one dot per image and feature: SHAP value across, colour = the feature present or absent (see
    :func:`present_values`)."""
    frame = points.assign(present=np.where(present_values(points), "present", "absent"))
    figure = px.strip(frame, x="shap", y="feature", color="present",
                      category_orders={"feature": order, "present": ["present", "absent"]},
                      stripmode="overlay",  # present and absent dots on their feature's row, not half a row off
                      # greys: red and blue mean the two codes on every chart of the app
                      color_discrete_map={"present": "#3b3b3b", "absent": "#c4c4c4"},
                      labels={"shap": f"Push towards {names[0]} (right) or {names[1]} (left), log-odds",
                              "feature": "",
                              "present": "Feature on the image"})
    figure.add_vline(x=0, line_color="grey")
    figure.update_traces(jitter=0.6, marker={"size": 4, "opacity": 0.6})
    figure.update_layout(height=max(300, 26 * len(order) + 100), margin=MARGIN,
                         legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0})  # above the top row
    return figure


def present_values(points: pd.DataFrame) -> np.ndarray:
    """Mark each point (feature, value) whose feature is present on its image: a yes/no feature
    (:func:`~kayfabe_core.explain.is_yes_no`) where it is 1, a number (likes, the weekday, where Monday is 0)
    wherever it has a value at all."""
    value = points["value"]
    yes_no = {name: is_yes_no(str(name), group.to_numpy()) for name, group in value.groupby(points["feature"])}
    binary = points["feature"].map(yes_no).to_numpy(dtype=bool)
    return np.where(binary, value.to_numpy() == 1, value.notna().to_numpy())


def explanation_figure(explanation: pd.DataFrame, names: tuple[str, str] = ("YES", "NO")) -> go.Figure:
    """Return bars of one image's largest SHAP contributions (red pushes YES, blue pushes NO)."""
    shown = explanation.iloc[::-1]
    colours = [YES_COLOUR if value > 0 else NO_COLOUR for value in shown["shap"]]
    bars = [feature_with_value(name, value) for name, value in zip(shown["feature"], shown["value"], strict=True)]
    figure = go.Figure(go.Bar(x=shown["shap"], y=bars, orientation="h", marker_color=colours))
    figure.update_layout(height=max(240, 24 * len(shown) + 80), margin=MARGIN,  # two lines: whole at 1024 px
                         xaxis_title=f"Push towards {names[0]} (right)<br>or {names[1]} (left), log-odds")
    return figure
