"""The ``tune`` verb of the command line: the same search the Runs page's tuning tab runs, on this computer
or (``--backend sagemaker``) as a SageMaker hyperparameter tuning job."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kayfabe_core.cli_parser import only_with
from kayfabe_core.cli_progress import draw
from kayfabe_core.cli_sagemaker import add_sagemaker_arguments, warn_sagemaker_options_left_out
from kayfabe_core.cli_train import add_data_arguments, given_settings, load_table, resolve_workspace_argument
from kayfabe_core.constraints import SPLIT_KNOBS
from kayfabe_core.errors import SettingError
from kayfabe_core.feature_table import drop_features
from kayfabe_core.json_text import json_text
from kayfabe_core.split import METHODS, SplitOptions


def add_tune_verb(verbs: Any) -> None:
    """Register ``tune`` on the CLI's sub-parsers."""
    knobs = {knob.key: knob for knob in SPLIT_KNOBS}
    seed = int(knobs["seed"].default)
    tune = verbs.add_parser("tune", help="search XGBoost settings (on this computer, or on SageMaker)",
                            description="Search XGBoost settings with Optuna: every trial is scored by the same "
                                        "cross-validation, trial 0 is the starting preset, every trial is kept in "
                                        "the workspace, and the best settings are saved as a run. With --backend "
                                        "sagemaker a SageMaker tuning job searches instead (one split, the "
                                        "validation log loss chooses), and its best training job becomes a run.")
    add_data_arguments(tune, "tune", positional=True)
    tune.add_argument("--backend", choices=["local", "sagemaker"], default="local",
                      help="where to tune: local (this computer, default) or sagemaker (AWS, costs money)")
    tune.add_argument("--split", choices=[name for name in METHODS if name != "time"], default=None,
                      help="grouped (default with a workspace or --group-by), stratified or random")
    local_only = [  # named as left out when given with --backend sagemaker
        tune.add_argument("--folds", type=int, default=5,
                          help="cross-validation folds every trial shares (default 5)"),
        tune.add_argument("--trials", type=int, default=30,
                          help="settings to try, the starting preset (trial 0) included (default 30)"),
        tune.add_argument("--timeout", type=float, default=None, metavar="S",
                          help="start no new trial after S seconds")]
    only_with(tune, "local_only", local_only)
    tune.add_argument("--seed", type=int, default=seed, help="seeds the folds, the models and the search")
    tune.add_argument("--vary", "--tune", dest="vary", action="extend", nargs="+", default=None,
                      metavar="KEY[=LOW:HIGH]",
                      help="settings to search, with their range (default: eta max_depth min_child_weight "
                           "subsample colsample_bytree gamma, over the usual ranges)")
    tune.add_argument("--preset", default=None,
                      help="the start: defaults, original-2021 (the default), quick or careful")
    tune.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                      help="a setting fixed for the start and every trial, e.g. num_boost_round=200 (repeatable)")
    tune.add_argument("--rounds", type=int, default=None,
                      help="boosting rounds for every trial (default: the preset's)")
    tune.add_argument("--save-in", default=None,
                      help="with --table: workspace to keep the trials and the run in "
                           "(default: $KAYFABE_WORKSPACE or ./workspace)")
    tune.add_argument("--name", default="", help="a name for the best run")
    tune.add_argument("--json", action="store_true", help="print the result as one JSON object")
    cloud = tune.add_argument_group("SageMaker tuning (with --backend sagemaker)")
    cloud_only = [
        cloud.add_argument("--max-jobs", type=int, default=10, help="training jobs in all (default 10)"),
        cloud.add_argument("--parallel-jobs", type=int, default=2, help="training jobs at once (default 2)"),
        cloud.add_argument("--test-size", type=float, default=knobs["test_size"].default,
                           help=f"share of the images held out for the test (default {knobs['test_size'].default:g})")]
    add_sagemaker_arguments(tune, also=cloud_only)
    tune.set_defaults(handler=run_tune_command)


def run_tune_command(args: argparse.Namespace) -> int:
    """Build the features, tune, print the best settings against the start; return the exit status."""
    from kayfabe_core.workspace import default_workspace_path, made_for_this, open_workspace

    resolve_workspace_argument(args)
    started = time.perf_counter()
    table = load_table(args)
    if args.drop and args.workspace:
        table = drop_features(table, args.drop)
    if args.workspace:
        return _tune_in(args, open_workspace(args.workspace, create=False), table, started)
    with made_for_this(args.save_in or default_workspace_path()) as workspace:  # a failed tuning leaves none made
        return _tune_in(args, workspace, table, started)


def _tune_in(args: argparse.Namespace, workspace: Any, table: Any, started: float) -> int:
    """Tune in ``workspace`` (the CLI's options in ``args``), print the best against the start; return the exit
    status."""
    from kayfabe_core.constraints import DEFAULT_PRESET
    from kayfabe_core.tune import DEFAULT_VARIED, TuneOptions, parse_range, tune

    fixed = given_settings(args)
    knobs = dict(parse_range(text) for text in (args.vary or DEFAULT_VARIED))
    both = [key for key in knobs if key in fixed]
    if both:
        raise SettingError(f"{', '.join(both)} {'is' if len(both) == 1 else 'are'} both fixed (--param) and searched "
                           "(--vary).", "Fix a setting with --param, or search it with --vary, not both.")
    if args.backend == "sagemaker":
        from kayfabe_core.cli_sagemaker_tuning import run_sagemaker_tune

        return run_sagemaker_tune(args, workspace, table, knobs, fixed, time.perf_counter() - started)
    warn_sagemaker_options_left_out(args)
    options = TuneOptions(knobs, args.trials, args.timeout, args.folds, args.seed,
                          args.preset or DEFAULT_PRESET, fixed)
    group_by = tuple(name.strip() for text in args.group_by for name in text.split(",") if name.strip())
    method = args.split or ("grouped" if args.workspace or group_by else "stratified")
    split_options = SplitOptions(method, folds=args.folds, seed=args.seed, group_by=group_by)
    stop = threading.Event()
    with _stop_on_interrupt(stop):
        result = tune(workspace, table, split_options, options, args.name,
                      None if args.json else _trial_printer(), stop)
    warnings = list(result.warnings) + list(table.notes)
    if method != "grouped" and not group_by and not args.workspace:
        warnings.insert(0, "No --group-by given: images of one post may sit on both sides of a fold.")
    for warning in warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    if result.message:
        print(result.message, file=sys.stderr)
    if args.json:
        print(json_text(result.summary_with(warnings), indent=2))
    else:
        print(format_tuning(result, workspace.runs_dir))
    return 130 if result.stopped else 0  # stopped by Ctrl-C: the trials done are kept and shown, but not all ran


@contextmanager
def _stop_on_interrupt(stop: threading.Event) -> Iterator[None]:
    """Let Ctrl+C stop tuning cleanly (the trials done are kept) instead of killing it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(signum: int, frame: object) -> None:
        print("\nStopping after the current fold (the trials done are kept)…", file=sys.stderr, flush=True)
        stop.set()

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _trial_printer() -> Any:
    last = [0.0]

    def show(report: Any) -> None:
        now = time.perf_counter()
        if report.fold < report.folds:
            if now - last[0] > 0.5:
                last[0] = now
                draw(f"Trial {report.trial} ({report.trial + 1}/{report.trials}): fold {report.fold + 1}/"
                     f"{report.folds}…", finished=False)
            return
        record, best = report.finished[-1], report.best
        draw(f"Trial {record.number} ({record.number + 1}/{report.trials}): accuracy {record.accuracy:.3f} "
             f"(sd {record.sd:.3f}){' (the start)' if record.number == 0 else ''}; best so far "
             f"{best.accuracy:.3f} (trial {best.number})", finished=True)
    return show


def format_tuning(result: Any, runs_dir: Any, top: int = 10) -> str:
    """Return the tuning's outcome as lines a person reads: start vs best, the top trials, how to reuse."""
    import pandas as pd

    trials = result.trials
    complete = trials[trials["state"] == "complete"]
    folds = f"folds grouped by {result.grouped_by}" if result.grouped_by else "stratified folds"
    lines = [f"Tuned {len(complete)} trials in {result.seconds:.1f} s ({folds}); mean accuracy over the folds:",
             f"  {'start (trial 0)':<18}{result.baseline_score:.3f} (sd {result.baseline_sd:.3f})",
             f"  {f'best (trial {result.best_trial})':<18}{result.best_score:.3f} (sd {result.best_score_sd:.3f})",
             f"  Top {min(top, len(complete))} trials:"]
    shown = complete.sort_values(["accuracy", "number"], ascending=[False, True]).head(top)
    params = pd.DataFrame(list(shown["params"]), index=shown.index)
    frame = pd.concat([shown[["number", "accuracy", "sd", "seconds"]], params], axis=1)
    lines += ["    " + line for line in frame.to_string(index=False, float_format=lambda v: f"{v:.3g}").splitlines()]
    if result.run_id:
        lines.append(f"Saved the best as run {result.run_id} in {runs_dir / result.run_id}.")
    if result.best_run:  # what the saved run's models learned, and that a tuner chose them (as train says it)
        lines += [f"  Warning: {warning}" for warning in result.best_run.model_warnings]
    lines.append(f"Every trial is kept in the workspace as tuning {result.job_id}.")
    lines.append("Use: " + " ".join(f"--param {key}={value:g}" for key, value in result.best_params.items()))
    return "\n".join(lines)
