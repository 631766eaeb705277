"""The ``predict`` verb of the command line: the same scoring the Predict page does."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kayfabe_core.cli_parser import Parser
from kayfabe_core.cli_progress import bar, draw
from kayfabe_core.cli_transform import add_transform_arguments, collect_transform, run_transform
from kayfabe_core.json_text import json_text
from kayfabe_core.output_files import read_input_file, writable_file, write_file
from kayfabe_core.wording import counted_are


def add_predict_verb(verbs: Any) -> None:
    """Register ``predict`` on the CLI's sub-parsers."""
    predict = verbs.add_parser("predict", help="score posts with a saved run")
    predict.__class__ = _IntermixedParser  # FILE.csv may follow the options: predict WS --run R new.csv --out s.csv
    predict.add_argument("workspace", help="folder of an existing workspace")
    predict.add_argument("files", nargs="*", help="PhantomBuster CSV exports to import and score "
                                                  "(default: the workspace's posts with no coded image)")
    predict.add_argument("--run", default=None, help="run id (default: the newest run trained on the workspace)")
    predict.add_argument("--all", action="store_true", help="score every post of the workspace")
    predict.add_argument("--out", required=True, help="CSV file to write the scores to")
    predict.add_argument("--json", action="store_true", help="print the report as one JSON object")
    predict.add_argument("--backend", choices=["local", "sagemaker"], default="local",
                         help="where to score: local (this computer, default) or sagemaker (a batch transform on "
                              "AWS for very large jobs; costs money)")
    add_transform_arguments(predict)
    predict.set_defaults(handler=run_predict_command)


class _IntermixedParser(Parser):
    """A sub-parser whose positional arguments may come between and after its options.

    argparse alone takes all positionals from the first run of them, so in
    ``predict WS --run R new.csv`` the file would be refused as unrecognized.
    """

    _inner = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._inner:  # parse_known_intermixed_args calls this method twice itself
            return super().parse_known_args(args, namespace)
        self._inner = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inner = False


def run_predict_command(args: argparse.Namespace) -> int:
    """Choose the posts, score them (here in chunks, or on SageMaker), write the CSV; return the exit status."""
    from kayfabe_core.predict import all_posts, import_posts, predict_posts, scoring_run, uncoded_posts
    from kayfabe_core.scoring import latest_workspace_run
    from kayfabe_core.workspace import open_workspace

    workspace = open_workspace(args.workspace, create=False)
    writable_file(args.out, workspace=workspace.root, inputs=args.files)  # before any scoring: no wasted work
    if args.job:  # a batch transform started before: only its scores are left to collect
        return collect_transform(args, workspace, args.job)
    run_id = args.run or latest_workspace_run(workspace)
    scoring_run(workspace, run_id)  # before importing the posts: a refused run leaves the workspace as it was
    if args.files:
        files = [(Path(path).name, read_input_file(Path(path))) for path in args.files]
        _, posts = import_posts(workspace, files)
    else:
        posts = all_posts(workspace) if args.all else uncoded_posts(workspace)
    if args.backend == "sagemaker":
        return run_transform(args, workspace, run_id, posts)
    table, report = predict_posts(workspace, run_id, posts, None if args.json else _printer())
    print_scores(args, run_id, table, report, len(set(posts)))
    return 0


def print_scores(args: argparse.Namespace, run_id: str, table: Any, report: Any, n_posts: int | None,
                 extra: dict[str, object] | None = None) -> None:
    """Write ``table`` to ``--out`` and say what was scored (one JSON object with ``--json``)."""
    write_file(args.out, table.to_csv(index=False).encode("utf-8"), workspace=Path(args.workspace),
               inputs=getattr(args, "files", None) or ())
    data = {"run_id": run_id, "out": str(args.out), **report.to_dict(), **(extra or {})}
    if args.json:
        print(json_text(data, indent=2))
        return
    posts = f" of {n_posts:,} posts" if n_posts is not None else ""
    print(f"Scored {report.scored:,} of {report.images:,} images{posts} with run {run_id} "
          f"(threshold {report.threshold:.2f}); wrote {args.out}.")
    if not n_posts and not getattr(args, "files", None) and not getattr(args, "all", False):
        print("  Every post of the workspace has a coded image, so none was left to score: add --all to score "
              "them all, or give new PhantomBuster exports to score.")
    if report.not_fetched:
        print(f"  {counted_are(report.not_fetched, 'image')} not fetched yet: run fetch-images first.")
    for operation, count in report.missing_responses.items():
        print(f"  {count:,} images have no {operation} response and were left out: run label first.")


def _printer() -> Any:
    def show(done: int, total: int) -> None:
        draw(bar("Scoring", done, total), finished=done >= total)
    return show
