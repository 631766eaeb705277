"""The ``predict`` verb of the command line: the same scoring the Predict page does."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kayfabe_core.errors import InputFileError


def add_predict_verb(verbs: Any) -> None:
    """Register ``predict`` on the CLI's sub-parsers."""
    predict = verbs.add_parser("predict", help="score posts with a saved run")
    predict.add_argument("workspace")
    predict.add_argument("files", nargs="*", help="PhantomBuster CSV exports to import and score "
                                                  "(default: the workspace's posts with no coded image)")
    predict.add_argument("--run", default=None, help="run id (default: the newest run trained on the workspace)")
    predict.add_argument("--all", action="store_true", help="score every post of the workspace")
    predict.add_argument("--out", required=True, help="CSV file to write the scores to")
    predict.add_argument("--json", action="store_true", help="print the report as one JSON object")
    predict.set_defaults(handler=run_predict_command)


def run_predict_command(args: argparse.Namespace) -> int:
    """Choose the posts, score them in chunks, write the CSV; return the exit status."""
    from kayfabe_core.predict import all_posts, import_posts, predict_posts, uncoded_posts
    from kayfabe_core.scoring import latest_workspace_run
    from kayfabe_core.workspace import open_workspace

    workspace = open_workspace(args.workspace, create=False)
    run_id = args.run or latest_workspace_run(workspace)
    if args.files:
        files = [(Path(path).name, _read(Path(path))) for path in args.files]
        _, posts = import_posts(workspace, files)
    else:
        posts = all_posts(workspace) if args.all else uncoded_posts(workspace)
    table, report = predict_posts(workspace, run_id, posts, None if args.json else _printer())
    table.to_csv(args.out, index=False)
    data = {"run_id": run_id, "out": str(args.out), **report.to_dict()}
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(f"Scored {report.scored:,} of {report.images:,} images of {len(set(posts)):,} posts with run {run_id} "
              f"(threshold {report.threshold:.2f}); wrote {args.out}.")
        if report.not_fetched:
            print(f"  {report.not_fetched:,} images are not fetched yet: run fetch-images first.")
        for operation, count in report.missing_responses.items():
            print(f"  {count:,} images have no {operation} response and were left out: run label first.")
    return 0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise InputFileError(f"The file {path} cannot be read.", "Check the path and try again.") from None


def _printer() -> Any:
    def show(done: int, total: int) -> None:
        filled = int(30 * done / max(total, 1))
        print(f"\rScoring [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}",
              end="\n" if done >= total else "", file=sys.stderr, flush=True)
    return show
