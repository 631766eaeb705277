"""The ``train`` verb of the command line: the same experiment the Train page runs."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

from kayfabe_core.cli_parser import given_options, only_with
from kayfabe_core.cli_progress import draw
from kayfabe_core.cli_sagemaker import add_sagemaker_arguments, run_sagemaker_train, warn_sagemaker_options_left_out
from kayfabe_core.constraints import FEATURE_KNOBS, SPLIT_KNOBS, parse_param
from kayfabe_core.errors import InputFileError, SettingError
from kayfabe_core.feature_table import FeatureTable, drop_features
from kayfabe_core.json_text import json_text
from kayfabe_core.split import METHODS, SplitOptions


def add_train_verb(verbs: Any) -> None:
    """Register ``train`` on the CLI's sub-parsers."""
    knobs = {knob.key: knob for knob in SPLIT_KNOBS}
    train = verbs.add_parser("train", help="train and evaluate a model (on this computer, or on SageMaker)")
    add_data_arguments(train, "train", positional=True)
    train.add_argument("--backend", choices=["local", "sagemaker"], default="local",
                       help="where to train: local (this computer, default) or sagemaker (AWS, costs money)")
    train.add_argument("--split", choices=list(METHODS), default=None,
                       help="grouped (default with a workspace or --group-by), stratified, random or time")
    train.add_argument("--test-size", type=float, default=knobs["test_size"].default,
                       help=f"share of images held back for testing, {knobs['test_size'].low:g} to "
                            f"{knobs['test_size'].high:g} (default {knobs['test_size'].default:g}; not with --folds)")
    train.add_argument("--folds", type=int, default=0, help="k-fold cross-validation (0 = one split)")
    train.add_argument("--repeats", type=int, default=1, help="do the whole split again this many times, with "
                       "other random draws, to see how much the score moves (default 1)")
    train.add_argument("--seed", type=int, default=int(knobs["seed"].default),
                       help=f"seeds the split and the model: the same seed gives the same run (default "
                            f"{int(knobs['seed'].default)})")
    train.add_argument("--rounds", type=int, default=None, help="boosting rounds (default from the preset)")
    train.add_argument("--preset", default=None,
                       help="defaults, original-2021 (the default), quick or careful")
    train.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                       help="an XGBoost setting, e.g. max_depth=4 (repeatable)")
    train.add_argument("--save-in", default=None,
                       help="with --table: workspace to save the run in (default: $KAYFABE_WORKSPACE or ./workspace)")
    train.add_argument("--name", default="", help="a name for the run")
    train.add_argument("--json", action="store_true", help="print the result as one JSON object")
    add_sagemaker_arguments(train)
    train.set_defaults(handler=run_train_command)


def add_data_arguments(parser: Any, verb: str, positional: bool = False) -> None:
    """Add the options saying what to learn from (a workspace and its feature options, or a table).

    With ``positional`` the workspace may also be given as the first argument
    (``train WORKSPACE``); :func:`resolve_workspace_argument` then checks that one source was given.
    """
    if positional:
        parser.add_argument("workspace_dir", nargs="?", metavar="WORKSPACE",
                            help=f"{verb} on the coded images of this workspace (same as --workspace)")
    source = parser.add_mutually_exclusive_group(required=not positional)
    source.add_argument("--workspace", help=f"{verb} on the coded images of this workspace")
    source.add_argument("--table", help=f"{verb} on a ready-made feature table (CSV, one row per image)")
    parser.add_argument("--label", help="with --table: the column holding the code")
    parser.add_argument("--positive", help="with --table: the value meaning YES (default 1, yes or true)")
    parser.add_argument("--drop", nargs="+", default=[], metavar="COL", help="columns (or features) to leave out")
    parser.add_argument("--group-by", nargs="+", default=[], metavar="COL,COL",
                        help="columns that together identify a post (images with equal values stay together)")
    feature_knobs = {knob.key: knob for knob in FEATURE_KNOBS}
    workspace_only = [  # named as left out when given with --table
        parser.add_argument("--threshold", type=float, default=feature_knobs["label_threshold"].default,
                            help="with --workspace: label confidence cut"),
        parser.add_argument("--min-images", type=int, default=int(feature_knobs["min_images"].default),
                            help="with --workspace: drop rarer labels"),
        parser.add_argument("--no-parents", action="store_true", help="with --workspace: keep only specific labels"),
        parser.add_argument("--metadata", action="store_true", help="with --workspace: add likes, type, time"),
        parser.add_argument("--caption", action="store_true", help="with --workspace: add caption words")]
    only_with(parser, "workspace_only", workspace_only)


def run_train_command(args: argparse.Namespace) -> int:
    """Build the features, run the experiment, print the summary; return the exit status."""
    from kayfabe_core.workspace import default_workspace_path, made_for_this, open_workspace

    resolve_workspace_argument(args)
    started = time.perf_counter()
    table = load_table(args)
    if args.drop and args.workspace:
        table = drop_features(table, args.drop)
    features_seconds = time.perf_counter() - started
    if args.workspace:
        return _train_in(args, open_workspace(args.workspace, create=False), table, features_seconds)
    with made_for_this(args.save_in or default_workspace_path()) as workspace:  # a failed run leaves none made
        return _train_in(args, workspace, table, features_seconds)


def _train_in(args: argparse.Namespace, workspace: Any, table: FeatureTable, features_seconds: float) -> int:
    """Split, train, evaluate and save the run in ``workspace``; print the summary; return the exit status."""
    from kayfabe_core.capacity import estimate_local
    from kayfabe_core.experiment import run_experiment
    from kayfabe_core.train import TrainSettings

    settings = TrainSettings.from_choices(args.preset, given_settings(args))
    group_by = tuple(name.strip() for text in args.group_by for name in text.split(",") if name.strip())
    method = args.split or ("grouped" if args.workspace or group_by else "stratified")
    options = SplitOptions(method, args.test_size, args.folds, args.repeats, args.seed, group_by)
    warn_split_options_left_out(args)
    if args.backend == "sagemaker":
        return run_sagemaker_train(args, workspace, table, options, settings, features_seconds)
    warn_sagemaker_options_left_out(args)
    estimate = estimate_local(table, options, settings.rounds, workspace)
    if estimate.too_big:
        print(f"Warning: {estimate.advice(command_line=True)}", file=sys.stderr)
    progress = None if args.json else _round_printer()
    result = run_experiment(workspace, table, options, settings, args.name, progress,
                            features_seconds=features_seconds)
    warnings = list(result.record["split"]["warnings"]) + list(table.notes)  # type: ignore[index]
    if method in ("stratified", "random") and not group_by and not args.workspace:  # time: one time, one side
        warnings.insert(0, "No --group-by given: images of one post may sit on both sides of this row split.")
    for warning in warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    if args.json:
        print(json_text(result.summary_with(warnings), indent=2))
    else:
        print(format_summary(result.summary, result.record, workspace.runs_dir / result.run_id))
    return 0


def resolve_workspace_argument(args: argparse.Namespace) -> None:
    """Move a workspace given as the first argument to ``args.workspace``; raise :class:`InputFileError` when
    none or two sources of data were given."""
    given = getattr(args, "workspace_dir", None)
    if given and (args.workspace or args.table):
        raise InputFileError(f"Two sources of data were given: {given} and "
                             f"{args.workspace or args.table}.", "Give a workspace or --table, once.")
    args.workspace = args.workspace or given
    if not args.workspace and not args.table:
        raise InputFileError("Nothing to train on was given.",
                             "Name a workspace (train WORKSPACE, or --workspace DIR) or a table (--table FILE.csv).")
    if args.workspace and (args.label or args.positive):
        print("Warning: --label and --positive go with --table; a workspace's codes and category come from its "
              "Code page, so they are left out.", file=sys.stderr)
    given = given_options(args, "workspace_only")
    if args.table and given:
        print(f"Warning: {', '.join(given)} build features from a workspace's labels; a table brings its own "
              "features, so they are left out.", file=sys.stderr)


def given_settings(args: argparse.Namespace) -> dict[str, object]:
    """Return the XGBoost settings given with --param (and --rounds); raise :class:`SettingError` when one is
    given twice with different values (the last one silently won before)."""
    settings: dict[str, object] = {}
    pairs = [parse_param(text) for text in args.param]
    if args.rounds is not None:
        pairs.append(("num_boost_round", str(args.rounds)))
    for key, value in pairs:
        if key in settings and settings[key] != value:
            raise SettingError(f"The setting {key} was given twice: {settings[key]} and {value}.",
                               "Give each setting once (--rounds sets num_boost_round).")
        settings[key] = value
    return settings


def warn_split_options_left_out(args: argparse.Namespace) -> None:
    """Name the options that the other choices make unused (they were silently ignored)."""
    if args.folds and args.test_size != SplitOptions().test_size:
        print("Warning: --test-size is not used with --folds: each fold is the test set once (a fold's share is "
              "one over the number of folds), so it is left out.", file=sys.stderr)
    if args.workspace and args.save_in:
        print(f"Warning: --save-in goes with --table; a run trained on a workspace is saved in it ({args.workspace}), "
              "so it is left out.", file=sys.stderr)


def load_table(args: argparse.Namespace) -> FeatureTable:
    """Return the feature table the options of :func:`add_data_arguments` name (raises KayfabeError)."""
    if args.workspace:
        from kayfabe_core.feature_cache import load_features
        from kayfabe_core.features import FeatureOptions
        from kayfabe_core.workspace import open_workspace

        options = FeatureOptions(label_threshold=args.threshold, moderation_threshold=args.threshold,
                                 celebrity_threshold=args.threshold, include_parents=not args.no_parents,
                                 min_images=args.min_images, metadata=args.metadata, caption=args.caption)
        return load_features(open_workspace(args.workspace, create=False), options)[0]
    from kayfabe_core.tables import read_feature_table

    if not args.label:
        raise InputFileError("--table needs --label: the column that holds the code.",
                             "For the original study's table: --label kayfabe")
    path = Path(args.table).expanduser()
    if not path.exists():
        raise InputFileError(f"The file {path} does not exist.", "Check the path and try again.")
    if path.is_dir():
        raise InputFileError(f"{path} is a folder, not a table.", "Give the CSV file inside it, e.g. "
                             f"{path / 'features.csv'}.")
    try:
        data = path.read_bytes()
    except OSError:
        raise InputFileError(f"The file {path} cannot be read.", "Check the path and try again.") from None
    return read_feature_table(data, path.name, args.label, args.positive, args.drop)


def _round_printer() -> Any:
    last = [0.0]

    def show(report: Any) -> None:
        now = time.perf_counter()
        if report.round == report.rounds or now - last[0] > 0.2:
            last[0] = now
            draw(f"Training fold {report.fold_index + 1}/{report.n_folds}: round {report.round}/{report.rounds}, "
                 f"loss {report.train_loss:.3f} (training) {report.check_loss:.3f} ({report.check_name})",
                 finished=report.round == report.rounds)
    return show


def format_summary(summary: dict[str, Any], record: dict[str, Any], folder: Path) -> str:
    """Return the result as a few lines a person reads."""
    data = record["data"]
    confusion = summary["confusion"]
    first = " in the first split" if summary.get("folds", 1) > 1 else ""
    lines = [f"Run {summary['run_id']}: {summary['n_train']:,} training images, {summary['n_test']:,} test images"
             f"{first}, {data['n_features']:,} features, {summary['seconds']:.1f} s."]
    positive, negative = data["positive_name"], data["negative_name"]
    undefined = {"precision": f"no test image was predicted {positive}",
                 "recall": f"no test image is coded {positive}"}
    for name, title in (("accuracy", "Accuracy"), ("precision", "Precision"), ("recall", "Recall"),
                        ("f1", "F1"), ("roc_auc", "ROC AUC")):
        low, high = summary[f"{name}_ci"]
        if math.isnan(summary[name]):
            lines.append(f"  {title:<10} —       (not defined: {undefined.get(name, 'for these predictions')})")
            continue
        interval = f"{low:.3f}–{high:.3f}" if not (math.isnan(low) or math.isnan(high)) else "not defined"
        lines.append(f"  {title:<10} {summary[name]:.3f}   (95 % interval {interval})")
    lines += [f"  Warning: {warning}" for warning in summary.get("warnings", [])]
    if "accuracy_sd" in summary:
        lines.append(f"  Accuracy over {summary['folds']} training/test splits: mean {summary['accuracy']:.3f}, "
                     f"standard deviation {summary['accuracy_sd']:.3f}")
    width = max(16, len(positive) + 2, len(negative) + 2)  # whole names: "food = NOT FOOD" was cut
    every = ", every split's test predictions" if first else ""
    lines += [f"  Confusion (rows observed, columns predicted{every}):",
              f"    {'':<{width}}{negative:>{width}}{positive:>{width}}",
              f"    {negative:<{width}}{confusion['tn']:>{width},}{confusion['fp']:>{width},}",
              f"    {positive:<{width}}{confusion['fn']:>{width},}{confusion['tp']:>{width},}",
              f"Saved in {folder}"]
    return "\n".join(lines)
