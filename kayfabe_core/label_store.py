"""Writing the long label table: rows of (content number, label number, confidence).

Since schema 3 a label row holds two small integers and a confidence; the
image's hash lives once in ``contents`` and the label's texts once in
``label_names``. ``labels`` is a view with the old columns for readers. Every
writer goes through :class:`LabelNumbers` inside its open transaction: it
numbers new contents in the order they arrive (so a new import appends to the
end of the table's B-tree) and new labels as they are first seen.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

import numpy as np

# (source, key, model_version, name, parents, categories): what label_names holds per label
LabelName = tuple[str, str, str, str, str, str]
_INSERT_ROWS = "INSERT OR IGNORE INTO label_rows(content_no, label_no, confidence) VALUES (?, ?, ?)"


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
        """Insert label rows (numbers already given), in key order; the first of duplicates wins.

        Returns the number of rows written (rows already stored are kept as they were).
        """
        if not len(contents):
            return 0
        order = np.lexsort((labels, contents))  # stable: among equal keys the first row stays first
        before = self.conn.total_changes
        self.conn.executemany(_INSERT_ROWS, zip(contents[order].tolist(), labels[order].tolist(),
                                                confidences[order].tolist(), strict=True))
        return self.conn.total_changes - before


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


def read_label_numbers(conn: sqlite3.Connection, cuts: Sequence[float], contents: bool = True) -> np.ndarray:
    """Return every label row at or above the lowest of ``cuts`` as numbers, in key order: one row of
    (content number, label number, how many of the other cuts its confidence reaches) each, or with
    ``contents`` false just the label numbers (one dimension; a third of the time).

    Reads a range of contents at a time, each range as one text of numbers that SQLite builds and
    numpy parses: no Python object per label row (fetching rows as tuples took twice as long).
    """
    cuts = sorted(float(cut) for cut in cuts)
    last = int(conn.execute("SELECT COALESCE(MAX(content_no), 0) FROM contents").fetchone()[0])
    if not contents:
        return np.concatenate([_read_range(conn, "label_no", cuts[:1], start, start + CHUNK_CONTENTS)
                               for start in range(0, last + 1, CHUNK_CONTENTS)])
    passed = " || ',' || (" + " + ".join("(confidence >= ?)" for _ in cuts[1:]) + ")" if len(cuts) > 1 else ""
    chunks = [_read_range(conn, f"content_no || ',' || label_no{passed}", cuts, start, start + CHUNK_CONTENTS)
              for start in range(0, last + 1, CHUNK_CONTENTS)]
    if passed:
        return np.concatenate(chunks).reshape(-1, 3)
    pairs = np.concatenate(chunks).reshape(-1, 2)  # one cut: nobody passes more, a column of zeros
    return np.column_stack([pairs, np.zeros(len(pairs), dtype=np.int64)])


def _read_range(conn: sqlite3.Connection, numbers: str, cuts: list[float], start: int, stop: int) -> np.ndarray:
    """Return the ``numbers`` (an SQL expression of comma-separated numbers, with a parameter for each
    of ``cuts`` but the first) of the rows of contents ``start`` to ``stop`` at or above the lowest cut,
    flat. A range whose text would pass SQLite's length limit is read in halves."""
    try:
        text = conn.execute(
            f"SELECT group_concat({numbers}, ',') FROM label_rows "
            "WHERE content_no >= ? AND content_no < ? AND confidence >= ?", [*cuts[1:], start, stop, cuts[0]],
        ).fetchone()[0]
    except sqlite3.DataError:  # string or blob too big
        if stop - start < 2:
            raise
        middle = (start + stop) // 2
        return np.concatenate([_read_range(conn, numbers, cuts, start, middle),
                               _read_range(conn, numbers, cuts, middle, stop)])
    return np.fromstring(text, dtype=np.int64, sep=",") if text else np.zeros(0, dtype=np.int64)




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
