"""Import PhantomBuster Instagram CSV exports into the workspace's posts and images.

One set of rules (:mod:`kayfabe_core.ingest_rows`) is applied a chunk of rows at a
time, so memory is bounded by the chunk rather than the export:

- :func:`ingest_paths` (the command line) reads files from disk, and
  :func:`ingest_files` (uploads) bytes in memory; both write each chunk's posts
  and images as they go, all in one transaction (:func:`ingest_sources`); large
  files on disk are read and split in a worker process meanwhile
  (:func:`kayfabe_core.ingest_read.split_sources`);
- :func:`read_export` parses bytes into a :class:`ParsedExport` without touching
  the workspace (to look before storing: predictions, the demo), and
  :func:`store_export` / :func:`write_export` store one.

Either way a bad file raises and nothing is written, so the workspace never holds
half an import, and importing the same file again adds nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from kayfabe_core.errors import InputFileError
from kayfabe_core.ingest_read import FileReport, read_sources, split_sources
from kayfabe_core.ingest_rows import (
    COUNT_FIELDS,
    IMAGE_FIELDS,
    POST_FIELDS,
    ChunkParts,
    Columns,
    RowState,
    final_media_type,
)
from kayfabe_core.ingest_stream import CHUNK_ROWS, ExportSource, open_bytes, open_path
from kayfabe_core.workspace import Workspace, connect, transaction

# Exports this large (about 20,000 posts) are written through a rollback journal when nothing else has the
# workspace open (see kayfabe_core.workspace.transaction): each new page is written once, not twice. Smaller
# ones keep the write-ahead log, which lets other windows read throughout.
ALONE_MIN_BYTES = 16 << 20


@dataclass(frozen=True)
class IngestReport:
    """What an import found in the files given and what it added to the workspace."""

    files: tuple[FileReport, ...]
    rows_read: int
    posts: int
    images: int
    duplicates_dropped: int
    error_rows: int
    posts_without_image: int
    rows_without_post_url: int
    unreadable_dates: int
    unknown_columns: tuple[str, ...]
    new_posts: int = 0
    new_images: int = 0
    workspace_posts: int = 0
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        """Return the report as plain JSON-ready data."""
        data = asdict(self)
        data["files"] = [asdict(report) | {"notes": list(report.notes)} for report in self.files]
        data["unknown_columns"] = list(self.unknown_columns)
        data["notes"] = list(self.notes)
        return data


@dataclass(frozen=True)
class ParsedExport:
    """Posts and images read from files, not yet stored."""

    posts: pd.DataFrame
    images: pd.DataFrame
    report: IngestReport


def ingest_files(workspace: Workspace, files: Sequence[tuple[str, bytes]],
                 chunk_rows: int = CHUNK_ROWS) -> IngestReport:
    """Add the posts and images of the (name, bytes) files to the workspace, ``chunk_rows`` rows at a time.

    Returns the :class:`IngestReport`. Raises :class:`InputFileError` (nothing
    written) when any file cannot be read as a PhantomBuster export.
    """
    return ingest_sources(workspace, _open_all(files, lambda file: open_bytes(*file)), chunk_rows)


def ingest_paths(workspace: Workspace, paths: Sequence[Path], chunk_rows: int = CHUNK_ROWS) -> IngestReport:
    """Stream the CSV files at ``paths`` into the workspace, ``chunk_rows`` rows at a time.

    Same result and report as :func:`ingest_files` on the same files. Returns the
    :class:`IngestReport`. Raises :class:`InputFileError` (nothing written) when a
    file is missing or cannot be read as a PhantomBuster export.
    """
    return ingest_sources(workspace, _open_all(paths, open_path), chunk_rows)


def ingest_sources(workspace: Workspace, sources: Sequence[ExportSource],
                   chunk_rows: int = CHUNK_ROWS) -> IngestReport:
    """Import opened exports (:func:`kayfabe_core.ingest_stream.open_path`) in one transaction,
    writing each chunk's posts and images as it is read.

    Returns the :class:`IngestReport`. Raises :class:`InputFileError` when no
    source is given or a row is damaged; nothing is written then.
    """
    _require(sources)
    with transaction(workspace, alone=input_bytes(sources) >= ALONE_MIN_BYTES) as conn:
        started = _begin_import(conn, sources)
        writer = _ChunkWriter(conn, started.import_id)
        files, state = split_sources(sources, chunk_rows, writer.add)
        imageless, unreadable = writer.add_imageless_posts(state.positions)
        writer.count_images(state.positions)
        report = _report(sources, files, state, imageless, unreadable)
        return _end_import(conn, started, report, writer.new_posts, writer.new_images)


def input_bytes(sources: Sequence[ExportSource]) -> int:
    """Return about how many bytes the exports hold (a file's size on disk, or its text's length)."""
    return sum(source.path.stat().st_size if source.path is not None else len(source.text.text)
               for source in sources)


def read_export(files: Sequence[tuple[str, bytes]], chunk_rows: int = CHUNK_ROWS) -> ParsedExport:
    """Parse and normalise PhantomBuster CSV files given as (name, bytes).

    Returns a :class:`ParsedExport`. Raises :class:`InputFileError` when no file
    is given or a file is empty, binary, undecodable, ragged or has no post link
    column.
    """
    sources = _open_all(files, lambda file: open_bytes(*file))
    _require(sources)
    collector = _Collector()
    state = RowState()
    files_read = read_sources(sources, state, collector.add, chunk_rows)
    return collector.parsed(sources, files_read, state)


Opened = TypeVar("Opened")


def _open_all(files: Sequence[Opened], opener: Callable[[Opened], ExportSource]) -> list[ExportSource]:
    """Open every file; when some cannot be read as exports, raise one error that names each of them."""
    sources, problems = [], []
    for file in files:
        try:
            sources.append(opener(file))
        except InputFileError as error:
            problems.append(error)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InputFileError(f"{len(problems)} of the {len(files)} files cannot be imported:"  # one line each
                             + "".join(f"\n- {problem.message}" for problem in problems), problems[0].hint)
    return sources


def _require(sources: Sequence[ExportSource]) -> None:
    if not sources:
        raise InputFileError("No file was given.", "Choose one or more PhantomBuster CSV files.")


def _report(sources: Sequence[ExportSource], files: tuple[FileReport, ...], state: RowState,
            imageless_posts: int, imageless_unreadable: int) -> IngestReport:
    unknown: list[str] = []
    for source in sources:
        unknown += [column for column in source.unknown if column not in unknown]
    return IngestReport(
        files=files,
        rows_read=state.rows_read,
        posts=len(state.positions) + imageless_posts,
        images=state.images,
        duplicates_dropped=state.linked_rows - state.images - imageless_posts,
        error_rows=state.error_rows,
        posts_without_image=imageless_posts,
        rows_without_post_url=state.rows_without_post_url,
        unreadable_dates=state.unreadable_dates + imageless_unreadable,
        unknown_columns=tuple(unknown),
        notes=tuple(note for report in files for note in report.notes),
    )


class _Collector:
    """Gathers the chunks' parts in memory for a :class:`ParsedExport`."""

    def __init__(self) -> None:
        self.posts: Columns = {}
        self.images: Columns = {}
        self.imageless: Columns = {}

    def add(self, parts: ChunkParts) -> None:
        for kept, new in ((self.posts, parts.posts), (self.images, parts.images),
                          (self.imageless, parts.imageless)):
            for name, values in new.items():
                kept.setdefault(name, []).extend(values)

    def parsed(self, sources: Sequence[ExportSource], files: tuple[FileReport, ...],
               state: RowState) -> ParsedExport:
        """Return the export: posts in the order of their first row, images in the files' order."""
        positions = state.positions
        imageless = self.imageless.get("post_url", [])
        keep = [i for i, url in enumerate(imageless) if url not in positions]
        posts = {name: self.posts.get(name, []) + [self.imageless[name][i] for i in keep]
                 for name in (*POST_FIELDS, "seq")}
        order = sorted(range(len(posts["seq"])), key=posts["seq"].__getitem__)
        frame = pd.DataFrame({name: [posts[name][i] for i in order] for name in POST_FIELDS})
        frame["n_images"] = [positions.get(url, 0) for url in frame["post_url"]]
        frame["media_type"] = [final_media_type(kind, n) for kind, n in zip(frame["media_type"],
                                                                             frame["n_images"], strict=True)]
        for name in COUNT_FIELDS:
            frame[name] = pd.array(frame[name].tolist(), dtype="Int64")
        images = pd.DataFrame({name: self.images.get(name, []) for name in IMAGE_FIELDS})
        unreadable = sum(self.imageless["bad_date"][i] for i in keep)
        return ParsedExport(frame, images, _report(sources, files, state, len(keep), unreadable))


def store_export(workspace: Workspace, parsed: ParsedExport) -> IngestReport:
    """Write parsed posts and images into the workspace in one transaction.

    Posts already in the workspace are kept as they were; new images of known
    posts are added. Returns the report completed with what was new.
    """
    with transaction(workspace) as conn:
        return write_export(conn, parsed)


def write_export(conn: sqlite3.Connection, parsed: ParsedExport) -> IngestReport:
    """Write parsed posts and images through ``conn`` (inside a caller's transaction).

    Returns the report completed with what was new.
    """
    started = _begin_import(conn, parsed.report.files)
    new_posts = _insert(conn, _INSERT_POST, _records(parsed.posts, extra=(started.import_id,)))
    new_images = _insert(conn, _INSERT_IMAGE, _records(parsed.images))
    return _end_import(conn, started, parsed.report, new_posts, new_images)


_INSERT_POST = (f"INSERT OR IGNORE INTO posts({', '.join(POST_FIELDS)}, import_id) "
                f"VALUES ({', '.join('?' * (len(POST_FIELDS) + 1))})")
_INSERT_IMAGE = (f"INSERT OR IGNORE INTO images({', '.join(IMAGE_FIELDS)}) "
                 f"VALUES ({', '.join('?' * len(IMAGE_FIELDS))})")
_IMAGELESS_FIELDS = (*POST_FIELDS, "seq", "bad_date")
_CACHE_KIB = 512 * 1024


class _ChunkWriter:
    """Writes each chunk's posts and images through ``conn``, inside the caller's transaction.

    A post seen so far only in rows without an image waits in a temporary table
    until the end: an image of it may still come, and then that row is its first.
    """

    def __init__(self, conn: sqlite3.Connection, import_id: int) -> None:
        self.conn = conn
        self.import_id = import_id
        self.grown: set[str] = set()  # posts written with fewer images than they have by now
        self.new_posts = 0
        self.new_images = 0
        conn.execute(f"CREATE TEMP TABLE ingest_imageless ({', '.join(_IMAGELESS_FIELDS)})")

    def add(self, parts: ChunkParts, n_images: list[int]) -> None:
        """Write the chunk's posts with ``n_images``, the images counted so far (all of them, unless a later
        chunk brings more: those posts are counted again at the end), then its images and imageless rows."""
        posts = dict(parts.posts)
        posts["n_images"] = n_images
        posts["media_type"] = [final_media_type(kind, n_images) for kind, n_images
                               in zip(posts["media_type"], posts["n_images"], strict=True)]
        new = set(posts["post_url"])
        self.grown.update(url for url, position in zip(parts.images["post_url"], parts.images["position"],
                                                        strict=True) if position > 0 and url not in new)
        self.new_posts += _insert(self.conn, _INSERT_POST, _rows(posts, POST_FIELDS, self.import_id))
        self.new_images += _insert(self.conn, _INSERT_IMAGE, _rows(parts.images, IMAGE_FIELDS))
        self.conn.executemany(
            f"INSERT INTO temp.ingest_imageless VALUES ({', '.join('?' * len(_IMAGELESS_FIELDS))})",
            _rows(parts.imageless, _IMAGELESS_FIELDS))

    def count_images(self, positions: dict[str, int]) -> None:
        """Settle the new posts that gained images after their chunk was written: their count and, for a
        Photo, the Carousel type (as :func:`kayfabe_core.ingest_rows.final_media_type`). A new post's images
        all came with this import. (Updating every post with several images instead took 2 s at a million.)"""
        self.conn.executemany(
            "UPDATE posts SET n_images = ?, "
            "media_type = CASE media_type WHEN 'Photo' THEN 'Carousel' ELSE media_type END "
            "WHERE post_url = ? AND import_id = ?",
            ((positions[url], url, self.import_id) for url in sorted(self.grown)))

    def add_imageless_posts(self, positions: dict[str, int]) -> tuple[int, int]:
        """Write the posts that never showed an image; return how many, and how many had unreadable dates."""
        cursor = self.conn.execute(
            f"SELECT {', '.join(POST_FIELDS)}, bad_date FROM temp.ingest_imageless ORDER BY seq")
        kept = unreadable = 0
        while batch := cursor.fetchmany(10_000):
            rows = [row for row in batch if row[0] not in positions]
            kept += len(rows)
            unreadable += sum(row[-1] for row in rows)
            self.new_posts += _insert(self.conn, _INSERT_POST, ((*row[:-1], self.import_id) for row in rows))
        self.conn.execute("DROP TABLE temp.ingest_imageless")
        return kept, unreadable


@dataclass(frozen=True)
class _Started:
    """An import under way: its id, and what the workspace held before it."""

    import_id: int
    last_image_id: int
    older_posts: bool
    dropped_indexes: tuple[str, ...] = ()  # the SQL that makes them again, run by _end_import


def _begin_import(conn: sqlite3.Connection, files: Sequence[ExportSource] | Sequence[FileReport]) -> _Started:
    """Record the import (its report comes at the end); return it."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    names = json.dumps([file.name for file in files])
    conn.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")  # this connection's: keeps the indexes' pages in memory
    cursor = conn.execute("INSERT INTO imports(imported_at, files, report) VALUES (?, ?, '{}')", (now, names))
    last_image_id, older_posts, older_images = conn.execute(
        "SELECT (SELECT COALESCE(MAX(image_id), 0) FROM images), EXISTS (SELECT 1 FROM posts), "
        "EXISTS (SELECT 1 FROM images)").fetchone()
    empty = [table for table, older in (("posts", older_posts), ("images", older_images)) if not older]
    return _Started(int(cursor.lastrowid or 0), int(last_image_id), bool(older_posts),
                    _drop_secondary_indexes(conn, empty))


def _drop_secondary_indexes(conn: sqlite3.Connection, tables: Sequence[str]) -> tuple[str, ...]:
    """Drop the indexes of ``tables`` (empty ones) that no rule of the import needs: not the keys, nothing
    unique (INSERT OR IGNORE relies on those). Return the SQL that makes them again.

    An index made once after the rows are in is sorted in one go, which costs less than placing a million
    rows one at a time (about 1.5 s of a million-post import). All inside the import's transaction, so a
    failed import keeps them.
    """
    indexes = [row for table in tables for row in conn.execute(
        "SELECT m.name, m.sql FROM sqlite_master m JOIN pragma_index_list(?) l ON l.name = m.name "
        "WHERE m.type = 'index' AND m.sql IS NOT NULL AND NOT l.\"unique\" ORDER BY m.name", (table,))]
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    return tuple(sql for _, sql in indexes)


def _rows(columns: Columns, fields: Sequence[str], *extra: object) -> Iterator[tuple[object, ...]]:
    """The table's rows as tuples of ``fields``, each followed by ``extra``."""
    length = len(columns[fields[0]])
    return zip(*(columns[name] for name in fields), *(repeat(value, length) for value in extra), strict=True)


def _insert(conn: sqlite3.Connection, sql: str, rows: Iterable[tuple[object, ...]]) -> int:
    """Run ``sql`` for each row; return how many rows it added."""
    before = conn.total_changes
    conn.executemany(sql, rows)
    return conn.total_changes - before


def _end_import(conn: sqlite3.Connection, started: _Started, report: IngestReport,
                new_posts: int, new_images: int) -> IngestReport:
    """Make the indexes dropped at the start again, recount the images of older posts that gained some,
    store the report; return it."""
    for sql in started.dropped_indexes:
        conn.execute(sql)
    if started.older_posts:
        conn.execute(
            "UPDATE posts SET n_images = (SELECT COUNT(*) FROM images WHERE images.post_url = posts.post_url) "
            "WHERE post_url IN (SELECT post_url FROM images WHERE image_id > ?) AND import_id IS NOT ?",
            (started.last_image_id, started.import_id),
        )
    total = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
    report = _with_counts(report, new_posts, new_images, total)
    conn.execute("UPDATE imports SET report = ? WHERE import_id = ?",
                 (json.dumps(report.to_dict()), started.import_id))
    return report


def _records(frame: pd.DataFrame, extra: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [tuple(row) + extra for row in clean.itertuples(index=False, name=None)]


def _with_counts(report: IngestReport, new_posts: int, new_images: int, total: int) -> IngestReport:
    data = report.__dict__ | {"new_posts": new_posts, "new_images": new_images, "workspace_posts": total}
    return IngestReport(**data)


def read_last_report(workspace: Workspace) -> IngestReport | None:
    """Return the report of the most recent import into the workspace, or None."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT report FROM imports ORDER BY import_id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return report_from_dict(json.loads(row[0]))


def report_from_dict(data: dict[str, Any]) -> IngestReport:
    """Rebuild an :class:`IngestReport` from :meth:`IngestReport.to_dict` output."""
    files = tuple(FileReport(**{**entry, "notes": tuple(entry["notes"])}) for entry in data["files"])
    return IngestReport(**{
        **data,
        "files": files,
        "unknown_columns": tuple(data["unknown_columns"]),
        "notes": tuple(data["notes"]),
    })
