"""A run's methods paragraph in plain English, ready to paste into a paper.

Every number comes from the run record or from the workspace (codes, coders'
agreement, Rekognition model versions); nothing is estimated or assumed. When
a fact cannot be known (agreement with one coder, a table made elsewhere) the
paragraph says so instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from kayfabe_core.agreement import ALPHA, KAPPA, MIN_IMAGES, NotEnoughCodesError, measure_agreement
from kayfabe_core.associations import ADJUDICATOR, read_latest_codes, read_resolved_codes
from kayfabe_core.constraints import BOOSTER_KNOBS
from kayfabe_core.runs import read_run
from kayfabe_core.train import VALIDATION_SHARE
from kayfabe_core.wording import counted, join_words
from kayfabe_core.workspace import Workspace, connect

SOURCE_WORDS = {"label": "object and scene labels", "moderation": "moderation labels",
                "celebrity": "recognised celebrities"}
SOURCE_OPERATIONS = {"label": "DetectLabels", "moderation": "DetectModerationLabels",
                     "celebrity": "RecognizeCelebrities"}
STATISTIC_SYMBOLS = {KAPPA: "Cohen's κ", ALPHA: "Krippendorff's α"}
SOFTWARE_NAMES = {"python": "Python", "xgboost": "XGBoost", "scikit-learn": "scikit-learn", "pandas": "pandas",
                  "numpy": "NumPy", "scipy": "SciPy"}
METRIC_WORDS = (("accuracy", "accuracy"), ("precision", "precision"), ("recall", "recall"), ("f1", "F1"),
                ("roc_auc", "ROC AUC"))
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
                9: "nine", 10: "ten"}


def methods_paragraph(workspace: Workspace, run_id: str) -> str:
    """Return the methods paragraph of run ``run_id``: data, coding and agreement, features, split,
    hyperparameters, metrics with 95 % intervals and software versions, as one plain-English paragraph.

    Raises :class:`~kayfabe_core.errors.WorkspaceError` when the workspace has no such run.
    """
    record: dict[str, Any] = read_run(workspace, run_id)
    data = record.get("data", {})
    from_table = data.get("origin", {}).get("kind") == "table"
    parts = [table_sentences(record) if from_table else workspace_sentences(workspace, record),
             split_sentence(record), model_sentence(record), metrics_sentence(record),
             chosen_threshold_sentence(workspace, run_id, record), software_sentence(record)]
    return " ".join(part for part in parts if part)


def chosen_threshold_sentence(workspace: Workspace, run_id: str, record: Mapping[str, Any]) -> str:
    """Say at which threshold the model's predictions decide when one was chosen after training (on the
    Results page), with the metrics there, and why those are optimistic; "" when none was chosen."""
    from kayfabe_core.predict import run_threshold
    from kayfabe_core.results import run_metrics

    chosen = run_threshold(workspace, run_id)
    if abs(chosen - float(record.get("metrics", {}).get("threshold", 0.5))) < 1e-9:
        return ""
    at = run_metrics(workspace, run_id, chosen)
    values = ", ".join(f"{word} {number(getattr(at, name))} ({interval(at.intervals.get(name))})"
                       for name, word in METRIC_WORDS if name != "roc_auc")
    return (f"Predictions with this model decide at a score threshold of {chosen:g}, chosen after training while "
            f"looking at these test images; at it, {values}: optimistic figures, since the threshold was fitted to "
            "the very images they are measured on.")


# --- small formatting helpers ----------------------------------------------------------------

def number(value: object, digits: int = 3) -> str:
    """Return ``value`` with ``digits`` decimals, or "undefined" for a missing or NaN value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "undefined"
    return f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def interval(pair: object, digits: int = 3) -> str:
    """Return "95 % CI low–high", or "no interval" when it is missing or undefined."""
    if not isinstance(pair, list | tuple) or len(pair) != 2 or any(
            value is None or (isinstance(value, float) and math.isnan(value)) for value in pair):
        return "no interval"
    return f"95 % CI {number(pair[0], digits)}–{number(pair[1], digits)}"


def count_word(count: int) -> str:
    """Return a small count as a word (two, three), a larger one as digits."""
    return NUMBER_WORDS.get(count, f"{count:,}")


def quoted(text: object) -> str:
    return f"“{text}”"


def _setting(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


# --- data and coding --------------------------------------------------------------------------

def _data_counts(record: Mapping[str, Any]) -> tuple[int, int, int]:
    data = record.get("data", {})
    n_images, n_positive = int(data.get("n_images", 0)), int(data.get("n_positive", 0))
    return n_images, n_positive, n_images - n_positive


def workspace_sentences(workspace: Workspace, record: Mapping[str, Any]) -> str:
    """Return what was classified, how it was coded (with agreement) and which features were built."""
    data = record["data"]
    n_images, n_positive, n_negative = _data_counts(record)
    platform = "Instagram " if _instagram_only(workspace) else ""
    sentences = [f"We classified {n_images:,} {platform}images from this workspace as "
                 f"{quoted(data['positive_name'])} ({n_positive:,} images) or {quoted(data['negative_name'])} "
                 f"({n_negative:,})."]
    names = (quoted(data["positive_name"]), quoted(data["negative_name"]))
    sentences += coding_sentences(workspace, str(record.get("created_at", "")), names)
    sentences.append(feature_sentence(workspace, data))
    return " ".join(sentences)


def _instagram_only(workspace: Workspace) -> bool:
    with connect(workspace) as conn:
        total, instagram = conn.execute("SELECT COUNT(*), COALESCE(SUM(post_url LIKE 'https://www.instagram.com/%'), "
                                        "0) FROM posts").fetchone()
    return bool(total) and total == instagram


def coding_sentences(workspace: Workspace, trained_at: str, names: tuple[str, str] = ("Yes", "No")) -> list[str]:
    """Return sentences on the coders, their agreement and how disagreements were resolved (``names``: how the
    two codes are called in them)."""
    with connect(workspace) as conn:
        latest = read_latest_codes(conn)
        last_code = conn.execute("SELECT MAX(coded_at) FROM codes").fetchone()[0]
    decided = latest[latest["value"].isin(["YES", "NO"])]
    coders = decided[decided["coder"] != ADJUDICATOR]
    per_coder = coders.groupby("coder")["sha256"].nunique().sort_values(ascending=False)
    sentences = []
    if len(per_coder) == 0:
        sentences.append("The codes come from the workspace's team decisions; no coder's own codes are stored, "
                         "so agreement between coders could not be measured.")
    elif len(per_coder) == 1:
        sentences.append(f"Each image was hand-coded by one coder ({int(per_coder.iloc[0]):,} images coded "
                         f"{names[0]} or {names[1]}), so agreement between coders could not be measured.")
    else:
        counts = join_words([f"{int(count):,}" for count in per_coder])
        sentences.append(f"Images were hand-coded by {count_word(len(per_coder))} coders, who coded {counts} "
                         f"images {names[0]} or {names[1]} respectively (Unsure codes were left out).")
        sentences.append(agreement_sentence(workspace, list(per_coder.index), coders, names))
    sentences.append(resolution_sentence(workspace, coders, decided))
    if _changed_after(last_code, trained_at):
        sentences.append("Some codes were added after this model was trained; the coding figures above describe the "
                         "codes as they stand now, the figures below the model's data.")
    return [sentence for sentence in sentences if sentence]


def agreement_sentence(workspace: Workspace, names: list[str], coders: pd.DataFrame,
                       codes: tuple[str, str] = ("Yes", "No")) -> str:
    """Return the coders' agreement with its interval, or why it could not be measured."""
    try:
        agreement = measure_agreement(workspace, names)
    except NotEnoughCodesError:
        shared = int((coders.groupby("sha256")["coder"].nunique() >= 2).sum())
        return (f"Only {shared:,} image{'' if shared == 1 else 's'} were coded {codes[0]} or {codes[1]} by two "
                "coders, too few to "
                f"measure their agreement (at least {MIN_IMAGES} are needed).")
    symbol = STATISTIC_SYMBOLS.get(agreement.statistic_name, agreement.statistic_name)
    low_high = interval((agreement.ci_low, agreement.ci_high), 2)
    # with two coders a pair is an image; with more, an image has several pairs of coders: the share is of pairs
    agreed = ("they agreed on {:.1f} % of the images" if len(agreement.coders) == 2 else
              "{:.1f} % of the pairs of coders who coded the same image agreed").format(agreement.percent * 100)
    both = "both coders" if len(agreement.coders) == 2 else "two or more coders"
    return (f"On the {agreement.images:,} images coded by {both}, {agreed} ({symbol} = "
            f"{number(agreement.statistic, 2)}, {low_high}, bootstrap over images).")


def resolution_sentence(workspace: Workspace, coders: pd.DataFrame, decided: pd.DataFrame) -> str:
    """Return how each image's code was decided: team decisions, majority, and ties left out."""
    adjudicated = int(decided.loc[decided["coder"] == ADJUDICATOR, "sha256"].nunique())
    coded = set(decided["sha256"])
    resolved = len(read_resolved_codes(workspace))
    ties = len(coded) - resolved
    several = coders.groupby("sha256")["coder"].nunique().max() if len(coders) else 0
    if not several or several < 2:
        return (f"The team decided the code of {adjudicated:,} images." if adjudicated else "")
    words = ["An image's code was the majority of its coders' codes"]
    if adjudicated:
        words.append(f", or the team's decision where the coders disagreed ({counted(adjudicated, 'image')})")
    words.append(f"; {ties:,} image{'' if ties == 1 else 's'} with tied codes {'was' if ties == 1 else 'were'} "
                 "left out." if ties else ".")
    return "".join(words)


def _changed_after(last_code: str | None, trained_at: str) -> bool:
    if not last_code or not trained_at:
        return False
    try:
        return datetime.fromisoformat(last_code.replace("Z", "+00:00")) > datetime.fromisoformat(trained_at)
    except (TypeError, ValueError):
        return False


def feature_sentence(workspace: Workspace, data: Mapping[str, Any]) -> str:
    """Return how Rekognition labels (and post metadata, captions) became the features."""
    options = data.get("origin", {}).get("options", {})
    sources = [source for source in options.get("sources", []) if source in SOURCE_WORDS]
    cuts = {source: float(options.get(f"{source}_threshold", 0.0)) for source in sources}
    if not sources:
        text = "No Rekognition labels were used"
    elif len(set(cuts.values())) == 1:
        text = (f"Features were Amazon Rekognition {join_words([SOURCE_WORDS[s] for s in sources])} kept at "
                f"≥ {cuts[sources[0]]:g} % confidence")
    else:
        text = "Features were Amazon Rekognition " + join_words(
            [f"{SOURCE_WORDS[s]} at ≥ {cuts[s]:g} %" for s in sources]) + " confidence"
    versions = _model_versions(workspace, sources)
    if versions:
        text += f" ({versions})"
    if sources:
        text += (", with their parent labels (e.g. Person for Face)" if options.get("include_parents", True)
                 else ", keeping only the most specific label of each chain (e.g. Face, not Person)")
        text += f"; labels seen on fewer than {int(options.get('min_images', 1)):,} images were dropped"
    if options.get("metadata"):
        text += ("; post metadata were added (likes, comments, video views, video and carousel flags, images in "
                 "the post, position in the carousel, posting hour, weekday and year)")
    if options.get("caption"):
        text += (f"; caption hashtags and words found on at least {int(options.get('min_images', 1)):,} images "
                 "were added as 0/1 features")
    kind = "" if options.get("metadata") else "binary "
    return f"{text}, giving {int(data.get('n_features', 0)):,} {kind}features."


def _model_versions(workspace: Workspace, sources: list[str]) -> str:
    with connect(workspace) as conn:
        rows = conn.execute("SELECT DISTINCT source, model_version FROM label_names WHERE model_version <> '' "
                            "ORDER BY source, model_version").fetchall()
    found: dict[str, list[str]] = {}
    for source, version in rows:
        if source in sources:
            found.setdefault(source, []).append(str(version))
    return ", ".join(f"{SOURCE_OPERATIONS[source]} model {' and '.join(versions)}"
                     for source, versions in found.items())


def table_sentences(record: Mapping[str, Any]) -> str:
    """Return what was classified when the run was trained on an uploaded feature table."""
    data = record["data"]
    origin = data.get("origin", {})
    n_images, n_positive, n_negative = _data_counts(record)
    sentences = [f"We classified {n_images:,} images from a ready-made feature table ({origin.get('file', '?')}) "
                 f"with {int(data.get('n_features', 0)):,} numeric columns as {quoted(data['positive_name'])} "
                 f"({n_positive:,} images) or {quoted(data['negative_name'])} ({n_negative:,})."]
    sentences.append(f"The codes come from the table's column {quoted(origin.get('label', '?'))}; they were not "
                     "made in this app, so agreement between coders is not reported here.")
    dropped = [str(name) for name in origin.get("dropped", [])]
    if dropped:
        sentences.append(f"The column{'s' if len(dropped) > 1 else ''} {join_words([quoted(n) for n in dropped])} "
                         f"{'were' if len(dropped) > 1 else 'was'} left out.")
    sentences += [str(note) for note in data.get("notes", [])]
    return " ".join(sentences)


# --- split, model, metrics, software ------------------------------------------------------------

def grouping_words(split: Mapping[str, Any]) -> str:
    """Return how the split kept images together, e.g. "grouped by post (...)"."""
    options, grouped_by = split.get("options", {}), split.get("grouped_by", "")
    if options.get("method") == "time":
        return "by time (training on older posts, testing on the newest)"
    if grouped_by == "post":
        return "grouped by post (all images of a post on the same side) and balanced by code"
    if grouped_by:
        return f"grouped by {grouped_by} (rows sharing these values on the same side) and balanced by code"
    if options.get("method") == "stratified":
        return "stratified by code, without keeping the images of a post together"
    return "at random, without grouping or stratification"


def split_sentence(record: Mapping[str, Any]) -> str:
    """Return how the images were split into training and test sets (or folds)."""
    split = record.get("split", {})
    options = split.get("options", {})
    folds, repeats, seed = int(options.get("folds", 0)), int(options.get("repeats", 1)), options.get("seed")
    n_train, n_test = int(record.get("n_train", 0)), int(record.get("n_test", 0))
    how = grouping_words(split)
    if folds:
        again = f", repeated {repeats:,} times with seeds {seed}–{int(seed) + repeats - 1}" if repeats > 1 else \
            f" (seed {seed})"
        return (f"Images were evaluated by {folds}-fold cross-validation {how}{again}, so each image was a test "
                f"image once{' per repeat' if repeats > 1 else ''}; the first fold trained on {n_train:,} images and "
                f"tested on {n_test:,}.")
    test_share = round(float(options.get("test_size", 0.0)) * 100)
    text = (f"Images were split {100 - test_share}/{test_share} {how} into {n_train:,} training and {n_test:,} "
            f"test images (seed {seed})")
    if repeats > 1:
        text += (f"; the split was repeated {repeats:,} times with seeds {seed}–{int(seed) + repeats - 1}, and the "
                 "figures below pool every repeat's test predictions")
    return text + "."


def model_sentence(record: Mapping[str, Any]) -> str:
    """Return the model and every hyperparameter, as XGBoost names them."""
    settings = dict(record.get("settings", {}))
    version = record.get("versions", {}).get("xgboost", "version unknown")
    rounds = settings.pop("num_boost_round", None)
    patience = int(settings.pop("early_stopping_rounds", 0) or 0)
    order = [knob.key for knob in BOOSTER_KNOBS] + sorted(set(settings) - {knob.key for knob in BOOSTER_KNOBS})
    shown = ", ".join(f"{key} {_setting(settings[key])}" for key in order if key in settings)
    n_models = len(record.get("folds", [])) or 1
    text = (f"We trained gradient-boosted trees (XGBoost {version}, binary logistic objective, histogram tree "
            f"method, {shown}, {_setting(rounds)} rounds)")
    if n_models > 1:
        text += f", one model per fold ({n_models:,} models)"
    if patience:
        kept = record.get("curve", {}).get("best_round")
        text += (f", with early stopping after {patience:,} rounds without improvement on a validation set of "
                 f"{VALIDATION_SHARE * 100:.0f} % of the training images, grouped like the split"
                 + (f" (the first model kept {int(kept):,} rounds)" if kept else ""))
    return text + "."


def bootstrap_words(record: Mapping[str, Any]) -> str:
    """Return what the metric intervals resampled: posts, the split's groups, or images."""
    origin = record.get("data", {}).get("origin", {})
    if origin.get("kind") == "workspace":
        return "bootstrap over posts"
    group_by = record.get("split", {}).get("options", {}).get("group_by", [])
    return f"bootstrap over groups of {', '.join(map(str, group_by))}" if group_by else "bootstrap over images"


def metrics_sentence(record: Mapping[str, Any]) -> str:
    """Return the test metrics with their 95 % intervals (and the spread across folds)."""
    metrics = record.get("metrics", {})
    intervals = metrics.get("intervals", {})
    n_predictions = sum(int(metrics.get(cell, 0)) for cell in ("tn", "fp", "fn", "tp"))
    positives = int(metrics.get("tp", 0)) + int(metrics.get("fn", 0))
    values = [f"{word} {number(metrics.get(name))} ({interval(intervals.get(name))})" for name, word in METRIC_WORDS]
    values[0] = values[0].replace("accuracy", "accuracy was", 1)[:-1] + f", {bootstrap_words(record)})"
    listed = join_words(values)
    threshold = f"{float(metrics.get('threshold', 0.5)):g}"
    folds = record.get("folds", [])
    baseline = max(positives, n_predictions - positives) / n_predictions if n_predictions else float("nan")
    guess = f" Always predicting the more common code would give an accuracy of {number(baseline)}."
    if len(folds) > 1:
        accuracies = [float(fold["accuracy"]) for fold in folds]
        mean = sum(accuracies) / len(accuracies)
        several = f"{len(folds):,} models" if record.get("split", {}).get("options", {}).get("repeats", 1) > 1 \
            else f"{len(folds):,} folds"
        return (f"Mean accuracy across the {several} was {number(mean)} ± {number(record.get('accuracy_sd'))} (sd; "
                f"range {number(min(accuracies))}–{number(max(accuracies))}). Pooled over all {n_predictions:,} test "
                f"predictions, with a score threshold of {threshold}, {listed}.{guess}")
    return f"On the {n_predictions:,} test images, with a score threshold of {threshold}, {listed}.{guess}"


def software_sentence(record: Mapping[str, Any]) -> str:
    """Return the software versions the run was trained with."""
    versions = record.get("versions", {})
    if not versions:
        return ""
    order = [key for key in SOFTWARE_NAMES if key in versions] + sorted(set(versions) - set(SOFTWARE_NAMES))
    return "Software: " + join_words([f"{SOFTWARE_NAMES.get(key, key)} {versions[key]}" for key in order]) + "."
