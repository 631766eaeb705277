"""Read the account's Rekognition calls-per-second quotas from the Service Quotas API.

The quota is advice for the rate limiter, not a gate: reading it may fail
(no ``servicequotas:ListServiceQuotas`` permission, no credentials, no
network) and then the labelling simply keeps its safe default of 5 calls a
second. Credentials come from boto3's standard chain and are never printed;
``AWS_ENDPOINT_URL`` is honoured by boto3 itself.

Rekognition names its per-operation quotas, in the ``rekognition`` service code,
for example ``Transactions per second per account for the Amazon Rekognition
Image operation DetectLabels`` (quota code L-E29B542B),
``... operation DetectModerationLabels`` (L-7F4D1AC4) and
``... operation RecognizeCelebrities`` (L-5FF750C4).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from kayfabe_core.rekognition_client import SETUP_ERROR_CODES, aws_session, error_code

SERVICE_CODE = "rekognition"
DEFAULT_RATE = 5.0
HEADROOM = 0.8
RATE_STEP = 0.5
# Quota codes seen for these operations; the name is matched too, in case a code differs.
KNOWN_CODES = {"DetectLabels": "L-E29B542B", "DetectModerationLabels": "L-7F4D1AC4",
               "RecognizeCelebrities": "L-5FF750C4"}
_RATE_WORDS = re.compile(r"per\s+second|transactions|\btps\b", re.IGNORECASE)


@dataclass(frozen=True)
class QuotaReading:
    """What was read: calls per second by operation, the region, and why nothing could be read."""

    quotas: dict[str, float] = field(default_factory=dict)
    region: str = ""
    reason: str = ""


def make_quota_client(region: str | None = None, endpoint_url: str | None = None) -> Any:
    """Return a Service Quotas client: few retries and short timeouts, as the page waits on it."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5, read_timeout=15)
    return aws_session().client("service-quotas", region_name=region or None, endpoint_url=endpoint_url,
                                config=config)


def quota_matches(quota: dict[str, Any], operation: str) -> bool:
    """Whether ``quota`` is the calls-per-second quota of ``operation`` (by code or by name)."""
    if quota.get("QuotaCode") == KNOWN_CODES.get(operation):
        return True
    name = str(quota.get("QuotaName", ""))
    mentions = re.search(rf"\b{re.escape(operation)}\b", name, re.IGNORECASE) is not None
    return mentions and _RATE_WORDS.search(name) is not None


def _pages(client: Any, method: str) -> Iterable[dict[str, Any]]:
    """Every quota of the ``rekognition`` service code that ``method`` lists, page after page."""
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"ServiceCode": SERVICE_CODE, "MaxResults": 100}
        if token:
            kwargs["NextToken"] = token
        response = getattr(client, method)(**kwargs)
        yield from response.get("Quotas", [])
        token = response.get("NextToken")
        if not token:
            return


def _pick(quotas: Iterable[dict[str, Any]], operations: Sequence[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    for quota in quotas:
        for operation in operations:
            value = quota.get("Value")
            if operation not in found and isinstance(value, int | float) and value > 0 \
                    and quota_matches(quota, operation):
                found[operation] = float(value)
    return found


def read_rate_quotas(client: Any, operations: Sequence[str]) -> dict[str, float]:
    """Return calls per second allowed for each of ``operations`` that has a quota.

    The applied value (``list_service_quotas``) comes first; operations without
    one take AWS's default (``list_aws_default_service_quotas``; a refusal there
    keeps the applied values). Errors of the Service Quotas client propagate
    otherwise; :func:`read_account_quotas` turns them into a reason.
    """
    found = _pick(_pages(client, "list_service_quotas"), operations)
    missing = [operation for operation in operations if operation not in found]
    if missing:
        try:
            found.update(_pick(_pages(client, "list_aws_default_service_quotas"), missing))
        except ClientError:  # e.g. only servicequotas:ListServiceQuotas is allowed: keep what was read
            if not found:
                raise
    return found


def read_account_quotas(operations: Sequence[str], region: str | None = None, endpoint_url: str | None = None,
                        client: Any = None) -> QuotaReading:
    """Read the quotas of ``operations``; never raises: failures come back as ``reason``."""
    try:
        client = client or make_quota_client(region, endpoint_url)
        where = str(client.meta.region_name or region or "")
        quotas = read_rate_quotas(client, operations)
    except Exception as exc:  # advice, not a gate: any failure leaves the default rate
        return QuotaReading({}, region or "", quota_problem(exc, region or ""))
    reason = "" if quotas else f"Service Quotas lists no Rekognition calls-per-second quota in {where}."
    return QuotaReading(quotas, where, reason)


def quota_problem(exc: Exception, region: str) -> str:
    """Say in a sentence why the quotas could not be read (never showing credentials)."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return "No AWS credentials were found."
    if isinstance(exc, NoRegionError):
        return "No AWS region is set."
    if isinstance(exc, EndpointConnectionError):
        return f"Could not reach the AWS Service Quotas API{' in ' + region if region else ''}."
    code = error_code(exc)
    if code in ("AccessDeniedException", "AccessDenied"):
        return ("Your AWS credentials are not allowed to read service quotas "
                "(the permission servicequotas:ListServiceQuotas is missing).")
    if code in SETUP_ERROR_CODES:
        return f"AWS did not accept your credentials ({code})."
    if code == "NoSuchResourceException":
        return f"Service Quotas knows no Rekognition quotas in {region or 'this region'}."
    if isinstance(exc, ClientError):
        return f"AWS would not list the quotas ({code or 'an unknown error'})."
    return f"The quotas could not be read ({type(exc).__name__})."


def safe_rate(quotas: dict[str, float], operations: Sequence[str], default: float = DEFAULT_RATE,
              headroom: float = HEADROOM) -> float:
    """A rate below the smallest quota of ``operations``: ``headroom`` of it, never above it.

    Rounded down to steps of 0.5 calls a second when that leaves at least 0.5.
    ``default`` when no chosen operation has a quota; when only some have one,
    the rate is at most ``default``, as the others' quotas are unknown.
    """
    limits = [quotas[operation] for operation in operations if quotas.get(operation, 0) > 0]
    if not limits:
        return default
    rate = min(limits) * headroom
    stepped = math.floor(rate / RATE_STEP) * RATE_STEP
    rate = stepped if stepped >= RATE_STEP else rate
    return min(rate, default) if len(limits) < len(operations) else rate


def describe(reading: QuotaReading, operations: Sequence[str], rate: float) -> str:
    """One sentence for the page and the CLI: the tightest quota found and the rate chosen."""
    chosen = {operation: reading.quotas[operation] for operation in operations if operation in reading.quotas}
    if not chosen:
        why = reading.reason or "No calls-per-second quota was found."
        return f"Could not read your account's limits: {why} {DEFAULT_RATE:g} calls per second is a safe default."
    operation = min(chosen, key=lambda name: chosen[name])
    sentence = (f"Your account allows {chosen[operation]:g} {operation} calls per second in {reading.region}; "
                f"the rate is set to {rate:g}.")
    missing = [name for name in operations if name not in chosen]
    return f"{sentence} No quota was found for {', '.join(missing)}, so it stays at most {DEFAULT_RATE:g}." \
        if missing else sentence
