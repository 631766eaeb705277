"""Compare runs: the settings that differ, metrics side by side, overlaid curves; and repeat a run.

Repeating trains the same settings on several splits (seeds) so a difference
between two runs can be weighed against the spread one run shows by luck alone.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kayfabe_core.constraints import SETTING_TITLES, SHORT_TITLES
from kayfabe_core.errors import SettingError
from kayfabe_core.evaluate import METRIC_TITLES, compute_metrics, roc_points
from kayfabe_core.experiment import ExperimentResult, run_experiment
from kayfabe_core.feature_cache import load_features
from kayfabe_core.features import FeatureOptions
from kayfabe_core.runs import read_predictions, read_run
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import RoundCallback, TrainSettings
from kayfabe_core.wording import join_words
from kayfabe_core.workspace import Workspace

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
TOP_LEGEND = {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}  # above the plot (below, it hid an axis)



def flatten_settings(record: dict[str, Any]) -> dict[str, object]:
    """Return every choice that made a run, as flat keys in the Train page's words (data, features, split,
    XGBoost), e.g. "XGBoost: Tree depth (max_depth)"."""
    data, split = record["data"], record["split"]
    flat: dict[str, object] = {"Data: source": data["origin"].get("file", "workspace"),
                               "Data: hash": data["data_hash"], "Data: images": data["n_images"],
                               "Data: features": data["n_features"]}
    for section, options in (("Features", data["origin"].get("options", {})), ("Split", split["options"]),
                             ("XGBoost", record["settings"])):
        for key, value in options.items():
            flat[f"{section}: {SETTING_TITLES.get(key, key)}"] = ", ".join(value) if isinstance(value, list) else value
    return flat


def differing_settings(records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Return only the settings whose values differ between the runs: one row per setting, one column per run."""
    table = pd.DataFrame({label: flatten_settings(record) for label, record in records.items()})
    differs = table.astype(str).nunique(axis=1) > 1
    return table[differs]


def data_difference(records: dict[str, dict[str, Any]]) -> str:
    """Say, when the runs were not split from the same coded images (a code added or changed, other posts), that
    their test images differ too ('' when they are the same, or when a run saved before runs recorded their
    images' hash cannot tell). Runs that differ only in their features (other cuts) are the same here."""
    hashes = {record["data"].get("codes_hash") for record in records.values()}
    if len(hashes) < 2 or None in hashes:
        return ""
    images = sorted({int(record["data"]["n_images"]) for record in records.values()})
    counts = f" ({join_words([f'{count:,}' for count in images])} images)" if len(images) > 1 else ""
    return (f"These runs were trained on different coded images{counts}: codes were added or changed between "
            "them, or other posts were coded. Their training and test images differ too, so a difference in their "
            "figures mixes the settings with the data. To compare settings alone, train them again now, on the "
            "same data (Repeat, or Train with each run's settings).")


def metrics_side_by_side(records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Return each metric with its 95 % interval, one column per run (at the 0.5 threshold)."""
    rows = {}
    for label, record in records.items():
        metrics = record["metrics"]
        cells = {}
        for name in METRICS:
            low, high = metrics["intervals"][name]
            cells[METRIC_TITLES[name]] = f"{metrics[name]:.3f} ({low:.3f}–{high:.3f})"
        sd = record.get("accuracy_sd")
        cells["sd over splits"] = f"{sd:.3f}" if sd is not None else "one split"
        rows[label] = cells
    return pd.DataFrame(rows)


def category_names(records: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """Return the runs' names of YES and NO when they share them, else ("YES", "NO")."""
    names = {(str(record["data"]["positive_name"]), str(record["data"]["negative_name"]))
             for record in records.values()}
    return names.pop() if len(names) == 1 else ("YES", "NO")


def prediction_figures(workspace: Workspace, run_labels: dict[str, str], matrices: int,
                       names: tuple[str, str] = ("YES", "NO")) -> tuple[go.Figure, go.Figure]:
    """Return the ROC overlay of the runs and the confusion matrices of the first ``matrices`` of them
    (``run_labels`` maps run id to legend name), reading each run's predictions once."""
    predictions = {label: read_predictions(workspace, run_id) for run_id, label in run_labels.items()}
    return (roc_overlay_figure(predictions, names),
            confusion_grid_figure(dict(list(predictions.items())[:matrices]), names))


def roc_overlay_figure(run_predictions: dict[str, pd.DataFrame],
                       names: tuple[str, str] = ("YES", "NO")) -> go.Figure:
    """Return the ROC curves of several runs on one chart (``run_predictions`` maps legend name to a run's
    predictions)."""
    figure = go.Figure()
    for label, predictions in run_predictions.items():
        points = roc_points(predictions["observed"].to_numpy(), predictions["score"].to_numpy())
        figure.add_scatter(x=points["false_positive_rate"], y=points["true_positive_rate"], mode="lines", name=label)
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"}, name="guessing")
    yes, no = names
    figure.update_layout(height=380, margin=MARGIN, xaxis_title=f"False alarm rate<br>({no} called {yes})",
                         yaxis_title=f"Recall ({yes} images found)", legend=TOP_LEGEND)
    return figure


CHECK_WORDS = {"validation": "validation images", "test": "test images"}  # what a run's curve watched


def learning_overlay_figure(records: dict[str, dict[str, Any]]) -> go.Figure:
    """Return each run's check-set loss per round (first fold) on one chart."""
    figure = go.Figure()
    for label, record in records.items():
        curve = record["curve"]
        figure.add_scatter(y=curve["check"], x=list(range(1, len(curve["check"]) + 1)), mode="lines",
                           name=f"{label} ({CHECK_WORDS.get(curve['check_name'], curve['check_name'])})")
    figure.update_layout(height=340, margin=MARGIN, xaxis_title="Boosting round",
                         yaxis_title="Log loss on the images each run<br>watched (lower is better)", legend=TOP_LEGEND)
    return figure


def confusion_grid_figure(run_predictions: dict[str, pd.DataFrame],
                          names: tuple[str, str] = ("YES", "NO")) -> go.Figure:
    """Return the runs' confusion matrices side by side (shares of each observed code, counts in the cells;
    ``run_predictions`` maps a run's title to its predictions)."""
    # one set of row names, on the left: repeated beside each matrix they ran over its neighbour at 1024 px
    figure = make_subplots(rows=1, cols=len(run_predictions), subplot_titles=list(run_predictions),
                           shared_yaxes=True, horizontal_spacing=0.04)
    for column, predictions in enumerate(run_predictions.values(), start=1):
        metrics = compute_metrics(predictions["observed"].to_numpy(), predictions["score"].to_numpy(), n_boot=0)
        counts = [[metrics.tn, metrics.fp], [metrics.fn, metrics.tp]]
        shares = [[value / max(sum(row), 1) for value in row] for row in counts]
        text = [[f"{counts[r][c]:,}<br>{shares[r][c]:.0%}" for c in range(2)] for r in range(2)]
        yes, no = names
        figure.add_trace(go.Heatmap(z=shares, x=[f"predicted {no}", f"predicted {yes}"],
                                    y=[f"coded {no}", f"coded {yes}"],
                                    text=text, texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
                                    showscale=False), row=1, col=column)
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(height=300, margin=MARGIN)
    return figure


def parallel_figure(runs: pd.DataFrame, metric: str) -> go.Figure:
    """Return a parallel-coordinates plot: one line per run through the settings that differ between the runs
    (the split and the number of images too), coloured by ``metric``."""
    varied = [column for column in ("split", "images", "num_boost_round", "eta", "max_depth", "min_child_weight",
                                    "gamma", "subsample") if column in runs and runs[column].nunique() > 1]
    columns = varied or ["max_depth"]
    splits = pd.factorize(runs["split"].astype(str), sort=True) if "split" in columns else None
    frame = runs[columns + [metric]].assign(**({"split": splits[0]} if splits else {})).astype(float)
    figure = px.parallel_coordinates(frame, dimensions=columns + [metric], color=metric,
                                     color_continuous_scale="Viridis", range_color=_metric_range(frame[metric]),
                                     labels={**SHORT_TITLES, "split": "Split", "images": "Images",
                                             metric: METRIC_TITLES.get(metric, metric)})
    # 0.804, not 0.8041594 at the ends of the score's axis; a fourth place when the runs are within 0.01, or its
    # ticks read 0.803, 0.803
    score_format = ".3f" if float(frame[metric].max() - frame[metric].min()) >= 0.01 else ".4f"
    for dimension, column in zip(figure.data[0].dimensions, columns + [metric], strict=True):
        dimension.tickformat = score_format if column == metric else "~g"
        if column == "split" and splits:  # the split's words on its axis, not numbers
            dimension.tickvals, dimension.ticktext = list(range(len(splits[1]))), list(splits[1])
        elif column != metric:  # ticks at the runs' own values, when few: "1922.2" images was never a setting
            values = sorted(frame[column].dropna().unique())
            if len(values) <= OWN_TICKS:
                dimension.tickvals, dimension.ticktext = values, [_tick(value) for value in values]
        dimension.label = _two_lines(dimension.label)  # side by side at 1024 px, one-line titles overlapped
    # the split's words sit left of the first axis: room for them, or they were cut at the chart's edge
    figure.update_layout(height=380, margin={"l": 130 if splits else 40, "r": 40, "t": 60, "b": 20},
                         coloraxis_colorbar={"tickformat": ".2f"})
    # the ticks already show each axis's values: plotly's range labels above and below repeated the end ones
    figure.update_traces(rangefont={"color": "rgba(0,0,0,0)"})
    return figure


OWN_TICKS = 8  # an axis with more distinct values than this gets plotly's evenly spaced ticks


def _tick(value: float) -> str:
    """A run's value on its axis, whole numbers whole: 1234567 images, not 1.23457e+06 (which 1234568 also
    read); 0.05 stays 0.05."""
    return f"{value:.12g}"


def _two_lines(title: str) -> str:
    """``title`` over two lines at its middle space when longer than a short word ("Tree<br>depth"): nine axes
    side by side at 1024 px leave each about 80 px."""
    words = title.split(" ")
    if len(title) <= 6 or len(words) < 2:
        return title
    cut = min(range(1, len(words)), key=lambda at: abs(len(" ".join(words[:at])) - len(" ".join(words[at:]))))
    return " ".join(words[:cut]) + "<br>" + " ".join(words[cut:])


def _metric_range(values: pd.Series) -> tuple[float, float]:
    """A colour range inside 0–1 that still tells apart runs close to each other (one run: ±0.05)."""
    low, high = float(values.min()), float(values.max())
    if high - low < 0.1:
        middle = (low + high) / 2
        low, high = middle - 0.05, middle + 0.05
    return max(0.0, low), min(1.0, high)


def repeat_run(workspace: Workspace, run_id: str, repeats: int, on_round: RoundCallback | None = None,
               stop: threading.Event | None = None) -> ExperimentResult:
    """Train the run's settings again on ``repeats`` splits (new seeds each) and save that as a new run.

    Raises :class:`SettingError` for a run trained on an uploaded table (its file is not kept).
    """
    record: dict[str, Any] = read_run(workspace, run_id)  # type: ignore[assignment]
    origin = record["data"]["origin"]
    if origin["kind"] != "workspace":
        raise SettingError(f"Run {run_id} was trained on an uploaded table ({origin.get('file')}), which the "
                           "workspace does not keep.", "Repeat it from the command line: train --table FILE "
                           "--repeats N with the same settings.")
    options = dict(origin["options"])
    options["sources"] = tuple(options["sources"])
    table, _ = load_features(workspace, FeatureOptions(**options))
    split = dict(record["split"]["options"])
    split["group_by"] = tuple(split["group_by"])
    split["repeats"] = repeats
    name = f"{record.get('name') or run_id} × {repeats} repeats"
    return run_experiment(workspace, table, SplitOptions(**split), TrainSettings(record["settings"]), name,
                          on_round, stop)
