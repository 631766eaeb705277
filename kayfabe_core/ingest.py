"""Import PhantomBuster Instagram CSV exports into the workspace's posts and images.

``read_export`` parses and normalises files without touching the workspace;
``store_export`` writes the result in one transaction; ``ingest_files`` does both.
A bad file raises before anything is written, so the workspace never holds half
an import.

Rules: rows with an ``error`` value are dropped; a row that repeats a post's link
with the same image (same URL path; the signature may differ between scrapes) is
a duplicate; rows sharing a post link with different images are the slides of
one carousel post.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from kayfabe_core.csvfile import decode_csv, read_header, read_table
from kayfabe_core.errors import InputFileError
from kayfabe_core.phantombuster import EXPECTED_HINT, TAGGED, map_columns
from kayfabe_core.workspace import Workspace, connect, transaction

POST_FIELDS = (
    "post_url", "media_id", "owner", "full_name", "profile_url", "description", "alt_text",
    "media_type", "n_images", "pub_date", "like_count", "comment_count", "view_count",
    "location", "query", "scraped_at", "tagged",
)
IMAGE_FIELDS = ("post_url", "position", "image_key", "source_url", "url_expiry")


@dataclass(frozen=True)
class FileReport:
    """How one file was read."""

    name: str
    rows: int
    encoding: str
    delimiter: str
    notes: tuple[str, ...] = ()


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


def ingest_files(workspace: Workspace, files: Sequence[tuple[str, bytes]]) -> IngestReport:
    """Read the (name, bytes) files and add their posts and images to the workspace.

    Returns the :class:`IngestReport`. Raises :class:`InputFileError` (nothing
    written) when any file cannot be read as a PhantomBuster export.
    """
    return store_export(workspace, read_export(files))


def read_export(files: Sequence[tuple[str, bytes]]) -> ParsedExport:
    """Parse and normalise PhantomBuster CSV files given as (name, bytes).

    Returns a :class:`ParsedExport`. Raises :class:`InputFileError` when no file
    is given or a file is empty, binary, undecodable, ragged or has no post link
    column.
    """
    if not files:
        raise InputFileError("No file was given.", "Choose one or more PhantomBuster CSV files.")
    frames, reports, unknown = [], [], []
    for name, raw in files:
        frame, report, file_unknown = _read_one(name, raw)
        frames.append(frame)
        reports.append(report)
        unknown += [column for column in file_unknown if column not in unknown]
    rows = pd.concat(frames, ignore_index=True).fillna("")
    return _normalise(rows, tuple(reports), tuple(unknown))


def _read_one(name: str, raw: bytes) -> tuple[pd.DataFrame, FileReport, list[str]]:
    csv_text = decode_csv(name, raw)
    header = read_header(csv_text)
    mapping, unknown = map_columns(header)
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
    table = read_table(csv_text)
    frame = table[[column for column in table.columns if column in mapping]]
    frame = frame.rename(columns=mapping)
    report = FileReport(name, len(table), csv_text.encoding, csv_text.delimiter, csv_text.notes)
    return frame, report, unknown


def _column(rows: pd.DataFrame, name: str) -> pd.Series:
    if name in rows.columns:
        return rows[name].astype(str).str.strip()
    return pd.Series("", index=rows.index, dtype=object)


def _normalise(
    rows: pd.DataFrame, files: tuple[FileReport, ...], unknown: tuple[str, ...]
) -> ParsedExport:
    rows_read = len(rows)
    is_error = _column(rows, "error") != ""
    rows = rows[~is_error]
    post_url = _clean_post_url(_column(rows, "post_url"))
    no_url = post_url == ""
    rows = rows[~no_url].assign(post_url=post_url[~no_url])
    image_url = _column(rows, "image_url")
    rows = rows.assign(image_url=image_url, image_key=_url_path(image_url))
    kept = _drop_duplicates(rows)
    images = _build_images(kept)
    posts, unreadable = _build_posts(kept, images)
    report = IngestReport(
        files=files,
        rows_read=rows_read,
        posts=len(posts),
        images=len(images),
        duplicates_dropped=len(rows) - len(kept),
        error_rows=int(is_error.sum()),
        posts_without_image=int((posts["n_images"] == 0).sum()),
        rows_without_post_url=int(no_url.sum()),
        unreadable_dates=unreadable,
        unknown_columns=unknown,
        notes=tuple(note for report in files for note in report.notes),
    )
    return ParsedExport(posts=posts, images=images, report=report)


def _clean_post_url(urls: pd.Series) -> pd.Series:
    base = urls.str.split("?", n=1).str[0].str.split("#", n=1).str[0]
    needs_slash = (base != "") & ~base.str.endswith("/")
    return base.where(~needs_slash, base + "/")


def _url_path(urls: pd.Series) -> pd.Series:
    """The URL without scheme, host and query: stable when a re-scrape re-signs it."""
    without_query = urls.str.split("?", n=1).str[0]
    path = without_query.str.replace(r"^[a-zA-Z]+://[^/]*", "", regex=True)
    return path.where(urls != "", "")


def _drop_duplicates(rows: pd.DataFrame) -> pd.DataFrame:
    kept = rows.drop_duplicates(subset=["post_url", "image_key"], keep="first")
    with_image = kept["image_key"] != ""
    has_image = kept["post_url"].isin(kept.loc[with_image, "post_url"])
    return kept[with_image | ~has_image]


def _build_images(rows: pd.DataFrame) -> pd.DataFrame:
    with_image = rows[rows["image_key"] != ""]
    expiry = _expiry_from_url(with_image["image_url"])
    return pd.DataFrame(
        {
            "post_url": with_image["post_url"].to_numpy(),
            "position": with_image.groupby("post_url").cumcount().to_numpy(),
            "image_key": with_image["image_key"].to_numpy(),
            "source_url": with_image["image_url"].to_numpy(),
            "url_expiry": expiry.to_numpy(),
        }
    )


def _expiry_from_url(urls: pd.Series) -> pd.Series:
    hex_values = urls.str.extract(r"[?&]oe=([0-9A-Fa-f]{1,12})(?:&|$)", expand=False)
    seconds = pd.Series(
        [int(value, 16) if isinstance(value, str) else np.nan for value in hex_values],
        index=urls.index,
        dtype="float64",
    )
    stamps = pd.to_datetime(seconds, unit="s", utc=True, errors="coerce")
    return stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(object).where(stamps.notna(), None)


def _build_posts(rows: pd.DataFrame, images: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    first = rows.drop_duplicates(subset=["post_url"], keep="first").set_index("post_url")
    n_images = images.groupby("post_url").size().reindex(first.index, fill_value=0)
    raw_dates = _column(first, "pub_date")
    dates = pd.to_datetime(raw_dates, utc=True, errors="coerce", format="ISO8601")
    unreadable = int(((raw_dates != "") & dates.isna()).sum())
    posts = pd.DataFrame(index=first.index)
    for name in ("media_id", "owner", "full_name", "profile_url", "description", "alt_text",
                 "location", "query", "scraped_at"):
        posts[name] = _column(first, name).replace("", None)
    posts["media_type"] = _media_type(first, n_images)
    posts["n_images"] = n_images.astype(int)
    posts["pub_date"] = dates.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(object).where(dates.notna(), None)
    for name in ("like_count", "comment_count", "view_count"):
        posts[name] = pd.to_numeric(_column(first, name).str.replace(",", ""), errors="coerce").astype("Int64")
    posts["tagged"] = _tagged_lists(first)
    return posts.reset_index()[list(POST_FIELDS)], unreadable


def _media_type(first: pd.DataFrame, n_images: pd.Series) -> pd.Series:
    declared = _column(first, "media_type").str.lower()
    carousel_flag = _column(first, "is_carousel").str.lower().isin(["true", "1", "yes"])
    kind = pd.Series("Photo", index=first.index, dtype=object)
    kind[(n_images > 1) | carousel_flag | declared.isin(["sidecar", "carousel"])] = "Carousel"
    kind[declared == "video"] = "Video"
    return kind


def _tagged_lists(first: pd.DataFrame) -> pd.Series:
    columns = sorted(
        (column for column in first.columns if (m := TAGGED.match(column)) and m.group(1) == "Username"),
        key=lambda column: int(TAGGED.match(column).group(2)),  # type: ignore[union-attr]
    )
    if not columns:
        return pd.Series("[]", index=first.index)
    values = first[columns].astype(str).to_numpy()
    return pd.Series([json.dumps([v for v in row if v]) for row in values], index=first.index)


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
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    files = json.dumps([report.name for report in parsed.report.files])
    cursor = conn.execute(
        "INSERT INTO imports(imported_at, files, report) VALUES (?, ?, '{}')", (now, files)
    )
    import_id = cursor.lastrowid
    before = conn.total_changes
    conn.executemany(
        f"INSERT OR IGNORE INTO posts({', '.join(POST_FIELDS)}, import_id) "
        f"VALUES ({', '.join('?' * len(POST_FIELDS))}, ?)",
        _records(parsed.posts, extra=(import_id,)),
    )
    new_posts = conn.total_changes - before
    last_image_id = conn.execute("SELECT COALESCE(MAX(image_id), 0) FROM images").fetchone()[0]
    before = conn.total_changes
    conn.executemany(
        f"INSERT OR IGNORE INTO images({', '.join(IMAGE_FIELDS)}) VALUES (?, ?, ?, ?, ?)",
        _records(parsed.images),
    )
    new_images = conn.total_changes - before
    conn.execute(  # recount the posts that gained images, new or known
        "UPDATE posts SET n_images = (SELECT COUNT(*) FROM images "
        "WHERE images.post_url = posts.post_url) "
        "WHERE post_url IN (SELECT post_url FROM images WHERE image_id > ?)",
        (last_image_id,),
    )
    total = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
    report = _with_counts(parsed.report, new_posts, new_images, total)
    conn.execute(
        "UPDATE imports SET report = ? WHERE import_id = ?",
        (json.dumps(report.to_dict()), import_id),
    )
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
