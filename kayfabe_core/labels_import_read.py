"""Reading saved Rekognition responses: JSON Lines or folders, parsed and matched to images.

Used by :mod:`kayfabe_core.labels_import`, which stages and writes what this reads.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from kayfabe_core.label_store import LabelName
from kayfabe_core.labels import OPERATIONS, model_version_of
from kayfabe_core.workspace import Workspace, connect

MATCH_KEYS = ("sha256", "image_url", "post_url")
_OPERATION_NAMES = {name.lower(): name for name in OPERATIONS}
_URL_HOST = re.compile(r"^[a-zA-Z]+://[^/]*")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Record(NamedTuple):
    """One usable response, not yet matched to an image."""

    match_key: str
    match_value: str
    operation: str
    response: dict[str, Any]
    called_at: str
    region: str
    request_id: str
    request: str


# --- reading ---------------------------------------------------------------------------------

def iter_jsonl(path: Path, label: str = "line") -> Iterator[tuple[str, int, Any]]:
    """Yield (label, line number, parsed object or ValueError) for each non-blank line, streaming.

    The caller makes the line's name (``f"{label} {number}"``) only when it reports
    the line, not for every line.
    """
    loads = orjson.loads
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if not raw or raw.isspace():
                continue
            try:
                yield label, number, loads(raw)
            except ValueError as exc:
                yield label, number, not_json(exc)


def not_json(exc: ValueError) -> ValueError:
    """Say why a line is not JSON in a reader's words (the parser's own reason names its internals)."""
    if "UTF-8" in str(exc):
        return ValueError("is not text (not UTF-8: a binary file, or text saved in another encoding)")
    column = getattr(exc, "colno", None)
    return ValueError(f"is not JSON (it breaks off at character {column})" if column else "is not JSON")


def iter_folder(folder: Path) -> Iterator[tuple[str, int, Any]]:
    """Yield (where, 0, object or ValueError) for each document in ``folder``, sorted by path."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            yield from iter_jsonl(path, f"{relative} line")
        elif path.suffix.lower() == ".json":
            yield f"file {relative}", 0, read_document(path)


def read_document(path: Path) -> Any:
    """Return one JSON document in line format (completed from its path) or a ValueError."""
    try:
        document = orjson.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    except (ValueError, OSError) as exc:
        return ValueError(f"is not JSON ({exc})")
    if isinstance(document, dict) and "operation" in document and "response" in document:
        return document
    named = name_parts(path)
    if named is None:
        return ValueError("is not named <sha256>/<Operation>.json or <sha256>.<Operation>.json "
                          "and is not in the line format")
    if not isinstance(document, dict):
        return ValueError("does not hold a JSON object")
    if "response" in document:
        return {**document, "sha256": named[0], "operation": named[1]}
    if "error_code" in document:
        return ValueError("holds an error from Rekognition, not a response")
    return {"sha256": named[0], "operation": named[1], "response": document}


def name_parts(path: Path) -> tuple[str, str] | None:
    """Return (sha256, operation) from ``<sha256>/<Op>.json`` or ``<sha256>.<Op>.json``."""
    stem = path.stem
    if _SHA256.match(path.parent.name.lower()) and stem.lower() in _OPERATION_NAMES:
        return path.parent.name.lower(), _OPERATION_NAMES[stem.lower()]
    sha256, _, operation = stem.partition(".")
    if _SHA256.match(sha256.lower()) and operation.lower() in _OPERATION_NAMES:
        return sha256.lower(), _OPERATION_NAMES[operation.lower()]
    return None


def to_record(item: Any, now: str) -> Record | str:
    """Return the usable record in ``item``, or why it is not usable."""
    if isinstance(item, ValueError):
        return str(item)
    if isinstance(item, list):  # a whole file saved as one JSON list, say
        return ("is a JSON list ([ … ]), not one saved response: the file needs one response object per line "
                "(JSON Lines)")
    if not isinstance(item, dict):
        return f"is not a JSON object (found {type(item).__name__})"
    keys = [key for key in MATCH_KEYS if isinstance(item.get(key), str) and item[key].strip()]
    if not keys or "operation" not in item or "response" not in item:
        return f"does not have the expected keys (found: {shown_keys(item)})"
    operation = _OPERATION_NAMES.get(str(item["operation"]).lower())
    if operation is None:
        return f"has the unknown operation {item['operation']!r}"
    response = item["response"]
    if not isinstance(response, dict):
        return '"response" is not a JSON object'
    metadata = response.pop("ResponseMetadata", None)
    request_id = str(item.get("request_id") or (metadata or {}).get("RequestId") or "")
    request = item.get("request")
    return Record(keys[0], item[keys[0]].strip(), operation, response,
                   str(item.get("called_at") or now), str(item.get("region") or ""), request_id,
                   json.dumps(request) if isinstance(request, dict) else "{}")


def shown_keys(item: dict[str, Any]) -> str:
    names = [str(key) for key in item]
    shown = ", ".join(names[:8]) + (f" … ({len(names)} in all)" if len(names) > 8 else "")
    return shown or "none"


# --- matching --------------------------------------------------------------------------------

def image_key_of(url: str) -> str:
    """Return a URL's path without scheme, host and query, as ingest stores ``image_key``."""
    return _URL_HOST.sub("", url.split("?", 1)[0])


def clean_post_url(url: str) -> str:
    """Normalise a post link as ingest does: no query or fragment, a trailing slash."""
    base = url.split("?", 1)[0].split("#", 1)[0]
    return base if not base or base.endswith("/") else base + "/"


class Matcher:
    """Finds the content hash of the image a record names; loads each lookup once, lazily."""

    def __init__(self, workspace: Workspace, conn: sqlite3.Connection | None = None) -> None:
        """Read through ``conn`` when given (an import's own connection, which may hold the workspace's write
        lock), else through a connection of its own for each lookup."""
        self.workspace = workspace
        self.conn = conn
        self._tables: dict[str, dict[str, str | None]] = {}

    def _table(self, name: str, sql: str) -> dict[str, str | None]:
        if name not in self._tables:
            with nullcontext(self.conn) if self.conn is not None else connect(self.workspace) as conn:
                table: dict[str, str | None] = {}
                for key, sha256 in conn.execute(sql):
                    if table.get(key) is None:  # prefer a fetched image under the same key
                        table[key] = sha256
            self._tables[name] = table
        return self._tables[name]

    def match(self, record: Record) -> tuple[str | None, str]:
        """Return (sha256, '') for a fetched image, else (None, the reason in users' words)."""
        return self.match_value(record.match_key, record.match_value)

    def match_value(self, kind: str, value: str) -> tuple[str | None, str]:
        """Like :meth:`match` for ``kind`` sha256, image_url or post_url and its ``value``."""
        if kind == "sha256":
            table = self._table("sha256", "SELECT sha256, sha256 FROM images WHERE sha256 IS NOT NULL")
            found = value.lower() in table
            return (value.lower(), "") if found else (None, "no fetched image has this sha256")
        if kind == "post_url":
            table = self._table("post", "SELECT p.post_url, i.sha256 FROM posts p LEFT JOIN images i "
                                        "ON i.post_url = p.post_url AND i.position = 0")
            key = clean_post_url(value)
            return self._found(table, key, "no post with this link")
        table = self._table("key", "SELECT image_key, sha256 FROM images")
        key = image_key_of(value)
        if key not in table:
            table = self._table("url", "SELECT source_url, sha256 FROM images")
            key = value
        return self._found(table, key, "no image with this link")

    @staticmethod
    def _found(table: dict[str, str | None], key: str, missing: str) -> tuple[str | None, str]:
        if key not in table:
            return None, missing
        sha256 = table[key]
        return (sha256, "") if sha256 else (None, "image not fetched yet")


# --- flattening ------------------------------------------------------------------------------

@lru_cache(maxsize=8192)
def names_json(names: tuple[Any, ...]) -> str:
    return json.dumps(list(names))


def response_items(operation: str, response: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """Yield (source, key, name, confidence, parents JSON, categories JSON) like labels.response_items."""
    if operation == "DetectLabels":
        for item in response.get("Labels", []):
            yield ("label", item["Name"], item["Name"], item["Confidence"],
                   names_json(tuple(p["Name"] for p in item.get("Parents", []))),
                   names_json(tuple(c["Name"] for c in item.get("Categories", []))))
    elif operation == "DetectModerationLabels":
        for item in response.get("ModerationLabels", []):
            parent = item.get("ParentName")
            yield ("moderation", item["Name"], item["Name"], item["Confidence"],
                   names_json((parent,) if parent else ()), "[]")
    else:
        for item in response.get("CelebrityFaces", []):
            yield "celebrity", item["Id"], item["Name"], item["MatchConfidence"], "[]", "[]"


def label_tuples(sha256: str, operation: str, response: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Return the labels-table rows of one response, equal to :func:`labels.flatten_response`'s.

    A faster twin of that function for bulk imports (the JSON of repeated parent
    lists is built once; DetectLabels, most of an import, is flattened inline);
    tests pin that both give the same rows.
    """
    version = model_version_of(operation, response)
    rows: dict[Any, tuple[Any, ...]] = {}
    if operation == "DetectLabels":
        for item in response.get("Labels", []):
            key = item["Name"]
            row = (sha256, "label", key, key, float(item["Confidence"]), _names_of(item.get("Parents", [])),
                   _names_of(item.get("Categories", [])), version)
            if key not in rows or rows[key][4] < row[4]:
                rows[key] = row
        return list(rows.values())
    for source, key, name, confidence, parents, categories in response_items(operation, response):
        value = float(confidence)
        if key not in rows or rows[key][4] < value:
            rows[key] = (sha256, source, key, name, value, parents, categories, version)
    return list(rows.values())


def _names_of(items: Any) -> str:
    """Return the JSON list of the ``Name`` of each of ``items`` (a label's parents or categories)."""
    return "[]" if items == [] else names_json(tuple(item["Name"] for item in items))


class LabelRows:
    """A chunk's label rows, as :func:`label_tuples` gives them, kept as three lists.

    Row i belongs to the response ``owners[i]``, names the label at place
    ``places[i]`` of ``names`` (numbered in the order first seen) and has the
    confidence ``confidences[i]``. A DetectLabels label whose name, parents and
    categories were seen before in the chunk is placed by one lookup on its name.
    """

    def __init__(self) -> None:
        self.names: dict[LabelName, int] = {}
        self.owners: list[int] = []
        self.places: list[int] = []
        self.confidences: list[float] = []
        self._seen: dict[str, dict[Any, tuple[Any, Any, int]]] = {}  # version: Name: (Parents, Categories, place)

    def add(self, owner: int, operation: str, version: str, response: dict[str, Any]) -> None:
        """Add the rows of one response (of model ``version``), or raise as :func:`label_tuples` does,
        adding nothing. The rows' image is their owner's."""
        labels = response.get("Labels", []) if operation == "DetectLabels" else None
        if labels is not None and len(set(keys := [item["Name"] for item in labels])) == len(keys):
            count = self._add_labels(version, labels)
        else:  # another operation, or a label repeated in the response
            rows = label_tuples("", operation, response)
            names = self.names
            self.places += [names.setdefault((source, key, row_version, name, parents, categories), len(names))
                            for _, source, key, name, _, parents, categories, row_version in rows]
            self.confidences += [row[4] for row in rows]
            count = len(rows)
        self.owners += [owner] * count

    def _add_labels(self, version: str, labels: list[dict[str, Any]]) -> int:
        """Add DetectLabels labels of distinct names; return how many."""
        names, seen = self.names, self._seen.setdefault(version, {})
        before = len(names)
        try:
            confidences = [float(item["Confidence"]) for item in labels]
            places = []
            for item in labels:
                key, parents, categories = item["Name"], item.get("Parents", []), item.get("Categories", [])
                known = seen.get(key)
                if known is None or known[0] != parents or known[1] != categories:
                    name = ("label", key, version, key, _names_of(parents), _names_of(categories))
                    known = seen[key] = (parents, categories, names.setdefault(name, len(names)))
                places.append(known[2])
        except BaseException:  # as if the response was never added
            while len(names) > before:
                names.popitem()
            seen.clear()
            raise
        self.places += places
        self.confidences += confidences
        return len(places)
