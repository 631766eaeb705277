"""The ``runs`` verb of the command line: the Runs page's table."""

from __future__ import annotations

import argparse
from typing import Any


def add_runs_verb(verbs: Any) -> None:
    """Register ``runs`` on the CLI's sub-parsers."""
    runs = verbs.add_parser("runs", help="list the runs of a workspace")
    runs.add_argument("workspace", help="folder of an existing workspace")
    runs.add_argument("--json", action="store_true", help="print one JSON list of runs")
    runs.set_defaults(handler=run_runs_command)


def run_runs_command(args: argparse.Namespace) -> int:
    """Print the runs, newest first; return the exit status."""
    from kayfabe_core.runs import list_runs
    from kayfabe_core.wording import minute_text
    from kayfabe_core.workspace import open_workspace

    runs = list_runs(open_workspace(args.workspace, create=False))
    if args.json:
        print(runs.to_json(orient="records", indent=2))
        return 0
    if runs.empty:
        print("No runs yet: train one with `python -m kayfabe_core train --workspace DIR`.")
        return 0
    split = max(5, int(runs["split"].astype(str).str.len().max()))  # whole, however long ("× 5 repeats")
    print(f"{'run id':<26} {'trained (UTC)':<17} {'split':<{split}} {'depth':>5} {'eta':>7} {'rounds':>6} "
          f"{'accuracy':>8} {'95 % interval':>14} {'where':<9} name")
    for row in runs.itertuples():
        interval = f"{row.accuracy_low:.3f}–{row.accuracy_high:.3f}" if row.accuracy_low is not None else ""
        print(f"{row.run_id:<26} {minute_text(row.created_at):<17} {row.split!s:<{split}} "
              f"{row.max_depth!s:>5} {float(row.eta):>7.4g} {row.num_boost_round!s:>6} {row.accuracy:>8.3f} "
              f"{interval:>14} {row.backend:<9} {row.name}")
    return 0

