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

Everything is written in ONE transaction that also bumps the data version
once; responses first, then the label rows in primary-key order (``INSERT OR
IGNORE``, so the B-trees are walked in key order once). A large JSON Lines file
is parsed and matched by worker processes: this process opens the transaction
first and writes the responses as the workers send them back, while the workers
stage the label rows in throw-away files split into ranges of the content hash;
once all is read, the workers sort the ranges into throw-away files that this
process writes in turn, so sorting is off its critical path. A folder or a small
file is parsed here, staged in TEMP tables, and written in a transaction opened
at the end. A crash or error before the commit leaves the workspace exactly as
it was, and importing the same file again is idempotent: responses already
stored are kept as they were.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import orjson

from kayfabe_core.errors import InputFileError
from kayfabe_core.labels import model_version_of
from kayfabe_core.labels_import_read import Matcher, iter_folder, iter_jsonl, label_tuples, to_record
from kayfabe_core.workspace import Workspace, open_connection

BATCH_LINES = 20_000  # lines per parsed chunk (and per progress call)
PARSERS = 2  # worker processes parsing a large JSON Lines file (then sorting its label rows)
PARALLEL_MIN_BYTES = 8 << 20  # smaller files are parsed in this process
TEMP_STORE = "FILE"  # staging tables: FILE (spills to disk) or MEMORY
CACHE_KIB = 262_144  # page cache of the import's connection: 256 MiB
PARTITIONS = 64  # label rows of a large file are staged in this many ranges of the hash
SORTED_FILES = 8  # ... and sorted into at most this many files, written one after another
SORT_CACHE_KIB = 65_536  # page cache of a worker sorting a range (sorted in memory)
SORT_NICENESS = 10  # sorting workers yield the CPU to the process writing the workspace
MAX_EXAMPLES = 5
ORIGIN = "import"
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
LABEL_KEY = "sha256, source, key, model_version"  # the labels table's primary key
_INSERT_RESPONSE = f"INSERT OR IGNORE INTO responses({RESPONSE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_STAGE_RESPONSE = "INSERT INTO temp.import_responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_STAGED = "INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
# Lower bounds of the hash ranges 1..PARTITIONS-1 ('04', '08', ... for 64); range p holds the
# hashes h with _BOUNDS[p-1] <= h < _BOUNDS[p]. Any text has a range, and the ranges follow
# SQLite's BINARY order (UTF-8 bytes order like code points), so range by range, each sorted,
# is the primary-key order.
_BOUNDS = [f"{i * 256 // PARTITIONS:02x}" for i in range(1, PARTITIONS)]


def _partition(sha256: str) -> int:
    """Return the hash range (0 .. PARTITIONS-1) a content hash is staged in."""
    return bisect_right(_BOUNDS, sha256)


def _stage_partitioned(conn: sqlite3.Connection, labels: list[tuple[object, ...]]) -> None:
    """Append one chunk's label rows to a worker's staging file, split by hash range."""
    ranges: dict[int, list[tuple[object, ...]]] = {}
    last_sha256: object = None
    rows: list[tuple[object, ...]] = []
    for row in labels:  # a response's rows are together: one look-up per response
        if row[1] != last_sha256:
            last_sha256 = row[1]
            rows = ranges.setdefault(_partition(str(last_sha256)), [])
        rows.append(row)
    for part, rows_in in ranges.items():
        conn.executemany(_INSERT_STAGED.format(table=f"import_labels_{part}"), rows_in)


def _groups(n_files: int) -> list[range]:
    """Split the hash ranges into ``n_files`` runs of neighbouring ranges, one sorted file each.

    The first run is a quarter of the others: it is sorted first, and written
    first, so the writing starts soon.
    """
    ends = [0] + [max(g, round(PARTITIONS * (g - 0.75) / (n_files - 0.75))) for g in range(1, n_files)]
    return [range(start, end) for start, end in zip(ends, [*ends[1:], PARTITIONS], strict=True)]


def _sort_ranges(staged: list[str], parts: range, out: str) -> str:
    """In a worker: write the staged label rows of hash ranges ``parts`` to ``out``, sorted.

    ``out`` is attached, still empty, by the importing process, which reads it
    only once this returned; its ``labels`` table holds the rows in primary-key
    order by rowid.
    """
    if hasattr(os, "nice") and not _worker.get("niced"):  # the importing process goes first
        os.nice(SORT_NICENESS)
        _worker["niced"] = True
    conn = sqlite3.connect(out, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA temp_store=MEMORY")  # each range is small: sort it in memory
        conn.execute(f"PRAGMA cache_size = -{SORT_CACHE_KIB}")
        for i, file in enumerate(staged):
            conn.execute(f"ATTACH DATABASE ? AS s{i}", (file,))
        conn.execute("BEGIN")
        conn.execute(f"CREATE TABLE labels(n, {LABEL_COLUMNS})")
        for part in parts:
            rows = " UNION ALL ".join(f"SELECT n, {LABEL_COLUMNS} FROM s{i}.import_labels_{part}"
                                      for i in range(len(staged)))
            conn.execute(f"INSERT INTO labels {rows} ORDER BY {LABEL_KEY}")
        conn.execute("COMMIT")
    finally:
        conn.close()
    return out


class _Writer:
    """Writes the import into the workspace in ONE transaction.

    For a large file (``early``) the transaction is opened first and responses
    are written as their batches come back from the workers; otherwise they are
    staged in a TEMP table and the transaction is opened by :meth:`commit`.
    Label rows are staged (in a TEMP table here, or by the worker processes in
    hash ranges that they then sort into the files attached here) and written at
    :meth:`commit` in primary-key order, so the B-trees are walked in key order
    once. Nothing is committed before :meth:`commit`: an error, an interruption
    or a crash before then leaves the workspace exactly as it was. The
    connection keeps the workspace's synchronous=FULL, so the import is on disk
    once :meth:`commit` returns.
    """

    def __init__(self, workspace: Workspace, tally: _Tally, folder: str = "",
                 sorted_files: int = 0, early: bool = False) -> None:
        self.tally = tally
        self.accepted = 0
        self.skipped: list[tuple[int]] = []  # items read but not to store (already stored)
        self.sorted: list[tuple[str, str]] = []  # (schema, file) the workers fill, sorted
        self.staged: set[str] = set()  # TEMP staging tables made
        self.staged_responses = 0
        conn = open_connection(workspace)
        try:
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            conn.execute(f"PRAGMA temp_store={TEMP_STORE}")
            room = conn.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED)  # 10 unless built otherwise
            n_files = max(1, min(sorted_files, room, PARTITIONS)) if sorted_files else 0
            for g in range(n_files):  # attached now: no file can be attached in a transaction
                schema, file = f"sorted{g}", str(Path(folder) / f"sorted-{g}.sqlite")
                conn.execute("ATTACH DATABASE ? AS " + schema, (file,))
                self.sorted.append((schema, file))
            if early:
                _begin(conn)
            self.known = {tuple(row) for row in conn.execute(
                "SELECT sha256, operation, model_version FROM responses")}
        except BaseException:
            conn.close()  # rolls back
            raise
        self.conn = conn

    def accept(self, key: tuple[str, str, str], n: int) -> None:
        """Count a parsed response: new, or already stored (then its rows are skipped)."""
        if key in self.known:
            self.tally.already_stored += 1
            self.skipped.append((n,))
        else:
            self.known.add(key)
            self.accepted += 1

    def write_responses(self, responses: list[tuple[object, ...]], skipped_from: int) -> None:
        """Write (in the open transaction) or stage a batch's new responses.

        Rows lead with their item number; the batch's already stored items are
        ``self.skipped[skipped_from:]``.
        """
        skip = {n for (n,) in self.skipped[skipped_from:]}
        rows = [row[1:] for row in responses if not skip or row[0] not in skip]
        if not self.conn.in_transaction:
            self._stage_table("import_responses", RESPONSE_COLUMNS)
            self.conn.executemany(_STAGE_RESPONSE, rows)
            self.staged_responses += len(rows)
            return
        before = self.conn.total_changes
        self.conn.executemany(_INSERT_RESPONSE, rows)
        self._count_stored(len(rows), self.conn.total_changes - before)

    def stage_here(self, labels: list[tuple[object, ...]]) -> None:
        """Stage label rows parsed in this process in a TEMP table."""
        self._stage_table("import_labels", f"n, {LABEL_COLUMNS}")
        self.conn.executemany(_INSERT_STAGED.format(table="temp.import_labels"), labels)

    def _stage_table(self, table: str, columns: str) -> None:
        if table not in self.staged:
            self.conn.execute(f"CREATE TEMP TABLE {table}({columns})")
            self.staged.add(table)

    def _count_stored(self, rows: int, stored: int) -> None:
        self.tally.responses_stored += stored
        self.tally.already_stored += rows - stored  # stored meanwhile by someone else

    def start_sorting(self, pool: ProcessPoolExecutor, staged: Iterable[str]) -> list[Future[str]]:
        """Have the workers sort their staged label rows into the attached files, in order."""
        files = sorted(staged)
        return [pool.submit(_sort_ranges, files, parts, file)
                for parts, (_, file) in zip(_groups(len(self.sorted)), self.sorted, strict=True)]

    def commit(self, sorting: list[Future[str]] | None = None) -> None:
        """Write the staged label rows in primary-key order and commit; with ``sorting``, from
        each sorted file once its worker is done with it. Rolls back when nothing is new."""
        conn = self.conn
        if not self.accepted:
            if conn.in_transaction:
                conn.execute("ROLLBACK")  # nothing to store: not even the data version moves
            return
        if not conn.in_transaction:
            _begin(conn)
            before = conn.total_changes
            conn.execute(f"INSERT OR IGNORE INTO responses({RESPONSE_COLUMNS}) "
                         f"SELECT {RESPONSE_COLUMNS} FROM temp.import_responses")
            self._count_stored(self.staged_responses, conn.total_changes - before)
        conn.execute("CREATE TEMP TABLE import_skip(n INTEGER PRIMARY KEY)")
        conn.executemany("INSERT OR IGNORE INTO import_skip VALUES (?)", self.skipped)
        skip = " WHERE n NOT IN (SELECT n FROM temp.import_skip)" if self.skipped else ""
        before = conn.total_changes
        if sorting is None:
            if "import_labels" in self.staged:
                conn.execute(f"INSERT OR IGNORE INTO labels({LABEL_COLUMNS}) SELECT {LABEL_COLUMNS} "
                             f"FROM temp.import_labels{skip} ORDER BY {LABEL_KEY}")
        else:
            for (schema, _), future in zip(self.sorted, sorting, strict=True):
                future.result()  # that file is complete and closed
                conn.execute(f"INSERT OR IGNORE INTO labels({LABEL_COLUMNS}) "
                             f"SELECT {LABEL_COLUMNS} FROM {schema}.labels{skip} ORDER BY rowid")
        self.tally.labels += conn.total_changes - before
        conn.execute("COMMIT")

    def close(self) -> None:
        """Detach the sorted files, drop the TEMP tables, close (checkpointing the WAL)."""
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            for schema, _ in self.sorted:
                self.conn.execute(f"DETACH DATABASE {schema}")
            for table in ("import_responses", "import_labels", "import_skip"):
                self.conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            self.conn.close()

    def abort(self) -> None:
        """Roll back everything written and close (after an error or an interruption)."""
        with contextlib.suppress(sqlite3.Error):
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()


def _begin(conn: sqlite3.Connection) -> None:
    """Open the import's transaction and bump the data version in it.

    A deferred BEGIN whose first statement writes: it waits for (as long as the
    busy timeout allows) and takes the workspace's write lock, but no lock on the
    attached files (BEGIN IMMEDIATE would lock them too, and the workers could
    not fill them).
    """
    conn.execute("BEGIN")
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'")


# --- parsing (in worker processes for large files) -------------------------------------------

# One outcome per item read:
#   (BAD, label, number, problem)
#   (UNMATCHED, example)
#   (OK, key, n)                           its rows are led by its item number n
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
    for part in range(PARTITIONS):
        conn.execute(f"CREATE TABLE import_labels_{part}(n, {LABEL_COLUMNS})")
    _worker.update(matcher=Matcher(workspace), conn=conn,
                   file=str(Path(folder) / f"staged-{os.getpid()}.sqlite"))


def _parse_lines(lines: list[bytes], first_number: int,
                 now: str) -> tuple[list[Outcome], list[tuple[object, ...]], str]:
    """Parse and match raw JSON lines in a worker process and stage their label rows; return
    the outcomes, the response rows (to write) and the staging file."""
    loads = orjson.loads

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

    outcomes, (responses, labels) = _outcomes(items(), _worker["matcher"], now)
    conn = _worker["conn"]
    conn.execute("BEGIN")
    _stage_partitioned(conn, labels)
    conn.execute("COMMIT")
    return outcomes, responses, _worker["file"]


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
                          record.request_id, record.request, orjson.dumps(record.response).decode(), ORIGIN))
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
    large file) and written in ONE transaction, never overwriting a stored
    response; for a large file that transaction is opened first, so it holds the
    workspace's write lock from the start. An error or crash before the commit
    leaves the workspace as it was; importing again is idempotent.
    Calls ``progress`` with the lines read so far after each batch. Returns the
    :class:`LabelImportReport`. Raises :class:`InputFileError` when the path does
    not exist, holds nothing, or holds no usable line (nothing is written then).
    """
    start = time.perf_counter()
    path = Path(path).expanduser()
    items = _open_items(path)
    tally = _Tally()
    with tempfile.TemporaryDirectory(prefix="kayfabe-import-") as folder:
        parallel = isinstance(items, Path)
        writer = _Writer(workspace, tally, folder, SORTED_FILES if parallel else 0, early=parallel)
        try:
            if isinstance(items, Path):
                _import_parallel(workspace, items, folder, tally, writer, progress)
            else:
                _read_here(workspace, items, tally, writer, progress)
                _check_usable(path, tally)
                writer.commit()
            writer.close()
        except BaseException:
            writer.abort()
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
    """Parse and match in this process, BATCH_LINES items at a time; write the responses,
    stage the label rows."""
    matcher = Matcher(workspace)
    now = _now()
    place = 1
    while batch := list(islice(items, BATCH_LINES)):
        outcomes, (responses, labels) = _outcomes(batch, matcher, now, place)
        place += len(batch)
        skipped_from = len(writer.skipped)
        _take(tally, writer, outcomes)
        writer.write_responses(responses, skipped_from)
        writer.stage_here(labels)
        if progress is not None:
            progress(tally.lines_read)


def _import_parallel(workspace: Workspace, path: Path, folder: str, tally: _Tally, writer: _Writer,
                     progress: Callable[[int], None] | None) -> None:
    """Parse and match in PARSERS worker processes (staging files in ``folder``) while this
    process writes the responses; then commit while the same workers sort the label rows."""
    with ProcessPoolExecutor(max_workers=PARSERS, mp_context=get_context("spawn"),
                             initializer=_init_worker, initargs=(workspace, folder)) as pool:
        try:
            files = _read_parallel(pool, path, tally, writer, progress)
            _check_usable(path, tally)
            # Every parse task has committed: the staging files are complete.
            writer.commit(writer.start_sorting(pool, files) if writer.accepted else None)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _read_parallel(pool: ProcessPoolExecutor, path: Path, tally: _Tally, writer: _Writer,
                   progress: Callable[[int], None] | None) -> set[str]:
    """Have the workers parse the file, writing the responses as batches come back (in
    order); return the workers' staging files."""
    now = _now()
    files: set[str] = set()
    pending: deque[Future[tuple[list[Outcome], list[tuple[object, ...]], str]]] = deque()

    def take_next() -> None:
        outcomes, responses, file = pending.popleft().result()
        files.add(file)
        skipped_from = len(writer.skipped)
        _take(tally, writer, outcomes)
        writer.write_responses(responses, skipped_from)
        if progress is not None:
            progress(tally.lines_read)

    for lines, first in _raw_chunks(path):
        pending.append(pool.submit(_parse_lines, lines, first, now))
        if len(pending) > 2 * PARSERS:
            take_next()
    while pending:
        take_next()
    return files


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
