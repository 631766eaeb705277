"""Train page, tuner tab, Amazon SageMaker: ranges → cost → confirm → launch → trials → best run → results.

moto creates and describes tuning jobs, marking them Completed at once with a made-up best training job
(``FakeTrainingJobName``); it neither lists a tuning's training jobs nor stops one. So the launch is checked on
moto, the trials as they finish through botocore's Stubber (the shapes SageMaker answers, stored by the core's
own poll), and the best run by making that training job in moto with a real model where SageMaker would write it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from streamlit.testing.v1 import AppTest

from kayfabe_core.constraints import DEFAULT_PRESET
from kayfabe_core.runs import list_runs, read_run
from kayfabe_core.sagemaker_client import make_sagemaker_clients
from kayfabe_core.sagemaker_settings import saved_settings
from kayfabe_core.sagemaker_store import read_job_files
from kayfabe_core.sagemaker_tuning import launch_tuning
from kayfabe_core.sagemaker_tuning_jobs import poll_tuning
from kayfabe_core.sagemaker_tuning_store import list_sagemaker_tunings
from kayfabe_core.train import TrainSettings
from kayfabe_core.workspace import open_workspace
from kayfabe_ui import sagemaker_jobs_view, sagemaker_tuning_view
from tests.conftest import copy_workspace
from tests.sagemaker_support import (
    BUCKET,
    IMAGE,
    REGION,
    ROLE,
    fake_aws,  # noqa: F401
    local_booster,
    place_artifact,
    point_the_app_at_moto,
)
from tests.test_sagemaker_tuning import planned, trial, tuning_described
from tests.ui.conftest import texts


@pytest.fixture
def demo_copy(demo_root: Path, tmp_path: Path) -> Path:
    return copy_workspace(demo_root, tmp_path / "demo")


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A clean moto server with the test bucket, reached through $AWS_ENDPOINT_URL. The page asks AWS only when
    told to (“Check now”), however slow the test machine."""
    monkeypatch.setattr(sagemaker_tuning_view, "STALE_AFTER_S", 1e9)
    monkeypatch.setattr(sagemaker_jobs_view, "STALE_AFTER_S", 1e9)
    return point_the_app_at_moto(moto_url, monkeypatch)


def tuner_tab(open_app, root: Path) -> AppTest:  # type: ignore[no-untyped-def]
    at = open_app(root)
    at.switch_page("pages/4_train.py").run()
    assert at.segmented_control(key="tune_where").value == "local"  # this computer stays the default
    at.segmented_control(key="tune_where").set_value("sagemaker").run()
    assert not at.exception, at.exception
    return at


def fill(at: AppTest) -> AppTest:
    at.text_input(key="smt_bucket").input(BUCKET)
    at.text_input(key="smt_role").input(ROLE)
    at.selectbox(key="smt_instance_type").set_value("ml.c5.xlarge")
    at.number_input(key="smt_max_runtime_s").set_value(1800)
    at.multiselect(key="smt_knobs").set_value(["eta", "max_depth", "lambda"])
    at.run()
    at.slider(key="smt_range_max_depth").set_value((2, 6))
    at.number_input(key="smt_max_jobs").set_value(4)
    at.number_input(key="smt_parallel_jobs").set_value(2)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [error.value for error in at.error]
    return at


def accept_box(at: AppTest) -> Any:
    [box] = [box for box in at.checkbox if str(box.key).startswith("smt_accept_")]
    return box


def launched(open_app, root: Path) -> AppTest:  # type: ignore[no-untyped-def]
    at = fill(tuner_tab(open_app, root))
    accept_box(at).check().run()
    at.button(key="smt_launch").click().run()
    assert not at.exception, at.exception
    assert not at.error, [error.value for error in at.error]
    return at


def moto_tunings(aws: Any) -> list[str]:
    answer = aws.sagemaker.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    return [job["HyperParameterTuningJobName"] for job in answer]


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def resources_table(at: AppTest) -> Any:
    [table] = [frame.value for frame in at.dataframe if "costs" in frame.value.columns]
    return table


def test_launch_sends_the_chosen_ranges_and_job_counts(demo_copy: Path, open_app, aws: Any) -> None:
    at = fill(tuner_tab(open_app, demo_copy))
    assert at.multiselect(key="smt_knobs").options == [  # only what SageMaker's XGBoost can tune
        "Rounds (trees)", "Learning rate (eta)", "Tree depth (max_depth)", "Smallest leaf (min_child_weight)",
        "Split penalty (gamma)", "Images per tree (subsample)", "Features per tree (colsample_bytree)",
        "Weight shrinkage, L2 (lambda)", "Weight pruning, L1 (alpha)"]
    assert at.slider(key="smt_range_eta").value == (0.01, 0.5)  # the local tuner's range, from the same table
    shown = texts(at)
    assert "for 4 training jobs, 2 at a time (so the tuning ends within 1 h); each job: at most \\$0.10" in shown
    assert "Included: 4 training jobs, each 1 × ml.c5.xlarge for the whole longest run you allow (30 min)" in shown
    assert "What happens: SageMaker tuning job kayfabe-tune-" in shown
    assert [metric.label for metric in at.metric] == ["The most this tuning can cost"]
    assert at.button(key="smt_launch").disabled
    assert "No SageMaker tuning yet" in shown

    at = launched(open_app, demo_copy)
    [name] = moto_tunings(aws)
    sent = aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    config, definition = sent["HyperParameterTuningJobConfig"], sent["TrainingJobDefinition"]
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2}
    assert config["ParameterRanges"] == {
        "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "6", "ScalingType": "Linear"}],
        "ContinuousParameterRanges": [
            {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
            {"Name": "lambda", "MinValue": "0.001", "MaxValue": "10.0", "ScalingType": "Logarithmic"}]}
    static = definition["StaticHyperParameters"]
    assert "eta" not in static and "max_depth" not in static and "lambda" not in static
    assert static["num_round"] == str(TrainSettings.from_choices(DEFAULT_PRESET).rounds)  # step 3's settings
    assert definition["ResourceConfig"]["InstanceType"] == "ml.c5.xlarge"
    assert definition["StoppingCondition"]["MaxRuntimeInSeconds"] == 1800 and definition["RoleArn"] == ROLE
    assert saved_settings(open_workspace(demo_copy, create=False)).bucket == BUCKET  # kept for next time

    # moto ends the tuning at once: the card says so, and that the run follows at the next check
    assert metrics(at)["Status"] == "Completed" and metrics(at)["Jobs completed"].endswith(" of 4")
    assert name in texts(at) and "The best training job's model is downloaded" in texts(at)
    assert "The trials could not be listed" in at.warning[0].value  # moto lists no trials
    assert not accept_box(at).value and at.button(key="smt_launch").disabled  # a new plan asks again

    # A new session (a refresh, a restarted app) finds the unfinished tuning and follows it.
    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    assert at.segmented_control(key="tune_where").value == "sagemaker"
    assert at.segmented_control(key="train_where").value == "local"
    assert name in texts(at)
    at.segmented_control(key="train_where").set_value("sagemaker").run()  # both tabs on SageMaker: no key clash
    assert not at.exception, at.exception
    assert len([frame for frame in at.dataframe if "costs" in frame.value.columns]) == 2  # resources in each tab


def test_no_launch_without_accepting_the_cost(demo_copy: Path, open_app, aws: Any) -> None:
    at = fill(tuner_tab(open_app, demo_copy))
    assert at.button(key="smt_launch").disabled
    assert "Tick “I accept this cost” first." in str(at.button(key="smt_launch").help)
    assert moto_tunings(aws) == []
    assert aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    assert list_sagemaker_tunings(open_workspace(demo_copy, create=False)).empty


def test_changing_a_range_or_a_count_asks_for_the_cost_again(demo_copy: Path, open_app, aws: Any) -> None:
    at = fill(tuner_tab(open_app, demo_copy))
    accept_box(at).check().run()
    assert not at.button(key="smt_launch").disabled
    at.slider(key="smt_range_max_depth").set_value((3, 6)).run()
    assert not accept_box(at).value and at.button(key="smt_launch").disabled
    accept_box(at).check().run()
    at.number_input(key="smt_max_jobs").set_value(6).run()
    assert "for 6 training jobs" in texts(at)
    assert not accept_box(at).value and at.button(key="smt_launch").disabled
    at.number_input(key="smt_parallel_jobs").set_value(8).run()  # more at once than in all: said, no launch
    assert "cannot run more training jobs at once (8) than in all (6)" in at.error[0].value
    assert not any(str(button.key) == "smt_launch" for button in at.button)
    assert moto_tunings(aws) == []


def test_the_card_shows_trials_as_they_finish_and_the_best_so_far(demo_copy: Path, open_app, aws: Any) -> None:
    workspace = open_workspace(demo_copy, create=False)
    plan = planned()  # a small table, eta 0.05–0.5 and max_depth 2–6, 4 jobs, 2 at once
    launch_tuning(workspace, aws, plan, confirmed=True)
    name = plan.job_name
    first = trial(name, 1, "Completed", {"eta": "0.1", "max_depth": "5"}, 0.52)
    second = trial(name, 2, "Completed", {"eta": "0.4", "max_depth": "2"}, 0.47)
    third = trial(name, 3, "InProgress", {"eta": "0.25", "max_depth": "3"})
    fourth = trial(name, 4, "Failed", {"eta": "0.06", "max_depth": "6"}, FailureReason="AlgorithmError: out of memory")
    stubbed = make_sagemaker_clients(REGION, with_logs=False).sagemaker
    with Stubber(stubbed) as sagemaker:  # what SageMaker answers mid-way, stored as the page's own poll stores it
        sagemaker.add_response("describe_hyper_parameter_tuning_job", tuning_described(
            name, "InProgress", {"Completed": 2, "InProgress": 1, "NonRetryableError": 1}, second))
        sagemaker.add_response("list_training_jobs_for_hyper_parameter_tuning_job",
                               {"TrainingJobSummaries": [first, second, third, fourth]})
        poll_tuning(workspace, stubbed, name)

    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    assert not at.exception, at.exception
    assert at.segmented_control(key="tune_where").value == "sagemaker"  # an unfinished tuning is followed
    shown = metrics(at)
    assert (shown["Status"], shown["Jobs completed"], shown["In progress"], shown["Failed"],
            shown["Best log loss so far"]) == ("InProgress", "2 of 4", "1", "1", "0.4700")
    assert (f"**Best settings so far** (training job `{name}-002-0a1b2c3d`): Learning rate (eta) = 0.4 · "
            "Tree depth (max_depth) = 2") in texts(at)
    [trials] = [frame.value for frame in at.dataframe if "training job" in frame.value.columns]
    assert trials["state"].tolist() == ["Completed", "Completed", "InProgress", "Failed"]
    assert trials["log loss"].tolist()[:2] == [0.52, 0.47]
    assert trials["best so far"].tolist() == [0.52, 0.47, 0.47, 0.47]
    assert trials["max_depth"].tolist() == [5, 2, 3, 6]
    assert trials["why it failed"].tolist()[3] == "AlgorithmError: out of memory"
    [chart] = [chart for chart in at.get("plotly_chart") if "smt_chart" in str(chart.proto.id)]
    assert chart is not None
    assert "How to read: each dot is one finished training job's log loss" in texts(at)
    assert "How to read: one row per training job" in texts(at)
    assert any(str(button.key) == "smt_refresh" for button in at.button)  # followed: Check now, every 10 s

    at.button(key=f"smt_stop_{name}").click().run()  # moto has no StopHyperParameterTuningJob: an error answers
    assert not at.exception, at.exception
    [stop] = [error.value for error in at.error if "did not stop the tuning job" in error.value]
    assert "**What to do:** Stop it in the AWS console" in stop  # (the other error: no bucket typed in yet)


def test_the_best_job_becomes_a_run_that_opens_on_results(demo_copy: Path, open_app, aws: Any) -> None:
    launched(open_app, demo_copy)
    workspace = open_workspace(demo_copy, create=False)
    name = str(list_sagemaker_tunings(workspace)["job_name"].iloc[0])
    files = read_job_files(workspace, name)  # what the best training job would have trained, on the saved rows
    booster, _ = local_booster(files.matrix, files.observed, files.rows["fit"], files.rows["check"],
                               TrainSettings.from_choices(DEFAULT_PRESET), 2021)
    aws.sagemaker.create_training_job(  # moto's made-up best job, made real with our model where SageMaker writes it
        TrainingJobName="FakeTrainingJobName", RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/kayfabe/{name}/output"},
        ResourceConfig={"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 1800})
    place_artifact(aws.s3, f"s3://{BUCKET}/kayfabe/{name}/output/FakeTrainingJobName/output/model.tar.gz", booster)

    at = open_app(demo_copy)
    at.switch_page("pages/4_train.py").run()
    at.button(key="smt_refresh").click().run()
    assert not at.exception, at.exception
    runs = list_runs(open_workspace(demo_copy, create=False))
    [run_id] = runs.loc[runs["backend"] == "sagemaker", "run_id"]
    record = read_run(open_workspace(demo_copy, create=False), run_id)
    assert (record["sagemaker"]["tuning_job"], record["sagemaker"]["job_name"]) == (name, "FakeTrainingJobName")
    assert any(f"saved as the run {run_id}" in box.value for box in at.success)
    assert not any(str(button.key) == "smt_refresh" for button in at.button)  # nothing left to follow

    resources = resources_table(at)  # the tuning and its S3 folder are listed, and can be deleted
    assert ["tuning job", name] in resources[["kind", "name"]].values.tolist()
    prefix = f"kayfabe/{name}/"
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["KeyCount"] > 0
    at.button(key=f"smt_delete_{name}").click().run()
    assert not at.exception, at.exception
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["KeyCount"] == 0
    assert f"of {name} from S3." in at.success[-1].value
    table = resources_table(at)
    assert table.loc[table["name"] == f"s3://{BUCKET}/{prefix}", "state"].tolist() == ["deleted"]

    at.button(key=f"smt_open_{name}").click().run()
    assert not at.exception, at.exception
    assert [title.value for title in at.title] == ["Results"]
    assert at.session_state["selected_run_id"] == run_id
    assert at.selectbox(key="results_run").value == run_id
