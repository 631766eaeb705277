"""Export a run: a standalone HTML report with its charts, and a replication bundle (ZIP).

The HTML file carries plotly.js once, inline, so it opens offline (about
5 MB). Every piece of user text (run names, category names, feature names,
warnings) is HTML-escaped. The bundle holds the run's files, the methods
paragraph, and a README with the command line that trains the run again.
"""

from __future__ import annotations

import html
import io
import subprocess
import zipfile
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from kayfabe_core.chart_readings import (
    balance_reading,
    calibration_reading,
    confusion_reading,
    curves_reading,
    importance_reading,
    learning_curve_reading,
    metrics_reading,
)
from kayfabe_core.charts_model import (
    balance_figure,
    calibration_figure,
    confusion_figure,
    importance_figure,
    learning_curve_figure,
    precision_recall_figure,
    roc_figure,
)
from kayfabe_core.codes import read_codebook
from kayfabe_core.constraints import SETTING_TITLES
from kayfabe_core.evaluate import (
    METRIC_TITLES,
    Metrics,
    accuracy_spread,
    calibration_points,
    folds_at,
    precision_recall_points,
    roc_points,
)
from kayfabe_core.json_text import json_text
from kayfabe_core.methods_text import grouping_words, methods_paragraph, number
from kayfabe_core.replication_text import readme_text, train_command
from kayfabe_core.results import CELLS, cell_meaning, read_importance
from kayfabe_core.runs import read_predictions, read_run, run_folder
from kayfabe_core.workspace import Workspace, connect

PACKAGE_FOLDER = Path(__file__).resolve().parent
TOP_FEATURES = 20
STYLE = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
th{background:#f5f5f5}.howto{color:#555;font-size:.92em}.warning{background:#fff4e5;border-left:4px solid #f0a030;
padding:.4em .8em}.meta{color:#666}.methods{background:#f7f9fc;padding:.8em 1em;border-left:4px solid #4c78a8}
.pair{display:flex;flex-wrap:wrap;gap:1em}"""  # the ROC and precision-recall curves side by side
PAIR_WIDTH = 480  # px: two charts on the page's 1,000 px line


def export_report_html(workspace: Workspace, run_id: str) -> bytes:
    """Return run ``run_id``'s report as one standalone HTML file (UTF-8 bytes), charts included.

    Raises :class:`~kayfabe_core.errors.WorkspaceError` when the run, or its files, are missing.
    """
    record: dict[str, Any] = read_run(workspace, run_id)
    predictions = read_predictions(workspace, run_id)
    listing = _listing(workspace, run_id)
    title = listing.get("name") or record.get("name") or run_id
    sections = [
        f"<h1>Run report: {_esc(title)}</h1>",
        f"<p class='meta'>Run {_esc(run_id)} · trained {_esc(_when(str(record.get('created_at', ''))))} · report "
        f"made {_esc(_when(datetime.now(UTC).isoformat(timespec='seconds')))}</p>",
        f"<p>{_esc(listing['note'])}</p>" if listing.get("note") else "",
        "<h2>Methods</h2>", f"<p class='methods'>{_esc(methods_paragraph(workspace, run_id))}</p>",
        *_metrics_section(record, predictions), *_chart_sections(workspace, run_id, record, predictions),
        *_split_section(record), *_settings_section(record), *_codebook_section(workspace, record),
        *_versions_section(record),
    ]
    page = (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_esc(title)} · kayfabe run "
            f"report</title><style>{STYLE}</style>\n<script type='text/javascript'>window.PlotlyConfig = "
            f"{{MathJaxConfig: 'local'}};</script>\n<script type='text/javascript'>{get_plotlyjs()}</script>\n"
            "</head><body>\n" + "\n".join(part for part in sections if part) + "\n</body></html>\n")
    return page.encode("utf-8")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _when(stamp: str) -> str:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return stamp
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


def _listing(workspace: Workspace, run_id: str) -> dict[str, Any]:
    """The run's row of the runs list: its current name (it may have been renamed) and note."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return {key: row[key] for key in row.keys() if key != "record"} if row is not None else {}


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{_esc(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(figure: go.Figure, name: str, width: int | None = None) -> str:
    """The chart as a div of the report. Streamlit's theme grows a chart's margins to fit its axis labels; the
    page's own plotly.js does not, so here the axes make room themselves (names were cut to 2–3 letters).
    ``width`` in pixels for a chart of a pair (drawn before its neighbour exists, it would take the whole line)."""
    shown = go.Figure(figure)
    shown.update_xaxes(automargin=True)
    shown.update_yaxes(automargin=True)
    shown.update_layout(margin={"l": 20, "r": 20, "t": 50, "b": 20}, width=width)
    return pio.to_html(shown, full_html=False, include_plotlyjs=False, div_id=f"chart-{name}",
                       default_width=f"{width}px" if width else "100%",
                       config={"displaylogo": False, "responsive": True})


def _how(reading: str) -> str:
    return f"<p class='howto'>{_esc(reading)}</p>"


def record_metrics(record: dict[str, Any]) -> Metrics:
    """Return the run's saved :class:`Metrics` (at its threshold, with intervals) from its record."""
    saved = record["metrics"]
    values = {field.name: saved[field.name] for field in fields(Metrics) if field.name in saved}
    values["intervals"] = {name: tuple(pair) for name, pair in saved.get("intervals", {}).items()}
    return Metrics(**values)


def _metrics_section(record: dict[str, Any], predictions: pd.DataFrame) -> list[str]:
    metrics = record_metrics(record)
    rows: list[list[object]] = [
        [title, number(getattr(metrics, name)),
         "–".join(number(value) for value in metrics.intervals[name]) if name in metrics.intervals else "none"]
        for name, title in METRIC_TITLES.items()]
    yes, no = record["data"]["positive_name"], record["data"]["negative_name"]
    cells: list[list[object]] = [[f"{CELLS[key]}: {cell_meaning(key, (yes, no))}", f"{getattr(metrics, key):,}"]
                                 for key in ("tp", "fp", "fn", "tn")]
    parts = ["<h2>Metrics</h2>", f"<p>{metrics.n:,} test predictions at a score threshold of {metrics.threshold:g}."
             "</p>", _table(["Metric", "Value", "95 % interval"], rows), _table(["Cell", "Predictions"], cells)]
    positives = metrics.tp + metrics.fn
    baseline = max(positives, metrics.n - positives) / metrics.n if metrics.n else float("nan")
    parts.append(_how(metrics_reading(record, metrics.n, baseline, accuracy_spread(predictions, metrics.threshold))))
    folds = record.get("folds", [])
    if len(folds) > 1:
        parts.append(_table(["Repeat", "Fold", "Training images", "Test images",
                             f"Accuracy at {metrics.threshold:.2f}", "Rounds kept"],
                            [[f.repeat, f.fold, f"{f.n_train:,}", f"{f.n_test:,}", number(f.accuracy), f.rounds_kept]
                             for f in folds_at(record, predictions, metrics.threshold).itertuples()]))
    return parts


def _chart_sections(workspace: Workspace, run_id: str, record: dict[str, Any],
                    predictions: pd.DataFrame) -> list[str]:
    data, metrics = record["data"], record_metrics(record)
    observed, scores = predictions["observed"].to_numpy(), predictions["score"].to_numpy()
    curve = record["curve"]
    words = (str(data["positive_name"]), str(data["negative_name"]))
    parts = ["<h2>Confusion matrix</h2>",
             _figure(confusion_figure(metrics, words), "confusion"),
             _how(confusion_reading()), "<h2>ROC and precision-recall curves</h2>",
             "<div class='pair'>", _figure(roc_figure(roc_points(observed, scores), metrics, words), "roc", PAIR_WIDTH),
             _figure(precision_recall_figure(precision_recall_points(observed, scores), float(observed.mean()),
                                             metrics, words), "precision-recall", PAIR_WIDTH), "</div>",
             _how(curves_reading(words[0])), "<h2>Calibration</h2>",
             _figure(calibration_figure(calibration_points(observed, scores), words), "calibration"),
             _how(calibration_reading(words[0])),
             "<h2>Learning curve (first fold)</h2>",
             _figure(learning_curve_figure(curve["train"], curve["check"], curve["check_name"], curve["best_round"]),
                     "learning-curve"),
             _how(learning_curve_reading(curve["check_name"])),
             f"<h2>Top {TOP_FEATURES} features by gain (first fold's model)</h2>"]
    importance = read_importance(workspace, run_id)
    if importance.empty:
        parts.append("<p>The model made no split at all: no feature mattered.</p>")
    else:
        parts += [_figure(importance_figure(importance, "gain", TOP_FEATURES), "importance"),
                  _how(importance_reading(words))]
    return parts


def _split_section(record: dict[str, Any]) -> list[str]:
    split = record.get("split", {})
    options = split.get("options", {})
    how = (f"{options.get('folds')}-fold cross-validation" if options.get("folds")
           else f"{float(options.get('test_size', 0)):.0%} test share")
    repeats = int(options.get("repeats", 1))
    parts = ["<h2>Split</h2>",
             f"<p>Split {_esc(grouping_words(split))}; {_esc(how)}"
             f"{f', {repeats} repeats' if repeats > 1 else ''}, seed {_esc(options.get('seed'))}; "
             f"{int(record.get('n_train', 0)):,} training and {int(record.get('n_test', 0)):,} test images"
             f"{' in the first fold' if split.get('folds', 1) > 1 else ''}.</p>"]
    balance = pd.DataFrame(split.get("balance", []))
    if not balance.empty:
        parts += [_figure(balance_figure(balance), "balance"), _how(balance_reading())]
    warnings = (list(split.get("warnings", [])) + list(record.get("data", {}).get("notes", []))
                + list(record.get("model_warnings", [])))
    parts += [f"<p class='warning'>Warning: {_esc(text)}</p>" for text in warnings] or \
        ["<p>The split raised no warnings.</p>"]
    return parts


def _settings_section(record: dict[str, Any]) -> list[str]:
    settings = record.get("settings", {})
    parts = ["<h2>Settings</h2>", _table(["Setting", "XGBoost name", "Value"],
                                         [[SETTING_TITLES.get(key, key), key, value]
                                          for key, value in settings.items()])]
    origin = record.get("data", {}).get("origin", {})
    chosen = origin.get("options") if origin.get("kind") == "workspace" else \
        {key: value for key, value in origin.items() if key != "kind"}
    if chosen:
        parts += ["<h3>Features</h3>", _options_table(chosen)]
    parts += ["<h3>Split</h3>", _options_table(record.get("split", {}).get("options", {}))]
    return parts


def _options_table(options: dict[str, Any]) -> str:
    """The options of the features or the split, in words, with the name the record and the CLI use."""
    return _table(["Option", "Name", "Value"], [[SETTING_TITLES.get(key, key), key, _plain(value)]
                                               for key, value in options.items()])


def _plain(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def _codebook_section(workspace: Workspace, record: dict[str, Any]) -> list[str]:
    if record.get("data", {}).get("origin", {}).get("kind") != "workspace":
        return []
    book = read_codebook(workspace)
    if book is None:
        return []
    return ["<h2>Codebook</h2>", f"<p><b>{_esc(book.category)}</b>: {_esc(book.yes_name)} (YES) or "
            f"{_esc(book.no_name)} (NO).</p>", f"<p>{_esc(book.definition)}</p>"]


def _versions_section(record: dict[str, Any]) -> list[str]:
    versions = record.get("versions", {})
    data = record.get("data", {})
    rows = [[name, version] for name, version in versions.items()]
    rows += [["data hash", data.get("data_hash", "unknown")], ["code version (at export)", code_version()],
             ["backend", record.get("backend", "?")]]
    return ["<h2>Versions and data</h2>", _table(["What", "Version"], rows),
            "<p class='howto'>The data hash covers the feature table (values, feature names, codes and images): "
            "equal hashes mean equal data.</p>"]


# --- replication bundle ---------------------------------------------------------------------------

def export_replication_bundle(workspace: Workspace, run_id: str) -> bytes:
    """Return a ZIP (bytes) to reproduce run ``run_id``: record.json, model.ubj (and models/), predictions.csv,
    test_features.npz, feature_names.json, methods.txt and README.txt (the command line that trains the run
    again, the code version and the data hash), all in a folder named after the run.

    Raises :class:`~kayfabe_core.errors.WorkspaceError` when the run, or its files, are missing.
    """
    record: dict[str, Any] = read_run(workspace, run_id)
    folder = run_folder(workspace, run_id)
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            files[path.relative_to(folder).as_posix()] = path.read_bytes()
    if "record.json" not in files:
        files["record.json"] = json_text(record, indent=2, default=str).encode()
    files["methods.txt"] = (methods_paragraph(workspace, run_id) + "\n").encode("utf-8")
    command, caveats = train_command(record, workspace.root)
    listed = sorted({name.split("/")[0] + ("/" if "/" in name else "") for name in files} | {"README.txt"})
    files["README.txt"] = readme_text(record, command, caveats, code_version(), listed).encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, content in files.items():
            bundle.writestr(f"{run_id}/{name}", content)
    return buffer.getvalue()


# --- code version -----------------------------------------------------------------------------

def code_version(folder: Path = PACKAGE_FOLDER) -> str:
    """Return the git commit of the app's code (``git rev-parse HEAD``), or "unknown" without git or a repository.

    Adds " (with uncommitted changes)" when tracked files differ from that commit. Never raises.
    """
    commit = _git(folder, "rev-parse", "HEAD")
    if not commit:
        return "unknown"
    changed = _git(folder, "status", "--porcelain", "--untracked-files=no")
    return commit + (" (with uncommitted changes)" if changed else "")


def _git(folder: Path, *arguments: str) -> str:
    try:
        result = subprocess.run(["git", *arguments], cwd=folder, capture_output=True, text=True, timeout=10,
                                check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""

