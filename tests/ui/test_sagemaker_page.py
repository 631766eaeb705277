"""Train page, Amazon SageMaker: settings → cost → confirm → launch → follow → results, against a moto server.

moto marks a training job Completed at once and writes no model; the tests
train the container's booster here on the job's saved rows and put it where
moto says the model is, as the core's tests do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from kayfabe_core.constraints import DEFAULT_PRESET
from kayfabe_core.runs import list_runs, read_run
from kayfabe_core.sagemaker_jobs import job_status, list_jobs
from kayfabe_core.sagemaker_settings import saved_settings
from kayfabe_core.sagemaker_store import read_job_files, update_job
from kayfabe_core.train import TrainSettings
from kayfabe_core.workspace import open_workspace
from kayfabe_ui import sagemaker_jobs_view
from tests.conftest import copy_workspace
from tests.sagemaker_support import (
    BUCKET,
    REGION,
    ROLE,
    fake_aws,  # noqa: F401
    local_booster,
    place_artifact,
    point_the_app_at_moto,
)
from tests.ui.conftest import texts


@pytest.fixture
def demo_copy(demo_root: Path, tmp_path: Path) -> Path:
    """A private copy of the demo workspace (the Posts and Results pages show its images)."""
    return copy_workspace(demo_root, tmp_path / "demo")


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A clean moto server with the test bucket; the app reaches it through $AWS_ENDPOINT_URL. The page asks AWS
    only when told to (“Check now”), however slow the test machine, unless a test says otherwise."""
    monkeypatch.setattr(sagemaker_jobs_view, "STALE_AFTER_S", 1e9)
    return point_the_app_at_moto(moto_url, monkeypatch)


def sagemaker_page(open_app, root: Path) -> AppTest:  # type: ignore[no-untyped-def]
    at = open_app(root)
    at.switch_page("pages/4_train.py").run()
    assert at.segmented_control(key="train_where").value == "local"  # this computer stays the default
    at.segmented_control(key="train_where").set_value("sagemaker").run()
    assert not at.exception, at.exception
    return at


def fill(at: AppTest, bucket: str = BUCKET) -> AppTest:
    at.text_input(key="sm_bucket").input(bucket)
    at.text_input(key="sm_role").input(ROLE)
    at.selectbox(key="sm_instance_type").set_value("ml.c5.xlarge")
    at.number_input(key="sm_max_runtime_s").set_value(1800)
    at.run()
    assert not at.exception, at.exception
    return at


def accept(at: AppTest) -> AppTest:
    [box] = [box for box in at.checkbox if str(box.key).startswith("sm_accept_")]
    box.check().run()
    return at


def launched(open_app, root: Path) -> AppTest:  # type: ignore[no-untyped-def]
    at = accept(fill(sagemaker_page(open_app, root)))
    assert not at.button(key="sm_launch").disabled
    at.button(key="sm_launch").click().run()
    assert not at.exception, at.exception
    assert not at.error, [error.value for error in at.error]
    return at


def place_model(root: Path, aws: Any) -> str:
    """Put the booster the container would have trained where moto says the model is; return the job name."""
    workspace = open_workspace(root, create=False)
    job_name = str(list_jobs(workspace)["job_name"].iloc[0])
    files = read_job_files(workspace, job_name)
    booster, _ = local_booster(files.matrix, files.observed, files.rows["fit"], files.rows["check"],
                               TrainSettings.from_choices(DEFAULT_PRESET), 2021)
    place_artifact(aws.s3, job_status(workspace, job_name).model_artifact, booster)
    return job_name


def resources_table(at: AppTest) -> Any:
    [table] = [frame.value for frame in at.dataframe if "costs" in frame.value.columns]
    return table


def moto_jobs(aws: Any) -> list[str]:
    return [job["TrainingJobName"] for job in aws.sagemaker.list_training_jobs()["TrainingJobSummaries"]]


def test_launch_follow_and_open_the_results(demo_copy: Path, open_app, aws: Any) -> None:
    at = fill(sagemaker_page(open_app, demo_copy))
    shown = texts(at)
    # where each prefilled value came from:
    assert "Filled in from `AWS_DEFAULT_REGION` (region) and the app's defaults (the rest)." in shown
    assert at.text_input(key="sm_region").value == REGION
    assert "At most \\$0.10: 1 × ml.c5.xlarge for at most 30 min at \\$0.204 an hour" in shown
    assert "Included: 1 instance for the whole longest run you allow (30 min)" in shown
    assert at.button(key="sm_launch").disabled  # no money without saying yes

    at = launched(open_app, demo_copy)
    [job_name] = moto_jobs(aws)
    job = aws.sagemaker.describe_training_job(TrainingJobName=job_name)
    assert job["ResourceConfig"]["InstanceType"] == "ml.c5.xlarge" and job["ResourceConfig"]["InstanceCount"] == 1
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 1800 and job["RoleArn"] == ROLE
    assert job["OutputDataConfig"]["S3OutputPath"].startswith(f"s3://{BUCKET}/kayfabe/{job_name}/")
    saved = saved_settings(open_workspace(demo_copy, create=False))
    assert (saved.bucket, saved.role_arn, saved.instance_type, saved.max_runtime_s) == (BUCKET, ROLE, "ml.c5.xlarge",
                                                                                         1800)
    assert "Completed" in [metric.value for metric in at.metric]
    assert "The model is downloaded and scored on this computer at the next check" in texts(at)

    # A new session (a refresh, a restarted app) finds the unfinished job and follows it.
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    assert at.segmented_control(key="train_where").value == "sagemaker"
    assert job_name in texts(at)
    place_model(demo_copy, aws)
    at.button(key="sm_refresh").click().run()
    assert not at.exception, at.exception
    runs = list_runs(open_workspace(demo_copy, create=False))
    [run_id] = runs.loc[runs["backend"] == "sagemaker", "run_id"]
    assert read_run(open_workspace(demo_copy, create=False), run_id)["sagemaker"]["job_name"] == job_name
    assert any(f"saved as the run {run_id}" in box.value for box in at.success)
    assert not any(str(button.key) == "sm_refresh" for button in at.button)  # nothing left to follow

    at.button(key=f"sm_open_{job_name}").click().run()
    assert not at.exception, at.exception
    assert [title.value for title in at.title] == ["Results"]
    assert at.session_state["selected_run_id"] == run_id
    assert at.selectbox(key="results_run").value == run_id


def test_launch_is_impossible_without_accepting_the_cost(demo_copy: Path, open_app, aws: Any) -> None:
    at = fill(sagemaker_page(open_app, demo_copy))
    assert at.button(key="sm_launch").disabled  # AppTest, like a browser, cannot click it
    assert "Tick “I accept this cost” first." in str(at.button(key="sm_launch").help)
    assert moto_jobs(aws) == []
    assert aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_changing_a_setting_asks_for_the_cost_again(demo_copy: Path, open_app, aws: Any) -> None:
    at = accept(fill(sagemaker_page(open_app, demo_copy)))
    assert not at.button(key="sm_launch").disabled
    at.toggle(key="sm_spot").set_value(True).run()
    assert "with spot capacity" in texts(at)
    assert at.button(key="sm_launch").disabled


def test_missing_settings_and_a_missing_bucket_are_said_clearly(demo_copy: Path, open_app, aws: Any) -> None:
    at = sagemaker_page(open_app, demo_copy)  # blanks before anything is typed: what to fill in, not an error
    assert not at.error
    assert "To train on SageMaker, fill in the S3 bucket and the IAM role above" in texts(at)
    assert not any(str(button.key) == "sm_launch" for button in at.button)
    at.text_input(key="sm_bucket").input(BUCKET).run()
    assert "fill in the IAM role above" in texts(at) and not at.error

    at = accept(fill(at, bucket="no-such-bucket-here"))
    at.button(key="sm_launch").click().run()
    assert not at.exception
    assert "There is no S3 bucket called no-such-bucket-here." in at.error[0].value
    assert moto_jobs(aws) == []


def test_no_credentials_is_said_before_anything_is_sent(demo_copy: Path, open_app, aws: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    at = fill(sagemaker_page(open_app, demo_copy))
    at.button(key="sm_check").click().run()
    assert not at.exception
    assert "credentials" in at.error[0].value.lower()
    assert moto_jobs(aws) == []


def test_resources_list_the_job_and_deleting_its_data_empties_s3(demo_copy: Path, open_app, aws: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    launched(open_app, demo_copy)
    job_name = place_model(demo_copy, aws)
    monkeypatch.setattr(sagemaker_jobs_view, "STALE_AFTER_S", 0)  # as after a restart: the first view asks AWS
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    assert not at.exception, at.exception
    assert any("saved as the run" in box.value for box in at.success)
    resources = resources_table(at)
    assert list(resources["kind"]) == ["training job", "S3 data"]
    assert resources["name"].iloc[0] == job_name and resources["state"].iloc[1] == "kept"
    assert "No endpoint is ever created" in texts(at)
    prefix = f"kayfabe/{job_name}/"
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["KeyCount"] > 0

    at.button(key=f"sm_delete_{job_name}").click().run()
    assert not at.exception, at.exception
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["KeyCount"] == 0
    assert resources_table(at)["state"].iloc[1] == "deleted"
    assert f"of {job_name} from S3." in at.success[-1].value


def test_stop_asks_sagemaker_and_says_what_to_do_when_it_cannot(demo_copy: Path, open_app, aws: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    launched(open_app, demo_copy)
    job_name = str(list_jobs(open_workspace(demo_copy, create=False))["job_name"].iloc[0])
    update_job(open_workspace(demo_copy, create=False), job_name, "InProgress", secondary_status="Training",
               billable_seconds=95, log_tail=["[0]#011train-logloss:0.61", "[1]#011train-logloss:0.55"])
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    assert not at.exception, at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    assert (metrics["Status"], metrics["Secondary status"], metrics["Billable time"]) == ("InProgress", "Training",
                                                                                          "95 s")
    assert "[1]#011train-logloss:0.55" in at.code[0].value
    at.button(key=f"sm_stop_{job_name}").click().run()  # moto has no StopTrainingJob: it answers with an error
    assert not at.exception, at.exception
    assert "Stop it in the AWS console" in at.error[0].value
