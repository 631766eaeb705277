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
once. A large JSON Lines file is parsed by worker processes, which send back
each chunk's response rows and its label rows as arrays (which response, which
label, the confidence); this process opens the transaction first, matches each
chunk to the images as it comes back and writes it: the responses, then the
label rows, numbered (:mod:`kayfabe_core.label_store`) and packed one row per
image, so a new import appends to the end of the label table. A very large file
is written through a rollback journal when nothing else has the workspace open
(:func:`kayfabe_core.workspace.use_rollback_journal`). A folder or a small file is parsed
here, its responses staged in a TEMP table and its label rows kept in memory,
and written in a transaction opened at the end. A crash or error before the
commit leaves the workspace exactly as it was, and importing the same file
again is idempotent: responses already stored are kept as they were, with their
label rows.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sqlite3
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

import numpy as np
import orjson

from kayfabe_core.arrays import unique_sorted
from kayfabe_core.errors import InputFileError
from kayfabe_core.label_store import LabelName, LabelNumbers
from kayfabe_core.labels import model_version_of
from kayfabe_core.labels_import_read import LabelRows, Matcher, iter_folder, iter_jsonl, not_json, to_record
from kayfabe_core.response_store import packed
from kayfabe_core.wording import counted
from kayfabe_core.worker_guard import watch_parent
from kayfabe_core.workspace import (
    Workspace,
    back_to_write_ahead_log,
    bump_versions,
    open_connection,
    sqlite_in_words,
    use_rollback_journal,
)

BATCH_LINES = 10_000  # lines per parsed chunk (and per progress call) when parsed in this process
BATCH_BYTES = 16 << 20  # bytes of whole lines per chunk (and per progress call) sent to a worker
PARSERS = 2  # worker processes parsing a large JSON Lines file
PARALLEL_MIN_BYTES = 8 << 20  # smaller files are parsed in this process
# Files this large (about 25,000 images' responses) are written through a rollback journal when nothing else
# has the workspace open (kayfabe_core.workspace.use_rollback_journal): each new page is written once, not
# twice; smaller ones keep the write-ahead log, which lets other windows read throughout
ALONE_MIN_BYTES = 64 << 20
TEMP_STORE = "FILE"  # the staged responses: FILE (spills to disk) or MEMORY
CACHE_KIB = 262_144  # page cache of the import's connection: 256 MiB
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


# a response row as the workers give it (after its item number), and as the TEMP table stages it
RESPONSE_COLUMNS = ("sha256, operation, model_version, region, called_at, request_id, request, "
                    "response, origin")
_STORED_COLUMNS = RESPONSE_COLUMNS.replace("sha256", "content_no")  # stored_responses: keyed by content number
_INSERT_RESPONSE = f"INSERT OR IGNORE INTO stored_responses({_STORED_COLUMNS}) VALUES ({', '.join('?' * 9)})"
_STAGE_RESPONSE = f"INSERT INTO temp.import_responses VALUES ({', '.join('?' * 9)})"


@dataclass
class LabelBlock:
    """The label rows of one chunk of responses, as arrays.

    Row i belongs to the response at place ``owners[i]`` of the chunk's
    response rows, names the label ``names[name_places[i]]`` and has the
    confidence ``confidences[i]``.
    """

    owners: np.ndarray
    names: list[LabelName]
    name_places: np.ndarray
    confidences: np.ndarray

    @classmethod
    def of(cls, rows: LabelRows) -> LabelBlock:
        """Return the block of a chunk's flattened label rows."""
        return cls(np.array(rows.owners, dtype=np.int32), list(rows.names), np.array(rows.places, dtype=np.int32),
                   np.array(rows.confidences, dtype=np.float64))

    def kept(self, keep: np.ndarray) -> LabelBlock:
        """Return the rows of the responses ``keep`` (a boolean per response) is true for."""
        rows = keep[self.owners] if len(self.owners) else np.zeros(0, dtype=bool)
        return LabelBlock(self.owners[rows], self.names, self.name_places[rows], self.confidences[rows])

    def renumbered(self, keep: np.ndarray) -> LabelBlock:
        """Return the rows owned by their response's place among the kept ones (``keep``: a boolean per
        response; rows of the others dropped first, :meth:`kept`)."""
        place = np.cumsum(keep) - 1
        return LabelBlock(place[self.owners].astype(np.int32), self.names, self.name_places, self.confidences)


class _Writer:
    """Writes the import into the workspace in ONE transaction.

    For a large file (``early``) the transaction is opened first and each chunk
    (responses, then label rows) is written as it comes back from the workers;
    otherwise responses are staged in a TEMP table, label rows kept in memory,
    and the transaction is opened by :meth:`commit`. Nothing is committed before
    :meth:`commit`: an error, an interruption or a crash before then leaves the
    workspace exactly as it was. The connection keeps the workspace's
    synchronous=FULL, so the import is on disk once :meth:`commit` returns. A
    large file (``alone``) is written through a rollback journal when nothing else
    has the workspace open, and the workspace goes back to the log on :meth:`close`.
    """

    def __init__(self, workspace: Workspace, tally: _Tally, early: bool = False, alone: bool = False) -> None:
        self.tally = tally
        self.accepted = 0
        self.skipped: list[int] = []  # item numbers read but not to store (already stored)
        self.pending: list[tuple[list[str], LabelBlock]] = []  # label rows waiting for the transaction
        self.staged = False  # the TEMP table of responses exists
        self.staged_responses = 0
        self.numbers: LabelNumbers | None = None
        self.journal = False  # writing through a rollback journal (use_rollback_journal)
        conn = open_connection(workspace)
        try:
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            conn.execute(f"PRAGMA temp_store={TEMP_STORE}")
            self.journal = alone and early and use_rollback_journal(conn)
            if early:
                self._begin(conn)
            self.known = {tuple(row) for row in conn.execute(
                "SELECT sha256, operation, model_version FROM responses")}
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")  # before going back to the log, which cannot be done inside one
            if self.journal:
                back_to_write_ahead_log(conn)
            conn.close()
            raise
        self.conn = conn

    def _begin(self, conn: sqlite3.Connection) -> None:
        _begin(conn)
        self.numbers = LabelNumbers(conn)

    def accept(self, key: tuple[str, str, str], n: int) -> None:
        """Count a parsed response: new, or already stored (then it and its rows are skipped)."""
        if key in self.known:
            self.tally.already_stored += 1
            self.skipped.append(n)
        else:
            self.known.add(key)
            self.accepted += 1

    def write_chunk(self, responses: list[tuple[object, ...]], labels: LabelBlock, skipped_from: int) -> None:
        """Write (in the open transaction) or stage a chunk's new responses and their label rows.

        Rows lead with their item number; the chunk's already stored items are
        ``self.skipped[skipped_from:]``.
        """
        skip = set(self.skipped[skipped_from:])
        keep = np.array([row[0] not in skip for row in responses], dtype=bool)
        hashes = [str(row[1]) for row in responses]
        if not self.conn.in_transaction:
            if not self.staged:
                self.conn.execute(f"CREATE TEMP TABLE import_responses({RESPONSE_COLUMNS})")
                self.staged = True
            rows = [row[1:] for row, kept in zip(responses, keep.tolist(), strict=True) if kept]
            self.conn.executemany(_STAGE_RESPONSE, rows)
            self.staged_responses += len(rows)
            self.pending.append((hashes, labels.kept(keep)))
            return
        assert self.numbers is not None  # the transaction is open
        content_of = self.numbers.content_numbers(hashes)  # new images numbered in the file's order
        rows = [(number, *row[2:]) for row, number, kept in zip(responses, content_of.tolist(), keep.tolist(),
                                                                 strict=True) if kept]
        # in key order: new images' numbers are the highest, so the rows append to the key's B-tree (keyed by
        # the 64-character hash, a million posts' responses cost this process 8.6 s more CPU)
        rows.sort(key=_response_key)
        before = self.conn.total_changes
        self.conn.executemany(_INSERT_RESPONSE, rows)
        self._count_stored(len(rows), self.conn.total_changes - before)
        self._write_labels(content_of, labels.kept(keep))

    def _write_labels(self, content_of: np.ndarray, labels: LabelBlock) -> None:
        """Write a chunk's label rows (``content_of``: the content number of each of its responses), packed
        per image."""
        if not len(labels.owners):
            return
        assert self.numbers is not None  # the transaction is open
        used = unique_sorted(labels.name_places)
        label_of = np.zeros(len(labels.names), dtype=np.int64)
        label_of[used] = self.numbers.label_numbers([labels.names[place] for place in used.tolist()])
        self.tally.labels += self.numbers.write(content_of[labels.owners], label_of[labels.name_places],
                                                labels.confidences)

    def _count_stored(self, rows: int, stored: int) -> None:
        self.tally.responses_stored += stored
        self.tally.already_stored += rows - stored  # stored meanwhile by someone else

    def commit(self) -> None:
        """Write what waits for the transaction and commit. Rolls back when nothing is new."""
        conn = self.conn
        if not self.accepted:
            if conn.in_transaction:
                conn.execute("ROLLBACK")  # nothing to store: not even the data version moves
            return
        if not conn.in_transaction:
            self._begin(conn)
            assert self.numbers is not None
            self.numbers.content_numbers([row[0] for row in conn.execute(
                "SELECT sha256 FROM temp.import_responses ORDER BY rowid")])  # new images numbered in order
            before = conn.total_changes
            conn.execute(f"INSERT OR IGNORE INTO stored_responses({_STORED_COLUMNS}) "
                         f"SELECT {RESPONSE_COLUMNS.replace('sha256', 'c.content_no')} FROM temp.import_responses "
                         f"JOIN contents c USING (sha256) ORDER BY temp.import_responses.rowid")
            self._count_stored(self.staged_responses, conn.total_changes - before)
            for hashes, labels in self.pending:
                self._write_labels(self.numbers.content_numbers(hashes), labels)
            self.pending.clear()
        conn.execute("COMMIT")

    def close(self) -> None:
        """Drop the TEMP table and close (checkpointing the WAL)."""
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self.conn.execute("DROP TABLE IF EXISTS temp.import_responses")
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            self._close()

    def abort(self) -> None:
        """Roll back everything written and close (after an error or an interruption)."""
        with contextlib.suppress(sqlite3.Error):
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        with contextlib.suppress(sqlite3.Error):
            self._close()

    def _close(self) -> None:
        if self.journal:
            back_to_write_ahead_log(self.conn)
        self.conn.close()


def _response_key(row: tuple[Any, ...]) -> tuple[int, str, str]:
    """A response row's key in ``stored_responses`` (its content number, operation and model version)."""
    return row[0], row[1], row[2]


def _begin(conn: sqlite3.Connection) -> None:
    """Open the import's transaction and bump the data version in it.

    Its first statement writes: it waits for (as long as the busy timeout
    allows) and takes the workspace's write lock.
    """
    conn.execute("BEGIN")
    bump_versions(conn)  # the data and inputs versions


# --- parsing (in worker processes for large files) -------------------------------------------

# One outcome per item read:
#   (BAD, label, number, problem)
#   (UNMATCHED, example)
#   (OK, key, n)                           its rows are led by its item number n
#   (SHAPE, key, label, number, problem)   matched, but the response cannot be read
BAD, UNMATCHED, OK, SHAPE = 0, 1, 2, 3
Outcome = tuple[Any, ...]
Parsed = tuple[list[Outcome], list[tuple[object, ...]], LabelBlock]  # outcomes, response rows, label rows

def _init_worker(parent: int) -> None:
    """End the worker when the importing process (``parent``) dies: given by the parent, since a worker still
    starting when it died would already see another parent."""
    watch_parent(parent)


def _parse_block(path: Path, start: int, stop: int, now: str) -> tuple[Parsed, int]:
    """Read the lines whose first byte lies at ``start`` to ``stop`` of the file (:func:`_lines_of`) and parse
    them in a worker process; return the outcomes, the response rows and the label rows, each naming its
    image as the line does (the importing process matches them: :func:`_matched_here`), and how many lines
    the block holds. Lines are numbered from 1 within the block (the importing process, which knows how many
    lines came before, makes the numbers in messages the file's)."""
    with _lines_of(path, start, stop, _BLOCK) as block:
        gc.disable()  # the chunk's objects hold no cycles: reference counting frees them, collections only cost
        try:
            return _outcomes(_items_of(_BLOCK, block, start == 0), None, now), _BLOCK.count(b"\n", 0, len(block))
        finally:
            gc.enable()


_BLOCK = bytearray()  # a worker's block of lines: every block is read into the same memory (see _lines_of)
_BOM = b"\xef\xbb\xbf"
_BLANK = frozenset(b" \t\r\n\x0b\x0c")


def _items_of(buffer: bytearray, block: memoryview, file_start: bool) -> Iterator[tuple[str, int, Any]]:
    """Yield ("line", number, parsed JSON or why not) for each line of ``block`` (the first bytes of
    ``buffer``) that is not blank, numbered from 1; each line is parsed where it lies, without a copy. At the
    ``file_start`` a byte-order mark is skipped."""
    loads, size, position = orjson.loads, len(block), 0
    if file_start and buffer.startswith(_BOM, 0, size):
        position = len(_BOM)
    number = 0
    while position < size:
        number += 1
        end = buffer.find(b"\n", position, size)
        end = size if end < 0 else end
        if end > position and not (buffer[position] in _BLANK and bytes(block[position:end]).isspace()):
            try:
                yield "line", number, loads(block[position:end])
            except ValueError as exc:
                yield "line", number, not_json(exc)
        position = end + 1


def _lines_of(path: Path, start: int, stop: int, buffer: bytearray) -> memoryview:
    """Read the whole lines of the file whose first byte lies at ``start`` to ``stop`` into ``buffer`` (grown
    as needed) and return a view of them: each line belongs to the range its first byte is in, so ranges
    that tile the file give every line once, in order. Release the view before reading into the buffer
    again.

    A worker reads every block into the same buffer: a new bytes object of 16 MB per block, and another when
    the last line's rest was added, had the kernel find and clear fresh memory for each (a fifth of the
    workers' time in a million posts' import, on a machine slow at that).
    """
    with path.open("rb") as handle:
        if start:
            handle.seek(start - 1)
            handle.readline()  # the rest of the line begun before the range (just "\n" when one ended there)
        begin = handle.tell()
        if begin >= stop:  # one line longer than the range: it belongs to an earlier one
            return memoryview(buffer)[:0]
        if len(buffer) < stop - begin:
            buffer.extend(bytes(stop - begin - len(buffer)))
        with memoryview(buffer) as whole:
            size = handle.readinto(whole[:stop - begin])
        if size and buffer[size - 1] != ord("\n"):
            rest = handle.readline()  # the rest of the last line begun in the range
            buffer[size:size + len(rest)] = rest
            size += len(rest)
        return memoryview(buffer)[:size]


def _outcomes(items: Iterable[tuple[str, int, Any]], matcher: Matcher | None, now: str,
              first_n: int = 0) -> Parsed:
    """Return the outcome of each item, the rows of the matched responses and their label rows.

    Each response row leads with its item's number ``n``: the line number, or
    the item's place (from ``first_n``) when items are not lines. Without a
    ``matcher`` every usable item is taken, and where the outcomes and rows name an
    image's content hash they hold what the item names it by instead
    (``(match_key, match_value)``), for :func:`_matched_here`.
    """
    outcomes: list[Outcome] = []
    responses: list[tuple[object, ...]] = []
    labels = LabelRows()
    for place, (label, number, item) in enumerate(items, start=first_n):
        n = number or place
        record = to_record(item, now)
        if isinstance(record, str):
            outcomes.append((BAD, label, number, record))
            continue
        sha256, reason = matcher.match(record) if matcher is not None else (
            (record.match_key, record.match_value), "")
        if sha256 is None:
            outcomes.append((UNMATCHED, f"{record.match_value} ({reason})"))
            continue
        version = model_version_of(record.operation, record.response)
        key = (sha256, record.operation, version)
        try:
            labels.add(len(responses), record.operation, version, record.response)
        except (KeyError, TypeError, ValueError, AttributeError):
            outcomes.append((SHAPE, key, label, number,
                             f'"response" is not shaped like a {record.operation} response'))
            continue
        responses.append((n, sha256, record.operation, version, record.region, record.called_at,
                          record.request_id, record.request, packed(orjson.dumps(record.response)), ORIGIN))
        outcomes.append((OK, key, n))
    return outcomes, responses, LabelBlock.of(labels)


def _matched_here(parsed: Parsed, matcher: Matcher) -> Parsed:
    """Return a worker's chunk (:func:`_outcomes` without a matcher) matched to the workspace's images: names
    replaced by content hashes, and the items whose image is not found (or not fetched) unmatched, without
    their rows.

    The importing process matches, reading through its own connection: a large import may hold the
    workspace exclusively (:func:`kayfabe_core.workspace.use_rollback_journal`), so that the workers could
    not read it.
    """
    outcomes, responses, labels = parsed
    found: dict[Any, tuple[str | None, str]] = {}

    def match(name: tuple[str, str]) -> tuple[str | None, str]:
        if name not in found:
            found[name] = matcher.match_value(*name)
        return found[name]

    matched: list[Outcome] = []
    for outcome in outcomes:
        if outcome[0] in (OK, SHAPE):
            name, operation, version = outcome[1]
            sha256, reason = match(name)
            matched.append((outcome[0], (sha256, operation, version), *outcome[2:]) if sha256 is not None
                           else (UNMATCHED, f"{name[1]} ({reason})"))
        else:
            matched.append(outcome)
    hashes = [match(row[1])[0] for row in responses]  # type: ignore[arg-type]
    keep = np.array([sha256 is not None for sha256 in hashes], dtype=bool)
    rows = [(row[0], sha256, *row[2:]) for row, sha256 in zip(responses, hashes, strict=True) if sha256 is not None]
    return matched, rows, labels.kept(keep).renumbered(keep)


def _byte_ranges(path: Path) -> Iterator[tuple[int, int]]:
    """Yield the ranges of BATCH_BYTES that tile the file, each a worker's to read (:func:`_lines_of`).

    The workers read the file themselves: reading 3.4 GB here, counting its lines and sending it to them
    took this process 10 s of a million posts' import, and this process is the one that writes.
    """
    size = path.stat().st_size
    for start in range(0, size, BATCH_BYTES):
        yield start, min(start + BATCH_BYTES, size)


# --- the import ------------------------------------------------------------------------------

def import_labels(
    workspace: Workspace, path: Path, progress: Callable[[int], None] | None = None
) -> LabelImportReport:
    """Import saved Rekognition responses from the JSON Lines file or folder at ``path``.

    Lines are parsed :data:`BATCH_LINES` at a time (for a large file, blocks of
    :data:`BATCH_BYTES` read and parsed by worker processes) and written in ONE transaction, never overwriting a stored
    response; for a large file that transaction is opened first, so it holds the
    workspace's write lock from the start. An error or crash before the commit
    leaves the workspace as it was; importing again is idempotent.
    Calls ``progress`` with the lines read so far after each batch. Returns the
    :class:`LabelImportReport`. Raises :class:`InputFileError` when the path does
    not exist, holds nothing, holds no usable line, or no usable line matches a
    fetched image (nothing is written then).
    """
    start = time.perf_counter()
    path = Path(path).expanduser()
    items = _open_items(path)
    tally = _Tally()
    with sqlite_in_words(workspace):
        writer = _Writer(workspace, tally, early=isinstance(items, Path),
                         alone=isinstance(items, Path) and items.stat().st_size >= ALONE_MIN_BYTES)
        try:
            if isinstance(items, Path):
                _import_parallel(workspace, items, tally, writer, progress)
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
        outcomes, responses, labels = _outcomes(batch, matcher, now, place)
        place += len(batch)
        skipped_from = len(writer.skipped)
        _take(tally, writer, outcomes)
        writer.write_chunk(responses, labels, skipped_from)
        if progress is not None:
            progress(tally.lines_read)


def _import_parallel(workspace: Workspace, path: Path, tally: _Tally, writer: _Writer,
                     progress: Callable[[int], None] | None) -> None:
    """Have PARSERS worker processes parse and match the file while this process writes each
    chunk, in order, as it comes back."""
    now = _now()
    pending: deque[Future[tuple[Parsed, int]]] = deque()
    lines_before = 0  # lines of the file in the blocks taken so far

    def take_next() -> None:
        nonlocal lines_before
        parsed, lines = pending.popleft().result()
        outcomes, responses, labels = _matched_here(parsed, matcher)
        skipped_from = len(writer.skipped)
        _take(tally, writer, outcomes, lines_before)
        lines_before += lines
        writer.write_chunk(responses, labels, skipped_from)
        if progress is not None and outcomes:  # a range inside one long line holds none
            progress(tally.lines_read)

    matcher = Matcher(workspace, writer.conn)
    with ProcessPoolExecutor(max_workers=PARSERS, mp_context=get_context("spawn"),
                             initializer=_init_worker, initargs=(os.getpid(),)) as pool:
        try:
            for start, stop in _byte_ranges(path):
                pending.append(pool.submit(_parse_block, path, start, stop, now))
                if len(pending) > PARSERS + 1:  # few chunks waiting: each in memory adds to the peak
                    take_next()
            while pending:
                take_next()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _take(tally: _Tally, writer: _Writer, outcomes: list[Outcome], lines_before: int = 0) -> None:
    """Count one chunk's outcomes; tell the writer which staged responses are new. A block's lines are
    numbered from 1: ``lines_before`` (the file's lines before the block) makes their numbers the file's."""
    for outcome in outcomes:
        tally.lines_read += 1
        kind = outcome[0]
        if kind == OK:
            tally.usable += 1
            writer.accept(outcome[1], outcome[2])
            tally.images.add(outcome[1][0])
        elif kind == BAD:
            _bad(tally, outcome[1], outcome[2] and outcome[2] + lines_before, outcome[3])
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
            _bad(tally, outcome[2], outcome[3] and outcome[3] + lines_before, outcome[4])


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
    if tally.unmatched == tally.usable:
        example = f" For example: {tally.examples[0]}." if tally.examples else ""
        raise InputFileError(
            f"No response in {path.name} matched a fetched image of this workspace "
            f"({counted(tally.usable, 'response')} read), so nothing was stored.{example}",
            "Fetch the images first (a response is kept by its picture's content hash), and check that the "
            "file's image_url, post_url or sha256 come from this workspace's posts.",
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
