"""Command line: ``python -m kayfabe_core VERB ...`` over the same functions as the pages.

Verbs:
  demo WORKSPACE                           build the demo workspace
  ingest WORKSPACE FILE.csv [...] [--json] import PhantomBuster CSV exports

A problem with the input prints one message on stderr and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from kayfabe_core.errors import InputFileError, KayfabeError
from kayfabe_core.report_text import format_ingest_report


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
    from kayfabe_core.ingest import ingest_files
    from kayfabe_core.workspace import open_workspace

    files = [(path.name, _read_file(path)) for path in map(Path, args.files)]
    report = ingest_files(open_workspace(args.workspace), files)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(format_ingest_report(report))
    return 0


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputFileError(f"The file {path} does not exist.", "Check the path and try again.") from exc
    except IsADirectoryError as exc:
        raise InputFileError(f"{path} is a folder, not a CSV file.", "Give the path of a .csv file.") from exc


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with one sub-command per verb."""
    parser = argparse.ArgumentParser(prog="python -m kayfabe_core", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    demo = verbs.add_parser("demo", help="build the demo workspace (no AWS, no internet)")
    demo.add_argument("workspace", help="folder of the workspace to create")
    demo.set_defaults(handler=_cmd_demo)
    ingest = verbs.add_parser("ingest", help="import PhantomBuster CSV exports")
    ingest.add_argument("workspace", help="folder of the workspace (created if missing)")
    ingest.add_argument("files", nargs="+", help="one or more PhantomBuster CSV files")
    ingest.add_argument("--json", action="store_true", help="print the report as one JSON object")
    ingest.set_defaults(handler=_cmd_ingest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 1 a problem with the input)."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KayfabeError as error:
        print(f"Error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"What to do: {error.hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
