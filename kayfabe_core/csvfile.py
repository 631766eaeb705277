"""Turn the bytes of a user's CSV file into a table of strings, or one clear error.

Handles what spreadsheets and scrapers produce in the wild: a UTF-8 byte-order
mark, UTF-16, Windows-1252 / Latin-1 text, semicolon, tab or pipe delimiters, and
captions with newlines inside quotes. Refuses empty, binary and garbled files and
rows with more cells than the header, saying what was found.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass

import pandas as pd

from kayfabe_core.errors import InputFileError

DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def parser_problem(detail: str) -> str:
    """Return what pandas' CSV parser found wrong, in plain words (its own words when not recognised)."""
    first = detail.strip().splitlines()[0] if detail.strip() else "no detail"
    if match := _OPEN_QUOTE.search(first):
        return f"a quotation mark (\") opened on line {int(match.group(1)) + 1} is never closed"
    if match := _RAGGED.search(first):
        expected, line, seen = match.groups()
        return f"line {line} has {seen} cells where the header has {expected} columns"
    if "No columns to parse" in first:
        return "it holds no header row"
    return first


@dataclass(frozen=True)
class CsvText:
    """A CSV file decoded to text, with how it was read."""

    name: str
    text: str
    encoding: str
    delimiter: str

    @property
    def notes(self) -> tuple[str, ...]:
        """Plain sentences about anything unusual in how the file was read."""
        notes = []
        if self.encoding not in ("UTF-8", "UTF-8 with byte-order mark"):
            notes.append(f"{self.name} was read as {self.encoding} text (it is not UTF-8).")
        if self.delimiter != ",":
            notes.append(
                f"{self.name} separates its columns with {DELIMITER_NAMES[self.delimiter]}, "
                "not commas; it was read that way."
            )
        return tuple(notes)


def decode_csv(name: str, raw: bytes, kind: str = "a CSV export", advice: str | None = None) -> CsvText:
    """Decode ``raw`` and find its delimiter.

    Returns a :class:`CsvText`. Raises :class:`InputFileError` for an empty,
    binary or undecodable file. ``kind`` names what the file should be and
    ``advice`` replaces the advice about PhantomBuster exports (for other CSVs).
    """
    if not raw.strip():
        raise InputFileError(
            f"The file {name} is empty.",
            advice or "Export the posts from PhantomBuster again and use the CSV it gives you.",
        )
    text, encoding = _decode_text(name, raw, kind, advice)
    return CsvText(name=name, text=text, encoding=encoding, delimiter=_sniff_delimiter(text))


def _decode_text(name: str, raw: bytes, kind: str, advice: str | None) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise InputFileError(
                f"The file {name} starts as UTF-16 text but breaks off or is damaged further on, so it cannot be "
                f"read as {kind}.",
                "Save it again from your spreadsheet program as CSV (UTF-8), or download it again.",
            ) from None
    if raw.startswith(b"PK\x03\x04"):
        raise InputFileError(
            f"The file {name} is a zip archive or an Excel workbook, not a CSV file.",
            "Open it in your spreadsheet program and save it as 'CSV (comma-separated)', "
            "or unzip it first.",
        )
    if b"\x00" in raw[:65536]:
        raise InputFileError(
            f"The file {name} holds binary data, not text, so it cannot be {kind}.",
            advice or "Use the .csv file that PhantomBuster produced (result.csv).",
        )
    try:
        if raw.startswith(b"\xef\xbb\xbf"):
            return raw[3:].decode("utf-8"), "UTF-8 with byte-order mark"
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    for codec, label in (("cp1252", "Windows-1252 (Western European)"), ("latin-1", "Latin-1")):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if len(_CONTROL.findall(text)) <= max(2, len(text) // 1000):
            return text, label
    raise InputFileError(
        f"The text of {name} is in an encoding that could not be recognised "
        "(it is neither UTF-8, UTF-16 nor Latin-1).",
        "Open it in a spreadsheet program or text editor and save it as CSV with UTF-8 encoding.",
    )


def _sniff_delimiter(text: str) -> str:
    header = _first_record(text)
    counts = {sep: _count_outside_quotes(header, sep) for sep in DELIMITER_NAMES}
    best = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] > 0 else ","


def _first_record(text: str) -> str:
    end = 0
    in_quotes = False
    for end, char in enumerate(text[:200_000]):
        if char == '"':
            in_quotes = not in_quotes
        elif char == "\n" and not in_quotes:
            return text[:end]
    return text[: end + 1]


def _count_outside_quotes(line: str, sep: str) -> int:
    return sum(part.count(sep) for part in line.split('"')[::2])


def read_header(csv_text: CsvText) -> list[str]:
    """Return the column names of the file, stripped of spaces."""
    reader = csv.reader(io.StringIO(_first_record(csv_text.text)), delimiter=csv_text.delimiter)
    return [cell.strip() for cell in next(reader, [])]


def read_table(csv_text: CsvText, advice: str | None = None) -> pd.DataFrame:
    """Parse the decoded file into a DataFrame of strings ('' where a cell is empty).

    Raises :class:`InputFileError` when a row has more cells than the header or
    the quoting is broken; ``advice`` replaces the advice about PhantomBuster exports.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.BytesIO(csv_text.text.encode()),  # a StringIO holds 4 bytes per character: 4x the memory
                encoding="utf-8",
                sep=csv_text.delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                index_col=False,
                engine="c",
            )
    except pd.errors.ParserWarning as exc:
        raise InputFileError(
            f"The rows of {csv_text.name} have more cells than its header has columns.",
            advice or "The file is damaged or was edited by hand; export it from PhantomBuster again.",
        ) from exc
    except pd.errors.ParserError as exc:
        raise _ragged_error(csv_text.name, str(exc), advice) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(
            f"The file {csv_text.name} has no header row.",
            advice or "Upload the CSV exactly as PhantomBuster wrote it.",
        ) from exc
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame


def _ragged_error(name: str, detail: str, advice: str | None = None) -> InputFileError:
    match = _RAGGED.search(detail)
    if match:
        expected, line, seen = match.groups()
        return InputFileError(
            f"Line {line} of {name} has {seen} cells, but the header has {expected} columns.",
            advice or "The file is damaged or was edited by hand; export it from PhantomBuster again, "
            "or fix that line in a spreadsheet program.",
        )
    return InputFileError(
        f"The file {name} could not be read as a table: {parser_problem(detail)}.",
        advice or "Check that it is a CSV file; export it from PhantomBuster again if in doubt.",
    )
