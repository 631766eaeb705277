"""Export every hand code with its history to CSV, and import codes from a CSV.

An import row names its image by ``sha256`` (the content hash of a fetched
image), ``image_url`` / ``imgUrl`` (matched on the URL's path, since the
signature in the query string changes between scrapes, else on the exact URL)
or ``postUrl`` / ``post_url`` (the post's cover image); the first of these a
row fills in is used. Its code is in ``value``, ``code``, ``kayfabe`` or
``label``: YES/NO/UNSURE, yes/no, y/n, true/false, 1/0, or the codebook's own
names of YES and NO (e.g. Food / Not food). ``coder``, ``note``,
``codebook_version`` and ``coded_at`` are kept when present, so an export
imported into a workspace with the same images gives the same codes. Codes
already stored exactly as in the file are not added twice, nor is a row without
a time that repeats its coder's latest code of the image. A row whose code is
none of these refuses the whole file: nothing is written.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import pandas as pd

from kayfabe_core.csvfile import decode_csv, read_table
from kayfabe_core.errors import InputFileError
from kayfabe_core.labels_import_read import Matcher
from kayfabe_core.workspace import Workspace, connect, transaction

MAX_EXAMPLES = 5
DEFAULT_CODER = "imported"
ID_COLUMNS = ("sha256", "image_url", "imgUrl", "postUrl", "post_url")
VALUE_COLUMNS = ("value", "code", "kayfabe", "label")
EXPORT_COLUMNS = ("code_id", "sha256", "post_url", "image_url", "coder", "value", "note",
                  "codebook_version", "coded_at")
_VALUES = {"yes": "YES", "y": "YES", "1": "YES", "true": "YES", "no": "NO", "n": "NO", "0": "NO", "false": "NO",
           "unsure": "UNSURE"}
_MATCH_KIND = {"sha256": "sha256", "image": "image_url", "post": "post_url"}
_ID_KIND = {"sha256": "sha256", "image_url": "image", "imgurl": "image", "posturl": "post", "post_url": "post"}
HINT = ("Give a CSV with one row per code: a sha256, image_url or postUrl column naming the image and a "
        "value column holding YES, NO or UNSURE, as the codes download (or export-codes) writes it.")


@dataclass(frozen=True)
class CodesImportReport:
    """What an import of codes read and stored.

    ``codes_added`` counts codes written; ``already_stored`` rows whose code was
    already in the workspace exactly so; ``images_matched`` distinct images the
    file's rows matched; ``unmatched_rows`` rows whose image was not found or not
    fetched yet; ``blank_codes`` rows whose code cell is empty (not coded: skipped).
    """

    rows_read: int
    codes_added: int
    images_matched: int
    unmatched_rows: int
    unmatched_examples: tuple[str, ...]
    blank_codes: int
    blank_examples: tuple[str, ...]
    already_stored: int = 0

    def to_dict(self) -> dict[str, object]:
        """Return the report as plain JSON-ready data."""
        data = asdict(self)
        data["unmatched_examples"] = list(self.unmatched_examples)
        data["blank_examples"] = list(self.blank_examples)
        return data


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_value(text: str, names: dict[str, str] | None = None) -> str | None:
    """Return YES, NO or UNSURE for a spelling of a code (case-insensitive), else None; ``names`` adds
    spellings (lower case: the codebook's names of YES and NO)."""
    key = text.strip().lower()
    return _VALUES.get(key) or (names or {}).get(key)


def _codebook_spellings(conn: sqlite3.Connection) -> tuple[dict[str, str], str]:
    """Return the latest codebook's names of YES and NO as spellings, and the accepted values in words."""
    row = conn.execute("SELECT yes_name, no_name FROM codebooks ORDER BY version DESC LIMIT 1").fetchone()
    accepted = "YES, NO or UNSURE (also yes/no, y/n, true/false, 1/0)"
    if row is None:
        return {}, accepted
    names = {str(row[0]).strip().lower(): "YES", str(row[1]).strip().lower(): "NO"}
    return names, f"{accepted}, or the codebook's “{row[0]}” and “{row[1]}”"


# --- matching --------------------------------------------------------------------------------

# --- import ----------------------------------------------------------------------------------

def _columns(name: str, frame: pd.DataFrame) -> tuple[list[tuple[str, str]], str]:
    """Return ([(id column, kind)] in order of preference, value column); raise InputFileError if missing."""
    by_lower = {str(column).lower(): str(column) for column in frame.columns}
    ids = [(by_lower[candidate.lower()], _ID_KIND[candidate.lower()])
           for candidate in ID_COLUMNS if candidate.lower() in by_lower]
    values = [by_lower[candidate] for candidate in VALUE_COLUMNS if candidate in by_lower]
    missing = []
    if not ids:
        missing.append("column naming the image (sha256, image_url, imgUrl, postUrl or post_url)")
    if not values:
        missing.append("column holding the code (value, code, kayfabe or label)")
    if missing:
        found = ", ".join(str(column) for column in frame.columns) or "none"
        raise InputFileError(f"The file {name} has no {' and no '.join(missing)}; its columns are: {found}.", HINT)
    return ids, values[0]


def _column(frame: pd.DataFrame, name: str, strip: bool = True) -> list[str]:
    """Return the cells of the column called ``name`` (any case), or '' for each row when there is none."""
    by_lower = {str(column).lower(): str(column) for column in frame.columns}
    if name not in by_lower:
        return [""] * len(frame)
    return [cell.strip() if strip else cell for cell in frame[by_lower[name]]]


def _version(text: str, versions: set[int]) -> int | None:
    try:
        number = int(text)
    except ValueError:
        return None
    return number if number in versions else None


def import_codes(workspace: Workspace, name: str, raw: bytes, coder: str | None = None) -> CodesImportReport:
    """Read codes from the CSV ``raw`` (named ``name``) and add those matching a fetched image.

    ``coder``, when given, is the coder of every row; otherwise a row's ``coder``
    cell, else ``"imported"``. All codes are written in one transaction.
    Returns a :class:`CodesImportReport`. Raises :class:`InputFileError` when the
    file cannot be read as CSV or lacks a column naming the image or the code.
    """
    frame = read_table(decode_csv(name, raw, kind="a codes CSV", advice=HINT), advice=HINT)
    ids, value_column = _columns(name, frame)
    notes = _column(frame, "note", strip=False)
    versions, stamps, coders = (_column(frame, column) for column in ("codebook_version", "coded_at", "coder"))
    stamp = _now()
    unmatched: list[str] = []
    bad: list[str] = []
    blank: list[str] = []
    rows: list[tuple[str, str, str, str, int | None, str]] = []
    with transaction(workspace, codes_only=True) as conn:
        matcher = Matcher(workspace)
        spellings, accepted = _codebook_spellings(conn)
        known_versions = {row[0] for row in conn.execute("SELECT version FROM codebooks")}
        stored = {tuple(row) for row in conn.execute(
            "SELECT sha256, coder, value, note, codebook_version, coded_at FROM codes")}
        latest = {(row[0], row[1]): (row[2], row[3]) for row in conn.execute(
            "SELECT sha256, coder, value, note FROM codes WHERE code_id IN "
            "(SELECT MAX(code_id) FROM codes GROUP BY sha256, coder)")}
        for index, record in enumerate(frame.itertuples(index=False)):
            line = f"row {index + 2}"
            cells = dict(zip(frame.columns, record, strict=True))
            if not cells[value_column].strip():
                blank.append(f"{line}: no code")
                continue
            value = parse_value(cells[value_column], spellings)
            if value is None:
                bad.append(f"{line}: {cells[value_column].strip()!r}")
                continue
            named = [(kind, cells[column].strip()) for column, kind in ids if cells[column].strip()]
            if not named:
                unmatched.append(f"{line}: no image given")
                continue
            kind, named_value = named[0]
            sha256, why = matcher.match_value(_MATCH_KIND[kind], named_value)
            if sha256 is None:
                unmatched.append(f"{line}: {named[0][1]} ({why})")
                continue
            who = coder or coders[index] or DEFAULT_CODER
            if not stamps[index] and latest.get((sha256, who)) == (value, notes[index]):
                rows.append((sha256, who, value, notes[index], None, ""))  # its latest code again: not added
                stored.add(rows[-1])
                continue
            rows.append((sha256, who, value, notes[index], _version(versions[index], known_versions),
                         stamps[index] or stamp))
        if bad:
            raise _not_codes(name, value_column, bad, len(frame), accepted)
        new = [row for row in rows if row not in stored]
        conn.executemany("INSERT INTO codes(sha256, coder, value, note, codebook_version, coded_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)", new)
    return CodesImportReport(
        rows_read=len(frame), codes_added=len(new), images_matched=len({row[0] for row in rows}),
        unmatched_rows=len(unmatched), unmatched_examples=tuple(unmatched[:MAX_EXAMPLES]),
        blank_codes=len(blank), blank_examples=tuple(blank[:MAX_EXAMPLES]), already_stored=len(rows) - len(new))


def _not_codes(name: str, column: str, bad: list[str], rows: int, accepted: str) -> InputFileError:
    """The error for rows whose code is not one: the file is refused whole."""
    shown = "; ".join(bad[:MAX_EXAMPLES]) + (f"; and {len(bad) - MAX_EXAMPLES:,} more" if len(bad) > MAX_EXAMPLES
                                             else "")
    return InputFileError(
        f"{len(bad):,} of the {rows:,} rows of {name} hold something that is not a code in the column “{column}” "
        f"({shown}). Nothing was imported.",
        f"Write each code as {accepted}, then import the file again.")


# --- export ----------------------------------------------------------------------------------

def export_codes(workspace: Workspace) -> bytes:
    """Return every code ever made, oldest first, as UTF-8 CSV bytes with :data:`EXPORT_COLUMNS`.

    ``post_url`` and ``image_url`` are those of one image with the code's hash
    ('' when the workspace has no such image); an empty ``codebook_version`` means none.
    """
    with connect(workspace) as conn:
        rows = conn.execute(
            "SELECT c.code_id, c.sha256, COALESCE(i.post_url, ''), COALESCE(i.source_url, ''), c.coder, c.value, "
            "c.note, COALESCE(c.codebook_version, ''), c.coded_at FROM codes c LEFT JOIN "
            "(SELECT sha256, post_url, source_url, MIN(image_id) FROM images WHERE sha256 IS NOT NULL "
            "GROUP BY sha256) i ON i.sha256 = c.sha256 ORDER BY c.code_id").fetchall()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(tuple(row) for row in rows)
    return buffer.getvalue().encode("utf-8")
