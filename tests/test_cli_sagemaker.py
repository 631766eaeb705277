"""``train WORKSPACE --backend sagemaker`` and ``jobs`` on the demo workspace, against a moto server.

The CLI builds its own clients from the standard chain; ``AWS_ENDPOINT_URL``
points them at moto on 127.0.0.1, as a user's environment would point them at AWS.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.runs import list_runs
from kayfabe_core.sagemaker_client import make_sagemaker_clients
from kayfabe_core.sagemaker_launch import container_hyperparameters, plan_sagemaker_training, training_image
from kayfabe_core.sagemaker_settings import saved_settings
from kayfabe_core.sagemaker_store import read_job, read_job_files
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
from kayfabe_core.workspace import open_workspace
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
)


@pytest.fixture
def demo(demo_root: Path, tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo workspace, and the CLI's AWS pointed at a fresh moto server with the bucket made."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    moto_clients(moto_url)
    return copy_workspace(demo_root, tmp_path / "ws", images=False)



def test_no_wait_creates_a_builtin_xgboost_job_reading_our_rows(demo: Path, moto_url: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "train", str(demo), *AWS_OPTIONS, "--no-wait", "--yes", "--rounds", "40",
                         "--param", "max_depth=4", "--name", "cloud run", "--json")
    assert code == 0, err
    assert "At most $0.12: 1 × ml.m5.large for at most 1 h" in err
    started = json.loads(out)
    name = started["job_name"]
    aws = make_sagemaker_clients(REGION, moto_url, max_attempts=1)
    job = aws.sagemaker.describe_training_job(TrainingJobName=name)
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE == training_image(REGION)
    sent = job["HyperParameters"]
    assert all(isinstance(value, str) for value in sent.values())
    expected = container_hyperparameters(TrainSettings.from_choices(None, {"num_boost_round": 40, "max_depth": 4}),
                                         2021)
    assert sent == expected and sent["num_round"] == "40" and sent["max_depth"] == "4"
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 3600
    files = read_job_files(open_workspace(demo, create=False), name)
    for channel, rows in (("train", files.rows["fit"]), ("validation", files.rows["check"])):
        text = object_text(aws.s3, f"kayfabe/{name}/{channel}/part-000.libsvm")
        matrix, labels = parse_libsvm(text, files.matrix.shape[1])
        assert np.array_equal(matrix.toarray(), files.matrix[rows].toarray())
        assert np.array_equal(labels, files.observed[rows])
    workspace = open_workspace(demo, create=False)
    assert saved_settings(workspace).bucket == BUCKET and saved_settings(workspace).role_arn == ROLE
    assert read_job(workspace, name).detail["name"] == "cloud run"


def test_it_asks_before_paying_and_sends_nothing_without_yes(demo: Path, moto_url: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "train", "--workspace", str(demo), *AWS_OPTIONS, "--no-wait")
    assert code == 1 and out == ""
    assert "Error: Training on SageMaker costs money, and there is no one to ask for confirmation here." in err
    assert "What to do: Run it again with --yes to confirm the estimate shown above." in err
    assert "Contents" not in moto_clients(moto_url).s3.list_objects_v2(Bucket=BUCKET)
    code, out, err = run_cli(capsys, "jobs", str(demo))
    assert code == 0 and out.startswith("No SageMaker jobs yet")


def test_wait_finishes_the_run_and_prints_the_summary(demo: Path, moto_url: str, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    name = "kayfabe-20261123-120000-abcd"
    monkeypatch.setattr("kayfabe_core.sagemaker_launch.new_job_name", lambda: name)
    workspace = open_workspace(demo, create=False)
    settings = TrainSettings.from_choices(None, {"num_boost_round": 30})
    plan = plan_sagemaker_training(build_features(workspace, FeatureOptions()), SplitOptions(), settings, SETTINGS)
    booster, _ = local_booster(plan.table.matrix, plan.table.observed, plan.fit_rows, plan.check_rows, settings, 2021)
    aws = moto_clients(moto_url)
    place_artifact(aws.s3, f"s3://{BUCKET}/kayfabe/{name}/output/{name}/output/model.tar.gz", booster)
    code, out, err = run_cli(capsys, "train", str(demo), *AWS_OPTIONS, "--wait", "--poll-seconds", "0", "--yes",
                         "--rounds", "30")
    assert code == 0, err
    assert f"Training job {name}: Completed" in err
    assert out.startswith("Run run-") and "Accuracy" in out and "Saved in" in out
    runs = list_runs(workspace)
    assert runs["backend"].tolist() == ["sagemaker"] and 0.6 < runs["accuracy"].iloc[0] <= 1


def test_jobs_lists_refreshes_and_cleans_up(demo: Path, moto_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "train", str(demo), *AWS_OPTIONS, "--no-wait", "--yes", "--rounds", "20", "--json")
    assert code == 0, err
    name, artifact = json.loads(out)["job_name"], json.loads(out)["model_artifact"]
    code, out, _ = run_cli(capsys, "jobs", str(demo), "--json")
    [listed] = json.loads(out)
    assert (listed["job_name"], listed["state"], listed["run_id"]) == (name, "Completed", None)
    workspace = open_workspace(demo, create=False)
    files = read_job_files(workspace, name)
    settings = TrainSettings.from_choices(None, {"num_boost_round": 20})
    booster, _ = local_booster(files.matrix, files.observed, files.rows["fit"], files.rows["check"], settings, 2021)
    place_artifact(make_sagemaker_clients(REGION, moto_url, max_attempts=1).s3, artifact, booster)
    code, out, err = run_cli(capsys, "jobs", str(demo), "--refresh")
    assert code == 0, err
    run_id = list_runs(workspace)["run_id"].iloc[0]
    assert name in out and run_id in out and "Completed" in out
    code, out, _ = run_cli(capsys, "jobs", str(demo), "--resources")
    assert "training job" in out and "S3 data" in out and "No endpoints" in out
    code, out, _ = run_cli(capsys, "jobs", str(demo), "--delete-data", name)
    assert code == 0 and out.startswith("Deleted 3 objects (") and f"of job {name} from S3." in out
    code, out, err = run_cli(capsys, "jobs", str(demo), "--stop", "no-such-job")
    assert code == 1 and "There is no SageMaker job called no-such-job in this workspace." in err
