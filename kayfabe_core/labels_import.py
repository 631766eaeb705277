"""Import saved Rekognition responses (JSON Lines or a folder of JSON documents).

Accepted inputs:

* a JSON Lines file: one object per line,
  ``{"sha256" | "image_url" | "post_url": ..., "operation": ..., "response": {...}}``
  with optional ``called_at``, ``region``, ``request_id`` and ``request``;
* a folder of ``.json`` documents, each either one object in the line format or
  a raw response named ``<sha256>/<Operation>.json`` or ``<sha256>.<Operation>.json``
  (the raw response may be wrapped as ``{"response": {...}, "called_at": ...}``);
  ``.jsonl`` / ``.ndjson`` files inside the folder are read line by line.

Each response is matched to a fetched image of the workspace: ``sha256`` to the
image's content hash, ``image_url`` to the image whose URL path is the same (the
signature in the query string changes between scrapes), else to the exact URL,
and ``post_url`` to the post's cover image. Responses are keyed on the content
hash, so an image not fetched yet cannot take one. Lines are written in batches,
one transaction each; responses already stored are kept as they were.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from kayfabe_core.errors import InputFileError
from kayfabe_core.labels import OPERATIONS, model_version_of
from kayfabe_core.workspace import Workspace, _connect_raw, connect

BATCH_LINES = 50_000
CACHE_KIB = 262_144  # page cache of the import's connection: 256 MiB
MAX_EXAMPLES = 5
MATCH_KEYS = ("sha256", "image_url", "post_url")
ORIGIN = "import"
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_OPERATION_NAMES = {name.lower(): name for name in OPERATIONS}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_URL_HOST = re.compile(r"^[a-zA-Z]+://[^/]*")
EXPECTED = (
    'one JSON object per line with "operation" (DetectLabels, DetectModerationLabels or '
    'RecognizeCelebrities), "response" and one of "sha256", "image_url" or "post_url"'
)
HINT = (
    "Give a JSON Lines file of saved responses, or a folder of <sha256>/<Operation>.json "
    "files as the app saves them under rekognition/."
)


@dataclass(frozen=True)
class LabelImportReport:
    """What an import of saved responses read, matched and stored.

    ``images_matched`` counts distinct fetched images that lines matched;
    ``unmatched`` counts usable lines whose post or image was not found or not
    fetched yet; ``labels`` counts label rows written.
    """

    lines_read: int
    images_matched: int
    unmatched: int
    responses_stored: int
    already_stored: int
    labels: int
    bad_lines: int
    unmatched_examples: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """Return the report as plain JSON-ready data."""
        data = asdict(self)
        data["unmatched_examples"] = list(self.unmatched_examples)
        data["problems"] = list(self.problems)
        return data


class _Record(NamedTuple):
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

def _iter_jsonl(path: Path, label: str = "line") -> Iterator[tuple[str, int, Any]]:
    """Yield (label, line number, parsed object or ValueError) for each non-blank line, streaming.

    The caller makes the line's name (``f"{label} {number}"``) only when it reports
    the line, not for every line.
    """
    loads = json.loads
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if not raw or raw.isspace():
                continue
            try:
                yield label, number, loads(raw)
            except ValueError as exc:
                yield label, number, ValueError(f"is not JSON ({exc})")


def _iter_folder(folder: Path) -> Iterator[tuple[str, int, Any]]:
    """Yield (where, 0, object or ValueError) for each document in ``folder``, sorted by path."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            yield from _iter_jsonl(path, f"{relative} line")
        elif path.suffix.lower() == ".json":
            yield f"file {relative}", 0, _read_document(path)


def _read_document(path: Path) -> Any:
    """Return one JSON document in line format (completed from its path) or a ValueError."""
    try:
        document = json.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    except (ValueError, OSError) as exc:
        return ValueError(f"is not JSON ({exc})")
    if isinstance(document, dict) and "operation" in document and "response" in document:
        return document
    named = _name_parts(path)
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


def _name_parts(path: Path) -> tuple[str, str] | None:
    """Return (sha256, operation) from ``<sha256>/<Op>.json`` or ``<sha256>.<Op>.json``."""
    stem = path.stem
    if _SHA256.match(path.parent.name.lower()) and stem.lower() in _OPERATION_NAMES:
        return path.parent.name.lower(), _OPERATION_NAMES[stem.lower()]
    sha256, _, operation = stem.partition(".")
    if _SHA256.match(sha256.lower()) and operation.lower() in _OPERATION_NAMES:
        return sha256.lower(), _OPERATION_NAMES[operation.lower()]
    return None


def _to_record(item: Any, now: str) -> _Record | str:
    """Return the usable record in ``item``, or why it is not usable."""
    if isinstance(item, ValueError):
        return str(item)
    if not isinstance(item, dict):
        return f"is not a JSON object (found {type(item).__name__})"
    keys = [key for key in MATCH_KEYS if isinstance(item.get(key), str) and item[key].strip()]
    if not keys or "operation" not in item or "response" not in item:
        return f"does not have the expected keys (found: {_shown_keys(item)})"
    operation = _OPERATION_NAMES.get(str(item["operation"]).lower())
    if operation is None:
        return f"has the unknown operation {item['operation']!r}"
    response = item["response"]
    if not isinstance(response, dict):
        return '"response" is not a JSON object'
    metadata = response.pop("ResponseMetadata", None)
    request_id = str(item.get("request_id") or (metadata or {}).get("RequestId") or "")
    request = item.get("request")
    return _Record(keys[0], item[keys[0]].strip(), operation, response,
                   str(item.get("called_at") or now), str(item.get("region") or ""), request_id,
                   json.dumps(request) if isinstance(request, dict) else "{}")


def _shown_keys(item: dict[str, Any]) -> str:
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


class _Matcher:
    """Finds the content hash of the image a record names; loads each lookup once, lazily."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._tables: dict[str, dict[str, str | None]] = {}

    def _table(self, name: str, sql: str) -> dict[str, str | None]:
        if name not in self._tables:
            table: dict[str, str | None] = {}
            with connect(self.workspace) as conn:
                for key, sha256 in conn.execute(sql):
                    if table.get(key) is None:  # prefer a fetched image under the same key
                        table[key] = sha256
            self._tables[name] = table
        return self._tables[name]

    def match(self, record: _Record) -> tuple[str | None, str]:
        """Return (sha256, '') for a fetched image, else (None, the reason in users' words)."""
        value = record.match_value
        if record.match_key == "sha256":
            table = self._table("sha256", "SELECT sha256, sha256 FROM images WHERE sha256 IS NOT NULL")
            found = value.lower() in table
            return (value.lower(), "") if found else (None, "no fetched image has this sha256")
        if record.match_key == "post_url":
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
def _names_json(names: tuple[Any, ...]) -> str:
    return json.dumps(list(names))


def _items(operation: str, response: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """Yield (source, key, name, confidence, parents JSON, categories JSON) like labels._items."""
    if operation == "DetectLabels":
        for item in response.get("Labels", []):
            yield ("label", item["Name"], item["Name"], item["Confidence"],
                   _names_json(tuple(p["Name"] for p in item.get("Parents", []))),
                   _names_json(tuple(c["Name"] for c in item.get("Categories", []))))
    elif operation == "DetectModerationLabels":
        for item in response.get("ModerationLabels", []):
            parent = item.get("ParentName")
            yield ("moderation", item["Name"], item["Name"], item["Confidence"],
                   _names_json((parent,) if parent else ()), "[]")
    else:
        for item in response.get("CelebrityFaces", []):
            yield "celebrity", item["Id"], item["Name"], item["MatchConfidence"], "[]", "[]"


def label_tuples(sha256: str, operation: str, response: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Return the labels-table rows of one response, equal to :func:`labels.flatten_response`'s.

    A faster twin of that function for bulk imports (the JSON of repeated parent
    lists is built once); tests pin that both give the same rows.
    """
    version = model_version_of(operation, response)
    rows: dict[Any, tuple[Any, ...]] = {}
    for source, key, name, confidence, parents, categories in _items(operation, response):
        value = float(confidence)
        if key not in rows or rows[key][4] < value:
            rows[key] = (sha256, source, key, name, value, parents, categories, version)
    return list(rows.values())


# --- writing ---------------------------------------------------------------------------------

@dataclass
class _Tally:
    """Running counts of one import."""

    lines_read: int = 0
    unmatched: int = 0
    responses_stored: int = 0
    already_stored: int = 0
    labels: int = 0
    bad_lines: int = 0
    usable: int = 0
    images: set[str] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    first_problem: str = ""


class _Writer:
    """Collects matched records and writes them a batch (one transaction) at a time.

    All batches go through one connection, opened and used only by the writing
    thread, instead of a new connection per batch.
    """

    def __init__(self, workspace: Workspace, tally: _Tally) -> None:
        self.workspace = workspace
        self.tally = tally
        self.responses: list[tuple[object, ...]] = []
        self.labels: list[tuple[object, ...]] = []
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="label-import")
        self.pending: Future[tuple[int, int, int]] | None = None
        self.conn: sqlite3.Connection | None = None
        with connect(workspace) as conn:
            self.known = {tuple(row) for row in conn.execute(
                "SELECT sha256, operation, model_version FROM responses")}

    def add(self, sha256: str, record: _Record) -> str:
        """Queue the record's response and label rows unless already stored.

        Returns '' when queued or already stored, else why the response cannot be read.
        """
        version = model_version_of(record.operation, record.response)
        key = (sha256, record.operation, version)
        if key in self.known:
            self.tally.already_stored += 1
            return ""
        try:
            rows = label_tuples(sha256, record.operation, record.response)
        except (KeyError, TypeError, ValueError, AttributeError):
            return f'"response" is not shaped like a {record.operation} response'
        self.known.add(key)
        self.responses.append((sha256, record.operation, version, record.region, record.called_at,
                               record.request_id, record.request, _encode(record.response), ORIGIN))
        self.labels += rows
        return ""

    def flush(self) -> None:
        """Hand what is queued to the writing thread (one transaction); at most one batch waits."""
        if not self.responses:
            return
        self.wait()
        self.pending = self.pool.submit(self._write_batch, self.responses, self.labels)
        self.responses, self.labels = [], []

    def wait(self) -> None:
        """Wait for the batch being written and count what it stored."""
        if self.pending is not None:
            stored, ignored, labels = self.pending.result()
            self.pending = None
            self.tally.responses_stored += stored
            self.tally.already_stored += ignored  # stored meanwhile by someone else
            self.tally.labels += labels

    def close(self) -> None:
        """Wait for the batch being written, then close the connection and stop the thread."""
        try:
            self.wait()
        finally:
            try:
                self.pool.submit(self._close_connection).result()
            finally:
                self.pool.shutdown(wait=True)

    def _open(self) -> sqlite3.Connection:
        """Return the import's connection (writing thread only), opening it on first use."""
        if self.conn is None:
            conn = _connect_raw(self.workspace)
            # In WAL mode synchronous=NORMAL cannot corrupt the database nor lose a commit
            # on a crash of the process; only a power cut or OS crash can lose the last
            # batches committed, and importing the file again stores them (never overwrites).
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            conn.execute("PRAGMA temp_store=MEMORY")
            self.conn = conn
        return self.conn

    def _close_connection(self) -> None:
        if self.conn is not None:
            try:
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                self.conn.close()
                self.conn = None

    def _write_batch(
        self, responses: list[tuple[object, ...]], labels: list[tuple[object, ...]]
    ) -> tuple[int, int, int]:
        """Write one batch in one transaction; return (responses stored, ignored, label rows written).

        Runs in the writing thread: SQLite releases the GIL while it works, so
        reading the next batch goes on meanwhile. Rows go in primary-key order so
        that the B-tree pages each batch touches are fewer and visited in order.
        """
        conn = self._open()
        responses.sort()
        labels.sort()
        conn.execute("BEGIN IMMEDIATE")
        try:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO responses(sha256, operation, model_version, region, "
                "called_at, request_id, request, response, origin) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                responses)
            stored = conn.total_changes - before
            conn.executemany("INSERT OR IGNORE INTO labels VALUES (?, ?, ?, ?, ?, ?, ?, ?)", labels)
            written = conn.total_changes - before - stored
            conn.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return stored, len(responses) - stored, written


# --- the import ------------------------------------------------------------------------------

def import_labels(
    workspace: Workspace, path: Path, progress: Callable[[int], None] | None = None
) -> LabelImportReport:
    """Import saved Rekognition responses from the JSON Lines file or folder at ``path``.

    Writes in batches of :data:`BATCH_LINES` lines, one transaction each, and
    never overwrites a stored response. Calls ``progress`` with the lines read
    so far after each batch. Returns the :class:`LabelImportReport`. Raises
    :class:`InputFileError` when the path does not exist, holds nothing, or
    holds no usable line (nothing is written then).
    """
    start = time.perf_counter()
    path = Path(path).expanduser()
    items = _open_items(path)
    tally = _Tally()
    matcher, writer = _Matcher(workspace), _Writer(workspace, tally)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        for label, number, item in items:
            _take(tally, matcher, writer, label, number, _to_record(item, now))
            if tally.lines_read % BATCH_LINES == 0:
                writer.flush()
                if progress is not None:
                    progress(tally.lines_read)
        writer.flush()
    finally:
        writer.close()
    if progress is not None:
        progress(tally.lines_read)
    _check_usable(path, tally)
    return _report(tally, time.perf_counter() - start)


def _open_items(path: Path) -> Iterator[tuple[str, int, Any]]:
    if not path.exists():
        raise InputFileError(f"{path} does not exist.", "Check the path to the saved responses.")
    if path.is_dir():
        return _iter_folder(path)
    if path.stat().st_size == 0:
        raise InputFileError(f"{path.name} is empty.", HINT)
    return _iter_jsonl(path)


def _take(
    tally: _Tally, matcher: _Matcher, writer: _Writer, label: str, number: int, record: _Record | str
) -> None:
    tally.lines_read += 1
    if isinstance(record, str):
        _bad(tally, label, number, record)
        return
    tally.usable += 1
    sha256, reason = matcher.match(record)
    if sha256 is None:
        tally.unmatched += 1
        if len(tally.examples) < MAX_EXAMPLES:
            tally.examples.append(f"{record.match_value} ({reason})")
        return
    problem = writer.add(sha256, record)
    if problem:
        _bad(tally, label, number, problem)
        tally.usable -= 1
        return
    tally.images.add(sha256)


def _bad(tally: _Tally, label: str, number: int, problem: str) -> None:
    where = f"{label} {number}" if number else label
    tally.bad_lines += 1
    tally.first_problem = tally.first_problem or f"{where[:1].upper()}{where[1:]} {problem}"
    if len(tally.problems) < MAX_EXAMPLES:
        tally.problems.append(f"{where} {problem}")


def _check_usable(path: Path, tally: _Tally) -> None:
    if tally.lines_read == 0:
        what = "folder holds no .json or .jsonl file" if path.is_dir() else "file holds only blank lines"
        raise InputFileError(f"{path.name} is empty: the {what}.", HINT)
    if tally.usable == 0:
        raise InputFileError(
            f"{path.name} holds no usable Rekognition response: expected {EXPECTED}. "
            f"{tally.first_problem}.",
            HINT,
        )


def _report(tally: _Tally, seconds: float) -> LabelImportReport:
    problems = list(tally.problems)
    if tally.bad_lines > len(problems):
        problems.append(f"… and {tally.bad_lines - len(problems)} more unusable lines")
    return LabelImportReport(
        lines_read=tally.lines_read,
        images_matched=len(tally.images),
        unmatched=tally.unmatched,
        responses_stored=tally.responses_stored,
        already_stored=tally.already_stored,
        labels=tally.labels,
        bad_lines=tally.bad_lines,
        unmatched_examples=tuple(tally.examples),
        problems=tuple(problems),
        seconds=round(seconds, 3),
    )
