"""SageMaker tuning on the command line: ``tune WORKSPACE --backend sagemaker`` and the tuning part of ``jobs``.

Settings not given come from the workspace or the environment; given ones
are saved in the workspace for next time. The cost (max jobs × one job's
bound) is shown first and must be confirmed (or ``--yes``). With ``--wait``
each trial is printed as it finishes, and the best becomes a run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kayfabe_core.cli_confirm import spending_agreed
from kayfabe_core.cli_parser import given_options
from kayfabe_core.json_text import json_text
from kayfabe_core.wording import minute_text

if TYPE_CHECKING:  # imported when used: xgboost and the AWS SDK are slow to import
    from kayfabe_core.feature_table import FeatureTable
    from kayfabe_core.workspace import Workspace

Number = int | float


def run_sagemaker_tune(args: argparse.Namespace, workspace: Workspace, table: FeatureTable,
                       knobs: Mapping[str, tuple[Number, Number]], fixed: Mapping[str, object],
                       features_seconds: float) -> int:
    """Plan, confirm, launch and (with --wait) follow and finish one SageMaker tuning; return the exit status."""
    from kayfabe_core.cli_sagemaker import SETTING_OPTIONS
    from kayfabe_core.sagemaker_client import make_sagemaker_clients
    from kayfabe_core.sagemaker_settings import choose_settings
    from kayfabe_core.sagemaker_tuning import SageMakerTuneOptions, launch_tuning, plan_sagemaker_tuning
    from kayfabe_core.split import SplitOptions
    from kayfabe_core.train import TrainSettings

    given = given_options(args, "local_only")
    if given:  # the estimate counts --max-jobs: a --trials 5 left silently out showed "up to 10 training jobs"
        print(f"Warning: {', '.join(given)} go with tuning on this computer; SageMaker runs --max-jobs training "
              f"jobs ({args.max_jobs} here) on one split with --test-size, so they are left out.", file=sys.stderr)
    chosen = choose_settings(workspace, {name: getattr(args, option) for name, option in SETTING_OPTIONS.items()})
    group_by = tuple(name.strip() for text in args.group_by for name in text.split(",") if name.strip())
    method = args.split or ("grouped" if args.workspace or group_by else "stratified")
    split_options = SplitOptions(method, args.test_size, 0, 1, args.seed, group_by)
    options = SageMakerTuneOptions(knobs, args.max_jobs, args.parallel_jobs)
    start = TrainSettings.from_choices(args.preset, fixed)
    plan = plan_sagemaker_tuning(table, split_options, start, chosen, options, args.name, features_seconds)
    print(plan.describe(), file=sys.stderr)
    print(plan.cost.sentence, file=sys.stderr)
    if not spending_agreed(args.yes, "Tuning on SageMaker",
                           "Start the tuning job on SageMaker and pay for it? [y/N] "):
        return 1
    clients = make_sagemaker_clients(chosen.region)
    status = launch_tuning(workspace, clients, plan, confirmed=True)
    print(f"Started. {status.sentence}", file=sys.stderr)
    if not args.wait:
        if args.json:
            print(json_text({**status.to_dict(), "cost": plan.cost.to_dict()}, indent=2))
        else:
            print(f"Tuning job {status.job_name}: {status.status}. Follow it, and save the best as a run when it "
                  f"ends, with: python -m kayfabe_core jobs {workspace.root} --refresh")
        return 0
    return _wait_and_finish(args, workspace, clients, status.job_name, list(plan.data.split.warnings))


def _wait_and_finish(args: argparse.Namespace, workspace: Workspace, clients: Any, job_name: str,
                     warnings: list[str]) -> int:
    from kayfabe_core.cli_sagemaker import sentence_printer
    from kayfabe_core.cli_train import format_summary
    from kayfabe_core.sagemaker_tuning_jobs import finish_tuning, wait_for_tuning
    from kayfabe_core.sagemaker_tuning_store import sagemaker_trials_frame

    shown: set[str] = set()
    show_sentence = sentence_printer()

    def show(status: Any) -> None:
        for line in finished_trial_lines(sagemaker_trials_frame(workspace, job_name), shown):
            print(line, file=sys.stderr, flush=True)
        show_sentence(status)

    try:
        wait_for_tuning(workspace, clients, job_name, args.poll_seconds, None if args.json else show)
    except KeyboardInterrupt:
        print(f"\nStopped waiting; the tuning job goes on in AWS. Save its best run later with: python -m "
              f"kayfabe_core jobs {workspace.root} --refresh (or stop it with --stop {job_name}).", file=sys.stderr)
        return 130
    result = finish_tuning(workspace, clients, job_name)
    for warning in warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    if args.json:
        print(json_text({**result.summary_with(warnings), "tuning_job": job_name,
                         "settings": result.record["settings"]}, indent=2, default=str))
    else:
        print(format_summary(result.summary, result.record, workspace.runs_dir / result.run_id))
        settings = result.record["settings"]
        tuned = result.record.get("sagemaker", {}).get("tuned_hyperparameters", {})  # type: ignore[attr-defined]
        print(f"Best of tuning job {job_name}: " + ", ".join(f"{key}={settings[key]:g}"  # type: ignore[index]
                                                             for key in _our_names(tuned)))
    return 0


def finished_trial_lines(trials: Any, shown: set[str]) -> list[str]:
    """Return one line per trial that has ended since the last call (``shown`` remembers them)."""
    import pandas as pd

    lines = []
    for trial in trials.itertuples():
        if trial.state in ("InProgress", "Stopping") or trial.training_job in shown:
            continue
        shown.add(trial.training_job)
        params = ", ".join(f"{key}={value:g}" for key, value in trial.params.items())
        loss = f"validation log loss {trial.logloss:.4f}" if pd.notna(trial.logloss) else trial.state
        reason = f" ({trial.failure_reason})" if trial.failure_reason else ""
        best = f"; best so far {trial.best_so_far:.4f}" if pd.notna(trial.best_so_far) else ""
        lines.append(f"  trial {trial.number} {trial.training_job}: {loss}{reason}; {params}{best}")
    return lines


def tuning_records(workspace: Workspace) -> list[dict[str, object]]:
    """Return the workspace's tuning jobs as JSON-ready records, each with ``kind`` ``tuning``."""
    from kayfabe_core.sagemaker_tuning_store import list_sagemaker_tunings

    return [{"kind": "tuning", **record}
            for record in json.loads(list_sagemaker_tunings(workspace).to_json(orient="records"))]


def print_tunings(workspace: Workspace) -> bool:
    """Print the workspace's tuning jobs as a table; return False (printing nothing) when there are none."""
    import pandas as pd

    from kayfabe_core.sagemaker_tuning_store import list_sagemaker_tunings

    tunings = list_sagemaker_tunings(workspace)
    if tunings.empty:
        return False
    print(f"{'tuning job':<32} {'started (UTC)':<17} {'state':<11} {'jobs done':<10} {'best log loss':>13} "
          f"{'run':<26} note")
    for row in tunings.itertuples():
        done = f"{row.completed}/{row.max_jobs}"
        best = f"{row.best_logloss:.4f}" if pd.notna(row.best_logloss) else ""
        note = " ".join(str(row.problem or row.failure_reason or ("data deleted" if row.data_deleted else "")).split())
        run_id = row.run_id if isinstance(row.run_id, str) else ""
        print(f"{row.job_name:<32} {minute_text(row.created_at):<17} {row.state:<11} {done:<10} "
              f"{best:>13} {run_id:<26} {note}")
    return True


def run_tuning_action(args: argparse.Namespace, workspace: Workspace) -> bool:
    """Carry out ``jobs --trials JOB``, or ``--stop`` / ``--delete-data`` when they name a tuning job; return
    False (doing nothing) for anything else."""
    from kayfabe_core.sagemaker_client import make_sagemaker_clients
    from kayfabe_core.sagemaker_tuning_jobs import delete_tuning_data, stop_tuning
    from kayfabe_core.sagemaker_tuning_store import is_tuning_job, read_tuning_job

    if args.trials:
        print_trials(args.json, workspace, args.trials)
        return True
    name = args.stop or args.delete_data
    if not name or not is_tuning_job(workspace, name):
        return False
    clients = make_sagemaker_clients(str(read_tuning_job(workspace, name).detail.get("region", "")), with_logs=False)
    if args.stop:
        status = stop_tuning(workspace, clients.sagemaker, name)
        print(json_text(status.to_dict(), indent=2, default=str) if args.json else status.sentence)
        return True
    deleted = delete_tuning_data(workspace, clients.s3, name, force=args.force)
    print(json_text({"job_name": name, "objects": deleted.objects, "bytes": deleted.bytes}) if args.json else
          f"Deleted {deleted.objects:,} objects ({deleted.bytes / 1e6:,.2f} MB) of tuning job {name} from S3.")
    return True


def print_trials(as_json: bool, workspace: Workspace, job_name: str) -> None:
    """Print the trials of one tuning job (as last polled)."""
    from kayfabe_core.sagemaker_tuning_store import read_tuning_job, sagemaker_trials_frame, status_of

    trials = sagemaker_trials_frame(workspace, job_name)
    if as_json:
        print(trials.to_json(orient="records", indent=2))
        return
    print(status_of(read_tuning_job(workspace, job_name)).sentence)
    if trials.empty:
        print("No trials listed yet: refresh with `python -m kayfabe_core jobs WORKSPACE --refresh`.")
        return
    params = [", ".join(f"{key}={value:g}" for key, value in item.items()) for item in trials["params"]]
    table = trials[["number", "training_job", "state", "logloss", "best_so_far", "seconds"]].assign(settings=params)
    print(table.to_string(index=False, float_format=lambda value: f"{value:.4g}"))


def _our_names(tuned: Mapping[str, str]) -> list[str]:
    from kayfabe_core.sagemaker_tuning_jobs import OUR_NAMES

    return [OUR_NAMES[name] for name in tuned if name in OUR_NAMES]
