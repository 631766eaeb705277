"""Open PhantomBuster CSV exports and read their rows a chunk at a time.

An export is an :class:`ExportSource`: its header checked and its columns matched
to canonical fields when it is opened, its rows read later by :func:`read_chunks`.
A file on disk in UTF-8 (what PhantomBuster writes) is read from disk and never
held whole in memory. Anything else (UTF-16, Windows-1252, not text at all) and
uploaded bytes are decoded in memory by :func:`kayfabe_core.csvfile.decode_csv`,
so both ways of opening read the same text and raise the same errors.
"""

from __future__ import annotations

import codecs
import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pandas as pd

from kayfabe_core.csvfile import CsvText, _ragged_error, decode_csv, read_header
from kayfabe_core.errors import InputFileError
from kayfabe_core.phantombuster import EXPECTED_HINT, map_columns

CHUNK_ROWS = 50_000
_HEAD_BYTES = 1 << 20  # enough for the header line and the delimiter sniffing (200,000 characters)
_BLOCK_BYTES = 1 << 24

T = TypeVar("T")


@dataclass(frozen=True)
class ExportSource:
    """One export, checked, ready to read.

    ``text`` holds the whole decoded file for in-memory sources and only its first
    lines when ``path`` is set (a UTF-8 file read from disk with ``codec``).
    """

    text: CsvText
    mapping: dict[str, str]
    unknown: tuple[str, ...]
    path: Path | None = None
    codec: str = "utf-8"

    @property
    def name(self) -> str:
        return self.text.name


def open_bytes(name: str, raw: bytes) -> ExportSource:
    """Decode an uploaded file and check its header.

    Returns the :class:`ExportSource`. Raises :class:`InputFileError` when the file
    is empty, binary or undecodable, has no post link column or repeats a column name.
    """
    return _checked(decode_csv(name, raw))


def open_path(path: Path) -> ExportSource:
    """Open the file at ``path`` and check its header, reading it from disk when it is UTF-8.

    Returns the :class:`ExportSource`. Raises :class:`InputFileError` as
    :func:`open_bytes` does, and when the file does not exist or is a folder.
    """
    head = _read_head(path)
    if not _streamable(path, head):
        return open_bytes(path.name, path.read_bytes())
    whole_lines = head if len(head) < _HEAD_BYTES else head[: head.rfind(b"\n") + 1]
    codec = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    return _checked(decode_csv(path.name, whole_lines), path=path, codec=codec)


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(_HEAD_BYTES)
    except FileNotFoundError as exc:
        raise InputFileError(f"The file {path} does not exist.", "Check the path and try again.") from exc
    except IsADirectoryError as exc:
        raise InputFileError(f"{path} is a folder, not a CSV file.", "Give the path of a .csv file.") from exc


def _streamable(path: Path, head: bytes) -> bool:
    """Whether the file is plain UTF-8 text that :func:`decode_csv` would read as such."""
    unusual_start = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"PK\x03\x04"))
    if unusual_start or b"\x00" in head[:65536] or not head.strip():
        return False
    if len(head) == _HEAD_BYTES and b"\n" not in head:
        return False
    return _is_utf8(path)


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as file:
            while block := file.read(_BLOCK_BYTES):
                if block.isascii() and not decoder.getstate()[0]:  # ASCII is UTF-8, checked without decoding
                    continue
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _checked(csv_text: CsvText, path: Path | None = None, codec: str = "utf-8") -> ExportSource:
    header = read_header(csv_text)
    mapping, unknown = map_columns(header)
    name = csv_text.name
    if "post_url" not in mapping.values():
        shown = ", ".join(header[:12]) + (f" … ({len(header)} in all)" if len(header) > 12 else "")
        raise InputFileError(
            f"{name} does not look like a PhantomBuster Instagram export: it has no column "
            f"with the post's link. Columns found: {shown or 'none'}.",
            EXPECTED_HINT,
        )
    duplicated = sorted({column for column in header if header.count(column) > 1})
    if duplicated:
        raise InputFileError(
            f"{name} has the column name {duplicated[0]!r} more than once.",
            "Rename or delete the repeated column in a spreadsheet program, then upload again.",
        )
    return ExportSource(csv_text, mapping, tuple(unknown), path, codec)


def read_chunks(source: ExportSource, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Yield the rows of ``source``, ``chunk_rows`` at a time, as strings under canonical names.

    Raises :class:`InputFileError` (possibly after some chunks) when a row has more
    cells than the header or the quoting is broken.
    """
    data = source.path if source.path is not None else io.StringIO(source.text.text)
    reader = _call(source.name, lambda: pd.read_csv(
        data, sep=source.text.delimiter, encoding=source.codec, dtype=object, keep_default_na=False,
        na_filter=False, index_col=False, engine="c", chunksize=chunk_rows,
    ))
    with reader:
        while (frame := _call(source.name, lambda: next(reader, None))) is not None:
            frame.columns = [str(column).strip() for column in frame.columns]
            yield frame[[column for column in frame.columns if column in source.mapping]].rename(
                columns=source.mapping)


def _call(name: str, read: Callable[[], T]) -> T:
    """Run one step of the CSV parser, turning its complaints into :class:`InputFileError`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return read()
    except pd.errors.ParserWarning as exc:
        raise InputFileError(
            f"The rows of {name} have more cells than its header has columns.",
            "The file is damaged or was edited by hand; export it from PhantomBuster again.",
        ) from exc
    except pd.errors.ParserError as exc:
        raise _ragged_error(name, str(exc)) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(
            f"The file {name} has no header row.", "Upload the CSV exactly as PhantomBuster wrote it."
        ) from exc
