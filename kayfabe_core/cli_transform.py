"""``predict ... --backend sagemaker``: score on a SageMaker batch transform, with the cost shown first.

Settings not given come from the workspace or the environment, as for
training on SageMaker; given ones are saved for next time. With ``--no-wait``
the command returns once the transform has started; ``--job NAME`` collects
its scores later into the same CSV the local scoring writes.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from kayfabe_core.cli_confirm import spending_agreed

if TYPE_CHECKING:  # imported when used: xgboost and the AWS SDK are slow to import
    from kayfabe_core.workspace import Workspace

SETTING_OPTIONS = {"region": "region", "bucket": "bucket", "prefix": "prefix", "role_arn": "role_arn",
                   "instance_type": "instance_type", "instance_count": "instance_count",
                   "max_runtime_s": "max_runtime"}
LIMIT_NOTE = ("A batch transform has no time limit of its own: while the app waits for it, it stops the transform "
              "after the longest run (--max-runtime).")


def add_transform_arguments(parser: Any) -> None:
    """Add the SageMaker batch transform options of ``predict`` (used with ``--backend sagemaker``)."""
    group = parser.add_argument_group("SageMaker batch transform (with --backend sagemaker; settings are saved in "
                                      "the workspace for next time)")
    group.add_argument("--job", default=None, metavar="NAME",
                       help="collect the scores of a batch transform started before with --no-wait")
    group.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True,
                       help="wait for the transform and write the scores (default); --no-wait returns at once")
    group.add_argument("--yes", action="store_true", help="confirm the cost estimate without asking")
    group.add_argument("--region", default=None, help="AWS region (default: saved, $KAYFABE_SAGEMAKER_REGION, "
                                                      "$AWS_REGION or $AWS_DEFAULT_REGION)")
    group.add_argument("--bucket", default=None, help="S3 bucket in that region for the data and the model")
    group.add_argument("--prefix", default=None, help="S3 key prefix (default kayfabe)")
    group.add_argument("--role-arn", default=None, help="IAM role SageMaker acts as")
    group.add_argument("--instance-type", default=None, help="e.g. ml.m5.large (default)")
    group.add_argument("--instance-count", type=int, default=None, help="instances sharing the files")
    group.add_argument("--max-runtime", type=int, default=None, metavar="SECONDS",
                       help="longest run before the app stops the transform (default 3600)")
    group.add_argument("--poll-seconds", type=float, default=30.0, help=argparse.SUPPRESS)


def run_transform(args: argparse.Namespace, workspace: Workspace, run_id: str, posts: list[str]) -> int:
    """Plan, confirm and launch a batch transform of ``posts``; with --wait collect its scores."""
    from kayfabe_core.cli_sagemaker import sentence_printer
    from kayfabe_core.sagemaker_client import make_sagemaker_clients
    from kayfabe_core.sagemaker_settings import choose_settings
    from kayfabe_core.sagemaker_transform import launch_transform, plan_transform, wait_for_transform

    settings = choose_settings(workspace, {name: getattr(args, option) for name, option in SETTING_OPTIONS.items()})
    plan = plan_transform(workspace, run_id, posts, settings)
    print(plan.describe(), file=sys.stderr)
    print(f"{plan.cost.sentence} {LIMIT_NOTE}", file=sys.stderr)
    if not spending_agreed(args.yes, "Scoring on SageMaker",
                           "Start the batch transform on SageMaker and pay for it? [y/N] "):
        return 1
    clients = make_sagemaker_clients(settings.region)
    status = launch_transform(workspace, clients, plan, confirmed=True)
    print(f"Started. {status.sentence}", file=sys.stderr)
    if not args.wait:
        print(f"Batch transform {plan.job_name}: {status.status}. Collect its scores when it completes with: "
              f"python -m kayfabe_core predict {workspace.root} --backend sagemaker --job {plan.job_name} "
              "--out FILE.csv")
        return 0
    show = sentence_printer()
    try:
        wait_for_transform(clients, plan.job_name, settings.max_runtime_s, args.poll_seconds,
                           None if args.json else show)
    except KeyboardInterrupt:
        print(f"\nStopped waiting; the transform goes on in AWS. Collect its scores later with --job "
              f"{plan.job_name}.", file=sys.stderr)
        return 130
    return collect_transform(args, workspace, plan.job_name, clients)


def collect_transform(args: argparse.Namespace, workspace: Workspace, job_name: str, clients: Any = None) -> int:
    """Merge the ended transform's scores, write them to --out and say what was scored."""
    from kayfabe_core.cli_predict import print_scores
    from kayfabe_core.sagemaker_client import make_sagemaker_clients
    from kayfabe_core.sagemaker_transform import finish_transform
    from kayfabe_core.sagemaker_transform_store import read_transform

    stored = read_transform(workspace, job_name)
    clients = clients or make_sagemaker_clients(str(stored.detail["region"]))
    table, report = finish_transform(workspace, clients, job_name)
    print_scores(args, str(stored.detail["run_id"]), table, report, None, {"job_name": job_name})
    if not args.json:
        print("  Scored on SageMaker: the reasons column is empty (reasons are worked out on this computer only).")
    return 0


