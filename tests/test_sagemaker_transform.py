"""Scoring on a SageMaker batch transform, on a moto server (requests, uploads, merge) and through botocore's Stubber.

moto accepts create_model and create_transform_job, marks the job Completed at
once and writes no output. The tests play the built-in container: they read
the model and the libsvm files the app uploaded, score every line with every
tree of that model (as the container does) and write ``<file>.out`` where
SageMaker would. The merged scores must be the Predict page's, exactly.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from kayfabe_core.__main__ import main
from kayfabe_core.errors import KayfabeError, StageNotReadyError
from kayfabe_core.experiment import run_experiment
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.predict import PredictionReport, all_posts, predict_posts
from kayfabe_core.runs import load_booster, read_run
from kayfabe_core.sagemaker_artifact import load_model_artifact
from kayfabe_core.sagemaker_client import SageMakerClients, SageMakerError, make_sagemaker_clients
from kayfabe_core.sagemaker_data import list_prefix
from kayfabe_core.sagemaker_transform import (
    finish_transform,
    launch_transform,
    model_archive,
    plan_transform,
    read_output,
    wait_for_transform,
)
from kayfabe_core.sagemaker_transform_store import read_transform, save_transform
from kayfabe_core.split import SplitOptions
from kayfabe_core.train import TrainSettings
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
    moto_clients,
    parse_libsvm,
)

EARLY = TrainSettings.from_choices("careful", {"num_boost_round": 80, "early_stopping_rounds": 5, "eta": 0.3})
OPTIONS = FeatureOptions(include_parents=False, metadata=True, caption=True, min_images=3, label_threshold=90)
NAME = "kayfabe-predict-20261123-101502-3f2a"


@pytest.fixture(scope="module")
def scored(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of the demo with a run that stopped early (so it keeps fewer rounds than it has)."""
    root = copy_workspace(demo_root, tmp_path_factory.mktemp("transform") / "demo")
    workspace = open_workspace(root)
    run = run_experiment(workspace, build_features(workspace, OPTIONS), SplitOptions(), EARLY, "to transform")
    return root, run.run_id


@pytest.fixture
def demo(scored: tuple[Path, str], tmp_path: Path) -> tuple[Workspace, str]:
    root, run_id = scored
    return open_workspace(copy_workspace(root, tmp_path / "ws", images=False)), run_id


def play_container(s3: Any, prefix: str, tmp_path: Path, comma_separated: bool = False) -> int:
    """Score every uploaded line with the uploaded model, as the built-in container would; return the lines."""
    model = s3.get_object(Bucket=BUCKET, Key=f"{prefix}/model/model.tar.gz")["Body"].read()
    inputs = [(key.rsplit("/", 1)[1], s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
              for key, _ in list_prefix(s3, BUCKET, f"{prefix}/input")]
    lines = 0
    for name, body in container_outputs(model, inputs, tmp_path, comma_separated).items():
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/output/{name}", Body=body)
        lines += len(body.replace(b",", b"\n").split())
    return lines


def container_outputs(model: bytes, inputs: list[tuple[str, bytes]], tmp_path: Path,
                      comma_separated: bool = False) -> dict[str, bytes]:
    """The container's output file for each input file: one score per line (or comma-separated), every tree."""
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(model)
    booster = load_model_artifact(archive)
    assert not booster.attr("best_iteration")  # every tree of the archive counts
    outputs = {}
    for name, body in inputs:
        matrix, labels = parse_libsvm(body.decode(), booster.num_features())
        assert not labels.any()
        scores = booster.predict(xgb.DMatrix(matrix)).tolist()
        text = ",".join(map(str, scores)) + "\n" if comma_separated else "".join(f"{s}\n" for s in scores)
        outputs[f"{name}.out"] = text.encode()
    return outputs


# --- moto server ----------------------------------------------------------------------------------------------------

def test_the_transform_scores_exactly_as_the_predict_page(demo: tuple[Workspace, str], moto_url: str,
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace, run_id = demo
    monkeypatch.setattr("kayfabe_core.predict.CHUNK", 600)
    monkeypatch.setattr("kayfabe_core.sagemaker_transform.new_transform_name", lambda: NAME)
    clients = moto_clients(moto_url)
    posts = all_posts(workspace)
    plan = plan_transform(workspace, run_id, posts, replace(SETTINGS, instance_count=2, spot=True))
    assert len(plan.input_files) == 4 and len(plan.order) == 1954 and plan.cost.spot_usd is None
    assert plan.describe().startswith(f"SageMaker batch transform {NAME} in us-east-1 on 2 × ml.m5.large: scores "
                                      f"1,954 images with run {run_id} (4 files, ")
    status = launch_transform(workspace, clients, plan, confirmed=True)
    assert (status.status, status.done) == ("Completed", True)  # moto completes at once

    prefix = f"kayfabe/{NAME}"
    model = clients.sagemaker.describe_model(ModelName=NAME)
    assert model["PrimaryContainer"]["Image"] == IMAGE
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://{BUCKET}/{prefix}/model/model.tar.gz"
    assert model["ExecutionRoleArn"] == ROLE
    job = clients.sagemaker.describe_transform_job(TransformJobName=NAME)
    assert job["ModelName"] == NAME and job["BatchStrategy"] == "MultiRecord" and job["MaxPayloadInMB"] == 6
    assert job["TransformInput"] == {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/input/"}},
        "ContentType": "text/libsvm", "SplitType": "Line", "CompressionType": "None"}
    assert job["TransformOutput"] == {"S3OutputPath": f"s3://{BUCKET}/{prefix}/output", "Accept": "text/csv",
                                      "AssembleWith": "Line"}
    assert job["TransformResources"] == {"InstanceType": "ml.m5.large", "InstanceCount": 2}
    uploaded = [key for key, _ in list_prefix(clients.s3, BUCKET, f"{prefix}/input")]
    assert uploaded == [f"{prefix}/input/part-{n:03d}.libsvm" for n in range(4)]

    assert play_container(clients.s3, prefix, tmp_path) == 1954
    table, report = finish_transform(workspace, clients, NAME)
    local, local_report = predict_posts(workspace, run_id, posts)
    assert report == local_report and report.scored == 1954
    pd.testing.assert_frame_equal(table.drop(columns="reasons"), local.drop(columns="reasons"), check_exact=True)
    assert (table["reasons"] == "").all() and local["reasons"].str.len().gt(0).any()

    with pytest.raises(ClientError, match="Could not find model"):
        clients.sagemaker.describe_model(ModelName=NAME)  # deleted once the scores were in
    assert "Contents" not in clients.s3.list_objects_v2(Bucket=BUCKET)  # and the data with it
    stored = read_transform(workspace, NAME)
    assert stored.state == "Completed" and stored.detail["collected"] and stored.detail["data_deleted"]


def test_the_model_sent_keeps_only_the_runs_rounds(demo: tuple[Workspace, str], tmp_path: Path) -> None:
    workspace, run_id = demo
    booster = load_booster(workspace, run_id)
    best = int(read_run(workspace, run_id)["curve"]["best_round"])  # type: ignore[index]
    assert best < booster.num_boosted_rounds()  # early stopping kept fewer rounds than were trained
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(model_archive(booster, best))
    sent = load_model_artifact(archive)
    assert sent.num_boosted_rounds() == best and sent.num_features() == booster.num_features()
    data = xgb.DMatrix(np.random.default_rng(1).random((200, booster.num_features())).astype(np.float32))
    assert np.array_equal(sent.predict(data), booster.predict(data, iteration_range=(0, best)))


def test_nothing_is_sent_without_confirmation(demo: tuple[Workspace, str], moto_url: str) -> None:
    workspace, run_id = demo
    clients = moto_clients(moto_url)
    plan = plan_transform(workspace, run_id, all_posts(workspace)[:30], SETTINGS)
    with pytest.raises(KayfabeError) as refused:
        launch_transform(workspace, clients, plan, confirmed=False)
    assert refused.value.message == ("Scoring on SageMaker costs money, and the cost was not confirmed; nothing was "
                                     "sent.")
    assert "Contents" not in clients.s3.list_objects_v2(Bucket=BUCKET)
    assert clients.sagemaker.list_transform_jobs()["TransformJobSummaries"] == []
    with connect(workspace) as conn:
        assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0
    with pytest.raises(StageNotReadyError) as empty:
        plan_transform(workspace, run_id, ["https://www.instagram.com/p/unknown/"], SETTINGS)
    assert empty.value.message == ("None of these posts has an image that can be scored yet (fetched, with the "
                                   "labels the run needs).")


def test_an_output_that_does_not_match_the_input_is_refused(moto_url: str) -> None:
    s3 = moto_clients(moto_url).s3
    s3.put_object(Bucket=BUCKET, Key="p/output/part-000.libsvm.out", Body=b"0.25,0.5\n\n0.75\n")
    s3.put_object(Bucket=BUCKET, Key="p/output/part-001.libsvm.out", Body=b"0.125\n")
    assert read_output(s3, BUCKET, "p", [3, 1]).tolist() == [0.25, 0.5, 0.75, 0.125]
    with pytest.raises(SageMakerError) as caught:
        read_output(s3, BUCKET, "p", [3, 2])
    assert caught.value.message == (f"The batch transform wrote 1 scores to s3://{BUCKET}/p/output/"
                                    "part-001.libsvm.out for 2 images.")


# --- the command line (moto server) ---------------------------------------------------------------------------------

def test_cli_starts_then_collects_the_scores_into_the_same_csv(demo: tuple[Workspace, str], moto_url: str,
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    workspace, run_id = demo
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setattr("kayfabe_core.sagemaker_transform.new_transform_name", lambda: NAME)
    clients = moto_clients(moto_url)
    out = tmp_path / "scores.csv"
    root = str(workspace.root)
    assert main(["predict", root, "--run", run_id, "--all", "--out", str(out), *AWS_OPTIONS, "--no-wait"]) == 1
    assert "Error: Scoring on SageMaker costs money, and there is no one to ask" in capsys.readouterr().err
    assert "Contents" not in clients.s3.list_objects_v2(Bucket=BUCKET)

    assert main(["predict", root, "--run", run_id, "--all", "--out", str(out), *AWS_OPTIONS, "--no-wait",
                 "--yes"]) == 0
    said = capsys.readouterr()
    assert "At most $0.12: 1 × ml.m5.large for at most 1 h" in said.err and "no time limit of its own" in said.err
    assert f"--backend sagemaker --job {NAME} --out FILE.csv" in said.out and not out.exists()

    play_container(clients.s3, f"kayfabe/{NAME}", tmp_path, comma_separated=True)
    assert main(["predict", root, "--backend", "sagemaker", "--job", NAME, "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["job_name"], report["run_id"], report["scored"]) == (NAME, run_id, 1954)
    local, _ = predict_posts(workspace, run_id, all_posts(workspace))
    written = pd.read_csv(out, keep_default_na=False)
    pd.testing.assert_frame_equal(written.drop(columns="reasons"), local.drop(columns="reasons"), check_exact=True)


def test_cli_waits_for_the_transform_and_writes_the_scores(demo: tuple[Workspace, str], moto_url: str,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    workspace, run_id = demo
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setattr("kayfabe_core.sagemaker_transform.new_transform_name", lambda: NAME)
    posts = all_posts(workspace)
    plan = plan_transform(workspace, run_id, posts, SETTINGS)
    inputs = [(f"part-{number:03d}.libsvm", body) for number, body in enumerate(plan.input_files)]
    s3 = moto_clients(moto_url).s3
    for name, body in container_outputs(plan.model_file, inputs, tmp_path).items():  # moto completes at once
        s3.put_object(Bucket=BUCKET, Key=f"kayfabe/{NAME}/output/{name}", Body=body)
    out = tmp_path / "scores.csv"
    code = main(["predict", str(workspace.root), "--out", str(out), "--run", run_id, *AWS_OPTIONS, "--yes",
                 "--poll-seconds", "0", "--all"])
    said = capsys.readouterr()
    assert code == 0, said.err
    assert f"Batch transform {NAME}: Completed." in said.err
    assert said.out.startswith(f"Scored {plan.report.scored:,} of {plan.report.images:,} images with run {run_id}")
    assert "the reasons column is empty" in said.out
    local, _ = predict_posts(workspace, run_id, posts)
    written = pd.read_csv(out, keep_default_na=False)
    pd.testing.assert_frame_equal(written.drop(columns="reasons"), local.drop(columns="reasons"), check_exact=True)


# --- botocore Stubber -----------------------------------------------------------------------------------------------

def described(status: str, reason: str = "") -> dict[str, Any]:
    answer = {"TransformJobName": NAME, "TransformJobStatus": status, "ModelName": NAME,
              "TransformJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:transform-job/{NAME}",
              "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/p/"}}},
              "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
              "CreationTime": datetime(2026, 11, 23, tzinfo=UTC)}
    return {**answer, "FailureReason": reason} if reason else answer


def stubbed() -> tuple[SageMakerClients, Stubber]:
    clients = make_sagemaker_clients(REGION, max_attempts=1, with_logs=False)
    return clients, Stubber(clients.sagemaker)


def test_waiting_stops_a_transform_that_runs_past_the_limit() -> None:
    clients, stub = stubbed()
    for _ in range(3):
        stub.add_response("describe_transform_job", described("InProgress"), {"TransformJobName": NAME})
    stub.add_response("stop_transform_job", {}, {"TransformJobName": NAME})
    ticks = iter([0.0, 10.0, 20.0, 31.0])
    slept: list[float] = []
    with stub, pytest.raises(SageMakerError) as caught:
        wait_for_transform(clients, NAME, 30, 5, sleep=slept.append, clock=lambda: next(ticks))
    stub.assert_no_pending_responses()
    assert slept == [5, 5]
    assert caught.value.message == (f"The batch transform {NAME} ran longer than 30 s, the longest run allowed, "
                                    "and was stopped; no scores were saved.")


def test_a_failed_transform_deletes_its_model_and_says_why(workspace: Workspace) -> None:
    report = PredictionReport(2, 2, 0, {}, 0.5)
    save_transform(workspace, NAME, "InProgress", {"run_id": "run-x", "bucket": "b", "prefix": "p",
                                                    "input_lines": [2], "report": report.to_dict(),
                                                    "decisions": ["YES", "NO"]},
                   pd.DataFrame({"post_url": ["P"] * 2, "image_url": ["u1", "u2"], "sha256": ["a", "b"]}), ["a", "b"])
    clients, stub = stubbed()
    stub.add_response("describe_transform_job", described("InProgress"), {"TransformJobName": NAME})
    stub.add_response("describe_transform_job", described("Failed", "ClientError: bad libsvm line 3"),
                      {"TransformJobName": NAME})
    stub.add_response("delete_model", {}, {"ModelName": NAME})
    with stub:
        with pytest.raises(SageMakerError) as running:
            finish_transform(workspace, clients, NAME)
        assert running.value.message == f"The batch transform {NAME} is still InProgress."  # the model is kept
        with pytest.raises(SageMakerError) as failed:
            finish_transform(workspace, clients, NAME)
    stub.assert_no_pending_responses()
    assert failed.value.message == (f"The batch transform {NAME} did not complete (Failed): ClientError: bad libsvm "
                                    "line 3.")
    assert read_transform(workspace, NAME).state == "Failed"
