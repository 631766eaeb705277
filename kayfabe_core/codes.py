"""Hand codes: an append-only history of (image, coder, value), and the codebook.

The latest code of a coder for an image wins; nothing is ever deleted.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from kayfabe_core.errors import SettingError
from kayfabe_core.workspace import Workspace, connect

VALUES = ("YES", "NO", "UNSURE")


@dataclass(frozen=True)
class Codebook:
    """What is being coded: the category, the names of its two values, the definition."""

    category: str
    yes_name: str
    no_name: str
    definition: str

    def checked(self) -> Codebook:
        """Return self when it names a category and two different values; raise :class:`SettingError`."""
        for what, text in (("category", self.category), ("name of YES", self.yes_name),
                           ("name of NO", self.no_name)):
            if not text.strip():
                raise SettingError(f"The {what} is empty.", "Give the category and a name for each of its two "
                                   "values, e.g. Food / Not food.")
        if self.yes_name.strip().casefold() == self.no_name.strip().casefold():
            raise SettingError(f"YES and NO need different names; both are “{self.yes_name.strip()}”.",
                               "Name the two values so a coder can tell them apart, e.g. Food / Not food.")
        return self


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_codebook(conn: sqlite3.Connection, codebook: Codebook) -> int:
    """Add ``codebook`` as a new version in the open transaction; return its version number.

    Raises :class:`SettingError` for an empty category or name, or two names alike.
    """
    codebook.checked()
    version = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM codebooks").fetchone()[0]
    conn.execute(
        "INSERT INTO codebooks VALUES (?, ?, ?, ?, ?, ?)",
        (version, codebook.category, codebook.yes_name, codebook.no_name, codebook.definition, _now()),
    )
    return int(version)


def append_codes(
    conn: sqlite3.Connection,
    codes: list[tuple[str, str, str]],
    codebook_version: int | None,
    note: str = "",
) -> int:
    """Append (sha256, coder, value) codes in the open transaction; return how many."""
    stamp = _now()
    conn.executemany(
        "INSERT INTO codes(sha256, coder, value, note, codebook_version, coded_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(sha256, coder, value, note, codebook_version, stamp) for sha256, coder, value in codes],
    )
    return len(codes)


def read_codebook(workspace: Workspace) -> Codebook | None:
    """Return the latest codebook version of the workspace, or None when there is none."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT category, yes_name, no_name, definition FROM codebooks "
                           "ORDER BY version DESC LIMIT 1").fetchone()
    return None if row is None else Codebook(*row)
