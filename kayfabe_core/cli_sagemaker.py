"""SageMaker on the command line: ``train ... --backend sagemaker`` and the ``jobs`` verb.

Settings not given come from the workspace or the environment; given ones
are saved in the workspace for next time. The cost is shown first and must be
confirmed (or ``--yes``), as ``label`` does for Rekognition.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kayfabe_core.cli_confirm import spending_agreed
from kayfabe_core.cli_parser import given_options, only_with
from kayfabe_core.json_text import json_text
from kayfabe_core.wording import minute_text

if TYPE_CHECKING:  # imported when used: xgboost and the AWS SDK are slow to import
    from kayfabe_core.feature_table import FeatureTable
    from kayfabe_core.split import SplitOptions
    from kayfabe_core.train import TrainSettings
    from kayfabe_core.workspace import Workspace

SETTING_OPTIONS = {"region": "region", "bucket": "bucket", "prefix": "prefix", "role_arn": "role_arn",
                   "instance_type": "instance_type", "instance_count": "instance_count", "spot": "spot",
                   "max_runtime_s": "max_runtime", "max_wait_s": "max_wait"}


def warn_sagemaker_options_left_out(args: argparse.Namespace) -> None:
    """With ``--backend local``, say which SageMaker options were given (and so are left out) on standard error.

    The options are those :func:`add_sagemaker_arguments` registered.
    """
    given = given_options(args, "sagemaker_only")
    if given:
        print(f"Warning: {', '.join(given)} go with --backend sagemaker; this runs on this computer, so they are "
              "left out.", file=sys.stderr)


def add_sagemaker_arguments(parser: Any, also: Sequence[argparse.Action] = ()) -> None:
    """Add the SageMaker options of ``train`` (used with ``--backend sagemaker``). They and ``also`` (a verb's own
    SageMaker-only options) are named when given to a run on this computer (:func:`warn_sagemaker_options_left_out`).
    """
    group = parser.add_argument_group("SageMaker (with --backend sagemaker; saved in the workspace for next time)")
    options = list(also)

    def add(*flags: str, **settings: Any) -> None:
        options.append(group.add_argument(*flags, **settings))

    add("--wait", action=argparse.BooleanOptionalAction, default=True,
                       help="wait for the job, then evaluate and save the run (default); --no-wait returns at once")
    add("--region", default=None, help="AWS region (default: saved, $KAYFABE_SAGEMAKER_REGION, "
                                                      "$AWS_REGION or $AWS_DEFAULT_REGION)")
    add("--bucket", default=None, help="S3 bucket in that region for the data and the model")
    add("--prefix", default=None, help="S3 key prefix (default kayfabe)")
    add("--role-arn", default=None, help="IAM role SageMaker acts as")
    add("--instance-type", default=None, help="e.g. ml.m5.large (default)")
    add("--instance-count", type=int, default=None, help="instances (above 1 the data is sharded)")
    add("--spot", action=argparse.BooleanOptionalAction, default=None,
                       help="use spot capacity (cheaper, may wait)")
    add("--max-runtime", type=int, default=None, metavar="SECONDS", help="longest run (default 3600)")
    add("--max-wait", type=int, default=None, metavar="SECONDS",
                       help="with --spot: longest wait including the run (default 7200)")
    add("--yes", action="store_true", help="confirm the cost estimate without asking")
    group.add_argument("--poll-seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    only_with(parser, "sagemaker_only", options)


def run_sagemaker_train(args: argparse.Namespace, workspace: Workspace, table: FeatureTable, options: SplitOptions,
                        settings: TrainSettings, features_seconds: float) -> int:
    """Plan, confirm, launch and (with --wait) finish one SageMaker training; return the exit status."""
    from kayfabe_core.sagemaker_client import make_sagemaker_clients
    from kayfabe_core.sagemaker_launch import launch_training, plan_sagemaker_training
    from kayfabe_core.sagemaker_settings import choose_settings

    given = {name: getattr(args, option) for name, option in SETTING_OPTIONS.items()}
    chosen = choose_settings(workspace, given)
    plan = plan_sagemaker_training(table, options, settings, chosen, args.name, features_seconds)
    print(plan.describe(), file=sys.stderr)
    print(plan.cost.sentence, file=sys.stderr)
    if not spending_agreed(args.yes, "Training on SageMaker",
                           "Start the training job on SageMaker and pay for it? [y/N] "):
        return 1
    clients = make_sagemaker_clients(chosen.region)
    status = launch_training(workspace, clients, plan, confirmed=True)
    print(f"Started. {status.sentence}", file=sys.stderr)
    if not args.wait:
        return _print_started(args, workspace, status, plan.cost.to_dict())
    return _wait_and_finish(args, workspace, clients, status.job_name, list(plan.split.warnings) + list(table.notes))


def _print_started(args: argparse.Namespace, workspace: Workspace, status: Any, cost: dict[str, object]) -> int:
    if args.json:
        print(json_text({**status.to_dict(), "cost": cost}, indent=2))
    else:
        print(f"Training job {status.job_name}: {status.status}. Follow it, and save its run when it completes, "
              f"with: python -m kayfabe_core jobs {workspace.root} --refresh")
    return 0


def sentence_printer() -> Callable[[Any], None]:
    """Return a callback for waiting on a job: it prints each new status sentence once, on stderr."""
    seen: list[str] = []

    def show(status: Any) -> None:
        if status.sentence not in seen[-1:]:
            seen.append(status.sentence)
            print(status.sentence, file=sys.stderr, flush=True)

    return show


def _wait_and_finish(args: argparse.Namespace, workspace: Workspace, clients: Any, job_name: str,
                     warnings: list[str]) -> int:
    from kayfabe_core.cli_train import format_summary
    from kayfabe_core.sagemaker_finish import finish_job
    from kayfabe_core.sagemaker_jobs import wait_for_job

    try:
        wait_for_job(workspace, clients, job_name, args.poll_seconds, None if args.json else sentence_printer())
    except KeyboardInterrupt:
        print(f"\nStopped waiting; the job goes on in AWS. Save its run later with: python -m kayfabe_core jobs "
              f"{workspace.root} --refresh (or stop it with --stop {job_name}).", file=sys.stderr)
        return 130
    result = finish_job(workspace, clients, job_name)
    for warning in warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    if args.json:
        print(json_text({**result.summary_with(warnings), "job_name": job_name}, indent=2))
    else:
        print(format_summary(result.summary, result.record, workspace.runs_dir / result.run_id))
    return 0


def add_jobs_verb(verbs: Any) -> None:
    """Register ``jobs`` on the CLI's sub-parsers."""
    jobs = verbs.add_parser("jobs", help="list the SageMaker training and tuning jobs of a workspace (and refresh, "
                                         "stop, clean up)")
    jobs.add_argument("workspace", help="folder of an existing workspace")
    action = jobs.add_mutually_exclusive_group()
    action.add_argument("--refresh", action="store_true",
                        help="ask AWS how unfinished jobs stand, and save the runs of completed ones (for a tuning "
                             "job: of its best training job)")
    action.add_argument("--stop", metavar="JOB", help="stop a running training or tuning job")
    action.add_argument("--trials", metavar="TUNING_JOB", help="list a tuning job's trials as last refreshed")
    action.add_argument("--delete-data", metavar="JOB", help="delete the job's files in S3 (data, model)")
    action.add_argument("--resources", action="store_true", help="list what this workspace created in AWS")
    jobs.add_argument("--force", action="store_true", help="with --delete-data: even if its run is not saved yet")
    jobs.add_argument("--json", action="store_true", help="print JSON")
    jobs.set_defaults(handler=run_jobs_command)


def run_jobs_command(args: argparse.Namespace) -> int:
    """List, refresh, stop or clean up the workspace's SageMaker jobs; return the exit status."""
    import pandas as pd

    from kayfabe_core.cli_sagemaker_tuning import run_tuning_action
    from kayfabe_core.sagemaker_client import make_sagemaker_clients
    from kayfabe_core.sagemaker_data import DeletedData
    from kayfabe_core.sagemaker_finish import refresh_jobs
    from kayfabe_core.sagemaker_jobs import aws_resources, delete_job_data, stop_job
    from kayfabe_core.sagemaker_store import read_job
    from kayfabe_core.sagemaker_tuning_jobs import refresh_tunings, tuning_resources
    from kayfabe_core.workspace import open_workspace

    workspace = open_workspace(args.workspace, create=False)
    if args.force and not args.delete_data:
        print("Warning: --force goes with --delete-data JOB (delete a job's S3 files even if its run is not saved "
              "yet), so it is left out.", file=sys.stderr)
    if run_tuning_action(args, workspace):  # --trials, or --stop / --delete-data of a tuning job
        return 0
    if args.stop or args.delete_data:
        name = args.stop or args.delete_data
        clients = make_sagemaker_clients(str(read_job(workspace, name).detail.get("region", "")), with_logs=False)
        if args.stop:
            _print(args, stop_job(workspace, clients.sagemaker, name).to_dict(), "")
            return 0
        deleted: DeletedData = delete_job_data(workspace, clients.s3, name, force=args.force)
        _print(args, {"job_name": name, "objects": deleted.objects, "bytes": deleted.bytes},
               f"Deleted {deleted.objects:,} objects ({deleted.bytes / 1e6:,.2f} MB) of job {name} from S3.")
        return 0
    if args.resources:
        table = pd.concat([aws_resources(workspace), tuning_resources(workspace)], ignore_index=True)
        print(table.to_json(orient="records", indent=2) if args.json else _resources_text(table))
        return 0
    if args.refresh:
        refresh_tunings(workspace, make_sagemaker_clients)
        refresh_jobs(workspace, make_sagemaker_clients)
    _print_jobs(args, workspace)
    return 0


def _print(args: argparse.Namespace, data: dict[str, object], text: str) -> None:
    if args.json:
        print(json_text(data, indent=2, default=str))
    else:
        print(text or data.get("status", ""))


def _print_jobs(args: argparse.Namespace, workspace: Workspace) -> None:
    import pandas as pd

    from kayfabe_core.cli_sagemaker_tuning import print_tunings, tuning_records
    from kayfabe_core.sagemaker_jobs import list_jobs

    jobs = list_jobs(workspace)
    if args.json:
        records = [{"kind": "training", **record} for record in json.loads(jobs.to_json(orient="records"))]
        print(json_text(records + tuning_records(workspace), indent=2))
        return
    if jobs.empty:
        if not print_tunings(workspace):
            print("No SageMaker jobs yet: start one with `python -m kayfabe_core train WORKSPACE --backend "
                  "sagemaker` (or `tune WORKSPACE --backend sagemaker`).")
        return
    print(f"{'job':<30} {'started (UTC)':<17} {'state':<11} {'instances':<18} {'billed':>8} {'run':<26} note")
    for row in jobs.itertuples():
        billed = f"{row.billable_seconds:,.0f} s" if pd.notna(row.billable_seconds) else ""
        machines = f"{row.instance_count} × {row.instance_type}"
        note = row.problem or row.failure_reason or ("data deleted" if row.data_deleted else "")
        run_id = row.run_id if isinstance(row.run_id, str) else ""
        print(f"{row.job_name:<30} {minute_text(row.created_at):<17} {row.state:<11} {machines:<18} "
              f"{billed:>8} {run_id:<26} {note}")
    print_tunings(workspace)


def _resources_text(table: Any) -> str:
    if table.empty:
        return "This workspace has created nothing in AWS. (The app never creates endpoints.)"
    lines = [f"{row.kind:<13} {row.state:<11} {row.region:<12} {row.name}  — costs {row.costs}"
             for row in table.itertuples()]
    return "\n".join([*lines, "No endpoints: the app never creates any."])
