"""Labelling with Rekognition: nothing billed twice, errors sorted, stop and resume.

No test reaches AWS: botocore's Stubber answers in-process, and moto runs as a
server on 127.0.0.1. Note that the Stubber answers before botocore's retry
layer, so throttling through the Stubber tests the app's own handling; the
retry configuration itself is tested with a ``before-send`` hook, which sits
inside the retry loop.
"""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.retries.standard
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from PIL import Image

from kayfabe_core.images import mark_fetched, save_image_bytes
from kayfabe_core.ingest import ingest_files
from kayfabe_core.labels import store_error, store_response
from kayfabe_core.rekognition import (
    FREE_TIER_NOTE,
    PRICE_PER_IMAGE_USD,
    AwsSetupError,
    check_access,
    label_images,
    make_rekognition_client,
    plan_labeling,
)
from kayfabe_core.rekognition_rate import RateLimiter
from kayfabe_core.response_store import unpacked
from kayfabe_core.workspace import Workspace, connect, open_workspace, transaction
from tests.conftest import make_csv, post_row

FAST = 1000.0  # calls per second: the limiter never waits in tests that are not about it

ACCESS_DENIED = ("Your AWS credentials are not allowed to call DetectLabels "
                 "(the permission rekognition:DetectLabels is missing).")
NO_CREDENTIALS = "No AWS credentials were found."
NO_REGION = "No AWS region is set, so the app does not know where to send the images."


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, no AWS config files, no instance metadata lookups."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 90), (shade, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def _fill(workspace: Workspace, n_fetched: int, n_pending: int = 0) -> list[bytes]:
    """Ingest ``n_fetched + n_pending`` posts and store distinct bytes for the first ``n_fetched``."""
    rows = [post_row(f"P{i}") for i in range(n_fetched + n_pending)]
    ingest_files(workspace, [("export.csv", make_csv(rows).encode())])
    with connect(workspace) as conn:
        ids = [row[0] for row in conn.execute("SELECT image_id FROM images ORDER BY image_id")]
    images = [_png(i * 7) for i in range(n_fetched)]
    with transaction(workspace) as conn:
        for image_id, data in zip(ids, images, strict=False):
            mark_fetched(conn, image_id, save_image_bytes(workspace, data))
    return images


def _rows(workspace: Workspace, sql: str) -> list[sqlite3.Row]:
    with connect(workspace) as conn:
        return list(conn.execute(sql))


def _client(**kwargs: Any) -> Any:
    return make_rekognition_client("us-east-1", **kwargs)


# --- response shapes (Stubber) -------------------------------------------------------------------

def test_moderation_and_celebrity_answers_are_stored_and_flattened(workspace: Workspace) -> None:
    [data] = _fill(workspace, 1)
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("detect_moderation_labels", {
            "ModerationLabels": [
                {"Name": "Violence", "ParentName": "", "Confidence": 91.5, "TaxonomyLevel": 1},
                {"Name": "Physical Violence", "ParentName": "Violence", "Confidence": 88.0, "TaxonomyLevel": 2}],
            "ModerationModelVersion": "7.0",
            "ResponseMetadata": {"RequestId": "req-mod", "HTTPStatusCode": 200}},
            {"Image": {"Bytes": data}, "MinConfidence": 50})
        stub.add_response("recognize_celebrities", {
            "CelebrityFaces": [{"Name": "Ronda Rousey", "Id": "3Ir0du6", "MatchConfidence": 99.1, "Urls": []}],
            "UnrecognizedFaces": [],
            "ResponseMetadata": {"RequestId": "req-celeb", "HTTPStatusCode": 200}},
            {"Image": {"Bytes": data}})
        report = label_images(workspace, client, ["DetectModerationLabels", "RecognizeCelebrities"],
                              rate_per_s=FAST, workers=1)
        stub.assert_no_pending_responses()
    assert (report.calls_made, report.responses_stored, report.errors_stored) == (2, 2, 0)
    stored = {row["operation"]: row for row in _rows(workspace, "SELECT * FROM responses")}
    assert stored["DetectModerationLabels"]["model_version"] == "7.0"
    assert stored["DetectModerationLabels"]["request_id"] == "req-mod"
    assert stored["RecognizeCelebrities"]["region"] == "us-east-1"
    assert stored["RecognizeCelebrities"]["origin"] == "rekognition"
    assert "ResponseMetadata" not in unpacked(stored["RecognizeCelebrities"]["response"])
    assert unpacked(stored["RecognizeCelebrities"]["response"])["CelebrityFaces"]
    assert json.loads(stored["DetectModerationLabels"]["request"])["MinConfidence"] == 50
    labels = {(row["source"], row["key"]): row for row in _rows(workspace, "SELECT * FROM labels")}
    assert json.loads(labels[("moderation", "Physical Violence")]["parents"]) == ["Violence"]
    assert labels[("celebrity", "3Ir0du6")]["name"] == "Ronda Rousey"
    assert labels[("celebrity", "3Ir0du6")]["confidence"] == pytest.approx(99.1)


# --- errors (Stubber) ----------------------------------------------------------------------------

def test_throttling_that_outlasts_retries_is_left_for_the_next_run(workspace: Workspace) -> None:
    _fill(workspace, 1)
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("detect_labels", "ThrottlingException", "Slow down", http_status_code=400)
        first = label_images(workspace, client, ["DetectLabels"], rate_per_s=FAST)
        stub.add_response("detect_labels", {"Labels": [{"Name": "Person", "Confidence": 97.0}],
                                            "LabelModelVersion": "3.0"})
        second = label_images(workspace, client, ["DetectLabels"], rate_per_s=FAST)
        stub.assert_no_pending_responses()
    assert (first.calls_made, first.responses_stored, first.left_for_retry) == (1, 0, 1)
    assert (second.calls_made, second.responses_stored, second.skipped_existing) == (1, 1, 0)
    assert [row["key"] for row in _rows(workspace, "SELECT key FROM labels")] == ["Person"]
    with pytest.raises(AwsSetupError, match="None of the 1 calls got through to Rekognition"):
        first.check_answered()  # the first run: not one answer, said so (its counts read like a quiet run)
    second.check_answered()  # an answer stored: nothing to say


def test_botocore_retries_throttling_within_one_run(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(workspace, 1)
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    client = _client(retry_mode="standard")
    bodies = [(400, {"__type": "ThrottlingException", "message": "Slow down"}),
              (200, {"Labels": [{"Name": "Person", "Confidence": 97.0}], "LabelModelVersion": "3.0"})]

    def answer(request: Any, **kwargs: Any) -> AWSResponse:
        status, body = bodies.pop(0)
        return AWSResponse(request.url, status, {"x-amzn-RequestId": f"req-{status}"},
                           _Raw(json.dumps(body).encode()))

    client.meta.events.register("before-send.rekognition.DetectLabels", answer)
    report = label_images(workspace, client, ["DetectLabels"], rate_per_s=FAST)
    assert bodies == []
    assert (report.calls_made, report.responses_stored, report.left_for_retry) == (1, 1, 0)
    assert _rows(workspace, "SELECT request_id FROM responses")[0][0] == "req-200"


class _Raw:
    """The smallest raw HTTP body AWSResponse can read."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._data


def test_invalid_image_is_stored_and_never_sent_again(workspace: Workspace) -> None:
    _fill(workspace, 1)
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("detect_labels", "InvalidImageFormatException", "Request has invalid image format",
                              http_status_code=400)
        first = label_images(workspace, client, ["DetectLabels"], rate_per_s=FAST)
        second = label_images(workspace, client, ["DetectLabels"], rate_per_s=FAST)
        stub.assert_no_pending_responses()
    assert (first.calls_made, first.errors_stored) == (1, 1)
    assert (second.calls_made, second.skipped_existing) == (0, 1)
    [row] = _rows(workspace, "SELECT * FROM responses")
    assert (row["error_code"], row["response"]) == ("InvalidImageFormatException", None)
    assert row["error_message"] == "Request has invalid image format"
    assert plan_labeling(workspace, ["DetectLabels"]).calls_needed == 0


def test_access_denied_stops_the_run_with_the_missing_permission(workspace: Workspace) -> None:
    _fill(workspace, 3)
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("detect_labels", "AccessDeniedException", "not authorized", http_status_code=400)
        with pytest.raises(AwsSetupError) as caught:
            label_images(workspace, client, ["DetectLabels"], rate_per_s=FAST, workers=1)
        stub.assert_no_pending_responses()
    assert caught.value.message == ACCESS_DENIED
    assert "rekognition:DetectLabels" in caught.value.hint
    assert _rows(workspace, "SELECT * FROM responses") == []


def test_check_access_names_the_missing_permission() -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("detect_labels", "InvalidImageFormatException", "bad image")
        check_access(client)
        stub.add_client_error("detect_labels", "AccessDeniedException", "not authorized")
        with pytest.raises(AwsSetupError, match="rekognition:DetectLabels is missing"):
            check_access(client)
        stub.assert_no_pending_responses()


def test_no_credentials_and_no_region_are_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(AwsSetupError) as caught:
        check_access(_client())
    assert caught.value.message == NO_CREDENTIALS
    assert "AWS_PROFILE" in caught.value.hint and "aws configure" in caught.value.hint
    with pytest.raises(AwsSetupError) as caught:
        make_rekognition_client()
    assert caught.value.message == NO_REGION
    assert "AWS_DEFAULT_REGION" in caught.value.hint


def test_a_profile_that_is_not_configured_is_explained_for_every_aws_client(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from kayfabe_core.rekognition_quota import make_quota_client
    from kayfabe_core.sagemaker_client import make_sagemaker_clients

    monkeypatch.setenv("AWS_PROFILE", "typo")  # was a ProfileNotFound traceback
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for make in (lambda: make_rekognition_client("us-east-1"), lambda: make_sagemaker_clients("us-east-1"),
                 lambda: make_quota_client("us-east-1")):
        with pytest.raises(AwsSetupError) as caught:
            make()
        assert caught.value.message.startswith("The AWS profile “typo” (AWS_PROFILE) is not in your AWS configuration")
        assert "aws configure list-profiles" in caught.value.hint


def test_credentials_never_appear_in_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASECRETKEYID")
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("detect_labels", "UnrecognizedClientException", "The security token is invalid")
        with pytest.raises(AwsSetupError) as caught:
            check_access(client)
    assert "AKIASECRETKEYID" not in str(caught.value)


# --- plan -------------------------------------------------------------------------------------

def test_plan_counts_only_fetched_images_and_pairs_not_yet_stored(workspace: Workspace) -> None:
    images = _fill(workspace, 3, n_pending=1)
    ops = ["DetectLabels", "DetectModerationLabels"]
    plan = plan_labeling(workspace, ops)
    assert (plan.images_total, plan.calls_needed, plan.calls_skipped) == (3, 6, 0)
    assert plan.estimated_usd == pytest.approx(6 * PRICE_PER_IMAGE_USD)
    shas = [save_image_bytes(workspace, data).sha256 for data in images]
    with transaction(workspace) as conn:
        store_response(conn, shas[0], "DetectLabels", {"Labels": []}, origin="import", called_at="2021-01-01")
        store_error(conn, shas[1], "DetectLabels", error_code="ImageTooLargeException", error_message="too big",
                    origin="rekognition", called_at="2021-01-01")
        store_error(conn, shas[2], "DetectLabels", error_code="ThrottlingException", error_message="slow down",
                    origin="rekognition", called_at="2021-01-01")
    plan = plan_labeling(workspace, ops)
    assert (plan.calls_needed, plan.calls_skipped) == (4, 2)
    assert plan.estimated_usd == pytest.approx(0.004)
    assert plan.to_dict()["operations"] == ("DetectLabels", "DetectModerationLabels")
    assert "1,000 or 5,000" in FREE_TIER_NOTE


def test_plan_refuses_unknown_operations(workspace: Workspace) -> None:
    with pytest.raises(Exception, match="Choose one or more of DetectLabels"):
        plan_labeling(workspace, ["DetectFaces"])


# --- rate limiter -----------------------------------------------------------------------------

def test_rate_limiter_spaces_calls_evenly() -> None:
    now = [0.0]
    starts: list[float] = []
    limiter = RateLimiter(20, clock=lambda: now[0], sleep=lambda seconds: now.__setitem__(0, now[0] + seconds))
    for _ in range(20):
        limiter.acquire()
        starts.append(now[0])
    assert starts == pytest.approx([i / 20 for i in range(20)])


def test_rate_limiter_holds_across_threads() -> None:
    limiter = RateLimiter(50)
    started = time.monotonic()
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(5)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 0.3 <= time.monotonic() - started < 1.5  # 20 slots at 50/s: the last leaves at 0.38 s


# --- moto server --------------------------------------------------------------------------------



def _counted_client(url: str) -> tuple[Any, list[str]]:
    client = _client(endpoint_url=url)
    calls: list[str] = []
    client.meta.events.register("before-call.rekognition.*", lambda model, **kw: calls.append(model.name))
    return client, calls


def test_labels_from_moto_are_stored_and_a_second_run_calls_nothing(workspace: Workspace, moto_url: str) -> None:
    _fill(workspace, 4)
    client, calls = _counted_client(moto_url)
    seen: list[tuple[int, int]] = []
    report = label_images(workspace, client, ["DetectLabels"], rate_per_s=FAST,
                          progress=lambda done, total: seen.append((done, total)))
    assert (report.calls_made, report.responses_stored, report.stopped) == (4, 4, False)
    assert seen[-1] == (4, 4) and len(calls) == 4
    assert len(_rows(workspace, "SELECT * FROM responses WHERE model_version = '3.0'")) == 4
    assert _rows(workspace, "SELECT COUNT(*) FROM labels")[0][0] >= 4
    again = label_images(workspace, client, ["DetectLabels"], rate_per_s=FAST)
    assert (again.calls_made, again.skipped_existing, len(calls)) == (0, 4, 4)


def test_a_stopped_run_resumes_without_calling_twice(tmp_path: Path, moto_url: str) -> None:
    workspace = open_workspace(tmp_path / "stop")
    _fill(workspace, 8)
    client, calls = _counted_client(moto_url)
    stop = threading.Event()
    first = label_images(workspace, client, ["DetectLabels"], rate_per_s=50, workers=2, stop=stop,
                         progress=lambda done, total: stop.set() if done >= 3 else None)
    assert first.stopped
    assert 3 <= first.calls_made == first.responses_stored == len(calls) < 8
    second = label_images(workspace, client, ["DetectLabels"], rate_per_s=FAST)
    assert (second.calls_made, second.skipped_existing, second.stopped) == (8 - first.calls_made,
                                                                           first.calls_made, False)
    assert len(calls) == 8
    hashes = [row[0] for row in _rows(workspace, "SELECT sha256 FROM responses")]
    assert len(hashes) == len(set(hashes)) == 8


def test_workers_follow_the_rate() -> None:
    from kayfabe_core.rekognition_rate import workers_for_rate

    assert workers_for_rate(5) == 3
    assert workers_for_rate(20) == 7
    assert workers_for_rate(20) / 0.25 >= 20  # enough in flight for the rate at a 0.25 s round trip


def test_a_run_started_while_a_stopped_one_still_has_calls_in_flight_pays_nothing_twice(
        tmp_path: Path, moto_url: str) -> None:
    """Streamlit starts the page again at once on a click, while the stopped run is still waiting for
    the answers it already paid for: the new run waits for them before reading what is left."""
    import hashlib
    import time
    from collections import Counter

    workspace = open_workspace(tmp_path / "overlap")
    _fill(workspace, 8)
    client = _client(endpoint_url=moto_url)
    sent: Counter[str] = Counter()

    def slow_answer(params: dict[str, Any], **kwargs: Any) -> None:
        sent[hashlib.sha256(params["Image"]["Bytes"]).hexdigest()] += 1
        time.sleep(0.4)  # the call is in flight (sent, to be billed) for a while

    client.meta.events.register("provide-client-params.rekognition.DetectLabels", slow_answer)
    stop = threading.Event()
    reports: dict[str, Any] = {}

    def stopped_run() -> None:
        reports["first"] = label_images(workspace, client, ["DetectLabels"], rate_per_s=FAST, workers=4, stop=stop,
                                        progress=lambda done, total: stop.set())
    first = threading.Thread(target=stopped_run)
    first.start()
    assert stop.wait(10)  # one answer is stored; three calls are still in flight
    second = label_images(workspace, client, ["DetectLabels"], rate_per_s=FAST, workers=4)
    first.join(10)
    assert reports["first"].stopped and 1 < reports["first"].calls_made < 8
    assert second.calls_made == 8 - reports["first"].calls_made
    assert sum(sent.values()) == 8 and set(sent.values()) == {1}


def test_a_run_whose_only_outcomes_were_left_for_retry_or_unreadable_is_said_to_have_got_no_answer() -> None:
    """Not one answer (no response, no error about an image), whatever else was counted: one message."""
    from kayfabe_core.rekognition import LabelReport
    from kayfabe_core.rekognition_client import AwsSetupError

    unreadable_too = LabelReport(calls_made=3, responses_stored=0, errors_stored=0, skipped_existing=0,
                                 stopped=False, seconds=1.0, left_for_retry=5)  # 3 calls, 2 files not read
    with pytest.raises(AwsSetupError, match="None of the 3 calls got through"):
        unreadable_too.check_answered()
    LabelReport(3, 0, 1, 0, False, 1.0, 2).check_answered()  # AWS answered one, about its image: got through
