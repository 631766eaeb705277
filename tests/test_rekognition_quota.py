"""Reading Rekognition's calls-per-second quotas: Service Quotas pages, defaults, failures, the safe rate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from kayfabe_core import rekognition_quota
from kayfabe_core.__main__ import main
from kayfabe_core.rekognition_quota import (
    QuotaReading,
    describe,
    quota_matches,
    read_account_quotas,
    read_rate_quotas,
    safe_rate,
)

OPERATIONS = ["DetectLabels", "DetectModerationLabels", "RecognizeCelebrities"]
FIRST = {"ServiceCode": "rekognition", "MaxResults": 100}


def quota(operation: str, code: str, value: float, *, kind: str = "Image operation") -> dict[str, Any]:
    """A quota as Service Quotas returns it."""
    return {"ServiceCode": "rekognition", "ServiceName": "Amazon Rekognition",
            "QuotaArn": f"arn:aws:servicequotas:us-east-1:123456789012:rekognition/{code}",
            "QuotaCode": code, "Value": value, "Unit": "None", "Adjustable": True, "GlobalQuota": False,
            "QuotaName": f"Transactions per second per account for the Amazon Rekognition {kind} {operation}",
            "QuotaAppliedAtLevel": "ACCOUNT"}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def stubbed(aws_env: None) -> Iterator[tuple[Any, Stubber]]:
    client = boto3.session.Session().client("service-quotas", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def stub_account(stubber: Stubber) -> None:
    """Two pages of applied quotas (DetectLabels 50 on the second), RecognizeCelebrities only as a default."""
    stubber.add_response("list_service_quotas", {
        "Quotas": [quota("DetectFaces", "L-A5121FD7", 100.0),
                   quota("DetectCustomLabels", "L-EA71C84A", 200.0,
                         kind="Custom Labels data plane operation"),
                   quota("DetectModerationLabels", "L-7F4D1AC4", 20.0)],
        "NextToken": "page-2"}, FIRST)
    stubber.add_response("list_service_quotas", {
        "Quotas": [quota("StartLabelDetection", "L-FBD555BC", 5.0, kind="Video stored video start operation"),
                   quota("DetectLabels", "L-E29B542B", 50.0)]}, {**FIRST, "NextToken": "page-2"})
    stubber.add_response("list_aws_default_service_quotas", {
        "Quotas": [quota("RecognizeCelebrities", "L-5FF750C4", 5.0), quota("DetectLabels", "L-E29B542B", 5.0)]},
        FIRST)


def test_applied_values_first_then_the_defaults(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stub_account(stubber)
    assert read_rate_quotas(client, OPERATIONS) == {"DetectLabels": 50.0, "DetectModerationLabels": 20.0,
                                                    "RecognizeCelebrities": 5.0}


def test_no_default_call_when_every_operation_has_an_applied_value(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("list_service_quotas", {"Quotas": [quota("DetectLabels", "L-E29B542B", 50.0)]}, FIRST)
    reading = read_account_quotas(["DetectLabels"], client=client)
    assert reading == QuotaReading({"DetectLabels": 50.0}, "us-east-1", "")
    rate = safe_rate(reading.quotas, ["DetectLabels"])
    assert rate == 40.0
    assert describe(reading, ["DetectLabels"], rate) == ("Your account allows 50 DetectLabels calls per second "
                                                         "in us-east-1; the rate is set to 40.")


def test_a_refused_default_listing_keeps_the_applied_values(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("list_service_quotas", {"Quotas": [quota("DetectLabels", "L-E29B542B", 50.0)]}, FIRST)
    stubber.add_client_error("list_aws_default_service_quotas", "AccessDeniedException", http_status_code=400)
    assert read_rate_quotas(client, OPERATIONS) == {"DetectLabels": 50.0}
    assert safe_rate({"DetectLabels": 50.0}, OPERATIONS) == 5.0  # the other two are unknown


def test_access_denied_gives_no_quotas_and_says_why(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("list_service_quotas", "AccessDeniedException", "User is not authorized",
                             http_status_code=400, expected_params=FIRST)
    reading = read_account_quotas(OPERATIONS, "us-east-1", client=client)
    assert reading.quotas == {}
    assert "servicequotas:ListServiceQuotas" in reading.reason
    assert safe_rate(reading.quotas, OPERATIONS) == 5.0
    assert describe(reading, OPERATIONS, 5.0).endswith("5 calls per second is a safe default.")


def test_no_credentials_gives_a_reason(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert read_account_quotas(OPERATIONS, "us-east-1") == QuotaReading({}, "us-east-1",
                                                                       "No AWS credentials were found.")


def test_unreachable_endpoint_from_aws_endpoint_url(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    reading = read_account_quotas(OPERATIONS, "eu-west-1")
    assert (reading.quotas, reading.reason) == ({}, "Could not reach the AWS Service Quotas API in eu-west-1.")
    assert "testing" not in reading.reason


def test_names_are_matched_by_operation_and_rate_words() -> None:
    assert quota_matches({"QuotaName": "transactions per second for the image operation detectlabels"},
                         "DetectLabels")
    assert quota_matches({"QuotaName": "Rate of DetectLabels requests per second"}, "DetectLabels")
    assert quota_matches({"QuotaCode": "L-E29B542B", "QuotaName": "renamed"}, "DetectLabels")
    assert not quota_matches(quota("DetectCustomLabels", "L-EA71C84A", 50.0), "DetectLabels")
    assert not quota_matches(quota("GetLabelDetection", "L-5EAC8E57", 20.0), "DetectLabels")
    assert not quota_matches({"QuotaName": "Maximum image size for DetectLabels"}, "DetectLabels")


def test_safe_rate_takes_the_smallest_chosen_quota_with_headroom() -> None:
    quotas = {"DetectLabels": 50.0, "DetectModerationLabels": 20.0, "RecognizeCelebrities": 5.0}
    assert safe_rate(quotas, OPERATIONS) == 4.0
    assert safe_rate(quotas, ["DetectLabels", "DetectModerationLabels"]) == 16.0
    assert safe_rate(quotas, ["DetectLabels"]) == 40.0
    assert safe_rate({"DetectLabels": 7.0}, ["DetectLabels"]) == 5.5  # 5.6 rounded down to a half
    assert safe_rate({"DetectLabels": 1.0}, ["DetectLabels"]) == 0.5
    assert safe_rate({"DetectLabels": 0.5}, ["DetectLabels"]) == pytest.approx(0.4)  # never above the quota
    assert safe_rate({}, OPERATIONS) == 5.0
    assert safe_rate({"DetectLabels": 50.0}, ["DetectLabels", "RecognizeCelebrities"]) == 5.0  # one unknown
    for limit in (0.3, 1.0, 2.0, 5.0, 6.0, 50.0, 1000.0):
        assert safe_rate({"DetectLabels": limit}, ["DetectLabels"]) < limit


def fake_labelling(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Let `label` run on no workspace, with a plan of 3 calls; return what label_images was given."""
    captured: dict[str, Any] = {}

    from kayfabe_core.rekognition import LabelReport

    def label_images(workspace: Any, client: Any, operations: list[str], **kwargs: Any) -> Any:
        captured.update(kwargs)
        return LabelReport(calls_made=3, responses_stored=3, errors_stored=0, skipped_existing=0, stopped=False,
                           seconds=0.1)  # a real report: the command asks it whether any call got through

    plan = type("Plan", (), {"calls_needed": 3, "calls_skipped": 0, "estimated_usd": 0.003})()
    monkeypatch.setattr("kayfabe_core.rekognition.label_images", label_images)
    monkeypatch.setattr("kayfabe_core.rekognition.plan_labeling", lambda *args: plan)
    monkeypatch.setattr("kayfabe_core.workspace.open_workspace", lambda *args, **kwargs: object())
    return captured


def test_cli_rate_auto_prints_what_it_found(stubbed: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    client, stubber = stubbed
    stub_account(stubber)
    monkeypatch.setattr(rekognition_quota, "make_quota_client", lambda *args: client)
    captured = fake_labelling(monkeypatch)
    assert main(["label", "ws", "--operations", *OPERATIONS, "--rate", "auto", "--yes", "--json"]) == 0
    assert captured["rate_per_s"] == 4.0
    assert "Your account allows 5 RecognizeCelebrities calls per second in us-east-1; the rate is set to 4." \
        in capsys.readouterr().out


def test_cli_numeric_rate_reads_no_quota(monkeypatch: pytest.MonkeyPatch, aws_env: None) -> None:
    monkeypatch.setattr(rekognition_quota, "make_quota_client", lambda *args: pytest.fail("no quota is read"))
    captured = fake_labelling(monkeypatch)
    assert main(["label", "ws", "--rate", "7", "--yes", "--json"]) == 0
    assert captured["rate_per_s"] == 7.0


def test_cli_rate_stays_5_by_default_and_rejects_words() -> None:
    from kayfabe_core.__main__ import build_parser

    assert build_parser().parse_args(["label", "ws"]).rate == 5.0
    assert build_parser().parse_args(["label", "ws", "--rate", "AUTO"]).rate == "auto"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["label", "ws", "--rate", "fast"])
