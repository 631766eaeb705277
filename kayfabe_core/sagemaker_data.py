"""Training data for the built-in XGBoost container: libsvm text, cut into shards, uploaded to S3.

libsvm keeps the feature table sparse: one line per image, the code first
(1 = YES, 0 = NO), then ``column:value`` for every stored value, columns
counted from 0 as XGBoost reads them. Values are written in float32's
shortest exact form, so the container sees the very numbers the app trains on
locally. Missing values (NaN) are left out, which XGBoost reads as missing too
(XGBoost's text reader takes a written ``nan`` for 0). The container counts
columns up to the last one holding a value, so its model can be narrower than
the table; :func:`~kayfabe_core.sagemaker_finish.widen_booster` fixes that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from kayfabe_core.errors import KayfabeError
from kayfabe_core.rekognition_client import error_code
from kayfabe_core.sagemaker_client import SageMakerError, aws_error

CONTENT_TYPE = "text/libsvm"
DELETE_BATCH = 1000  # S3 DeleteObjects takes at most 1,000 keys a call


@dataclass(frozen=True)
class Channel:
    """One input channel: its name, the S3 folder the job reads, its files' keys and size."""

    name: str
    s3_uri: str
    keys: tuple[str, ...]
    bytes: int
    sharded: bool


@dataclass(frozen=True)
class DeletedData:
    """What :func:`delete_prefix` removed."""

    objects: int
    bytes: int


def libsvm_text(matrix: sp.csr_matrix, labels: np.ndarray) -> bytes:
    """Return ``matrix`` with ``labels`` as libsvm lines (UTF-8, one line per row, label first)."""
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    matrix.sort_indices()
    keep = ~np.isnan(matrix.data)
    pairs = np.char.add(np.char.add(matrix.indices[keep].astype(str), ":"), matrix.data[keep].astype(str))
    ends = np.concatenate([[0], np.cumsum(keep)])[matrix.indptr]
    codes = np.asarray(labels).astype(int).astype(str)
    lines = [" ".join([codes[row], *pairs[ends[row]:ends[row + 1]]]) for row in range(matrix.shape[0])]
    return ("\n".join(lines) + "\n").encode() if lines else b""


def shard_rows(n_rows: int, parts: int) -> list[np.ndarray]:
    """Return ``parts`` consecutive, nearly equal, non-empty row ranges covering ``n_rows`` rows."""
    return [chunk for chunk in np.array_split(np.arange(n_rows), parts) if len(chunk)]


def upload_files(s3: Any, bucket: str, prefix: str, name: str, bodies: Sequence[bytes]) -> Channel:
    """Upload ``bodies`` (libsvm files) as ``s3://bucket/prefix/name/part-NNN.libsvm``; return the channel.

    More than one file makes a sharded channel (one file per training instance).
    Raises :class:`~kayfabe_core.errors.KayfabeError` (via
    :func:`~kayfabe_core.sagemaker_client.aws_error`) when S3 refuses.
    """
    keys = []
    for number, body in enumerate(bodies):
        key = f"{prefix}/{name}/part-{number:03d}.libsvm"
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=CONTENT_TYPE)
        except Exception as exc:
            raise aws_error(exc, f"upload the {name} data to s3://{bucket}/{key}", "s3:PutObject") from exc
        keys.append(key)
    return Channel(name, f"s3://{bucket}/{prefix}/{name}/", tuple(keys), sum(map(len, bodies)), len(bodies) > 1)


def list_prefix(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
    """Yield (key, size) of every object under ``prefix/`` (raises KayfabeError when S3 refuses)."""
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
            for item in page.get("Contents", []):
                yield str(item["Key"]), int(item.get("Size", 0))
    except Exception as exc:
        raise aws_error(exc, f"list s3://{bucket}/{prefix}/", "s3:ListBucket") from exc


def delete_prefix(s3: Any, bucket: str, prefix: str) -> DeletedData:
    """Delete every object under ``s3://bucket/prefix/``; return how many and their size."""
    found = list(list_prefix(s3, bucket, prefix))
    for start in range(0, len(found), DELETE_BATCH):
        batch = found[start:start + DELETE_BATCH]
        try:
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key, _ in batch],
                                                              "Quiet": True})
        except Exception as exc:
            raise aws_error(exc, f"delete the data under s3://{bucket}/{prefix}/", "s3:DeleteObject") from exc
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise aws_error(_refusal(first), f"delete s3://{bucket}/{first.get('Key', '')}", "s3:DeleteObject")
    return DeletedData(len(found), sum(size for _, size in found))


def try_delete_prefix(s3: Any, bucket: str, prefix: str) -> bool:
    """Delete the data under ``s3://bucket/prefix/`` if AWS lets us (clean-up after a failure); return
    whether it is gone. The caller records the answer, so a refusal is never lost silently."""
    try:
        delete_prefix(s3, bucket, prefix)
    except KayfabeError:
        return False
    return True


def download_object(s3: Any, uri: str) -> bytes:
    """Return the bytes of the S3 object at ``uri`` (``s3://bucket/key``)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            raise SageMakerError(f"There is no file at {uri}.", "It was deleted, or the training job wrote none; "
                                 "train again to get a run.") from exc
        raise aws_error(exc, f"download {uri}", "s3:GetObject") from exc


def _refusal(error: dict[str, Any]) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": error.get("Code", ""), "Message": error.get("Message", "")}},
                       "DeleteObjects")
