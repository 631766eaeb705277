"""The Amazon Rekognition client: how it is built, checked and how its errors are sorted.

Credentials come from boto3's standard chain (environment variables, the
shared ``~/.aws`` files and ``AWS_PROFILE``, instance roles). They are never
printed or stored; error messages name only what is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from kayfabe_core.errors import KayfabeError

RETRY_MODE = "adaptive"
TOTAL_MAX_ATTEMPTS = 8
DEFAULT_POOL = 10

# Worth trying again later: botocore already retried these with backoff.
RETRYABLE_CODES = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException",
                             "InternalServerError", "ServiceUnavailableException",
                             "LimitExceededException"})
# Rejected for this image and this operation: stored, never sent again.
IMAGE_ERROR_CODES = frozenset({"InvalidImageFormatException", "ImageTooLargeException",
                               "InvalidParameterException", "InvalidS3ObjectException"})
# The account or the credentials cannot be used: the run stops.
SETUP_ERROR_CODES = frozenset({"AccessDeniedException", "UnrecognizedClientException",
                               "InvalidSignatureException", "ExpiredTokenException",
                               "ExpiredToken", "InvalidClientTokenId"})

PERMISSION = {"DetectLabels": "rekognition:DetectLabels",
              "DetectModerationLabels": "rekognition:DetectModerationLabels",
              "RecognizeCelebrities": "rekognition:RecognizeCelebrities"}

CREDENTIALS_HINT = ("Set them up with `aws configure`, or set AWS_PROFILE to a profile in ~/.aws/credentials, "
                    "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, then try again.")
REGION_HINT = ("Set AWS_DEFAULT_REGION (for example us-east-1), add `region = us-east-1` to your AWS profile, "
               "or choose a region in the app.")


class AwsSetupError(KayfabeError):
    """AWS cannot be used as set up: no credentials, no region, or a missing permission."""


def make_rekognition_client(region: str | None = None, endpoint_url: str | None = None, *,
                            workers: int = 4, retry_mode: str = RETRY_MODE) -> Any:
    """Return a Rekognition client from the standard credential chain.

    Retries are set explicitly (``retry_mode``, 8 attempts in total) and the
    connection pool holds at least ``workers`` connections. Raises
    :class:`AwsSetupError` when no region is given or configured.
    """
    config = Config(retries={"mode": retry_mode, "total_max_attempts": TOTAL_MAX_ATTEMPTS},
                    max_pool_connections=max(DEFAULT_POOL, workers), connect_timeout=10, read_timeout=60)
    try:
        return aws_session().client("rekognition", region_name=region or None, endpoint_url=endpoint_url,
                                    config=config)
    except NoRegionError as exc:
        raise no_region_error() from exc


def aws_session() -> Any:
    """Return a boto3 session on the standard credential chain, for every AWS client the app makes. Raises
    :class:`AwsSetupError` when AWS_PROFILE names a profile the AWS files do not hold (it was a traceback)."""
    try:
        return boto3.session.Session()
    except ProfileNotFound as exc:
        raise AwsSetupError(f"The AWS profile “{exc.kwargs.get('profile', '')}” (AWS_PROFILE) is not in your AWS "
                            "configuration (~/.aws/config or ~/.aws/credentials).",
                            "Set AWS_PROFILE to one of your profiles (`aws configure list-profiles` lists them), or "
                            "unset it to use the default one.") from exc


def no_region_error() -> AwsSetupError:
    """The error shown when no AWS region is set."""
    return AwsSetupError("No AWS region is set, so the app does not know where to send the images.", REGION_HINT)


def no_credentials_error() -> AwsSetupError:
    """The error shown when the credential chain finds nothing."""
    return AwsSetupError("No AWS credentials were found.", CREDENTIALS_HINT)


def setup_error(exc: Exception, operation: str) -> AwsSetupError | None:
    """Translate ``exc`` raised by a call of ``operation`` into an :class:`AwsSetupError`, or None."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return no_credentials_error()
    if isinstance(exc, NoRegionError):
        return no_region_error()
    if isinstance(exc, EndpointConnectionError):
        return AwsSetupError(f"Could not reach Amazon Rekognition at {exc.kwargs.get('endpoint_url', '')}.",
                             "Check your internet connection and the region, then run the labelling again; "
                             "images already labelled are kept.")
    code = error_code(exc)
    if code == "AccessDeniedException":
        permission = PERMISSION.get(operation, f"rekognition:{operation}")
        return AwsSetupError(f"Your AWS credentials are not allowed to call {operation} "
                             f"(the permission {permission} is missing).",
                             f"Ask your AWS administrator to allow {permission} for your user or role "
                             "(for example with the AmazonRekognitionReadOnlyAccess policy), then try again.")
    if code in SETUP_ERROR_CODES:
        return AwsSetupError(f"AWS did not accept your credentials ({code}).",
                             "They may be mistyped or expired; " + CREDENTIALS_HINT)
    return None


def error_code(exc: Exception) -> str:
    """Return the AWS error code of a :class:`ClientError` ('' for other exceptions)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def check_access(client: Any, operations: Sequence[str] = ("DetectLabels",)) -> None:
    """Check that ``client`` has a region, credentials and permission for ``operations``.

    Sends each operation one byte that is not an image: Rekognition refuses it
    as an invalid image (nothing is analysed) when access is fine. Raises
    :class:`AwsSetupError` saying what is missing otherwise.
    """
    if not client.meta.region_name:
        raise no_region_error()
    for operation in operations:
        try:
            getattr(client, _method(operation))(Image={"Bytes": b"\0"})
        except Exception as exc:
            problem = setup_error(exc, operation)
            if problem is not None:
                raise problem from exc
            if not isinstance(exc, ClientError):
                raise


def _method(operation: str) -> str:
    """'DetectLabels' -> 'detect_labels'."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
