"""Image bytes in the workspace, stored once under their content hash."""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from PIL import Image

from kayfabe_core.workspace import Workspace

FORMATS = {"JPEG": "jpg", "PNG": "png"}


@dataclass(frozen=True)
class StoredImage:
    """Where and what an image's bytes are."""

    sha256: str
    ext: str
    width: int
    height: int
    n_bytes: int


def save_image_bytes(workspace: Workspace, data: bytes) -> StoredImage:
    """Write JPEG or PNG ``data`` to ``images/<sha256>.<ext>`` (atomically, once).

    Returns the :class:`StoredImage`. Raises ``ValueError`` for bytes that are
    not a JPEG or PNG (callers check formats first).
    """
    with Image.open(io.BytesIO(data)) as picture:
        ext = FORMATS[picture.format or ""]
        width, height = picture.size
    sha256 = hashlib.sha256(data).hexdigest()
    path = workspace.image_path(sha256, ext)
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(data)
        os.replace(partial, path)
    return StoredImage(sha256, ext, width, height, len(data))


def mark_fetched(
    conn: sqlite3.Connection, image_id: int, stored: StoredImage, status: str = "ok", note: str | None = None
) -> None:
    """Record in the open transaction that image ``image_id`` has these bytes.

    ``status`` is 'ok', or 'too_small' for bytes kept that Rekognition will not
    take; ``note`` goes to fetch_error.
    """
    conn.execute(
        "UPDATE images SET sha256 = ?, ext = ?, width = ?, height = ?, n_bytes = ?, "
        "fetch_status = ?, fetch_error = ?, fetched_at = ? WHERE image_id = ?",
        (stored.sha256, stored.ext, stored.width, stored.height, stored.n_bytes, status, note,
         _now(), image_id),
    )


def mark_not_fetched(conn: sqlite3.Connection, image_id: int, status: str, error: str) -> None:
    """Record in the open transaction that image ``image_id`` could not be fetched, and why."""
    conn.execute(
        "UPDATE images SET fetch_status = ?, fetch_error = ?, fetched_at = ? WHERE image_id = ?",
        (status, error, _now(), image_id),
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
