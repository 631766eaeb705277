"""Shared pieces of the SageMaker tests: fake credentials, a clean moto server, a small table, artifacts.

No test reaches AWS: clients point at the moto server on 127.0.0.1 or are
wrapped in botocore's Stubber. moto marks a training job Completed at once and
names a model path where nothing is written, so the tests place a real
artifact there (a booster trained here, saved as ``xgboost-model``, tarred).
"""

from __future__ import annotations

import io
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import xgboost as xgb

from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.sagemaker_client import SageMakerClients, make_sagemaker_clients
from kayfabe_core.sagemaker_settings import SageMakerSettings
from kayfabe_core.train import TrainSettings

REGION = "us-east-1"
BUCKET = "kayfabe-test-bucket"
ROLE = "arn:aws:iam::123456789012:role/KayfabeSageMaker"
SETTINGS = SageMakerSettings(region=REGION, bucket=BUCKET, role_arn=ROLE)
AWS_OPTIONS = ["--backend", "sagemaker", "--region", REGION, "--bucket", BUCKET, "--role-arn", ROLE]  # the CLI's
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
AWS_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "KAYFABE_SAGEMAKER_REGION", "KAYFABE_SAGEMAKER_BUCKET", "KAYFABE_SAGEMAKER_PREFIX",
                 "KAYFABE_SAGEMAKER_ROLE_ARN", "KAYFABE_SAGEMAKER_INSTANCE_TYPE", "KAYFABE_SAGEMAKER_INSTANCE_COUNT",
                 "KAYFABE_SAGEMAKER_SPOT", "KAYFABE_SAGEMAKER_MAX_RUNTIME", "KAYFABE_SAGEMAKER_MAX_WAIT")


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, no AWS config files, no instance metadata, no SageMaker settings from the environment."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def reset_moto(url: str) -> None:
    """Forget everything the moto server holds (buckets, jobs)."""
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()


def moto_clients(url: str, bucket_region: str = REGION) -> SageMakerClients:
    """Clients on a fresh moto server, with the test bucket made in ``bucket_region``."""
    reset_moto(url)
    clients = make_sagemaker_clients(REGION, url, max_attempts=1)
    maker = make_sagemaker_clients(bucket_region, url, max_attempts=1).s3
    extra = {} if bucket_region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": bucket_region}}
    maker.create_bucket(Bucket=BUCKET, **extra)
    return clients


def small_table(n_posts: int = 70, n_features: int = 12, seed: int = 3) -> FeatureTable:
    """Posts of 1-3 images; a few label-like columns carry the code; the last column is always empty."""
    rng = np.random.default_rng(seed)
    post = np.repeat(np.arange(n_posts), rng.integers(1, 4, n_posts))
    observed = (rng.random(n_posts) < 0.45)[post].astype(np.int8)
    dense = (rng.random((len(post), n_features)) < 0.3) * rng.choice([1.0, 0.1, 87.25, 1e-7], (len(post), n_features))
    dense[:, 0] = np.where(observed == 1, rng.random(len(post)) < 0.8, rng.random(len(post)) < 0.2)
    dense[:, -1] = 0.0
    context = pd.DataFrame({"item": [f"img{n}" for n in range(len(post))], "post": [f"P{p}" for p in post],
                            "time": pd.NaT})
    return FeatureTable(sp.csr_matrix(dense.astype(np.float32)), tuple(f"label: L{n}" for n in range(n_features)),
                        observed, context, {"kind": "test"})


def local_booster(matrix: sp.csr_matrix, observed: np.ndarray, fit_rows: np.ndarray, check_rows: np.ndarray,
                  settings: TrainSettings, seed: int) -> tuple[xgb.Booster, dict[str, dict[str, list[float]]]]:
    """What the container does, done here: train on the fit rows, watch the check rows (early stopping on them
    when set); returns the booster and its evaluation log."""
    fit = xgb.DMatrix(matrix[fit_rows], label=observed[fit_rows])
    check = xgb.DMatrix(matrix[check_rows], label=observed[check_rows])
    log: dict[str, dict[str, list[float]]] = {}
    booster = xgb.train(settings.booster_params(seed), fit, num_boost_round=settings.rounds,
                        evals=[(fit, "train"), (check, "validation")], evals_result=log,
                        early_stopping_rounds=settings.early_stopping or None, verbose_eval=False)
    return booster, log


def artifact_bytes(booster: xgb.Booster) -> bytes:
    """A model.tar.gz as the built-in container writes it: ``xgboost-model`` (UBJSON) at the root."""
    model = bytes(booster.save_raw("ubj"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(model)
        tar.addfile(info, io.BytesIO(model))
    return buffer.getvalue()


def place_artifact(s3: Any, uri: str, booster: xgb.Booster) -> None:
    """Put a real artifact where moto says the model is."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=key, Body=artifact_bytes(booster))


def parse_libsvm(text: str, n_features: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Read libsvm lines back (0-based columns; ``nan`` entries are missing values and dropped)."""
    rows, cols, values, labels = [], [], [], []
    for number, line in enumerate(text.splitlines()):
        label, *pairs = line.split(" ")
        labels.append(int(label))
        for pair in pairs:
            column, value = pair.split(":")
            if value != "nan":
                rows.append(number)
                cols.append(int(column))
                values.append(np.float32(value))
    matrix = sp.csr_matrix((np.array(values, np.float32), (rows, cols)), shape=(len(labels), n_features))
    return matrix, np.array(labels)


def object_text(s3: Any, key: str) -> str:
    return str(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode())


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``python -m kayfabe_core ARGS`` in this process; return (exit code, stdout, stderr)."""
    from kayfabe_core.__main__ import main

    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def point_the_app_at_moto(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> SageMakerClients:
    """Send the app's AWS calls ($AWS_ENDPOINT_URL, region) to a clean moto server with the test bucket."""
    clients = moto_clients(moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return clients
