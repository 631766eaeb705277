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
hash, so an image not fetched yet cannot take one.

A large JSON Lines file is parsed, matched and staged (unindexed tables in
throw-away files) by worker processes, while this process counts what they
found; a folder or small file is staged in TEMP tables here. The import is then written in
ONE transaction (``INSERT OR IGNORE ... SELECT ... ORDER BY`` primary key) that
also bumps the data version once. A crash or error before that commit leaves the
workspace exactly as it was, and importing the same file again is idempotent:
responses already stored are kept as they were.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from kayfabe_core.errors import InputFileError
from kayfabe_core.labels import model_version_of
from kayfabe_core.labels_import_read import Matcher, iter_folder, iter_jsonl, label_tuples, to_record
from kayfabe_core.workspace import Workspace, open_connection

BATCH_LINES = 20_000  # lines per parsed chunk (and per progress call)
PARSERS = 1  # worker processes parsing a large JSON Lines file
PARALLEL_MIN_BYTES = 8 << 20  # smaller files are parsed in this process
TEMP_STORE = "FILE"  # staging tables: FILE (spills to disk) or MEMORY
CACHE_KIB = 262_144  # page cache of the import's connection: 256 MiB
MAX_EXAMPLES = 5
ORIGIN = "import"
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
EXPECTED = (
    'one JSON object per line with "operation" (DetectLabels, DetectModerationLabels or '
    'RecognizeCelebrities), "response" and one of "sha256", "image_url" or "post_url"'
)
HINT = (
    "Give a JSON Lines file of saved responses, or a folder of <sha256>/<Operation>.json "
    "files (one raw Rekognition response each)."
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


RESPONSE_COLUMNS = ("sha256, operation, model_version, region, called_at, request_id, request, "
                    "response, origin")
LABEL_COLUMNS = "sha256, source, key, name, confidence, parents, categories, model_version"
_STAGING_SQL = (f"CREATE TABLE IF NOT EXISTS {{schema}}.import_responses(n, {RESPONSE_COLUMNS})",
                f"CREATE TABLE IF NOT EXISTS {{schema}}.import_labels(n, {LABEL_COLUMNS})")


def _stage(conn: sqlite3.Connection, schema: str, chunk: Staged) -> None:
    """Append one chunk's rows (each led by its item number) to unindexed staging tables."""
    responses, labels = chunk
    conn.executemany(f"INSERT INTO {schema}.import_responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     responses)
    conn.executemany(f"INSERT INTO {schema}.import_labels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", labels)


class _Writer:
    """Merges the staged rows into the workspace in one transaction.

    Rows are staged in unindexed tables (TEMP tables of this connection, or the
    staging files of the worker processes, attached here); the final
    ``INSERT OR IGNORE ... SELECT ... ORDER BY`` walks the B-trees in key order once.
    Nothing reaches the workspace's tables before :meth:`commit`, so a crash or an
    error before then leaves the workspace exactly as it was.
    """

    def __init__(self, workspace: Workspace, tally: _Tally) -> None:
        self.workspace = workspace
        self.tally = tally
        self.accepted = 0
        self.skipped: list[tuple[int]] = []  # staged items not to store (already stored)
        self.schemas: list[str] = []
        conn = open_connection(workspace)
        try:
            # In WAL mode synchronous=NORMAL cannot corrupt the database nor lose a commit
            # on a crash of the process; only a power cut or OS crash can lose the import,
            # and importing the file again stores it (never overwrites).
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            conn.execute(f"PRAGMA temp_store={TEMP_STORE}")
            self.known = {tuple(row) for row in conn.execute(
                "SELECT sha256, operation, model_version FROM responses")}
        except BaseException:
            conn.close()
            raise
        self.conn = conn

    def accept(self, key: tuple[str, str, str], n: int) -> None:
        """Count a staged response: new, or already stored (then its rows are skipped)."""
        if key in self.known:
            self.tally.already_stored += 1
            self.skipped.append((n,))
        else:
            self.known.add(key)
            self.accepted += 1

    def stage_here(self, chunk: Staged) -> None:
        """Stage rows parsed in this process in TEMP tables."""
        if "temp" not in self.schemas:
            for sql in _STAGING_SQL:
                self.conn.execute(sql.format(schema="temp"))
            self.schemas.append("temp")
        _stage(self.conn, "temp", chunk)

    def attach(self, files: Iterable[str]) -> None:
        """Attach the staging files written by worker processes."""
        for file in sorted(files):
            schema = f"staged{len(self.schemas)}"
            self.conn.execute("ATTACH DATABASE ? AS " + schema, (file,))
            self.schemas.append(schema)

    def commit(self) -> None:
        """Merge the staged rows into the workspace in one transaction, in primary-key order."""
        if not self.accepted:
            return
        conn = self.conn
        conn.execute("CREATE TEMP TABLE import_skip(n INTEGER PRIMARY KEY)")
        conn.executemany("INSERT OR IGNORE INTO import_skip VALUES (?)", self.skipped)

        def staged(table: str, columns: str) -> str:
            return " UNION ALL ".join(
                f"SELECT {columns} FROM {schema}.{table}"
                + (" WHERE n NOT IN (SELECT n FROM temp.import_skip)" if self.skipped else "")
                for schema in self.schemas)

        conn.execute("BEGIN IMMEDIATE")
        try:
            before = conn.total_changes
            conn.execute(f"INSERT OR IGNORE INTO responses({RESPONSE_COLUMNS}) "
                         f"{staged('import_responses', RESPONSE_COLUMNS)}")  # no sort: big rows
            stored = conn.total_changes - before
            conn.execute(f"INSERT OR IGNORE INTO labels({LABEL_COLUMNS}) "
                         f"{staged('import_labels', LABEL_COLUMNS)} "
                         "ORDER BY sha256, source, key, model_version")
            written = conn.total_changes - before - stored
            conn.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.tally.responses_stored += stored
        self.tally.already_stored += self.accepted - stored  # stored meanwhile by someone else
        self.tally.labels += written

    def close(self) -> None:
        """Drop the staging tables, detach staging files, close (checkpointing the WAL)."""
        try:
            for schema in self.schemas:
                if schema != "temp":
                    self.conn.execute(f"DETACH DATABASE {schema}")
            for table in ("import_responses", "import_labels", "import_skip"):
                self.conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            self.conn.close()


# --- parsing (in worker processes for large files) -------------------------------------------

# One outcome per item read:
#   (BAD, label, number, problem)
#   (UNMATCHED, example)
#   (OK, key, n)                           its rows are staged under item number n
#   (SHAPE, key, label, number, problem)   matched, but the response cannot be read
BAD, UNMATCHED, OK, SHAPE = 0, 1, 2, 3
Outcome = tuple[Any, ...]
Staged = tuple[list[tuple[object, ...]], list[tuple[object, ...]]]

_worker: dict[str, Any] = {}


def _init_worker(workspace: Workspace, folder: str) -> None:
    """Open a worker's matcher and its own staging file (no journal: it is thrown away)."""
    conn = sqlite3.connect(Path(folder) / f"staged-{os.getpid()}.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    for sql in _STAGING_SQL:
        conn.execute(sql.format(schema="main"))
    _worker.update(matcher=Matcher(workspace), conn=conn,
                   file=str(Path(folder) / f"staged-{os.getpid()}.sqlite"))


def _parse_lines(lines: list[bytes], first_number: int, now: str) -> tuple[list[Outcome], str]:
    """Parse, match and stage raw JSON lines in a worker process; return outcomes and its file."""
    loads = json.loads

    def items() -> Iterator[tuple[str, int, Any]]:
        for number, raw in enumerate(lines, start=first_number):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if not raw or raw.isspace():
                continue
            try:
                yield "line", number, loads(raw)
            except ValueError as exc:
                yield "line", number, ValueError(f"is not JSON ({exc})")

    outcomes, staged = _outcomes(items(), _worker["matcher"], now)
    conn = _worker["conn"]
    conn.execute("BEGIN")
    _stage(conn, "main", staged)
    conn.execute("COMMIT")
    return outcomes, _worker["file"]


def _outcomes(items: Iterable[tuple[str, int, Any]], matcher: Matcher, now: str,
              first_n: int = 0) -> tuple[list[Outcome], Staged]:
    """Return the outcome of each item and the rows of the matched ones.

    Each item's rows lead with its number ``n``: the line number, or the item's
    place (from ``first_n``) when items are not lines.
    """
    outcomes: list[Outcome] = []
    responses: list[tuple[object, ...]] = []
    labels: list[tuple[object, ...]] = []
    for place, (label, number, item) in enumerate(items, start=first_n):
        n = number or place
        record = to_record(item, now)
        if isinstance(record, str):
            outcomes.append((BAD, label, number, record))
            continue
        sha256, reason = matcher.match(record)
        if sha256 is None:
            outcomes.append((UNMATCHED, f"{record.match_value} ({reason})"))
            continue
        version = model_version_of(record.operation, record.response)
        key = (sha256, record.operation, version)
        try:
            rows = label_tuples(sha256, record.operation, record.response)
        except (KeyError, TypeError, ValueError, AttributeError):
            outcomes.append((SHAPE, key, label, number,
                             f'"response" is not shaped like a {record.operation} response'))
            continue
        labels += [(n, *row) for row in rows]
        responses.append((n, sha256, record.operation, version, record.region, record.called_at,
                          record.request_id, record.request, _encode(record.response), ORIGIN))
        outcomes.append((OK, key, n))
    return outcomes, (responses, labels)


def _raw_chunks(path: Path) -> Iterator[tuple[list[bytes], int]]:
    """Yield (up to BATCH_LINES raw lines, number of the first) from a JSON Lines file."""
    size = BATCH_LINES
    with path.open("rb") as handle:
        number = 1
        while True:
            lines = list(islice(handle, size))
            if not lines:
                return
            yield lines, number
            number += len(lines)


# --- the import ------------------------------------------------------------------------------

def import_labels(
    workspace: Workspace, path: Path, progress: Callable[[int], None] | None = None
) -> LabelImportReport:
    """Import saved Rekognition responses from the JSON Lines file or folder at ``path``.

    Lines are parsed :data:`BATCH_LINES` at a time (in worker processes for a
    large file) and staged in unindexed tables; everything is then written in ONE
    transaction, never overwriting a stored response. An error or crash before
    that commit leaves the workspace as it was; importing again is idempotent.
    Calls ``progress`` with the lines read so far after each batch. Returns the
    :class:`LabelImportReport`. Raises :class:`InputFileError` when the path does
    not exist, holds nothing, or holds no usable line (nothing is written then).
    """
    start = time.perf_counter()
    path = Path(path).expanduser()
    items = _open_items(path)
    tally = _Tally()
    writer = _Writer(workspace, tally)
    try:
        with tempfile.TemporaryDirectory(prefix="kayfabe-import-") as folder:
            if isinstance(items, Path):
                _read_parallel(workspace, items, folder, tally, writer, progress)
            else:
                _read_here(workspace, items, tally, writer, progress)
            _check_usable(path, tally)
            writer.commit()
            writer.close()
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            writer.conn.close()
        raise
    if progress is not None:
        progress(tally.lines_read)
    return _report(tally, time.perf_counter() - start)


def _open_items(path: Path) -> Iterator[tuple[str, int, Any]] | Path:
    """Return the items to read here, or the path of a JSON Lines file to read in parallel."""
    if not path.exists():
        raise InputFileError(f"{path} does not exist.", "Check the path to the saved responses.")
    if path.is_dir():
        return iter_folder(path)
    size = path.stat().st_size
    if size == 0:
        raise InputFileError(f"{path.name} is empty.", HINT)
    if size < PARALLEL_MIN_BYTES or PARSERS < 1:
        return iter_jsonl(path)
    return path


def _read_here(workspace: Workspace, items: Iterator[tuple[str, int, Any]], tally: _Tally,
               writer: _Writer, progress: Callable[[int], None] | None) -> None:
    """Parse, match and stage in this process, BATCH_LINES items at a time."""
    matcher = Matcher(workspace)
    now = _now()
    place = 1
    while batch := list(islice(items, BATCH_LINES)):
        outcomes, staged = _outcomes(batch, matcher, now, place)
        place += len(batch)
        writer.stage_here(staged)
        _take(tally, writer, outcomes)
        if progress is not None:
            progress(tally.lines_read)


def _read_parallel(workspace: Workspace, path: Path, folder: str, tally: _Tally, writer: _Writer,
                   progress: Callable[[int], None] | None) -> None:
    """Parse, match and stage in PARSERS worker processes (staging files in ``folder``)."""
    now = _now()
    files: set[str] = set()
    with ProcessPoolExecutor(max_workers=PARSERS, mp_context=get_context("spawn"),
                             initializer=_init_worker, initargs=(workspace, folder)) as pool:
        try:
            pending: deque[Future[tuple[list[Outcome], str]]] = deque()

            def take_next() -> None:
                outcomes, file = pending.popleft().result()
                files.add(file)
                _take(tally, writer, outcomes)
                if progress is not None:
                    progress(tally.lines_read)

            for lines, first in _raw_chunks(path):
                pending.append(pool.submit(_parse_lines, lines, first, now))
                if len(pending) > 2 * PARSERS:
                    take_next()
            while pending:
                take_next()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    writer.attach(files)  # after the workers exited: their files are complete and closed


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _take(tally: _Tally, writer: _Writer, outcomes: list[Outcome]) -> None:
    """Count one chunk's outcomes; tell the writer which staged responses are new."""
    for outcome in outcomes:
        tally.lines_read += 1
        kind = outcome[0]
        if kind == OK:
            tally.usable += 1
            writer.accept(outcome[1], outcome[2])
            tally.images.add(outcome[1][0])
        elif kind == BAD:
            _bad(tally, outcome[1], outcome[2], outcome[3])
        elif kind == UNMATCHED:
            tally.usable += 1
            tally.unmatched += 1
            if len(tally.examples) < MAX_EXAMPLES:
                tally.examples.append(outcome[1])
        elif outcome[1] in writer.known:  # SHAPE: already stored wins, as before
            tally.usable += 1
            tally.already_stored += 1
            tally.images.add(outcome[1][0])
        else:
            _bad(tally, outcome[2], outcome[3], outcome[4])


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
