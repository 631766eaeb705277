"""SageMaker tuning: the request on a moto server, trials and the best run through botocore's Stubber, the CLI.

moto accepts create/describe tuning jobs and marks them Completed at once with
a made-up best job (``FakeTrainingJobName``); it implements neither listing a
tuning job's training jobs nor stopping one. The launch tests read back what
moto stored; the sequence of states, trials and the best run is stubbed with
the very shapes SageMaker answers (Stubber checks them against the service
model), with the model SageMaker would write placed in moto's S3.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb
from botocore.stub import Stubber

from kayfabe_core.cli_sagemaker_tuning import finished_trial_lines
from kayfabe_core.errors import KayfabeError, SettingError
from kayfabe_core.rekognition_client import AwsSetupError
from kayfabe_core.runs import list_runs, read_predictions, read_run
from kayfabe_core.sagemaker_client import SageMakerClients, SageMakerError, make_sagemaker_clients
from kayfabe_core.sagemaker_data import Channel
from kayfabe_core.sagemaker_jobs import list_jobs
from kayfabe_core.sagemaker_store import read_job
from kayfabe_core.sagemaker_tuning import (
    TUNING_PERMISSIONS_HINT,
    SageMakerTuneOptions,
    SageMakerTuningPlan,
    launch_tuning,
    parameter_ranges,
    plan_sagemaker_tuning,
    tuning_request,
)
from kayfabe_core.sagemaker_tuning_jobs import (
    finish_tuning,
    poll_tuning,
    refresh_tunings,
    stop_tuning,
    tuned_params,
)
from kayfabe_core.sagemaker_tuning_store import (
    list_sagemaker_tunings,
    read_tuning_job,
    sagemaker_trials_frame,
    sagemaker_tuning_figure,
    trials_table,
)
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.tune import DEFAULT_VARIED, SEARCH_RANGES
from kayfabe_core.workspace import Workspace, connect, open_workspace
from tests.conftest import copy_workspace
from tests.sagemaker_support import (
    AWS_OPTIONS,
    BUCKET,
    IMAGE,
    REGION,
    ROLE,
    SETTINGS,
    fake_aws,  # noqa: F401
    local_booster,
    moto_clients,
    object_text,
    parse_libsvm,
    place_artifact,
    run_cli,
    small_table,
)

ROUNDS = TrainSettings.from_choices("original-2021", {"num_boost_round": 25})
TWO = SageMakerTuneOptions({"eta": (0.05, 0.5), "max_depth": (2, 6)}, max_jobs=4, parallel_jobs=2)
ARN = "arn:aws:sagemaker:us-east-1:123456789012:{kind}/{name}"


def planned(options: SageMakerTuneOptions = TWO, **changes: Any) -> SageMakerTuningPlan:
    return plan_sagemaker_tuning(small_table(), SplitOptions(), ROUNDS, replace(SETTINGS, **changes), options,
                                 "cloud tuning")


def job_count(workspace: Workspace) -> int:
    with connect(workspace) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])


# --- plan and launch on moto -----------------------------------------------------------------------------------------

def test_launch_creates_a_tuning_job_over_ranges_from_the_constraints_table(workspace: Workspace,
                                                                            moto_url: str) -> None:
    clients = moto_clients(moto_url)
    options = SageMakerTuneOptions({"eta": (0.01, 0.5), "max_depth": (2, 10), "lambda": (0, 10),
                                    "subsample": (0.5, 1), "num_boost_round": (20, 80)}, max_jobs=6, parallel_jobs=2)
    plan = planned(options)
    status = launch_tuning(workspace, clients, plan, confirmed=True)
    name = plan.job_name
    assert len(name) <= 32 and name.startswith("kayfabe-tune-")
    sent = clients.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    config, definition = sent["HyperParameterTuningJobConfig"], sent["TrainingJobDefinition"]
    assert config["ParameterRanges"] == {
        "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "10", "ScalingType": "Linear"},
                                   {"Name": "num_round", "MinValue": "20", "MaxValue": "80", "ScalingType": "Linear"}],
        "ContinuousParameterRanges": [
            {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
            {"Name": "lambda", "MinValue": "0.001", "MaxValue": "10.0", "ScalingType": "Logarithmic"},
            {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1.0", "ScalingType": "Linear"}]}
    assert definition["StaticHyperParameters"] == {
        "min_child_weight": "6.0", "gamma": "4.0", "colsample_bytree": "1.0", "alpha": "0.0",
        "scale_pos_weight": "1.0", "objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
        "seed": "2021"}
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2}
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Minimize", "MetricName": "validation:logloss"}
    assert config["Strategy"] == "Bayesian" and config["RandomSeed"] == 2021
    assert definition["AlgorithmSpecification"] == {"TrainingImage": IMAGE, "TrainingInputMode": "File"}
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert definition["RoleArn"] == ROLE and "CheckpointConfig" not in definition
    assert definition["OutputDataConfig"] == {"S3OutputPath": f"s3://{BUCKET}/kayfabe/{name}/output"}
    assert definition["ResourceConfig"] == {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5}
    tags = clients.sagemaker.list_tags(ResourceArn=sent["HyperParameterTuningJobArn"])["Tags"]
    assert {"Key": "app", "Value": "kayfabe-detector"} in tags and {"Key": "kayfabe-job", "Value": name} in tags

    # the validation channel is held out of training even without early stopping: the test images choose nothing
    data, fold = plan.data, plan.data.split.folds[0]
    assert data.check_name == "validation" and not ROUNDS.early_stopping
    assert sorted([*data.fit_rows, *data.check_rows]) == sorted(fold.train)
    assert not set(data.check_rows) & set(fold.test)
    channels = {item["ChannelName"]: item["DataSource"]["S3DataSource"]["S3Uri"]
                for item in definition["InputDataConfig"]}
    assert channels == {"train": f"s3://{BUCKET}/kayfabe/{name}/train/",
                        "validation": f"s3://{BUCKET}/kayfabe/{name}/validation/"}
    matrix, labels = parse_libsvm(object_text(clients.s3, f"kayfabe/{name}/validation/part-000.libsvm"), 12)
    assert np.array_equal(matrix.toarray(), data.table.matrix[data.check_rows].toarray())

    assert plan.cost.total_usd == pytest.approx(6 * data.cost.total_usd)
    assert plan.cost.sentence.startswith("At most $0.70 for 6 training jobs, 2 at a time (so the tuning ends within "
                                         "3 h); each job: at most $0.12: 1 × ml.m5.large for at most 1 h")
    # moto: Completed at once, a made-up best job, and no listing of the trials (the status is kept all the same)
    assert (status.status, status.best_training_job, status.max_jobs) == ("Completed", "FakeTrainingJobName", 6)
    assert status.problem.startswith("The trials could not be listed: AWS refused to list the training jobs of the "
                                     f"tuning job {name}")
    stored = read_tuning_job(workspace, name)
    assert stored.state == "Completed" and stored.detail["parallel_jobs"] == 2 and stored.detail["upload_s"] >= 0


def test_nothing_is_sent_without_confirmation(workspace: Workspace, moto_url: str) -> None:
    clients = moto_clients(moto_url)
    with pytest.raises(KayfabeError) as refused:
        launch_tuning(workspace, clients, planned(), confirmed=False)
    assert refused.value.message == "Tuning on SageMaker costs money, and the cost was not confirmed; nothing was sent."
    assert refused.value.hint == "Look at the cost estimate, then confirm it (on the command line: --yes)."
    assert "Contents" not in clients.s3.list_objects_v2(Bucket=BUCKET) and job_count(workspace) == 0
    assert clients.sagemaker.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []


def test_default_ranges_are_the_local_tuners() -> None:
    checked = SageMakerTuneOptions().checked()
    assert checked.knobs == {key: SEARCH_RANGES[key] for key in DEFAULT_VARIED}
    assert parameter_ranges(checked.knobs) == {
        "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "10", "ScalingType": "Linear"}],
        "ContinuousParameterRanges": [
            {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
            {"Name": "min_child_weight", "MinValue": "0.0", "MaxValue": "10.0", "ScalingType": "Linear"},
            {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1.0", "ScalingType": "Linear"},
            {"Name": "colsample_bytree", "MinValue": "0.3", "MaxValue": "1.0", "ScalingType": "Linear"},
            {"Name": "gamma", "MinValue": "0.0", "MaxValue": "10.0", "ScalingType": "Linear"}]}
    tiny = parameter_ranges({"alpha": (0.0, 0.0005)})  # below the log floor: searched linearly, as locally
    assert tiny == {"ContinuousParameterRanges": [{"Name": "alpha", "MinValue": "0.0", "MaxValue": "0.0005",
                                                   "ScalingType": "Linear"}]}
    assert tuned_params({"eta": "0.123456", "max_depth": "4", "_tuning_objective_metric": "validation:logloss"}) == {
        "eta": 0.123456, "max_depth": 4}


def test_spot_jobs_wait_for_capacity_without_shared_checkpoints() -> None:
    plan = planned(spot=True, instance_count=2)
    channels = [Channel(name, f"s3://{BUCKET}/p/{name}/", (), 1, name == "train") for name in ("train", "validation")]
    definition = tuning_request(plan, IMAGE, "p", *channels)["TrainingJobDefinition"]
    assert definition["EnableManagedSpotTraining"] and "CheckpointConfig" not in definition
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    sources = {item["ChannelName"]: item["DataSource"]["S3DataSource"] for item in definition["InputDataConfig"]}
    assert sources["train"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert plan.cost.sentence.startswith("At most about $0.28 for 4 training jobs, 2 at a time (so the tuning ends "
                                         "within 4 h); each job: at most about $0.07 with spot capacity")


def test_finished_trials_are_printed_once_each() -> None:
    stored = [{"number": 1, "training_job": "t-001", "status": "Completed", "logloss": 0.5, "seconds": 90.0,
               "params": {"eta": 0.1, "max_depth": 4}},
              {"number": 2, "training_job": "t-002", "status": "InProgress", "params": {"eta": 0.3, "max_depth": 2}}]
    shown: set[str] = set()
    assert finished_trial_lines(trials_table(stored), shown) == [
        "  trial 1 t-001: validation log loss 0.5000; eta=0.1, max_depth=4; best so far 0.5000"]
    stored[1].update(status="Failed", failure_reason="AlgorithmError: bad data")
    assert finished_trial_lines(trials_table(stored), shown) == [
        "  trial 2 t-002: Failed (AlgorithmError: bad data); eta=0.3, max_depth=2; best so far 0.5000"]
    assert finished_trial_lines(trials_table(stored), shown) == []


@pytest.mark.parametrize(("options", "message"), [
    (SageMakerTuneOptions({}), "Choose at least one setting to tune."),
    (SageMakerTuneOptions({"scale_pos_weight": (1, 5)}),
     "SageMaker's XGBoost container cannot tune “Weight of YES images (scale_pos_weight)” (scale_pos_weight)."),
    (SageMakerTuneOptions({"max_depth": (0, 20)}),
     "The range searched for “Tree depth (max_depth)” (max_depth) must lie between 1 and 12; got 0–20."),
    (SageMakerTuneOptions({"eta": (0.1, 0.1)}),
     "The range searched for “Learning rate (eta)” (eta) holds one value only (0.1); SageMaker needs two different "
     "ends."),
    (SageMakerTuneOptions(max_jobs=1), "The setting “Training jobs in all” (max_jobs) must be between 2 and 200; "
                                       "got 1."),
    (SageMakerTuneOptions(max_jobs=4, parallel_jobs=5),
     "The tuning cannot run more training jobs at once (5) than in all (4)."),
], ids=["none", "untunable", "outside the table", "one value", "too few jobs", "more at once than in all"])
def test_options_are_checked_against_the_tables(options: SageMakerTuneOptions, message: str) -> None:
    with pytest.raises(SettingError) as caught:
        options.checked()
    assert caught.value.message == message and caught.value.hint


# --- Stubber: trials as they finish, the best becomes a run ---------------------------------------------------------

def trial(name: str, number: int, status: str, params: dict[str, str], loss: float | None = None,
          **extra: Any) -> dict[str, Any]:
    created = datetime(2026, 11, 23, 10, 0, tzinfo=UTC) + timedelta(minutes=number)
    summary: dict[str, Any] = {
        "TrainingJobName": f"{name}-{number:03d}-0a1b2c3d",
        "TrainingJobArn": ARN.format(kind="training-job", name=f"{name}-{number:03d}-0a1b2c3d"),
        "TuningJobName": name, "CreationTime": created, "TrainingJobStatus": status, "TunedHyperParameters": params,
        **extra}
    if status != "InProgress":
        summary.update(TrainingStartTime=created, TrainingEndTime=created + timedelta(seconds=90 + number))
    if loss is not None:
        summary.update(ObjectiveStatus="Succeeded", FinalHyperParameterTuningJobObjectiveMetric={
            "Type": "Minimize", "MetricName": "validation:logloss", "Value": loss})
    return summary


def tuning_described(name: str, status: str, counters: dict[str, int], best: dict[str, Any] | None,
                     **extra: Any) -> dict[str, Any]:
    answer = {"HyperParameterTuningJobName": name, "HyperParameterTuningJobArn": ARN.format(
        kind="hyper-parameter-tuning-job", name=name),
        "HyperParameterTuningJobConfig": {"Strategy": "Bayesian", "ResourceLimits": {
            "MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2}},
        "HyperParameterTuningJobStatus": status, "CreationTime": datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        "TrainingJobStatusCounters": counters, "ObjectiveStatusCounters": {}, **extra}
    if best is not None:
        answer["BestTrainingJob"] = best
    return answer


def training_described(job: str, artifact: str) -> dict[str, Any]:
    return {"TrainingJobName": job, "TrainingJobArn": ARN.format(kind="training-job", name=job),
            "ModelArtifacts": {"S3ModelArtifacts": artifact}, "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed", "AlgorithmSpecification": {"TrainingImage": IMAGE,
                                                                      "TrainingInputMode": "File"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600}, "BillableTimeInSeconds": 93,
            "TrainingTimeInSeconds": 93, "CreationTime": datetime(2026, 11, 23, 10, 3, tzinfo=UTC)}


def test_trials_show_as_they_finish_and_the_best_becomes_a_run(workspace: Workspace, moto_url: str) -> None:
    moto = moto_clients(moto_url)
    plan = planned()
    launch_tuning(workspace, moto, plan, confirmed=True)
    name, data = plan.job_name, plan.data
    best_job = f"{name}-003-0a1b2c3d"
    best_settings = TrainSettings.from_choices("original-2021", {"num_boost_round": 25, "eta": 0.25, "max_depth": 3})
    booster, _ = local_booster(data.table.matrix, data.table.observed, data.fit_rows, data.check_rows, best_settings,
                               2021)
    artifact = f"s3://{BUCKET}/kayfabe/{name}/output/{best_job}/output/model.tar.gz"
    place_artifact(moto.s3, artifact, booster)
    first, second = trial(name, 1, "Completed", {"eta": "0.1", "max_depth": "5"}, 0.52), \
        trial(name, 2, "Completed", {"eta": "0.4", "max_depth": "2"}, 0.47)
    third = trial(name, 3, "Completed", {"eta": "0.25", "max_depth": "3"}, 0.41)
    fourth = trial(name, 4, "Failed", {"eta": "0.06", "max_depth": "6"},
                   FailureReason="AlgorithmError: out of memory")
    request = {"HyperParameterTuningJobName": name, "MaxResults": 100, "SortBy": "CreationTime",
               "SortOrder": "Ascending"}
    stubbed = make_sagemaker_clients(REGION, with_logs=False).sagemaker
    clients = SageMakerClients(stubbed, moto.s3)
    with Stubber(stubbed) as sagemaker:
        sagemaker.add_response("describe_hyper_parameter_tuning_job", tuning_described(
            name, "InProgress", {"Completed": 2, "InProgress": 2}, second), {"HyperParameterTuningJobName": name})
        sagemaker.add_response("list_training_jobs_for_hyper_parameter_tuning_job",
                               {"TrainingJobSummaries": [second, first], "NextToken": "page-2"}, request)
        sagemaker.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": [
            trial(name, 3, "InProgress", third["TunedHyperParameters"]),
            trial(name, 4, "InProgress", fourth["TunedHyperParameters"])]}, {**request, "NextToken": "page-2"})
        running = poll_tuning(workspace, stubbed, name)
        assert running.sentence == (f"Tuning job {name}: InProgress, 2 of 4 training jobs done, 2 running; best "
                                    f"validation log loss 0.4700 ({name}-002-0a1b2c3d).")
        trials = sagemaker_trials_frame(workspace, name)
        assert trials["state"].tolist() == ["Completed", "Completed", "InProgress", "InProgress"]
        assert trials["logloss"].tolist()[:2] == [0.52, 0.47] and trials["logloss"].isna().tolist()[2:] == [True] * 2
        assert trials["best_so_far"].tolist()[:2] == [0.52, 0.47]
        assert trials["params"].tolist()[0] == {"eta": 0.1, "max_depth": 5}
        assert trials["seconds"].tolist()[:2] == [91.0, 92.0]
        figure = sagemaker_tuning_figure(trials, planned=4)
        assert [list(trace.y) for trace in figure.data] == [[0.52, 0.47], [0.52, 0.47]]

        sagemaker.add_response("describe_hyper_parameter_tuning_job", tuning_described(
            name, "Completed", {"Completed": 3, "NonRetryableError": 1}, third,
            ConsumedResources={"RuntimeInSeconds": 420}), {"HyperParameterTuningJobName": name})
        sagemaker.add_response("list_training_jobs_for_hyper_parameter_tuning_job",
                               {"TrainingJobSummaries": [first, second, third, fourth]}, request)
        sagemaker.add_response("describe_training_job", training_described(best_job, artifact),
                               {"TrainingJobName": best_job})
        result = finish_tuning(workspace, clients, name)
        again = finish_tuning(open_workspace(workspace.root, create=False), clients, name)  # no AWS call
        sagemaker.assert_no_pending_responses()
    assert again.run_id == result.run_id and len(list_runs(workspace)) == 1

    record = read_run(workspace, result.run_id)
    assert record["backend"] == "sagemaker" and record["settings"] == dict(best_settings.values)
    assert record["name"] == "cloud tuning"
    details: Any = record["sagemaker"]
    assert (details["tuning_job"], details["job_name"]) == (name, best_job)
    assert details["tuned_hyperparameters"] == {"eta": "0.25", "max_depth": "3"}
    assert details["hyperparameters"] == {**plan.static_hyperparameters, "eta": "0.25", "max_depth": "3"}
    assert details["model_artifact"] == artifact and details["billable_seconds"] == 93
    test_rows = data.split.folds[0].test
    saved = read_predictions(workspace, result.run_id)
    expected = booster.predict(xgb.DMatrix(data.table.matrix[test_rows]))
    assert np.array_equal(saved["score"].to_numpy().astype(np.float32), expected)

    [listed] = list_sagemaker_tunings(workspace).to_dict("records")
    assert (listed["state"], listed["completed"], listed["failed"], listed["best_training_job"],
            listed["best_logloss"], listed["run_id"]) == ("Completed", 3, 1, best_job, 0.41, result.run_id)
    assert listed["approx_cost_usd"] == pytest.approx((91 + 92 + 93 + 94) / 3600 * 0.115, abs=1e-4)
    final = sagemaker_trials_frame(workspace, name)
    assert final["state"].tolist() == ["Completed", "Completed", "Completed", "Failed"]
    assert final["failure_reason"].tolist()[3] == "AlgorithmError: out of memory"
    assert final["best_so_far"].tolist() == [0.52, 0.47, 0.41, 0.41]
    assert list_jobs(workspace)["run_id"].tolist() == [result.run_id]  # the best job, recorded like a launched one
    assert read_job(workspace, best_job).detail["tuning_job"] == name


def stub_launch_until_create(s3: Stubber, sagemaker: Stubber) -> None:
    s3.add_response("get_bucket_location", {}, {"Bucket": BUCKET})
    sagemaker.add_response("list_training_jobs", {"TrainingJobSummaries": []}, {"MaxResults": 1})
    sagemaker.add_response("list_hyper_parameter_tuning_jobs", {"HyperParameterTuningJobSummaries": []},
                           {"MaxResults": 1})
    s3.add_response("put_object", {})
    s3.add_response("put_object", {})


@pytest.mark.parametrize(("code", "message", "expected"), [
    ("ResourceLimitExceeded", "The account-level service limit 'ml.m5.large for training job usage' is 1 Instances",
     "Your AWS account may not start this tuning job now (ResourceLimitExceeded: The account-level service limit "
     "'ml.m5.large for training job usage' is 1 Instances)."),
    ("AccessDeniedException", "User: arn:aws:iam::123456789012:user/me is not authorized to perform: "
     "sagemaker:CreateHyperParameterTuningJob", "Your AWS credentials are not allowed to start the tuning job (the "
     "permission sagemaker:CreateHyperParameterTuningJob is missing)."),
], ids=["quota", "access denied"])
def test_a_refused_tuning_job_is_explained_and_its_data_removed(workspace: Workspace, code: str, message: str,
                                                                expected: str) -> None:
    clients = make_sagemaker_clients(REGION, with_logs=False)
    plan = planned()
    with Stubber(clients.s3) as s3, Stubber(clients.sagemaker) as sagemaker:
        stub_launch_until_create(s3, sagemaker)
        sagemaker.add_client_error("create_hyper_parameter_tuning_job", code, message)
        s3.add_response("list_objects_v2", {"Contents": [
            {"Key": f"kayfabe/{plan.job_name}/train/part-000.libsvm", "Size": 10}]})
        s3.add_response("delete_objects", {})
        with pytest.raises(KayfabeError) as caught:
            launch_tuning(workspace, clients, plan, confirmed=True)
        s3.assert_no_pending_responses()
    assert caught.value.message == expected
    if code == "ResourceLimitExceeded":
        assert isinstance(caught.value, SageMakerError)
        assert caught.value.hint.startswith("The tuning runs up to 2 training jobs at once on 1 × ml.m5.large each, "
                                            "so your account must allow 2 ml.m5.large training instances at once.")
        assert "--parallel-jobs" in caught.value.hint and "Service Quotas" in caught.value.hint
    else:
        assert isinstance(caught.value, AwsSetupError) and caught.value.hint == TUNING_PERMISSIONS_HINT
        assert "sagemaker:CreateHyperParameterTuningJob" in caught.value.hint and "iam:PassRole" in caught.value.hint
    stored = read_tuning_job(workspace, plan.job_name)
    assert stored.state == "NotStarted" and stored.detail["data_deleted"]
    assert stored.detail["failure_reason"] == expected


def test_no_right_to_tune_is_said_before_anything_is_uploaded(workspace: Workspace) -> None:
    clients = make_sagemaker_clients(REGION, with_logs=False)
    with Stubber(clients.s3) as s3, Stubber(clients.sagemaker) as sagemaker:
        s3.add_response("get_bucket_location", {}, {"Bucket": BUCKET})
        sagemaker.add_response("list_training_jobs", {"TrainingJobSummaries": []}, {"MaxResults": 1})
        sagemaker.add_client_error("list_hyper_parameter_tuning_jobs", "AccessDeniedException",
                                   "User: me is not authorized to perform: sagemaker:ListHyperParameterTuningJobs")
        with pytest.raises(AwsSetupError) as caught:
            launch_tuning(workspace, clients, planned(), confirmed=True)
    assert caught.value.message == ("Your AWS credentials are not allowed to list SageMaker tuning jobs (the "
                                    "permission sagemaker:ListHyperParameterTuningJobs is missing).")
    assert caught.value.hint == TUNING_PERMISSIONS_HINT and job_count(workspace) == 0


def test_stop_and_the_states_that_cannot_be_finished(workspace: Workspace, moto_url: str) -> None:
    moto = moto_clients(moto_url)
    plan = planned()
    launch_tuning(workspace, moto, plan, confirmed=True)
    name = plan.job_name
    with pytest.raises(SageMakerError) as unimplemented:  # moto does not implement StopHyperParameterTuningJob
        stop_tuning(workspace, moto.sagemaker, name)
    assert unimplemented.value.message == (f"SageMaker did not stop the tuning job {name}: it answered with an error "
                                           "(500); its running training jobs go on until they end by themselves.")
    assert f"aws sagemaker stop-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name {name}" in \
        unimplemented.value.hint
    stubbed = make_sagemaker_clients(REGION, with_logs=False).sagemaker
    running = tuning_described(name, "InProgress", {"InProgress": 2}, None)
    with Stubber(stubbed) as sagemaker:
        sagemaker.add_response("stop_hyper_parameter_tuning_job", {}, {"HyperParameterTuningJobName": name})
        sagemaker.add_response("describe_hyper_parameter_tuning_job", {**running,
                                                                        "HyperParameterTuningJobStatus": "Stopping"})
        sagemaker.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": []})
        assert stop_tuning(workspace, stubbed, name).status == "Stopping"
        sagemaker.add_client_error("describe_hyper_parameter_tuning_job", "ResourceNotFound",
                                   f"Could not find hyper parameter tuning job '{name}'.")
        [gone] = refresh_tunings(workspace, lambda region: SageMakerClients(stubbed, moto.s3))
        sagemaker.add_client_error("stop_hyper_parameter_tuning_job", "ValidationException",
                                   "The tuning job is not in progress.")
        with pytest.raises(SageMakerError, match=f"The tuning job {name} is not running, so there is nothing to stop"):
            stop_tuning(workspace, stubbed, name)
        sagemaker.add_response("describe_hyper_parameter_tuning_job", running)
        sagemaker.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": []})
        with pytest.raises(SageMakerError) as waiting:
            finish_tuning(workspace, SageMakerClients(stubbed, moto.s3), name)
        sagemaker.add_response("describe_hyper_parameter_tuning_job", {
            **running, "HyperParameterTuningJobStatus": "Failed", "FailureReason": "All training jobs failed."})
        sagemaker.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": []})
        with pytest.raises(SageMakerError) as failed:
            finish_tuning(workspace, SageMakerClients(stubbed, moto.s3), name)
    assert waiting.value.message == f"The tuning job {name} is still InProgress (0 of 4 training jobs done)."
    assert failed.value.message == f"The tuning job {name} failed: All training jobs failed."
    assert "nothing was saved" in failed.value.hint
    assert gone.problem.startswith(f"SageMaker in us-east-1 has no tuning job called {name}.")
    assert list_runs(workspace).empty


# --- the command line on the demo workspace ------------------------------------------------------------------------

TUNING = "kayfabe-tune-261123-120000-abcd"


@pytest.fixture
def demo(demo_root: Path, tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo workspace, and the CLI's AWS pointed at a fresh moto server with the bucket made."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setattr("kayfabe_core.sagemaker_tuning.new_tuning_name", lambda: TUNING)
    moto_clients(moto_url)
    return copy_workspace(demo_root, tmp_path / "ws", images=False)



def test_cli_asks_before_paying_and_no_wait_starts_the_tuning(demo: Path, moto_url: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "tune", str(demo), *AWS_OPTIONS, "--no-wait", "--max-jobs", "4")
    assert code == 1 and out == ""
    assert "Error: Tuning on SageMaker costs money, and there is no one to ask for confirmation here." in err
    assert "Contents" not in moto_clients(moto_url).s3.list_objects_v2(Bucket=BUCKET)
    code, out, err = run_cli(capsys, "tune", str(demo), *AWS_OPTIONS, "--no-wait", "--yes", "--max-jobs", "4",
                         "--tune", "eta", "max_depth=2:6", "--rounds", "30", "--json")
    assert code == 0, err
    assert "At most $0.46 for 4 training jobs, 2 at a time (so the tuning ends within 2 h)" in err
    started = json.loads(out)
    assert (started["job_name"], started["status"], started["cost"]["max_jobs"]) == (TUNING, "Completed", 4)
    sent = make_sagemaker_clients(REGION, moto_url, max_attempts=1).sagemaker.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=TUNING)
    ranges = sent["HyperParameterTuningJobConfig"]["ParameterRanges"]
    assert [item["Name"] for item in ranges["ContinuousParameterRanges"]] == ["eta"]
    assert ranges["IntegerParameterRanges"] == [{"Name": "max_depth", "MinValue": "2", "MaxValue": "6",
                                                 "ScalingType": "Linear"}]
    assert sent["TrainingJobDefinition"]["StaticHyperParameters"]["num_round"] == "30"


def test_cli_wait_prints_and_saves_the_best_then_jobs_lists_and_cleans_up(
        demo: Path, moto_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from kayfabe_core.features import FeatureOptions, build_features

    workspace = open_workspace(demo, create=False)
    start = TrainSettings.from_choices(None, {"num_boost_round": 30})
    plan = plan_sagemaker_tuning(build_features(workspace, FeatureOptions()), SplitOptions(), start, SETTINGS)
    data = plan.data
    booster, _ = local_booster(data.table.matrix, data.table.observed, data.fit_rows, data.check_rows, start, 2021)
    aws = moto_clients(moto_url)  # moto names "FakeTrainingJobName" the best: make it, with our model, where HPO would
    aws.sagemaker.create_training_job(
        TrainingJobName="FakeTrainingJobName", RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/kayfabe/{TUNING}/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 3600})
    place_artifact(aws.s3, f"s3://{BUCKET}/kayfabe/{TUNING}/output/FakeTrainingJobName/output/model.tar.gz", booster)
    code, out, err = run_cli(capsys, "tune", str(demo), *AWS_OPTIONS, "--wait", "--poll-seconds", "0", "--yes",
                         "--rounds", "30", "--max-jobs", "4")
    assert code == 0, err
    assert f"Tuning job {TUNING}: Completed, 1 of 4 training jobs done" in err
    assert out.startswith("Run run-") and "Accuracy" in out and f"Best of tuning job {TUNING}" in out
    runs = list_runs(workspace)
    assert runs["backend"].tolist() == ["sagemaker"]
    assert read_run(workspace, runs["run_id"].iloc[0])["settings"] == dict(start.values)

    code, out, _ = run_cli(capsys, "jobs", str(demo))
    assert code == 0 and "FakeTrainingJobName" in out and TUNING in out and "1/4" in out
    code, out, _ = run_cli(capsys, "jobs", str(demo), "--json")
    kinds = {item["kind"]: item for item in json.loads(out)}
    assert kinds["tuning"]["run_id"] == kinds["training"]["run_id"] == runs["run_id"].iloc[0]
    code, out, _ = run_cli(capsys, "jobs", str(demo), "--trials", TUNING)
    assert code == 0 and out.startswith(f"Tuning job {TUNING}: Completed") and "No trials listed yet" in out
    code, out, _ = run_cli(capsys, "jobs", str(demo), "--refresh")
    assert code == 0 and TUNING in out
    code, out, _ = run_cli(capsys, "jobs", str(demo), "--resources")
    assert "tuning job" in out and "training job" in out and "No endpoints" in out
    code, out, err = run_cli(capsys, "jobs", str(demo), "--stop", TUNING)
    assert code == 1 and f"SageMaker did not stop the tuning job {TUNING}" in err
    code, out, _ = run_cli(capsys, "jobs", str(demo), "--delete-data", TUNING)
    assert code == 0 and out.startswith("Deleted 3 objects (") and f"of tuning job {TUNING} from S3." in out
    assert read_job(workspace, "FakeTrainingJobName").detail["data_deleted"]
