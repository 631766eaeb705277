"""Writing and reading the label rows: (content number, label number, confidence), packed per image.

Since schema 3 a label row holds two small integers and a confidence; the
image's hash lives once in ``contents`` and the label's texts once in
``label_names``. Since schema 5 the rows of one image written together are one
row of ``label_packs``: two JSON arrays of equal length, the label numbers
ascending and their confidences (writing a B-tree row per label row took most of
a large import). ``labels`` is a view with the old columns for readers. Every
writer goes through :class:`LabelNumbers` inside its open transaction: it
numbers new contents in the order they arrive (so a new import appends to the
end of the table) and new labels as they are first seen. Since schema 7 the
stored responses are keyed by content number too (every image with a stored
response has one, labelled or not).
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterable, Sequence

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv

from kayfabe_core.arrays import unique_sorted
from kayfabe_core.errors import WorkspaceError

# (source, key, model_version, name, parents, categories): what label_names holds per label
LabelName = tuple[str, str, str, str, str, str]
_INSERT_PACK = "INSERT INTO label_packs(content_no, label_nos, confidences) VALUES (?, ?, ?)"


class LabelNumbers:
    """The numbers of contents and labels, read once in a write transaction and extended as rows arrive.

    New numbers are inserted at once, in the same transaction: a rollback takes
    them back with everything else.
    """

    def __init__(self, conn: sqlite3.Connection, preload: bool = True) -> None:
        """Read every number now (``preload``, for bulk imports), or look each up as it is first needed."""
        self.conn = conn
        self.preloaded = preload
        self.contents: dict[str, int] = {}
        self.labels: dict[tuple[str, str, str], int] = {}
        if preload:
            self.contents = dict(conn.execute("SELECT sha256, content_no FROM contents").fetchall())
            self.labels = {(source, key, version): number for number, source, key, version in conn.execute(
                "SELECT label_no, source, key, model_version FROM label_names").fetchall()}
        self.next_content = int(conn.execute("SELECT COALESCE(MAX(content_no), 0) FROM contents").fetchone()[0]) + 1
        self.next_label = int(conn.execute("SELECT COALESCE(MAX(label_no), 0) FROM label_names").fetchone()[0]) + 1
        self.first_new_content = self.next_content  # contents below it may have stored rows already

    def _stored_content(self, sha256: str) -> int | None:
        if self.preloaded:
            return None
        row = self.conn.execute("SELECT content_no FROM contents WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else int(row[0])

    def _stored_label(self, key: tuple[str, str, str]) -> int | None:
        if self.preloaded:
            return None
        row = self.conn.execute("SELECT label_no FROM label_names WHERE source = ? AND key = ? AND "
                                "model_version = ?", key).fetchone()
        return None if row is None else int(row[0])

    def content_numbers(self, hashes: Sequence[str]) -> np.ndarray:
        """Return the content number of each hash, numbering (and inserting) the new ones in order."""
        numbers = np.empty(len(hashes), dtype=np.int64)
        new: list[tuple[int, str]] = []
        for place, sha256 in enumerate(hashes):
            number = self.contents.get(sha256)
            if number is None and (number := self._stored_content(sha256)) is not None:
                self.contents[sha256] = number
            if number is None:
                number = self.contents[sha256] = self.next_content
                self.next_content += 1
                new.append((number, sha256))
            numbers[place] = number
        if new:
            new.sort(key=lambda row: row[1])  # in hash order: the hash's index is written in runs, not at random
            self.conn.executemany("INSERT INTO contents(content_no, sha256) VALUES (?, ?)", new)
        return numbers

    def label_numbers(self, names: Sequence[LabelName]) -> np.ndarray:
        """Return the label number of each (source, key, model version, ...), adding the new labels.

        A label's name, parents and categories are kept as first seen.
        """
        numbers = np.empty(len(names), dtype=np.int64)
        new: list[tuple[object, ...]] = []  # (number, *name)
        for place, name in enumerate(names):
            number = self.labels.get(name[:3])
            if number is None and (number := self._stored_label(name[:3])) is not None:
                self.labels[name[:3]] = number
            if number is None:
                number = self.labels[name[:3]] = self.next_label
                self.next_label += 1
                new.append((number, *name))
            numbers[place] = number
        if new:
            self.conn.executemany("INSERT INTO label_names(label_no, source, key, model_version, name, parents, "
                                  "categories) VALUES (?, ?, ?, ?, ?, ?, ?)", new)
        return numbers

    def write(self, contents: np.ndarray, labels: np.ndarray, confidences: np.ndarray) -> int:
        """Store label rows (numbers already given): one pack per content. Among rows of the same content and
        label the first wins, and a row already stored is kept as it was (this one is dropped).

        Returns the number of rows written.
        """
        contents, labels, confidences = _first_of_each(contents, labels, confidences)
        if len(contents) and contents[0] < self.first_new_content:  # sorted: only then can rows be stored
            new = ~self._stored(contents, labels)
            contents, labels, confidences = contents[new], labels[new], confidences[new]
        if not len(contents):
            return 0
        _write_packs(self.conn, contents, labels, confidences)
        return len(contents)

    def _stored(self, contents: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Return whether each (content, label) row is stored already (contents of earlier writes only)."""
        older = unique_sorted(contents[contents < self.first_new_content]).tolist()
        stored_contents, stored_labels, _ = _read_packs(_plain(self.conn).execute(
            "SELECT content_no, label_nos, confidences FROM label_packs "
            "WHERE content_no IN (SELECT value FROM json_each(?))", (orjson.dumps(older).decode(),)).fetchall())
        stored = set(zip(stored_contents.tolist(), stored_labels.tolist(), strict=True))
        return np.array([pair in stored for pair in zip(contents.tolist(), labels.tolist(), strict=True)], dtype=bool)


def _write_packs(conn: sqlite3.Connection, contents: np.ndarray, labels: np.ndarray, confidences: np.ndarray) -> None:
    """Insert rows sorted by (content, label) as one pack per content (texts by orjson: shortest and exact)."""
    starts = np.flatnonzero(np.diff(contents, prepend=-1)).tolist()
    label_list, confidence_list, ends = labels.tolist(), confidences.tolist(), [*starts[1:], len(contents)]
    dumps = orjson.dumps
    conn.executemany(_INSERT_PACK, (
        (content, dumps(label_list[start:end]).decode(), dumps(confidence_list[start:end]).decode())
        for content, start, end in zip(contents[starts].tolist(), starts, ends, strict=True)))


def pack_label_rows(conn: sqlite3.Connection) -> None:
    """Move the rows of the ``label_rows`` table of schema 4 into packs (the schema-5 migration's step).

    Reads a million rows at a time in key order; an image cut by a chunk's end gets two packs, still in order.
    """
    cursor = _plain(conn).execute("SELECT content_no, label_no, confidence FROM label_rows ORDER BY content_no, "
                                  "label_no")
    while rows := cursor.fetchmany(1_000_000):
        contents, labels, confidences = (np.array(column) for column in zip(*rows, strict=True))
        _write_packs(conn, contents.astype(np.int64), labels.astype(np.int64), confidences.astype(np.float64))


def _first_of_each(contents: np.ndarray, labels: np.ndarray,
                   confidences: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the rows in (content, label) order, the first of each (content, label) only."""
    contents, labels = np.asarray(contents, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    order = np.argsort(_row_keys(contents, labels), kind="stable")  # stable: among equal keys the first stays
    contents, labels = contents[order], labels[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (np.diff(contents) != 0) | (np.diff(labels) != 0)
    return contents[first], labels[first], np.asarray(confidences, dtype=np.float64)[order][first]


def _row_keys(contents: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return one int64 per row that orders rows as (content, label) does: sorting it is five times faster
    than ``np.lexsort`` (numbers of contents and labels stay far below 2**31, so it cannot overflow)."""
    return contents.astype(np.int64) * (int(labels.max(initial=0)) + 1) + labels


def content_number(conn: sqlite3.Connection, sha256: str) -> int:
    """Return the content number of the image ``sha256`` in the open transaction, numbering it if new."""
    return int(LabelNumbers(conn, preload=False).content_numbers([sha256])[0])


def store_label_rows(conn: sqlite3.Connection, rows: Iterable[Sequence[object]]) -> int:
    """Store rows in the old long-table shape inside the open transaction; return how many were new.

    Each row is (sha256, source, key, name, confidence, parents, categories,
    model_version), as :func:`kayfabe_core.labels.flatten_response` gives them.
    Never overwrites a stored row.
    """
    rows = list(rows)
    if not rows:
        return 0
    numbers = LabelNumbers(conn, preload=False)
    contents = numbers.content_numbers([str(row[0]) for row in rows])
    labels = numbers.label_numbers([(str(row[1]), str(row[2]), str(row[7]), str(row[3]), str(row[5]),
                                     str(row[6])) for row in rows])
    return numbers.write(contents, labels, np.array([float(row[4]) for row in rows], dtype=np.float64))  # type: ignore[arg-type]


CHUNK_CONTENTS = 200_000  # contents whose label rows are read at a time (about 3 million rows)
_PACKS = "SELECT content_no, label_nos, confidences FROM label_packs"
_MARK = -1  # between packs in a joined text (see _unpacked)


def read_label_numbers(conn: sqlite3.Connection, cuts: Sequence[float], contents: bool = True) -> np.ndarray:
    """Return every label row at or above the lowest of ``cuts`` as numbers, in key order: one int32 row of
    (content number, label number, how many of the other cuts its confidence reaches) each, or with
    ``contents`` false just the label numbers (one dimension, in no particular order: for counting).

    Reads a range of contents at a time; numpy and Arrow parse the packs' arrays (no Python object per
    label row).
    """
    cuts = sorted(float(cut) for cut in cuts)
    last = int(conn.execute("SELECT COALESCE(MAX(content_no), 0) FROM contents").fetchone()[0])
    starts = range(0, last + 1, CHUNK_CONTENTS)
    if not contents:
        parts = [_unpacked(conn, start, start + CHUNK_CONTENTS) for start in starts]
        return np.concatenate([labels[confidences >= cuts[0]] for _, labels, confidences in parts])
    parts = [_read_range(conn, cuts, start, start + CHUNK_CONTENTS) for start in starts]
    rows = np.empty((sum(len(part[0]) for part in parts), 3), dtype=np.int32)  # int32: half the memory
    done = 0
    for part in parts:
        for column, values in enumerate(part):
            rows[done:done + len(values), column] = values
        done += len(part[0])
    return rows


def _read_range(conn: sqlite3.Connection, cuts: list[float], start: int,
                stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the contents, labels and passed cuts (beyond the lowest) of the rows of contents ``start`` to
    ``stop`` at or above the lowest cut, in key order."""
    contents, labels, confidences = _unpacked(conn, start, stop)
    key = _row_keys(contents, labels)
    if len(key) > 1 and not (key[1:] > key[:-1]).all():  # an image written twice: its packs interleave labels
        order = np.argsort(key, kind="stable")  # Timsort: fast on runs already in order; the first stays first
        contents, labels, confidences = contents[order], labels[order], confidences[order]
    keep = confidences >= cuts[0]
    passed = np.zeros(int(keep.sum()), dtype=np.int64)
    for cut in cuts[1:]:
        passed += confidences[keep] >= cut
    return contents[keep], labels[keep], passed


def _unpacked(conn: sqlite3.Connection, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return content, label and confidence per label row of the packs of contents ``start`` to ``stop``.

    SQLite joins the packs' texts in one pass (one text per column, the same row order in each: three times
    as fast as a Python row per pack; see :func:`_split_packs`). A range whose joined text would pass SQLite's
    length limit is read in halves.
    """
    try:
        numbers, labels, confidences = conn.execute(
            "SELECT group_concat(content_no, ','), group_concat(label_nos, ''), group_concat(confidences, '') "
            f"FROM ({_PACKS} WHERE content_no >= ? AND content_no < ? ORDER BY content_no, pack_no)",
            (start, stop)).fetchone()
    except sqlite3.DataError:  # string or blob too big
        if stop - start < 2:
            raise
        middle = (start + stop) // 2
        halves = zip(_unpacked(conn, start, middle), _unpacked(conn, middle, stop), strict=True)
        return tuple(np.concatenate(pair) for pair in halves)  # type: ignore[return-value]
    return _split_packs(numbers, labels, confidences)


def _split_packs(numbers: str | None, labels: str, confidences: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return content, label and confidence per label row of packs given as joined texts: their content
    numbers ('4,7'), label arrays ('[1,2][3]') and confidence arrays, in the same order. A boundary marker
    (-1, never a label number or a confidence) put between packs tells which content each row belongs to."""
    if not numbers:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    label_numbers = np.fromstring(_marked(labels), dtype=np.int64, sep=",")
    values = _floats(_marked(confidences))
    boundary = label_numbers == _MARK
    packs = np.fromstring(numbers, dtype=np.int64, sep=",")
    if len(label_numbers) != len(values) or not np.array_equal(boundary, values == _MARK) \
            or int(boundary.sum()) != len(packs) - 1:
        raise _damaged()
    return packs[np.cumsum(boundary)][~boundary], label_numbers[~boundary], values[~boundary]


def _marked(arrays: str) -> str:
    """Return the numbers of JSON arrays written one after the other as one comma-separated text, with the
    boundary marker between arrays ('[1,2][3]' -> '1,2,-1,3')."""
    return arrays.replace("][", f",{_MARK},")[1:-1]


def _plain(conn: sqlite3.Connection) -> sqlite3.Cursor:
    """Return a cursor giving plain tuples (the workspace's connections make sqlite3.Row objects: slower)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor


def _read_packs(packs: Sequence[Sequence[object]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the rows in ``packs`` (content, label numbers, confidences: ``label_packs`` rows) unpacked:
    content, label and confidence per label row."""
    if not packs:
        return _split_packs(None, "", "")
    numbers, label_texts, confidence_texts = (list(column) for column in zip(*packs, strict=True))
    return _split_packs(",".join(map(str, numbers)), "".join(label_texts), "".join(confidence_texts))  # type: ignore[arg-type]


def _floats(text: str) -> np.ndarray:
    """Parse comma- or newline-separated numbers exactly (Arrow's CSV reader: five times numpy's speed)."""
    if not text.strip():
        return np.zeros(0, dtype=np.float64)
    try:
        table = pa_csv.read_csv(io.BytesIO(text.replace(",", "\n").encode()),
                                read_options=pa_csv.ReadOptions(column_names=["value"]),
                                convert_options=pa_csv.ConvertOptions(column_types={"value": pa.float64()}))
    except pa.ArrowInvalid as exc:
        raise _damaged() from exc
    return table.column(0).to_numpy()


def _damaged() -> WorkspaceError:
    return WorkspaceError("The workspace's label table is damaged: a pack of label rows cannot be read.",
                          "Import the saved Rekognition responses again into a new workspace.")


def read_content_hashes(conn: sqlite3.Connection) -> tuple[np.ndarray, list[str]]:
    """Return every content number and its SHA-256, in number order.

    Read a range of numbers at a time as two texts (numbers, hashes) that SQLite joins and Python splits:
    fetching 1.5 million (number, hash) rows as tuples took several times longer.
    """
    last = int(conn.execute("SELECT COALESCE(MAX(content_no), 0) FROM contents").fetchone()[0])
    numbers: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    hashes: list[str] = []
    for start in range(0, last + 1, CHUNK_CONTENTS * 5):
        where = "WHERE content_no >= ? AND content_no < ? ORDER BY content_no"
        text_numbers, text_hashes = conn.execute(
            f"SELECT group_concat(content_no, ','), group_concat(sha256, ',') FROM "
            f"(SELECT content_no, sha256 FROM contents {where})", (start, start + CHUNK_CONTENTS * 5)).fetchone()
        if text_numbers:
            numbers.append(np.fromstring(text_numbers, dtype=np.int64, sep=","))
            hashes += text_hashes.split(",")
    return np.concatenate(numbers), hashes
