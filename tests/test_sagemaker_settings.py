"""SageMaker settings (workspace, environment, given; checked without AWS) and the cost shown before launching."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from kayfabe_core import sagemaker_settings
from kayfabe_core.errors import KayfabeError, SettingError
from kayfabe_core.rekognition_client import AwsSetupError
from kayfabe_core.sagemaker_cost import ON_DEMAND_USD_PER_HOUR, estimate_cost
from kayfabe_core.sagemaker_settings import (
    SageMakerSettings,
    check_settings,
    choose_settings,
    load_settings,
    saved_settings,
    settings_sources,
)
from kayfabe_core.workspace import Workspace
from tests.sagemaker_support import ROLE, SETTINGS, fake_aws  # noqa: F401


def test_defaults_then_workspace_then_environment_then_given(workspace: Workspace) -> None:
    assert load_settings(workspace, {}) == SageMakerSettings()
    chosen = choose_settings(workspace, {"bucket": "saved-bucket", "region": "eu-west-1", "instance_count": "2",
                                         "spot": None}, {})
    assert (chosen.bucket, chosen.region, chosen.instance_count, chosen.spot) == ("saved-bucket", "eu-west-1", 2, False)
    assert saved_settings(workspace).bucket == "saved-bucket"
    env = {"KAYFABE_SAGEMAKER_BUCKET": "env-bucket", "KAYFABE_SAGEMAKER_SPOT": "true", "AWS_REGION": "us-west-2"}
    loaded = load_settings(workspace, env)
    assert (loaded.bucket, loaded.spot, loaded.region) == ("env-bucket", True, "eu-west-1")  # saved region wins
    assert settings_sources(workspace, env)["bucket"] == "KAYFABE_SAGEMAKER_BUCKET"
    assert settings_sources(workspace, env)["region"] == "workspace"
    given = choose_settings(workspace, {"bucket": "given-bucket"}, env, save=False)
    assert given.bucket == "given-bucket" and saved_settings(workspace).bucket == "saved-bucket"


@pytest.mark.parametrize("given", [{"bucket": "b"}, {"region": "mars-1"}, {"instance_count": "0"},
                                   {"instance_type": "m5.large"}, {"max_runtime_s": "-1"},
                                   {"prefix": "a b"}, {"role_arn": "arn:aws:iam::1:role/x"},
                                   {"spot": "true", "max_wait_s": "60"}])
def test_a_refused_value_is_not_kept_for_next_time(workspace: Workspace, given: dict[str, object]) -> None:
    choose_settings(workspace, {"bucket": "good-bucket", "region": "eu-west-1"}, {})
    before = saved_settings(workspace)
    with pytest.raises(SettingError):
        choose_settings(workspace, given, {})
    assert saved_settings(workspace) == before
    assert choose_settings(workspace, {"instance_count": "2"}, {}).instance_count == 2  # the next command is fine


def test_every_setting_has_its_check() -> None:
    assert set(sagemaker_settings._CHECKS) == set(sagemaker_settings.ENV_VARS) == \
        {field.name for field in fields(SageMakerSettings)}


def test_the_region_falls_back_to_the_aws_variables(workspace: Workspace) -> None:
    assert load_settings(workspace, {"AWS_DEFAULT_REGION": "ap-south-1"}).region == "ap-south-1"
    assert load_settings(workspace, {"AWS_REGION": "eu-north-1", "AWS_DEFAULT_REGION": "x"}).region == "eu-north-1"
    assert load_settings(workspace, {"KAYFABE_SAGEMAKER_REGION": "us-east-2", "AWS_REGION": "eu-north-1"}).region \
        == "us-east-2"
    assert settings_sources(workspace, {"AWS_DEFAULT_REGION": "ap-south-1"})["region"] == "AWS_DEFAULT_REGION"


def test_a_bad_environment_value_names_the_variable(workspace: Workspace) -> None:
    with pytest.raises(SettingError) as caught:
        load_settings(workspace, {"KAYFABE_SAGEMAKER_MAX_RUNTIME": "an hour"})
    assert caught.value.message == ("The SageMaker setting max_runtime_s (from KAYFABE_SAGEMAKER_MAX_RUNTIME) must "
                                    "be a whole number; got 'an hour'.")
    with pytest.raises(SettingError, match="no SageMaker setting called “colour”"):
        choose_settings(workspace, {"colour": "red"}, {})


@pytest.mark.parametrize(("change", "kind", "message"), [
    ({"region": ""}, AwsSetupError, "No AWS region is set for SageMaker training."),
    ({"bucket": ""}, SettingError, "No S3 bucket is set: SageMaker reads the training images from one and writes "
                                   "the model to it."),
    ({"bucket": "s3://my-bucket/data"}, SettingError, "“s3://my-bucket/data” is not a valid S3 bucket name."),
    ({"role_arn": ""}, AwsSetupError, "No IAM role is set: SageMaker needs a role to act as, to read the training "
                                      "images from S3 and write the model back."),
    ({"role_arn": "KayfabeRole"}, SettingError, "“KayfabeRole” is not the ARN of an IAM role."),
    ({"instance_type": "m5.large"}, SettingError, "“m5.large” is not a SageMaker instance type."),
    ({"instance_count": 0}, SettingError, "The setting “Training instances” (instance_count) must be between 1 and "
                                          "20; got 0."),
    ({"max_runtime_s": 10}, SettingError, "The setting “Longest run (seconds)” (max_runtime_s) must be between 60 "
                                          "and 432,000; got 10."),
    ({"spot": True, "max_wait_s": 600}, SettingError, "With spot instances the longest wait (600 s) must be at "
                                                      "least the longest run (3,600 s)."),
])
def test_settings_are_checked_with_a_message_and_a_hint(change: dict[str, object], kind: type[KayfabeError],
                                                        message: str) -> None:
    with pytest.raises(kind) as caught:
        check_settings(replace(SETTINGS, **change))  # type: ignore[arg-type]
    assert caught.value.message == message
    assert caught.value.hint


def test_a_missing_role_says_how_to_get_one() -> None:
    with pytest.raises(AwsSetupError) as caught:
        check_settings(replace(SETTINGS, role_arn=""))
    assert "--role-arn" in caught.value.hint and "KAYFABE_SAGEMAKER_ROLE_ARN" in caught.value.hint
    assert check_settings(SETTINGS) is SETTINGS and ROLE in SETTINGS.role_arn


def test_the_cost_bound_is_instance_hours_times_the_price() -> None:
    cost = estimate_cost(replace(SETTINGS, instance_type="ml.m5.xlarge", instance_count=2, max_runtime_s=1800))
    assert cost.usd_per_hour == ON_DEMAND_USD_PER_HOUR["ml.m5.xlarge"] == 0.23
    assert cost.compute_usd == pytest.approx(0.23 * 2 * 0.5)
    assert cost.spot_usd is None and cost.price_known
    assert cost.total_usd == pytest.approx(0.23 + cost.storage_usd, abs=1e-4)
    assert cost.sentence.startswith("At most $0.23: 2 × ml.m5.xlarge for at most 30 min at $0.230 an hour "
                                    "(on-demand, us-east-1)")
    assert "Billing is per second" in cost.sentence


def test_spot_is_estimated_and_unknown_prices_are_said() -> None:
    spot = estimate_cost(replace(SETTINGS, spot=True))
    assert spot.spot_usd == pytest.approx(0.115 * 0.3, abs=1e-4)
    assert spot.sentence.startswith("At most about $0.04 with spot capacity (1 × ml.m5.large for at most 1 h; "
                                    "on-demand it would be $0.12")
    unknown = estimate_cost(replace(SETTINGS, instance_type="ml.zz9.huge", region="eu-west-1"))
    assert not unknown.price_known and unknown.total_usd is None
    assert unknown.sentence.startswith("The price of ml.zz9.huge is not in the app's table")
    assert "eu-west-1 prices differ" in estimate_cost(replace(SETTINGS, region="eu-west-1")).sentence


def test_blank_required_names_every_blank_setting_the_form_must_ask_for() -> None:
    assert sagemaker_settings.blank_required(SageMakerSettings()) == ["the AWS region", "the S3 bucket",
                                                                      "the IAM role"]
    assert sagemaker_settings.blank_required(replace(SETTINGS, bucket="  ")) == ["the S3 bucket"]
    assert sagemaker_settings.blank_required(SETTINGS) == []
