"""The AWS clients SageMaker training uses, the checks made before anything is uploaded, and error sorting.

Clients come from boto3's standard credential chain, with retries set
explicitly; boto3 itself honours ``AWS_ENDPOINT_URL`` (and
``AWS_ENDPOINT_URL_S3`` and the like), which is how tests point the app at a
moto server. Credentials are never printed or stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from kayfabe_core.errors import KayfabeError
from kayfabe_core.rekognition_client import (
    CREDENTIALS_HINT,
    RETRY_MODE,
    AwsSetupError,
    aws_session,
    error_code,
    no_credentials_error,
)
from kayfabe_core.sagemaker_settings import REGION_HINT, ROLE_HINT, SageMakerSettings, check_settings

TOTAL_MAX_ATTEMPTS = 6
PERMISSIONS_HINT = ("Ask your AWS administrator to allow sagemaker:CreateTrainingJob, DescribeTrainingJob, "
                    "StopTrainingJob and ListTrainingJobs, iam:PassRole on the training role, and s3:GetObject, "
                    "PutObject, DeleteObject, ListBucket and GetBucketLocation on the bucket; then try again.")
CREDENTIAL_CODES = frozenset({"UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId",
                              "SignatureDoesNotMatch", "InvalidSignatureException", "ExpiredToken",
                              "ExpiredTokenException", "InvalidToken"})
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "AllAccessDisabled"})


class SageMakerError(KayfabeError):
    """SageMaker or S3 refused or failed something the app asked for (the message says what and why)."""


@dataclass(frozen=True)
class SageMakerClients:
    """The boto3 clients one region's training needs; ``logs`` (CloudWatch Logs) is optional."""

    sagemaker: Any
    s3: Any
    logs: Any | None = None

    @property
    def region(self) -> str:
        return str(self.sagemaker.meta.region_name or "")


def make_sagemaker_clients(region: str, endpoint_url: str | None = None, *, max_attempts: int = TOTAL_MAX_ATTEMPTS,
                           retry_mode: str = RETRY_MODE, with_logs: bool = True) -> SageMakerClients:
    """Return SageMaker, S3 and (with ``with_logs``) CloudWatch Logs clients for ``region``.

    Retries are explicit (``retry_mode``, ``max_attempts`` in all). Raises
    :class:`AwsSetupError` when no region is given or configured.
    """
    config = Config(retries={"mode": retry_mode, "total_max_attempts": max_attempts}, connect_timeout=10,
                    read_timeout=60)
    session = aws_session()
    try:
        def client(service: str) -> Any:
            return session.client(service, region_name=region or None, endpoint_url=endpoint_url, config=config)
        return SageMakerClients(client("sagemaker"), client("s3"), client("logs") if with_logs else None)
    except NoRegionError as exc:
        raise AwsSetupError("No AWS region is set for SageMaker training.", REGION_HINT) from exc


def check_aws_access(clients: SageMakerClients, settings: SageMakerSettings) -> None:
    """Check, before anything is uploaded, that AWS can be used as ``settings`` say.

    Checks the settings themselves, then credentials, that the bucket exists
    in the training region, and that the credentials may use S3 and SageMaker.
    Raises :class:`AwsSetupError` saying what is missing and what to do.
    """
    check_settings(settings)
    if clients.region and clients.region != settings.region:
        raise AwsSetupError(f"The AWS clients point at {clients.region}, but the settings say {settings.region}.",
                            "Make the clients for the region in the settings.")
    bucket_region = _bucket_region(clients.s3, settings.bucket)
    if bucket_region != settings.region:
        raise AwsSetupError(f"The bucket {settings.bucket} is in {bucket_region}, but training would run in "
                            f"{settings.region}; a training job reads only buckets in its own region.",
                            f"Choose the region {bucket_region}, or a bucket in {settings.region}.")
    try:
        clients.sagemaker.list_training_jobs(MaxResults=1)
    except Exception as exc:
        raise aws_error(exc, "list SageMaker training jobs", "sagemaker:ListTrainingJobs") from exc


def _bucket_region(s3: Any, bucket: str) -> str:
    try:
        answer = s3.get_bucket_location(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) in ("NoSuchBucket", "404"):
            raise AwsSetupError(f"There is no S3 bucket called {bucket}.",
                                f"Check the name, or create it with `aws s3 mb s3://{bucket} --region REGION` "
                                "in the region you train in.") from exc
        raise aws_error(exc, f"read where the bucket {bucket} is", "s3:GetBucketLocation") from exc
    except Exception as exc:
        raise aws_error(exc, f"read where the bucket {bucket} is", "s3:GetBucketLocation") from exc
    location = answer.get("LocationConstraint") or "us-east-1"
    return {"EU": "eu-west-1"}.get(location, location)


def aws_error(exc: Exception, doing: str, permission: str = "", instance_type: str = "") -> KayfabeError:
    """Translate ``exc``, raised while the app tried ``doing`` something, into a message with a hint.

    ``permission`` names the IAM action that a refusal means is missing;
    ``instance_type`` is named in a quota message.
    """
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return no_credentials_error()
    if isinstance(exc, NoRegionError):
        return AwsSetupError("No AWS region is set for SageMaker training.", REGION_HINT)
    if isinstance(exc, EndpointConnectionError):
        return AwsSetupError(f"Could not reach AWS at {exc.kwargs.get('endpoint_url', '')} to {doing}.",
                             "Check your internet connection and the region, then try again.")
    code, message = error_code(exc), _message(exc)
    if code in DENIED_CODES or "not authorized to perform" in message:
        return _denied(doing, permission, message)
    if code in CREDENTIAL_CODES:
        return AwsSetupError(f"AWS did not accept your credentials ({code}).",
                             "They may be mistyped or expired; " + CREDENTIALS_HINT)
    if code == "ResourceLimitExceeded":
        return _quota(instance_type, message)
    if code == "ValidationException" and ("role" in message.lower() or "assume" in message.lower()):
        return AwsSetupError(f"SageMaker cannot use the IAM role: {message}", ROLE_HINT)
    if code in ("ThrottlingException", "SlowDown", "RequestLimitExceeded"):
        return SageMakerError(f"AWS is asking the app to slow down while it tried to {doing} ({code}).",
                              "Wait a minute and try again.")
    if isinstance(exc, ClientError):
        return SageMakerError(f"AWS refused to {doing}: {message or code} ({code}).",
                              "Check the settings and the job in the AWS console, then try again.")
    return SageMakerError(f"Could not {doing}: {exc}.", "Check your connection and try again.")


def _denied(doing: str, permission: str, message: str) -> AwsSetupError:
    if "iam:PassRole" in message:
        return AwsSetupError("Your AWS credentials may not hand the training role to SageMaker "
                             "(the permission iam:PassRole is missing).",
                             "Ask your AWS administrator to allow iam:PassRole on the training role for your "
                             "user or role, then try again.")
    what = f" (the permission {permission} is missing)" if permission else ""
    return AwsSetupError(f"Your AWS credentials are not allowed to {doing}{what}.", PERMISSIONS_HINT)


def _quota(instance_type: str, message: str) -> SageMakerError:
    kind = instance_type or "this instance type"
    return SageMakerError(f"Your AWS account may not start more {kind} training instances now "
                          f"(ResourceLimitExceeded: {message}).",
                          "Choose another instance type (ml.m5.large is allowed in most accounts), use fewer "
                          "instances, wait for your other training jobs to end, or ask for a higher quota in the "
                          f"AWS console: Service Quotas → Amazon SageMaker → “{kind} for training job usage” "
                          "(or “for spot training job usage” with spot).")


def _message(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", "")).strip()
    return ""
