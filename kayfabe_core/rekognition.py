"""Label fetched images with Amazon Rekognition, paying at most once per image and operation.

Every (image, operation) pair is looked up in the ``responses`` table before it
is sent: a stored response or a stored image error means it is skipped, so a
second run costs nothing and a stopped run resumes where it left off. Calls
run on a small thread pool behind a shared rate limiter; all database writes
happen on the calling thread, one short transaction per answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import botocore
from botocore.exceptions import BotoCoreError, ClientError

from kayfabe_core.labels import store_error, store_response
from kayfabe_core.rekognition_client import (
    IMAGE_ERROR_CODES,
    AwsSetupError,
    check_access,
    error_code,
    make_rekognition_client,
    setup_error,
)
from kayfabe_core.rekognition_plan import (
    FREE_TIER_NOTE,
    PRICE_PER_IMAGE_USD,
    Call,
    LabelPlan,
    pending_calls,
    plan_labeling,
)
from kayfabe_core.rekognition_rate import RateLimiter
from kayfabe_core.work_lock import LABELLING, exclusive
from kayfabe_core.workspace import Workspace, transaction

__all__ = ["PRICE_PER_IMAGE_USD", "FREE_TIER_NOTE", "REQUESTS", "AwsSetupError", "LabelPlan", "LabelReport",
           "Call", "check_access", "make_rekognition_client", "plan_labeling", "pending_calls", "label_images"]

REQUESTS: dict[str, dict[str, Any]] = {
    "DetectLabels": {"MinConfidence": 50, "MaxLabels": 1000},
    "DetectModerationLabels": {"MinConfidence": 50},
    "RecognizeCelebrities": {},
}
LOCK_WAIT_S = 120.0  # how long a new labelling run waits for a stopped one to store the answers it is owed
METHODS = {"DetectLabels": "detect_labels", "DetectModerationLabels": "detect_moderation_labels",
           "RecognizeCelebrities": "recognize_celebrities"}


@dataclass(frozen=True)
class LabelReport:
    """What a labelling run did. ``left_for_retry`` pairs failed on throttling or the network."""

    calls_made: int
    responses_stored: int
    errors_stored: int
    skipped_existing: int
    stopped: bool
    seconds: float
    left_for_retry: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def check_answered(self) -> None:
        """Raise :class:`~kayfabe_core.rekognition_client.AwsSetupError` when calls were made and not one got an
        answer, a response or an error about its image (AWS could not be reached, or throttled past every retry):
        the counts alone read like a run that did little."""
        if self.calls_made and not self.stopped and self.responses_stored == self.errors_stored == 0:
            raise AwsSetupError(f"None of the {self.calls_made:,} calls got through to Rekognition: AWS could not be "
                                "reached, or kept asking to slow down. Nothing was stored or paid.",
                                "Check the internet connection and the AWS region, or lower the rate, then label "
                                "again: it sends only what is still missing.")


@dataclass
class _Outcome:
    call: Call
    called: bool
    called_at: str = ""
    response: dict[str, Any] | None = None
    error: Exception | None = None
    n_bytes: int = 0


@dataclass
class _Tally:
    calls_made: int = 0
    responses_stored: int = 0
    errors_stored: int = 0
    left_for_retry: int = 0
    fatal: AwsSetupError | None = field(default=None)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _send(workspace: Workspace, client: Any, limiter: RateLimiter, halt: Callable[[], bool],
          call: Call) -> _Outcome:
    """Worker: wait for a slot, then send one image to one operation (no database access)."""
    limiter.acquire()
    if halt():
        return _Outcome(call, called=False)
    called_at = _now()
    try:
        data = workspace.image_path(call.sha256, call.ext).read_bytes()
    except OSError as exc:
        return _Outcome(call, called=False, error=exc)
    try:
        response = getattr(client, METHODS[call.operation])(Image={"Bytes": data}, **REQUESTS[call.operation])
    except (ClientError, BotoCoreError) as exc:
        return _Outcome(call, True, called_at, error=exc, n_bytes=len(data))
    return _Outcome(call, True, called_at, response=response, n_bytes=len(data))


def _request_doc(outcome: _Outcome) -> dict[str, Any]:
    return {**REQUESTS[outcome.call.operation], "ImageBytes": outcome.n_bytes, "Botocore": botocore.__version__}


def _record(workspace: Workspace, outcome: _Outcome, region: str, tally: _Tally) -> None:
    """Main thread: store one outcome in its own transaction and count it."""
    call, exc = outcome.call, outcome.error
    tally.calls_made += outcome.called
    if outcome.response is not None:
        response = {k: v for k, v in outcome.response.items() if k != "ResponseMetadata"}
        request_id = outcome.response.get("ResponseMetadata", {}).get("RequestId", "")
        with transaction(workspace) as conn:
            store_response(conn, call.sha256, call.operation, response, origin="rekognition",
                           called_at=outcome.called_at, region=region, request_id=request_id,
                           request=_request_doc(outcome))
        tally.responses_stored += 1
    elif exc is not None and error_code(exc) in IMAGE_ERROR_CODES:
        _record_image_error(workspace, outcome, exc, region)
        tally.errors_stored += 1
    elif exc is not None and (problem := setup_error(exc, call.operation)) is not None:
        tally.fatal = tally.fatal or problem
    elif exc is not None:
        tally.left_for_retry += 1


def _record_image_error(workspace: Workspace, outcome: _Outcome, exc: Exception, region: str) -> None:
    assert isinstance(exc, ClientError)
    details = exc.response.get("Error", {})
    with transaction(workspace) as conn:
        store_error(conn, outcome.call.sha256, outcome.call.operation, error_code=error_code(exc),
                    error_message=str(details.get("Message", "")), origin="rekognition",
                    called_at=outcome.called_at, region=region,
                    request_id=str(exc.response.get("ResponseMetadata", {}).get("RequestId", "")),
                    request=_request_doc(outcome))


def label_images(
    workspace: Workspace,
    client: Any,
    operations: Sequence[str],
    *,
    rate_per_s: float = 5.0,
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    region: str = "",
) -> LabelReport:
    """Send every fetched image not yet labelled to each of ``operations`` and store the answers.

    At most ``rate_per_s`` calls a second leave, from ``workers`` threads;
    ``progress(done, total)`` is called after each call. Setting ``stop`` lets
    calls in flight finish and be stored, then returns with ``stopped=True``.
    Raises :class:`AwsSetupError` (after storing the answers already received)
    when AWS refuses the credentials or a permission, and :class:`WorkspaceError`
    when another labelling run of the workspace in this process is still
    storing its answers after :data:`LOCK_WAIT_S` (it waits for it until then).
    """
    started = time.monotonic()
    stop = stop or threading.Event()
    region = region or str(client.meta.region_name or "")
    tally = _Tally()
    with exclusive(workspace, LABELLING, LOCK_WAIT_S):  # what is still to do is read once no other run sends
        calls, skipped = pending_calls(workspace, operations)
        finished = _run_pool(workspace, client, calls, RateLimiter(rate_per_s), max(1, workers),
                             stop, region, tally, progress)
    if tally.fatal is not None:
        raise tally.fatal
    return LabelReport(tally.calls_made, tally.responses_stored, tally.errors_stored, skipped,
                       stopped=finished < len(calls), seconds=round(time.monotonic() - started, 3),
                       left_for_retry=tally.left_for_retry)


def _run_pool(workspace: Workspace, client: Any, calls: list[Call], limiter: RateLimiter, workers: int,
              stop: threading.Event, region: str, tally: _Tally,
              progress: Callable[[int, int], None] | None) -> int:
    """Run ``calls`` with at most ``workers`` in flight; return how many were sent."""
    def halt() -> bool:
        return stop.is_set() or tally.fatal is not None

    queue = iter(calls)
    in_flight: set[Future[_Outcome]] = set()
    finished = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rekognition") as pool:
        while True:
            while not halt() and len(in_flight) < workers and (call := next(queue, None)) is not None:
                in_flight.add(pool.submit(_send, workspace, client, limiter, halt, call))
            if not in_flight:
                return finished
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                outcome = future.result()
                _record(workspace, outcome, region, tally)
                if outcome.called or outcome.error is not None:
                    finished += 1
                    if progress is not None:
                        progress(finished, len(calls))
