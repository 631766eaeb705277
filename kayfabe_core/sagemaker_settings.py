"""Where and how SageMaker trains: region, bucket, role, instances, limits, saved in the workspace.

A setting comes from, lowest first: the defaults, the workspace (saved by the
Train page or ``train --backend sagemaker --bucket ...``), the environment
(``KAYFABE_SAGEMAKER_*``, see :data:`ENV_VARS`), and what the caller gives
now. The region falls back to ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` when
nothing else names one. Credentials are never part of these settings.
:func:`check_settings` checks what can be checked without AWS;
:func:`~kayfabe_core.sagemaker_client.check_aws_access` checks the rest before
anything is uploaded.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace

from kayfabe_core.constraints import Knob
from kayfabe_core.constraints import check_settings as check_knobs
from kayfabe_core.errors import SettingError
from kayfabe_core.rekognition_client import AwsSetupError
from kayfabe_core.workspace import RESULTS_VERSION, Workspace, read_meta, transaction, write_meta

META_KEY = "sagemaker_settings"
MAX_SECONDS = 5 * 24 * 3600  # 5 days: far beyond this app's needs (SageMaker itself allows 28)
VOLUME_SIZE_GB = 5  # disk of each training instance; the libsvm files are far smaller

ENV_VARS: dict[str, str] = {
    "region": "KAYFABE_SAGEMAKER_REGION", "bucket": "KAYFABE_SAGEMAKER_BUCKET",
    "prefix": "KAYFABE_SAGEMAKER_PREFIX", "role_arn": "KAYFABE_SAGEMAKER_ROLE_ARN",
    "instance_type": "KAYFABE_SAGEMAKER_INSTANCE_TYPE", "instance_count": "KAYFABE_SAGEMAKER_INSTANCE_COUNT",
    "spot": "KAYFABE_SAGEMAKER_SPOT", "max_runtime_s": "KAYFABE_SAGEMAKER_MAX_RUNTIME",
    "max_wait_s": "KAYFABE_SAGEMAKER_MAX_WAIT",
}
REGION_FALLBACKS = ("AWS_REGION", "AWS_DEFAULT_REGION")

SAGEMAKER_KNOBS: tuple[Knob, ...] = (
    Knob("instance_count", "Training instances", int, 1, 20, 1, 1,
         "How many machines train together; above 1 the training images are cut into that many files, "
         "one per machine.", "More machines finish big tables sooner, cost more per minute, and give a model "
         "that can differ slightly from one trained on a single machine."),
    Knob("max_runtime_s", "Longest run (seconds)", int, 60, MAX_SECONDS, 3600, 60,
         "SageMaker stops the job after this long, whatever happens: the upper bound of the bill.",
         "A higher limit lets big jobs finish; a job that ends sooner is billed only for what it used."),
    Knob("max_wait_s", "Longest wait for spot capacity, including the run (seconds)", int, 60, MAX_SECONDS,
         7200, 60, "With spot instances: how long SageMaker may wait for spare capacity plus run the job.",
         "A longer wait makes it likelier a spot job runs at all; waiting is not billed."),
)

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_INSTANCE = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")

REGION_HINT = ("Choose a region with --region (or in the app), set KAYFABE_SAGEMAKER_REGION or AWS_DEFAULT_REGION, "
               "for example us-east-1.")
ROLE_HINT = ("Create an IAM role that SageMaker may assume (for example with the AmazonSageMakerFullAccess policy "
             "and read/write access to your bucket), then give its ARN with --role-arn, in the app, or in "
             "KAYFABE_SAGEMAKER_ROLE_ARN; it looks like arn:aws:iam::123456789012:role/MySageMakerRole.")


@dataclass(frozen=True)
class SageMakerSettings:
    """Where SageMaker trains and on what; ``max_wait_s`` matters only with ``spot``."""

    region: str = ""
    bucket: str = ""
    prefix: str = "kayfabe"
    role_arn: str = ""
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    spot: bool = False
    max_runtime_s: int = 3600
    max_wait_s: int = 7200

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def load_settings(workspace: Workspace, environ: Mapping[str, str] | None = None) -> SageMakerSettings:
    """Return the settings in force: defaults, then the workspace's, then the environment's.

    Raises :class:`SettingError` when an environment variable holds a value of the wrong kind.
    """
    return _layered(workspace, {}, os.environ if environ is None else environ)


def choose_settings(workspace: Workspace, given: Mapping[str, object], environ: Mapping[str, str] | None = None,
                    save: bool = True) -> SageMakerSettings:
    """Return the settings in force with ``given`` on top (None values ignored); with ``save``, keep ``given``
    in the workspace for next time. Raises :class:`SettingError` for an unknown name, a wrong kind of value or,
    with ``save``, a given value that is refused (then nothing is kept)."""
    chosen = {key: value for key, value in given.items() if value is not None}
    _check_names(chosen)
    settings = _layered(workspace, chosen, os.environ if environ is None else environ)
    if save and chosen:
        # checked before being kept: a refused value kept broke the next command, which had not given it
        _run_checks(settings, chosen)
        save_settings(workspace, _coerce(saved_settings(workspace), chosen, "given"))
    return settings


def saved_settings(workspace: Workspace) -> SageMakerSettings:
    """Return the settings saved in the workspace (defaults where none were saved)."""
    text = read_meta(workspace, META_KEY)
    saved = json.loads(text) if text else {}
    known = {field.name for field in fields(SageMakerSettings)}
    return _coerce(SageMakerSettings(), {k: v for k, v in saved.items() if k in known}, "workspace")


def save_settings(workspace: Workspace, settings: SageMakerSettings) -> None:
    """Save ``settings`` in the workspace (one transaction)."""
    with transaction(workspace, RESULTS_VERSION) as conn:
        write_meta(conn, META_KEY, json.dumps(settings.to_dict()))


def settings_sources(workspace: Workspace, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return where each setting in force comes from: ``default``, ``workspace`` or the environment variable."""
    env = os.environ if environ is None else environ
    text = read_meta(workspace, META_KEY)
    saved = json.loads(text) if text else {}
    default = SageMakerSettings()
    sources = {name: "workspace" if name in saved and saved[name] != getattr(default, name) else "default"
               for name in ENV_VARS}
    for name, variable in ENV_VARS.items():
        if env.get(variable):
            sources[name] = variable
    if sources["region"] == "default":
        sources["region"] = next((variable for variable in REGION_FALLBACKS if env.get(variable)), "default")
    return sources


REQUIRED = {"region": "the AWS region", "bucket": "the S3 bucket", "role_arn": "the IAM role"}  # no default


def blank_required(settings: SageMakerSettings) -> list[str]:
    """Return the words for each required setting still blank (see :data:`REQUIRED`), in the table's order."""
    return [words for name, words in REQUIRED.items() if not str(getattr(settings, name) or "").strip()]


def check_settings(settings: SageMakerSettings) -> SageMakerSettings:
    """Return ``settings`` after checking everything that needs no AWS call.

    Raises :class:`~kayfabe_core.rekognition_client.AwsSetupError` for no region
    or no role, :class:`SettingError` for a value of the wrong form or out of
    range (each message names the value and says what to do).
    """
    if not settings.region:
        raise AwsSetupError("No AWS region is set for SageMaker training.", REGION_HINT)
    if not settings.bucket:
        raise SettingError("No S3 bucket is set: SageMaker reads the training images from one and writes the "
                           "model to it.", "Give a bucket in the training region with --bucket, in the app, or "
                           "in KAYFABE_SAGEMAKER_BUCKET (create one with `aws s3 mb s3://NAME --region REGION`).")
    if not settings.role_arn:
        raise AwsSetupError("No IAM role is set: SageMaker needs a role to act as, to read the training "
                            "images from S3 and write the model back.", ROLE_HINT)
    _run_checks(settings, ENV_VARS)
    return settings


def _run_checks(settings: SageMakerSettings, names: Iterable[str]) -> None:
    """Run the checks of the settings ``names`` (each check once, in the table's order)."""
    wanted = set(names)
    for check in dict.fromkeys(check for name, check in _CHECKS.items() if name in wanted):
        check(settings)


def _check_region(settings: SageMakerSettings) -> None:
    if settings.region and not _REGION.match(settings.region):
        raise SettingError(f"“{settings.region}” is not an AWS region name.", REGION_HINT)


def _check_role(settings: SageMakerSettings) -> None:
    if settings.role_arn and not _ROLE.match(settings.role_arn):
        raise SettingError(f"“{settings.role_arn}” is not the ARN of an IAM role.", ROLE_HINT)


def _check_instance(settings: SageMakerSettings) -> None:
    if not _INSTANCE.match(settings.instance_type):
        raise SettingError(f"“{settings.instance_type}” is not a SageMaker instance type.",
                           "Instance types look like ml.m5.large or ml.c5.xlarge.")


def _check_limits(settings: SageMakerSettings) -> None:
    check_knobs(SAGEMAKER_KNOBS, {"instance_count": settings.instance_count,
                                  "max_runtime_s": settings.max_runtime_s, "max_wait_s": settings.max_wait_s})
    if settings.spot and settings.max_wait_s < settings.max_runtime_s:
        raise SettingError(f"With spot instances the longest wait ({settings.max_wait_s:,} s) must be at least "
                           f"the longest run ({settings.max_runtime_s:,} s).",
                           "Raise the wait (--max-wait), lower the run limit (--max-runtime), or turn spot off.")


def _check_bucket(settings: SageMakerSettings) -> None:
    if settings.bucket and (not _BUCKET.match(settings.bucket) or ".." in settings.bucket):
        raise SettingError(f"“{settings.bucket}” is not a valid S3 bucket name.",
                           "Give the bucket's name only (3 to 63 lower-case letters, digits, dots or hyphens), "
                           "without s3:// or a folder.")
    if not _PREFIX.match(settings.prefix):
        raise SettingError(f"The S3 prefix “{settings.prefix}” holds characters S3 keys should not hold.",
                           "Use letters, digits and - _ . / only, for example kayfabe/training.")


# The check of each setting (one check may cover several): check_settings runs them all, a save those of the
# settings just given.
_CHECKS: dict[str, Callable[[SageMakerSettings], None]] = {
    "region": _check_region, "bucket": _check_bucket, "prefix": _check_bucket, "role_arn": _check_role,
    "instance_type": _check_instance, "instance_count": _check_limits, "spot": _check_limits,
    "max_runtime_s": _check_limits, "max_wait_s": _check_limits,
}


def _layered(workspace: Workspace, given: Mapping[str, object], environ: Mapping[str, str]) -> SageMakerSettings:
    settings = saved_settings(workspace)
    from_env = {name: environ[variable] for name, variable in ENV_VARS.items() if environ.get(variable)}
    settings = _coerce(settings, from_env, "environment")
    if not settings.region and not given.get("region"):
        region = next((environ[variable] for variable in REGION_FALLBACKS if environ.get(variable)), "")
        settings = replace(settings, region=region)
    return _coerce(settings, given, "given")


def _check_names(values: Mapping[str, object]) -> None:
    unknown = [name for name in values if name not in ENV_VARS]
    if unknown:
        raise SettingError(f"There is no SageMaker setting called “{unknown[0]}”.",
                           "The settings are: " + ", ".join(ENV_VARS) + ".")


def _coerce(settings: SageMakerSettings, values: Mapping[str, object], origin: str) -> SageMakerSettings:
    """Return ``settings`` with ``values`` converted to each field's type."""
    changes: dict[str, object] = {}
    for name, value in values.items():
        kind = type(getattr(SageMakerSettings(), name))
        changes[name] = _convert(name, value, kind, origin)
    return replace(settings, **changes)  # type: ignore[arg-type]


def _convert(name: str, value: object, kind: type, origin: str) -> object:
    where = f" (from {ENV_VARS[name]})" if origin == "environment" else ""
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise SettingError(f"The SageMaker setting {name}{where} must be true or false; got {value!r}.",
                           "Use true or false (1 or 0).")
    if kind is int:
        try:
            number = float(str(value).strip())
        except ValueError:
            number = float("nan")
        if not number.is_integer():
            raise SettingError(f"The SageMaker setting {name}{where} must be a whole number; got {value!r}.",
                               "Give a whole number, e.g. 3600 for one hour.")
        return int(number)
    text = str(value).strip()
    return text.strip("/") if name == "prefix" else text
