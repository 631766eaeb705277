"""Every hand code of a workspace as numbers, kept per process: a later read fetches only the codes added since.

Codes are only ever appended (never changed or deleted), so a process keeps what
it has read and asks SQLite only for the rows past the last ``code_id`` it
holds. Reading and numbering all 150,000 codes of a large workspace took 0.23 s
at every page visit after a code; reading the new ones takes milliseconds.

A kept log is trusted only while the database file is the same file (device and
inode) and its last kept code is still there, with the same image, coder and
time; otherwise (a workspace replaced in the same folder) everything is read
again. Images are numbered by the rank of their content hash, so the resolved
codes come out sorted by hash without sorting texts; hashes are held as
fixed-width bytes (Python texts where they are not all ASCII of one length,
never the case for SHA-256 hex). Only a process that asks keeps logs
(:func:`keep_code_logs`: the app); a one-off command reads all codes once.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kayfabe_core.sql_columns import read_columns
from kayfabe_core.workspace import Workspace, database_identity

VALUES = ("NO", "YES", "UNSURE")  # a code's value number is its place here


@dataclass(frozen=True)
class CodeLog:
    """Every code read so far, in the order coded.

    ``hashes`` holds the distinct image hashes, sorted (fixed-width bytes; Python texts where they are not
    all ASCII of one length);
    ``image`` each code's place in them; ``coder`` each code's place in
    ``coders``; ``value`` its place in :data:`VALUES`. ``last`` is the last
    code's (code_id, sha256, coder, coded_at), the mark checked before reuse.
    """

    hashes: np.ndarray
    image: np.ndarray
    coder: np.ndarray
    coders: tuple[str, ...]
    value: np.ndarray
    last: tuple[int, str, str, str] | None

    def hash_texts(self, places: np.ndarray) -> pa.Array:
        """Return the hashes at ``places`` as an Arrow text array (built on their bytes, not copied per text)."""
        picked = np.ascontiguousarray(self.hashes[places])
        if picked.dtype.kind != "S":
            return pa.array(picked.tolist(), pa.string())
        width = self.hashes.dtype.itemsize
        offsets = np.arange(len(picked) + 1, dtype=np.int32) * width
        return pa.Array.from_buffers(pa.string(), len(picked), [None, pa.py_buffer(offsets),
                                                                  pa.py_buffer(picked.tobytes())])


_EMPTY = CodeLog(hashes=np.zeros(0, dtype="S64"), image=np.zeros(0, np.int64), coder=np.zeros(0, np.int32),
                 coders=(), value=np.zeros(0, np.int8), last=None)
_KEPT: dict[tuple[str, int, int], CodeLog] = {}
_LOCK = threading.Lock()
_KEEPING = False  # off: a one-off command would only hold the memory (110 MB at a million posts)


def keep_code_logs() -> None:
    """Keep each workspace's code log in this process from now on (the app does: it reads codes again and
    again)."""
    global _KEEPING
    _KEEPING = True


def read_code_log(conn: sqlite3.Connection, workspace: Workspace) -> CodeLog:
    """Return every code of ``workspace`` (its database open as ``conn``): the kept log and the codes added
    since, or all of them read afresh when the kept log no longer matches."""
    key = database_identity(workspace)
    with _LOCK:
        kept = _KEPT.get(key, _EMPTY)
    if kept.last is not None and not _still_there(conn, kept.last):
        kept = _EMPTY
    last = conn.execute("SELECT code_id, sha256, coder, coded_at FROM codes ORDER BY code_id DESC LIMIT 1").fetchone()
    if last is None or (kept.last is not None and last[0] == kept.last[0]):
        return kept
    added = read_columns(conn, "SELECT sha256, coder, value FROM codes WHERE code_id > ? AND code_id <= ? "
                               "ORDER BY code_id", ["sha256", "coder", "value"],
                         params=[kept.last[0] if kept.last else -1, last[0]])  # up to the last seen: one moment
    log = _extended(kept, added, tuple(last))
    if _KEEPING:
        with _LOCK:
            _KEPT[key] = log
    return log


def _still_there(conn: sqlite3.Connection, last: tuple[int, str, str, str]) -> bool:
    row = conn.execute("SELECT sha256, coder, coded_at FROM codes WHERE code_id = ?", (last[0],)).fetchone()
    return row is not None and tuple(row) == last[1:]


def _extended(log: CodeLog, added: pd.DataFrame, last: tuple[int, str, str, str]) -> CodeLog:
    """Return ``log`` with the codes of ``added`` (sha256, coder, value, in code order) appended; ``last``
    marks the last of them."""
    if not len(log.image):  # a whole read: Arrow numbers the texts in sorted order (faster than numpy's bytes)
        new_image, uniques = pd.factorize(added["sha256"], sort=True)
        hashes, moved = _fixed_width(uniques), log.image
    else:
        old_hashes, new_hashes = log.hashes, _fixed_width(added["sha256"])
        if old_hashes.dtype != new_hashes.dtype:  # another width, or not ASCII: texts
            old_hashes, new_hashes = _as_texts(old_hashes), _as_texts(new_hashes)
        hashes, moved = _merged(old_hashes, new_hashes)
        new_image = np.searchsorted(hashes, new_hashes)
    coder_numbers, coder_names = pd.factorize(added["coder"])
    coder_of = {name: place for place, name in enumerate(log.coders)}
    coder_places = np.array([coder_of.setdefault(str(name), len(coder_of)) for name in coder_names], dtype=np.int32)
    value_numbers, value_names = pd.factorize(added["value"])
    value_places = np.array([VALUES.index(str(name)) for name in value_names], dtype=np.int8)
    return CodeLog(hashes=hashes, image=np.concatenate([moved[log.image], new_image]),
                   coder=np.concatenate([log.coder, coder_places[coder_numbers]]), coders=tuple(coder_of),
                   value=np.concatenate([log.value, value_places[value_numbers]]),
                   last=(int(last[0]), str(last[1]), str(last[2]), str(last[3])))


def _merged(old: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the sorted distinct hashes of ``old`` (sorted, distinct) and ``new``, and where each of ``old``
    now stands: new hashes are inserted in place, without sorting them all again."""
    fresh = np.unique(new)
    at = np.searchsorted(old, fresh)
    known = old[np.minimum(at, len(old) - 1)] == fresh
    fresh, at = fresh[~known], at[~known]
    return np.insert(old, at, fresh), np.arange(len(old)) + np.searchsorted(at, np.arange(len(old)), side="right")


def _as_texts(hashes: np.ndarray) -> np.ndarray:
    return hashes.astype(str).astype(object) if hashes.dtype.kind == "S" else hashes


def _fixed_width(texts: pd.Series) -> np.ndarray:
    """Return ``texts`` as fixed-width bytes when all are ASCII of one length (Arrow's buffer, viewed), else
    as Python texts."""
    array = pa.array(texts).cast(pa.large_string())
    lengths = pc.min_max(pc.binary_length(array)).as_py()
    if lengths["min"] != lengths["max"] or not lengths["min"] or not pc.all(pc.string_is_ascii(array)).as_py():
        return np.asarray(array.to_pylist(), dtype=object)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset:]
    return np.frombuffer(array.buffers()[2], dtype=f"S{lengths['min']}", count=len(array),
                         offset=int(offsets[0])).copy()
