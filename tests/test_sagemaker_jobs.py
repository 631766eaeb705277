"""SageMaker training end to end on a moto server, and job states and AWS errors through botocore's Stubber.

moto marks every training job Completed at once and writes no model: the
tests train the container's booster here (same rows, same parameters) and put
it where moto says the model is. That also makes the SageMaker run directly
comparable with a local run of the same settings: they must agree exactly.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import xgboost as xgb
from botocore.stub import Stubber

from kayfabe_core.errors import KayfabeError, SettingError
from kayfabe_core.experiment import run_experiment
from kayfabe_core.rekognition_client import AwsSetupError
from kayfabe_core.runs import list_runs, read_predictions, read_run
from kayfabe_core.sagemaker_client import SageMakerError, check_aws_access, make_sagemaker_clients
from kayfabe_core.sagemaker_finish import finish_job, learning_curves, refresh_jobs
from kayfabe_core.sagemaker_jobs import aws_resources, delete_job_data, list_jobs, poll_job, stop_job
from kayfabe_core.sagemaker_launch import launch_training, plan_sagemaker_training
from kayfabe_core.sagemaker_store import read_job, save_job
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.workspace import Workspace, connect, open_workspace
from tests.sagemaker_support import (
    BUCKET,
    IMAGE,
    REGION,
    SETTINGS,
    fake_aws,  # noqa: F401
    local_booster,
    moto_clients,
    object_text,
    parse_libsvm,
    place_artifact,
    small_table,
)

ROUNDS = TrainSettings.from_choices("original-2021", {"num_boost_round": 25})
EARLY = TrainSettings.from_choices("careful", {"num_boost_round": 60, "early_stopping_rounds": 5, "eta": 0.3})
JOB = "kayfabe-20261123-101502-3f2a"


def launched(workspace: Workspace, moto_url: str, settings: TrainSettings = ROUNDS, **changes: Any) -> tuple[Any, Any]:
    clients = moto_clients(moto_url)
    plan = plan_sagemaker_training(small_table(), SplitOptions(), settings, replace(SETTINGS, **changes), "cloud")
    return clients, (plan, launch_training(workspace, clients, plan, confirmed=True))


def job_count(workspace: Workspace) -> int:
    with connect(workspace) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])


# --- moto server ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("settings", [ROUNDS, EARLY], ids=["all rounds", "early stopping"])
def test_launch_complete_finish_gives_the_run_a_local_training_gives(workspace: Workspace, moto_url: str,
                                                                     settings: TrainSettings) -> None:
    clients, (plan, status) = launched(workspace, moto_url, settings)
    assert status.status == "Completed" and status.model_artifact.endswith(f"{status.job_name}/output/model.tar.gz")
    booster, log = local_booster(plan.table.matrix, plan.table.observed, plan.fit_rows, plan.check_rows, settings, 2021)
    place_artifact(clients.s3, status.model_artifact, booster)
    restarted = open_workspace(workspace.root, create=False)  # only what the workspace holds is used
    result = finish_job(restarted, make_sagemaker_clients(REGION, moto_url, max_attempts=1), status.job_name)

    record = read_run(restarted, result.run_id)
    assert record["backend"] == "sagemaker"
    details = record["sagemaker"]
    assert details["job_name"] == status.job_name and "billable_seconds" in details  # type: ignore[index,operator]
    assert details["training_image"] == IMAGE and details["container_version"] == "3.0-5"  # type: ignore[index]
    runs = list_runs(restarted)
    listed = runs.loc[runs["run_id"] == result.run_id].iloc[0]
    assert (listed["backend"], listed["sagemaker_job"]) == ("sagemaker", status.job_name)
    assert listed["billable_seconds"] == details["billable_seconds"]  # type: ignore[index]
    test_rows = plan.split.folds[0].test
    saved = read_predictions(restarted, result.run_id)
    best = booster.best_iteration + 1 if settings.early_stopping else booster.num_boosted_rounds()
    expected = booster.predict(xgb.DMatrix(plan.table.matrix[test_rows]), iteration_range=(0, best))
    assert np.array_equal(saved["score"].to_numpy().astype(np.float32), expected)
    assert record["curve"]["best_round"] == best  # type: ignore[index]
    assert record["curve"]["train"] == pytest.approx(log["train"]["logloss"], abs=1e-5)  # type: ignore[index]
    assert record["curve"]["check"] == pytest.approx(log["validation"]["logloss"], abs=1e-5)  # type: ignore[index]

    local = run_experiment(restarted, plan.table, SplitOptions(), settings, "local twin")
    assert local.summary["accuracy"] == result.summary["accuracy"]
    assert np.array_equal(read_predictions(restarted, local.run_id)["score"], saved["score"])
    assert local.record["curve"]["check_name"] == result.record["curve"]["check_name"]  # type: ignore[index]

    again = finish_job(restarted, clients, status.job_name)
    assert again.run_id == result.run_id and len(list_runs(restarted)) == 2
    assert read_job(restarted, status.job_name).detail["run_id"] == result.run_id


def test_the_job_reads_libsvm_of_the_fit_and_check_rows_from_the_builtin_image(workspace: Workspace,
                                                                               moto_url: str) -> None:
    clients, (plan, status) = launched(workspace, moto_url, EARLY)
    job = clients.sagemaker.describe_training_job(TrainingJobName=status.job_name)
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert job["HyperParameters"]["early_stopping_rounds"] == "5" and job["HyperParameters"]["num_round"] == "60"
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    channels = {channel["ChannelName"]: channel for channel in job["InputDataConfig"]}
    assert set(channels) == {"train", "validation"}
    assert {channel["ContentType"] for channel in channels.values()} == {"text/libsvm"}
    prefix = f"kayfabe/{status.job_name}"
    for name, rows in (("train", plan.fit_rows), ("validation", plan.check_rows)):
        assert channels[name]["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{BUCKET}/{prefix}/{name}/"
        matrix, labels = parse_libsvm(object_text(clients.s3, f"{prefix}/{name}/part-000.libsvm"), 12)
        assert np.array_equal(matrix.toarray(), plan.table.matrix[rows].toarray())
        assert np.array_equal(labels, plan.table.observed[rows])
    assert plan.check_name == "validation" and not set(plan.check_rows) & set(plan.split.folds[0].test)
    tags = clients.sagemaker.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
    assert {"Key": "app", "Value": "kayfabe-detector"} in tags
    assert {"Key": "kayfabe-job", "Value": status.job_name} in tags


def test_several_instances_share_the_training_rows_in_shards(workspace: Workspace, moto_url: str) -> None:
    clients, (plan, status) = launched(workspace, moto_url, instance_count=3, spot=True)
    job = clients.sagemaker.describe_training_job(TrainingJobName=status.job_name)
    sources = {channel["ChannelName"]: channel["DataSource"]["S3DataSource"] for channel in job["InputDataConfig"]}
    assert sources["train"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert sources["validation"]["S3DataDistributionType"] == "FullyReplicated"
    assert job["ResourceConfig"]["InstanceCount"] == 3 and job["EnableManagedSpotTraining"]
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    listed = clients.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"kayfabe/{status.job_name}/train/")["Contents"]
    parts = [parse_libsvm(object_text(clients.s3, item["Key"]), 12)[0] for item in listed]
    assert len(parts) == 3 and all(part.shape[0] > 0 for part in parts)
    stacked = np.vstack([part.toarray() for part in parts])
    assert np.array_equal(stacked, plan.table.matrix[plan.fit_rows].toarray())


def test_nothing_is_sent_without_confirmation_or_with_a_bucket_elsewhere(workspace: Workspace, moto_url: str) -> None:
    clients = moto_clients(moto_url, bucket_region="eu-west-1")
    plan = plan_sagemaker_training(small_table(), SplitOptions(), ROUNDS, SETTINGS)
    with pytest.raises(KayfabeError) as refused:
        launch_training(workspace, clients, plan, confirmed=False)
    assert refused.value.message == ("Training on SageMaker costs money, and the cost was not confirmed; nothing "
                                     "was sent.")
    with pytest.raises(AwsSetupError) as elsewhere:
        launch_training(workspace, clients, plan, confirmed=True)
    assert elsewhere.value.message == (f"The bucket {BUCKET} is in eu-west-1, but training would run in us-east-1; "
                                       "a training job reads only buckets in its own region.")
    assert elsewhere.value.hint == "Choose the region eu-west-1, or a bucket in us-east-1."
    assert "Contents" not in clients.s3.list_objects_v2(Bucket=BUCKET) and job_count(workspace) == 0
    moto_clients(moto_url).s3.delete_bucket(Bucket=BUCKET)
    with pytest.raises(AwsSetupError, match=f"There is no S3 bucket called {BUCKET}."):
        check_aws_access(clients, SETTINGS)


def test_sagemaker_trains_one_split_only() -> None:
    with pytest.raises(SettingError) as caught:
        plan_sagemaker_training(small_table(), SplitOptions(folds=5, repeats=2), ROUNDS, SETTINGS)
    assert caught.value.message == ("SageMaker trains one model, so it needs one split with a test share and no "
                                    "repeats; got 5-fold cross-validation repeated 2 time(s).")
    assert "train on this computer" in caught.value.hint


def test_refresh_finishes_completed_jobs_and_the_data_can_be_deleted(workspace: Workspace, moto_url: str) -> None:
    clients, (plan, status) = launched(workspace, moto_url)
    with pytest.raises(KayfabeError, match="its run is not saved yet"):
        delete_job_data(workspace, clients.s3, status.job_name)
    [missing] = refresh_jobs(workspace, lambda region: clients)  # moto wrote no model
    assert missing.run_id is None and missing.problem == (f"There is no file at {status.model_artifact}. It was "
                                                          "deleted, or the training job wrote none; train again to "
                                                          "get a run.")
    booster, _ = local_booster(plan.table.matrix, plan.table.observed, plan.fit_rows, plan.check_rows, ROUNDS, 2021)
    place_artifact(clients.s3, status.model_artifact, booster)
    [refreshed] = refresh_jobs(workspace, lambda region: clients)
    assert refreshed.run_id and refreshed.status == "Completed" and not refreshed.problem
    assert list_jobs(workspace)["run_id"].tolist() == [refreshed.run_id]
    resources = aws_resources(workspace)
    assert resources[["kind", "state"]].values.tolist() == [["training job", "Completed"], ["S3 data", "kept"]]
    deleted = delete_job_data(workspace, clients.s3, status.job_name)
    assert deleted.objects == 3 and deleted.bytes > 0  # train, validation, model
    assert "Contents" not in clients.s3.list_objects_v2(Bucket=BUCKET)
    assert aws_resources(workspace)["state"].tolist() == ["Completed", "deleted"]


def test_stop_on_moto_says_how_to_stop_by_hand(workspace: Workspace, moto_url: str) -> None:
    clients, (_, status) = launched(workspace, moto_url)  # moto does not implement StopTrainingJob
    with pytest.raises(SageMakerError) as caught:
        stop_job(workspace, clients.sagemaker, status.job_name)
    assert caught.value.message.startswith(f"SageMaker did not stop the training job {status.job_name}: it answered "
                                           "with an error (500); it ends by itself after 3,600 s of running.")
    assert "aws sagemaker stop-training-job --training-job-name" in caught.value.hint


def test_no_credentials_is_said_before_anything_is_sent(monkeypatch: pytest.MonkeyPatch, moto_url: str) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(AwsSetupError) as caught:
        check_aws_access(make_sagemaker_clients(REGION, moto_url, max_attempts=1), SETTINGS)
    assert caught.value.message == "No AWS credentials were found."
    assert "aws configure" in caught.value.hint


# --- Stubber: exact shapes, states and error codes --------------------------------------------------------------------

def described(status: str, **extra: Any) -> dict[str, Any]:
    now = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    return {"TrainingJobName": JOB, "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{JOB}",
            "ModelArtifacts": {"S3ModelArtifacts": f"s3://{BUCKET}/kayfabe/{JOB}/output/{JOB}/output/model.tar.gz"},
            "TrainingJobStatus": status, "SecondaryStatus": extra.pop("secondary", status),
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600}, "CreationTime": now, **extra}


def stored_job(workspace: Workspace, state: str = "InProgress") -> None:
    save_job(workspace, JOB, state, {"region": REGION, "bucket": BUCKET, "prefix": f"kayfabe/{JOB}",
                                     "s3_uri": f"s3://{BUCKET}/kayfabe/{JOB}/", "settings": SETTINGS.to_dict()})


def test_a_job_in_progress_then_completed_is_stored_with_its_log(workspace: Workspace) -> None:
    stored_job(workspace)
    clients = make_sagemaker_clients(REGION)
    with Stubber(clients.sagemaker) as sagemaker, Stubber(clients.logs) as logs:
        sagemaker.add_response("describe_training_job", described(
            "InProgress", secondary="Training",
            SecondaryStatusTransitions=[{"Status": "Training", "StartTime": datetime.now(UTC),
                                         "StatusMessage": "Training image download completed."}]),
            {"TrainingJobName": JOB})
        logs.add_client_error("describe_log_streams", "ResourceNotFoundException", "The log group does not exist.")
        sagemaker.add_response("describe_training_job", described("Completed", BillableTimeInSeconds=120,
                                                                  TrainingTimeInSeconds=131))
        logs.add_response("describe_log_streams", {"logStreams": [{"logStreamName": f"{JOB}/algo-1-1700000000"}]})
        logs.add_response("get_log_events", {"events": [{"timestamp": 1, "message": "[0]#011train-logloss:0.61"},
                                                        {"timestamp": 2, "message": "[1]#011train-logloss:0.55\n"}]},
                          {"logGroupName": "/aws/sagemaker/TrainingJobs", "logStreamName": f"{JOB}/algo-1-1700000000",
                           "limit": 20, "startFromHead": False})
        running = poll_job(workspace, clients.sagemaker, JOB, clients.logs)
        assert (running.status, running.done, running.log_lines) == ("InProgress", False, ())
        assert running.sentence == (f"Training job {JOB}: InProgress (Training: Training image download completed.).")
        assert read_job(workspace, JOB).state == "InProgress"
        done = poll_job(workspace, clients.sagemaker, JOB, clients.logs)
    assert (done.status, done.billable_seconds, done.training_seconds, done.done) == ("Completed", 120, 131, True)
    assert done.log_lines == ("[0]#011train-logloss:0.61", "[1]#011train-logloss:0.55")
    row = list_jobs(workspace).iloc[0]
    assert row["state"] == "Completed" and row["cost_usd"] == pytest.approx(120 / 3600 * 0.115, abs=1e-4)


def test_a_failed_job_gives_its_reason(workspace: Workspace) -> None:
    stored_job(workspace)
    clients = make_sagemaker_clients(REGION, with_logs=False)
    reason = "AlgorithmError: num_round must be at least 1"
    with Stubber(clients.sagemaker) as sagemaker:
        sagemaker.add_response("describe_training_job", described("Failed", FailureReason=reason))
        with pytest.raises(SageMakerError) as caught:
            finish_job(workspace, clients, JOB)
    assert caught.value.message == f"The training job {JOB} failed: {reason}."
    assert "nothing was saved" in caught.value.hint
    assert read_job(workspace, JOB).detail["failure_reason"] == reason and list_runs(workspace).empty


def test_stop_asks_sagemaker_and_stores_stopping(workspace: Workspace) -> None:
    stored_job(workspace)
    clients = make_sagemaker_clients(REGION, with_logs=False)
    with Stubber(clients.sagemaker) as sagemaker:
        sagemaker.add_response("stop_training_job", {}, {"TrainingJobName": JOB})
        sagemaker.add_response("describe_training_job", described("Stopping"))
        sagemaker.add_client_error("stop_training_job", "ValidationException", "The job status is Stopping.")
        assert stop_job(workspace, clients.sagemaker, JOB).status == "Stopping"
        with pytest.raises(SageMakerError, match="is not running, so there is nothing to stop"):
            stop_job(workspace, clients.sagemaker, JOB)
    with pytest.raises(KayfabeError, match="still running"):
        delete_job_data(workspace, clients.s3, JOB)


def stub_launch_until_create(s3: Stubber, sagemaker: Stubber) -> None:
    s3.add_response("get_bucket_location", {}, {"Bucket": BUCKET})
    sagemaker.add_response("list_training_jobs", {"TrainingJobSummaries": []}, {"MaxResults": 1})
    s3.add_response("put_object", {})
    s3.add_response("put_object", {})


def stub_cleanup(s3: Stubber, prefix: str) -> None:
    s3.add_response("list_objects_v2", {"Contents": [{"Key": f"{prefix}/train/part-000.libsvm", "Size": 10},
                                                     {"Key": f"{prefix}/validation/part-000.libsvm", "Size": 5}]})
    s3.add_response("delete_objects", {})


@pytest.mark.parametrize(("code", "message", "expected"), [
    ("ResourceLimitExceeded", "The account-level service limit 'ml.m5.large for training job usage' is 0 Instances",
     "Your AWS account may not start more ml.m5.large training instances now (ResourceLimitExceeded: The "
     "account-level service limit 'ml.m5.large for training job usage' is 0 Instances)."),
    ("AccessDeniedException", "User: arn:aws:iam::123456789012:user/me is not authorized to perform: "
     "sagemaker:CreateTrainingJob", "Your AWS credentials are not allowed to start the training job (the "
     "permission sagemaker:CreateTrainingJob is missing)."),
    ("AccessDeniedException", "User: arn:aws:iam::123456789012:user/me is not authorized to perform: iam:PassRole",
     "Your AWS credentials may not hand the training role to SageMaker (the permission iam:PassRole is missing)."),
])
def test_a_refused_job_is_explained_and_its_data_removed(workspace: Workspace, code: str, message: str,
                                                         expected: str) -> None:
    clients = make_sagemaker_clients(REGION, with_logs=False)
    plan = plan_sagemaker_training(small_table(), SplitOptions(), ROUNDS, SETTINGS)
    with Stubber(clients.s3) as s3, Stubber(clients.sagemaker) as sagemaker:
        stub_launch_until_create(s3, sagemaker)
        sagemaker.add_client_error("create_training_job", code, message)
        stub_cleanup(s3, f"kayfabe/{plan.job_name}")
        with pytest.raises(KayfabeError) as caught:
            launch_training(workspace, clients, plan, confirmed=True)
        s3.assert_no_pending_responses()
    assert caught.value.message == expected
    if code == "ResourceLimitExceeded":
        assert "Service Quotas" in caught.value.hint and "ml.m5.large for training job usage" in caught.value.hint
    else:
        assert "iam:PassRole" in caught.value.hint
    job = read_job(workspace, plan.job_name)
    assert job.state == "NotStarted" and job.detail["data_deleted"] and job.detail["failure_reason"] == expected
    assert aws_resources(workspace)["kind"].tolist() == ["S3 data"]


def test_a_refused_upload_stops_before_the_job(workspace: Workspace) -> None:
    clients = make_sagemaker_clients(REGION, with_logs=False)
    plan = plan_sagemaker_training(small_table(), SplitOptions(), ROUNDS, SETTINGS)
    with Stubber(clients.s3) as s3, Stubber(clients.sagemaker) as sagemaker:
        s3.add_response("get_bucket_location", {"LocationConstraint": "us-east-1"}, {"Bucket": BUCKET})
        sagemaker.add_response("list_training_jobs", {"TrainingJobSummaries": []}, {"MaxResults": 1})
        s3.add_client_error("put_object", "AccessDenied", "Access Denied", 403)
        s3.add_response("list_objects_v2", {"KeyCount": 0})
        with pytest.raises(AwsSetupError) as caught:
            launch_training(workspace, clients, plan, confirmed=True)
        sagemaker.assert_no_pending_responses()
    key = f"kayfabe/{plan.job_name}/train/part-000.libsvm"
    assert caught.value.message == (f"Your AWS credentials are not allowed to upload the train data to "
                                    f"s3://{BUCKET}/{key} (the permission s3:PutObject is missing).")
    assert read_job(workspace, plan.job_name).state == "NotStarted"


def test_access_denied_on_the_bucket_names_the_permission(workspace: Workspace) -> None:
    clients = make_sagemaker_clients(REGION, with_logs=False)
    with Stubber(clients.s3) as s3:
        s3.add_client_error("get_bucket_location", "AccessDenied", "Access Denied", 403)
        with pytest.raises(AwsSetupError) as caught:
            check_aws_access(clients, SETTINGS)
    assert caught.value.message == (f"Your AWS credentials are not allowed to read where the bucket {BUCKET} is "
                                    "(the permission s3:GetBucketLocation is missing).")
    assert caught.value.hint.startswith("Ask your AWS administrator to allow")


def test_learning_curves_match_xgboosts_own_log() -> None:
    table = small_table()
    rows = np.arange(table.n_images)
    booster, log = local_booster(table.matrix, table.observed, rows[::2], rows[1::2], ROUNDS, 5)
    fit, check = (xgb.DMatrix(table.matrix[part], label=table.observed[part]) for part in (rows[::2], rows[1::2]))
    train_curve, check_curve = learning_curves(booster, fit, check)
    assert train_curve == pytest.approx(log["train"]["logloss"], abs=1e-5)
    assert check_curve == pytest.approx(log["validation"]["logloss"], abs=1e-5)
