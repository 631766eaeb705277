"""Rekognition responses: stored raw once per image and operation, flattened to a long table.

The long table (the ``labels`` view over :mod:`kayfabe_core.label_store`'s
integer rows) has one row per (image, source, key, model version) with the
confidence, so features at any threshold come from SQL without re-reading JSON.
Sources: ``label`` (DetectLabels), ``moderation`` (DetectModerationLabels) and
``celebrity`` (RecognizeCelebrities, keyed on the celebrity's Id).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from kayfabe_core.label_store import content_number, store_label_rows
from kayfabe_core.response_store import INSERT_STORED, packed

OPERATIONS = ("DetectLabels", "DetectModerationLabels", "RecognizeCelebrities")


@dataclass(frozen=True)
class LabelRow:
    """One label of one image, as in the long table."""

    sha256: str
    source: str
    key: str
    name: str
    confidence: float
    parents: str
    categories: str
    model_version: str


def model_version_of(operation: str, response: dict[str, Any]) -> str:
    """Return the model version an operation's response reports ('' if none)."""
    field = {"DetectLabels": "LabelModelVersion", "DetectModerationLabels": "ModerationModelVersion"}
    return str(response.get(field.get(operation, ""), ""))


def flatten_response(sha256: str, operation: str, response: dict[str, Any]) -> list[LabelRow]:
    """Return the long-table rows of one response (celebrities deduplicated by Id)."""
    version = model_version_of(operation, response)
    rows: dict[str, LabelRow] = {}
    for source, key, name, confidence, parents, categories in _items(operation, response):
        row = LabelRow(sha256, source, key, name, float(confidence),
                       json.dumps(parents), json.dumps(categories), version)
        if key not in rows or rows[key].confidence < row.confidence:
            rows[key] = row
    return list(rows.values())


def _items(operation: str, response: dict[str, Any]) -> list[tuple[Any, ...]]:
    if operation == "DetectLabels":
        return [("label", item["Name"], item["Name"], item["Confidence"],
                 [p["Name"] for p in item.get("Parents", [])],
                 [c["Name"] for c in item.get("Categories", [])])
                for item in response.get("Labels", [])]
    if operation == "DetectModerationLabels":
        return [("moderation", item["Name"], item["Name"], item["Confidence"],
                 [item["ParentName"]] if item.get("ParentName") else [], [])
                for item in response.get("ModerationLabels", [])]
    if operation == "RecognizeCelebrities":
        return [("celebrity", item["Id"], item["Name"], item["MatchConfidence"], [], [])
                for item in response.get("CelebrityFaces", [])]
    raise ValueError(f"unknown Rekognition operation {operation!r}")


def store_response(
    conn: sqlite3.Connection,
    sha256: str,
    operation: str,
    response: dict[str, Any],
    *,
    origin: str,
    called_at: str,
    region: str = "",
    request_id: str = "",
    request: dict[str, Any] | None = None,
) -> int:
    """Store one response and its long-table rows in the open transaction.

    Never overwrites: a response already stored for the same image, operation
    and model version is kept. Returns the number of label rows written.
    """
    version = model_version_of(operation, response)
    cursor = conn.execute(INSERT_STORED, (
        content_number(conn, sha256), operation, version, region, called_at, request_id,
        json.dumps(request or {}), packed(json.dumps(response).encode()), None, None, origin))
    if cursor.rowcount == 0:
        return 0
    rows = flatten_response(sha256, operation, response)
    store_label_rows(conn, [tuple(row.__dict__.values()) for row in rows])
    return len(rows)


def store_error(
    conn: sqlite3.Connection,
    sha256: str,
    operation: str,
    *,
    error_code: str,
    error_message: str,
    origin: str,
    called_at: str,
    region: str = "",
    request_id: str = "",
    request: dict[str, Any] | None = None,
) -> bool:
    """Store in the open transaction that ``operation`` refused image ``sha256``.

    The row has no response and no label rows; it marks the pair as done so the
    image is not sent (and billed) again. Never overwrites an existing row.
    Returns whether a row was written.
    """
    cursor = conn.execute(INSERT_STORED, (
        content_number(conn, sha256), operation, "", region, called_at, request_id, json.dumps(request or {}),
        None, error_code, error_message, origin))
    return cursor.rowcount > 0
