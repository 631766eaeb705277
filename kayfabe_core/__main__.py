"""Command line: ``python -m kayfabe_core VERB ...`` over the same functions as the pages.

Verbs:
  demo WORKSPACE                           build the demo workspace
  ingest WORKSPACE FILE.csv [...] [--json] import PhantomBuster CSV exports
  fetch-images WORKSPACE [--json]          download each post's images once
  label WORKSPACE [--operations ...] [--rate N | --rate auto] [--yes]
                                           get Rekognition labels (shows the cost first)
  import-labels WORKSPACE PATH [--json]    import saved Rekognition responses (JSONL or folder)
  import-codes WORKSPACE FILE.csv [--coder NAME] [--json]
                                           import hand codes
  export-codes WORKSPACE FILE.csv          export every code with its history
  train (WORKSPACE | --workspace DIR | --table FILE.csv --label COL) [...] [--json]
                                           train and evaluate a model on this computer
  train WORKSPACE --backend sagemaker [--wait | --no-wait] [--region R] [--bucket B] [--prefix P]
        [--role-arn ARN] [--instance-type T] [--instance-count N] [--spot] [--max-runtime S] [--max-wait S] [--yes]
                                           train on SageMaker's built-in XGBoost (shows the cost first)
  tune (--workspace DIR | --table FILE.csv --label COL) [--folds K] [--trials N] [...] [--json]
                                           search XGBoost settings by cross-validation; the best becomes a run
  tune WORKSPACE --backend sagemaker [--max-jobs N] [--parallel-jobs M] [--tune KEY[=LOW:HIGH] ...]
        [the SageMaker options of train] [--yes] [--wait | --no-wait]
                                           a SageMaker tuning job (shows the cost first); the best job becomes a run
  predict WORKSPACE [FILE.csv ...] --out scores.csv [--run RUN_ID] [--all] [--json]
                                           score posts with a saved run
  predict WORKSPACE [FILE.csv ...] --out scores.csv --backend sagemaker [--wait | --no-wait] [--yes] [--region R]
        [--bucket B] [--role-arn ARN] [--instance-type T] [--instance-count N] [--max-runtime S] [--job NAME]
                                           score on a SageMaker batch transform (shows the cost first)
  runs WORKSPACE [--json]                  list the runs with their settings and metrics
  jobs WORKSPACE [--refresh | --stop JOB | --delete-data JOB | --resources | --trials TUNING_JOB] [--json]
                                           SageMaker training and tuning jobs: list, refresh (and save runs), stop,
                                           clean up, a tuning job's trials

A problem with the input prints one message on stderr and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kayfabe_core.cli_confirm import spending_agreed
from kayfabe_core.cli_parser import Parser
from kayfabe_core.cli_predict import add_predict_verb
from kayfabe_core.cli_progress import BAR_OPEN, bar, draw
from kayfabe_core.cli_runs import add_runs_verb
from kayfabe_core.cli_sagemaker import add_jobs_verb
from kayfabe_core.cli_train import add_train_verb
from kayfabe_core.cli_tune import add_tune_verb
from kayfabe_core.errors import InputFileError, KayfabeError, TrainingStopped
from kayfabe_core.json_text import json_text
from kayfabe_core.report_text import format_ingest_report
from kayfabe_core.wording import counted


def _cmd_demo(args: argparse.Namespace) -> int:
    from kayfabe_core.demo_workspace import build_demo_workspace

    summary = build_demo_workspace(args.workspace)
    if summary.already_there:
        print(f"The demo workspace is already in {summary.workspace}.")
    else:
        print(f"Built the demo workspace in {summary.workspace}: "
              f"{summary.import_report.posts:,} posts, {summary.pictures:,} images, "
              f"{summary.responses:,} label responses, {summary.codes:,} codes.")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from kayfabe_core.ingest import ingest_sources
    from kayfabe_core.ingest_stream import open_path
    from kayfabe_core.workspace import made_for_this

    sources = [open_path(path) for path in map(Path, args.files)]  # checked before the workspace is made
    with made_for_this(args.workspace) as workspace:  # a failed import leaves no workspace it made
        report = ingest_sources(workspace, sources)  # streamed in chunks, one transaction
    if args.json:
        print(json_text(report.to_dict(), indent=2))
    else:
        print(format_ingest_report(report))
    return 0


def _progress_printer(what: str) -> Callable[[int, int], None]:
    """Return a callback drawing a one-line text progress bar on stderr."""
    def show(done: int, total: int) -> None:
        draw(bar(what, done, total), finished=done >= total)
    return show


def _print_report(report: Any, as_json: bool, title: str) -> None:
    data = report.to_dict()
    if as_json:
        print(json_text(data, indent=2))
        return
    print(title)
    for key, value in data.items():
        shown = _shown(key, value)
        if shown:
            print(f"  {key.replace('_', ' ')}: {shown}")


def _shown(key: str, value: object) -> str:
    """A report's value as a person reads it; "" for what says nothing (an empty list, not stopped)."""
    if isinstance(value, bool):
        return "" if key == "stopped" and not value else ("yes" if value else "no")
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{name} {count:,}" if isinstance(count, int) else f"{name} {count}"
                         for name, count in value.items())
    if isinstance(value, float) and "seconds" in key:
        return f"{value:,.1f} s"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _cmd_fetch(args: argparse.Namespace) -> int:
    from kayfabe_core.fetch import FetchSettings, fetch_images
    from kayfabe_core.workspace import open_workspace

    settings = FetchSettings(allow_private=args.allow_private, workers=args.workers)
    report = fetch_images(open_workspace(args.workspace, create=False), settings,
                          progress=None if args.json else _progress_printer("Fetching images"))
    _print_report(report, args.json, "Fetched images")
    if not args.json:
        print(report.summary())
    return 0


def _cmd_label(args: argparse.Namespace) -> int:
    from kayfabe_core.rekognition import (
        FREE_TIER_NOTE,
        label_images,
        make_rekognition_client,
        plan_labeling,
    )
    from kayfabe_core.rekognition_rate import workers_for_rate
    from kayfabe_core.workspace import open_workspace

    workspace = open_workspace(args.workspace, create=False)
    plan = plan_labeling(workspace, args.operations)
    said = sys.stderr if args.json else sys.stdout  # with --json, standard output holds the JSON alone
    print(f"{plan.calls_needed:,} Rekognition calls needed ({plan.calls_skipped:,} already stored, "
          f"not repeated): about ${plan.estimated_usd:,.2f}. {FREE_TIER_NOTE}", file=said)
    if plan.calls_needed == 0:
        if args.json:
            print(json_text(plan.to_dict(), indent=2))
        return 0
    if not spending_agreed(args.yes, "Labelling",
                           "Send the images to Amazon Rekognition and pay for it? [y/N] ", said):
        return 1
    rate = _rate_from_quota(args) if args.rate == "auto" else float(args.rate)
    workers = args.workers or workers_for_rate(rate)
    client = make_rekognition_client(args.region, args.endpoint_url, workers=workers)
    report = label_images(workspace, client, args.operations, rate_per_s=rate, workers=workers,
                          progress=None if args.json else _progress_printer("Labelling"))
    _print_report(report, args.json, "Labelled images")
    report.check_answered()  # the counts, then why nothing was stored, and exit 1
    return 0


def _rate_from_quota(args: argparse.Namespace) -> float:
    from kayfabe_core.rekognition_quota import describe, read_account_quotas, safe_rate

    reading = read_account_quotas(args.operations, args.region, args.endpoint_url)
    rate = safe_rate(reading.quotas, args.operations)
    print(describe(reading, args.operations, rate))
    return rate


def _workers_arg(text: str) -> int:
    try:
        workers = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number such as 8, not {text!r}") from None
    if workers < 1:
        raise argparse.ArgumentTypeError(f"at least 1 is needed, not {workers}")
    return workers


def _rate_arg(text: str) -> float | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected calls per second (e.g. 5) or auto, not {text!r}") from None
    if rate <= 0:
        raise argparse.ArgumentTypeError("calls per second must be more than 0")
    return rate


def _cmd_import_labels(args: argparse.Namespace) -> int:
    from kayfabe_core.labels_import import import_labels
    from kayfabe_core.workspace import open_workspace

    report = import_labels(open_workspace(args.workspace, create=False), Path(args.path))
    _print_report(report, args.json, f"Imported labels from {args.path}")
    return 0


def _cmd_import_codes(args: argparse.Namespace) -> int:
    from kayfabe_core.codes_io import import_codes
    from kayfabe_core.output_files import read_input_file
    from kayfabe_core.workspace import open_workspace

    path = Path(args.file)
    report = import_codes(open_workspace(args.workspace, create=False), path.name, read_input_file(path), args.coder)
    _print_report(report, args.json, f"{'Imported codes from' if report.codes_added else 'Read'} {path.name}")
    if report.rows_read and report.unmatched_rows == report.rows_read:  # nothing in the file is in the workspace
        raise InputFileError(f"no row of {path.name} matched an image of this workspace, so no code was added.",
                             "Check that the file's sha256, image_url or postUrl come from this workspace "
                             "(export-codes writes such a file).")
    return 0


def _cmd_export_codes(args: argparse.Namespace) -> int:
    from kayfabe_core.codes_io import export_codes
    from kayfabe_core.output_files import writable_file, write_file
    from kayfabe_core.workspace import open_workspace

    workspace = open_workspace(args.workspace, create=False)
    writable_file(args.file, "codes.csv", workspace.root)
    data = export_codes(workspace)
    write_file(args.file, data, "codes.csv", workspace.root)
    rows = data.count(b"\n") - 1
    print(f"Wrote {rows:,} codes to {args.file}")
    return 0


def _cmd_clear_cache(args: argparse.Namespace) -> int:
    from kayfabe_core.feature_cache import clear_feature_cache
    from kayfabe_core.workspace import open_workspace

    workspace = open_workspace(args.workspace, create=False)
    held = any(path.is_file() for path in (workspace.root / "cache").rglob("*"))
    tables = clear_feature_cache(workspace)
    if not held:
        print(f"The cache {workspace.root / 'cache'} was already empty: nothing was deleted.")
        return 0
    print(f"Emptied {workspace.root / 'cache'}: {counted(tables, 'feature table')} and the kept feature inputs "
          "deleted. Nothing else was touched; they are built again when a training needs them.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with one sub-command per verb."""
    parser = Parser(prog="python -m kayfabe_core", description=__doc__.splitlines()[0].replace("``", ""))
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    demo = verbs.add_parser("demo", help="build the demo workspace (no AWS, no internet)")
    demo.add_argument("workspace", help="folder of the workspace to create")
    demo.set_defaults(handler=_cmd_demo)
    ingest = verbs.add_parser("ingest", help="import PhantomBuster CSV exports")
    ingest.add_argument("workspace", help="folder of the workspace (created if missing)")
    ingest.add_argument("files", nargs="+", help="one or more PhantomBuster CSV files")
    ingest.add_argument("--json", action="store_true", help="print the report as one JSON object")
    ingest.set_defaults(handler=_cmd_ingest)
    _add_label_verbs(verbs)
    add_train_verb(verbs)
    add_predict_verb(verbs)
    add_tune_verb(verbs)
    add_runs_verb(verbs)
    add_jobs_verb(verbs)
    return parser


def _add_label_verbs(verbs: Any) -> None:
    fetch = verbs.add_parser("fetch-images", help="download each post's images once")
    fetch.add_argument("workspace", help="folder of an existing workspace")
    fetch.add_argument("--workers", type=_workers_arg, default=8, help="downloads at once (default 8)")
    fetch.add_argument("--allow-private", action="store_true",
                       help="allow links to private or loopback addresses (for tests on this computer)")
    fetch.add_argument("--json", action="store_true", help="print the report as one JSON object")
    fetch.set_defaults(handler=_cmd_fetch)
    label = verbs.add_parser("label", help="get Amazon Rekognition labels (shows the cost first)")
    label.add_argument("workspace", help="folder of an existing workspace")
    label.add_argument("--operations", nargs="+", default=["DetectLabels"],
                       choices=["DetectLabels", "DetectModerationLabels", "RecognizeCelebrities"])
    label.add_argument("--rate", type=_rate_arg, default=5.0,
                       help="calls per second at most (default 5); auto: 80%% of your account's quota")
    label.add_argument("--workers", type=_workers_arg, default=None,
                       help="calls in flight (default: enough for --rate)")
    label.add_argument("--region", default=None, help="AWS region (default: from your AWS configuration)")
    label.add_argument("--endpoint-url", default=None, help=argparse.SUPPRESS)
    label.add_argument("--yes", action="store_true", help="confirm the cost estimate without asking")
    label.add_argument("--json", action="store_true", help="print the report as one JSON object")
    label.set_defaults(handler=_cmd_label)
    imported = verbs.add_parser("import-labels", help="import saved Rekognition responses")
    imported.add_argument("workspace", help="folder of an existing workspace")
    imported.add_argument("path", help="a JSON Lines file, or a folder of JSON documents")
    imported.add_argument("--json", action="store_true", help="print the report as one JSON object")
    imported.set_defaults(handler=_cmd_import_labels)
    codes_in = verbs.add_parser("import-codes", help="import hand codes from a CSV file")
    codes_in.add_argument("workspace", help="folder of an existing workspace")
    codes_in.add_argument("file", help="CSV with sha256, image_url or postUrl, and a value column: YES, NO or UNSURE "
                                       "(also y/n, 1/0, true/false, or the codebook's two names)")
    codes_in.add_argument("--coder", default=None, help="coder name for rows without a coder column")
    codes_in.add_argument("--json", action="store_true", help="print the report as one JSON object")
    codes_in.set_defaults(handler=_cmd_import_codes)
    codes_out = verbs.add_parser("export-codes", help="export every code with its history to a CSV file")
    codes_out.add_argument("workspace", help="folder of an existing workspace")
    codes_out.add_argument("file", help="the CSV file to write (codes.csv, say); not over the workspace's "
                           "database, images/ or runs/")
    codes_out.set_defaults(handler=_cmd_export_codes)
    clear = verbs.add_parser("clear-cache", help="delete the workspace's cache/ (feature tables and inputs kept "
                                                 "for training; rebuilt when needed)")
    clear.add_argument("workspace", help="folder of an existing workspace")
    clear.set_defaults(handler=_cmd_clear_cache)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 1 a problem with the input)."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    from kayfabe_core.workspace import needs_upgrade

    if getattr(args, "workspace", None) and needs_upgrade(args.workspace):
        print("Converting the workspace to this version of the app (once; about a minute for a million posts)…",
              file=sys.stderr)
    try:
        return handler(args)
    except BrokenPipeError:  # e.g. piped into `head`: the reader has what it wanted
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:  # Ctrl-C: every write is a transaction, so the step under way left nothing behind
        print(f"{chr(10) if BAR_OPEN[0] else ''}Stopped (Ctrl-C). What had finished is kept; the step under way "
              "was not saved.", file=sys.stderr)
        return 130
    except TrainingStopped as stopped:  # Ctrl-C caught by training or tuning, which stop after the current step
        print(f"{chr(10) if BAR_OPEN[0] else ''}Stopped (Ctrl-C). {stopped.message}", file=sys.stderr)
        return 130
    except KayfabeError as error:
        print(f"{chr(10) if BAR_OPEN[0] else ''}Error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"What to do: {error.hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
