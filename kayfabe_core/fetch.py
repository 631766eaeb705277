"""Fetch every imported image once and store its bytes under their content hash.

:func:`fetch_images` works on the images whose fetch_status is not 'ok' (nor
'too_small': those bytes are stored), so it can be stopped and run again: stored
images are never requested twice. Links whose ``oe`` expiry has passed are marked
'expired' without a request. Downloads run in worker threads; every database
write happens in the calling thread, one short transaction per image, so a stop
or crash keeps what was finished.

Statuses written to images.fetch_status: 'ok', 'too_small' (stored, but under
Rekognition's 80 px minimum), 'expired', 'http_error', 'not_an_image',
'too_large', 'refused' (scheme or private address), 'failed' (network error or
timeout). Rows not reached when stopped stay 'pending'.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from kayfabe_core.errors import StageNotReadyError, WorkspaceError
from kayfabe_core.fetch_content import MIN_SIDE, PreparedImage, prepare_image
from kayfabe_core.fetch_http import FetchFailure, Limits, download
from kayfabe_core.images import StoredImage, mark_fetched, mark_not_fetched, save_image_bytes
from kayfabe_core.workspace import Workspace, connect, transaction

DONE_STATUSES = ("ok", "too_small")
OUTCOMES = ("ok", "too_small", "expired", "http_error", "not_an_image", "too_large", "refused", "failed")


@dataclass(frozen=True)
class FetchSettings:
    """Limits for fetching images. The defaults suit Instagram's CDN and Rekognition."""

    timeout_s: float = 15.0  # per connect and per read; a whole download gets at most 4x this
    max_bytes: int = 5 * 1024 * 1024  # Rekognition takes at most 5 MiB of bytes
    max_pixels: int = 40_000_000  # decompression-bomb guard
    allow_private: bool = False  # loopback/private/link-local addresses refused unless True
    workers: int = 8
    now: datetime | None = None  # for the expiry check; None = current UTC time


@dataclass(frozen=True)
class FetchReport:
    """What one :func:`fetch_images` call did: images per outcome, and how long it took."""

    attempted: int
    ok: int
    too_small: int
    expired: int
    http_error: int
    not_an_image: int
    too_large: int
    refused: int
    failed: int
    already_fetched: int
    pending: int
    stopped: bool
    seconds: float

    def to_dict(self) -> dict[str, object]:
        """Return the report as plain JSON-ready data."""
        return asdict(self)

    def problems(self) -> list[str]:
        """Return what kept images from being fetched, in words, one entry per kind that happened."""
        return [f"{count:,} {why}" for count, why in (
            (self.refused, "not allowed: the link is not http(s) or points to a private or local address "
                           "(never fetched, for safety)"),
            (self.expired, "expired: Instagram's link is past its date; export the posts again for fresh links"),
            (self.http_error, "refused by the server (an HTTP error)"),
            (self.failed, "failed on the network (try again later)"),
            (self.not_an_image, "not pictures (the link gave something else)"),
            (self.too_large, "too large (over the size limit)"),
            (self.too_small, "too small for Rekognition (kept, not labelled)"),
        ) if count]

    def summary(self) -> str:
        """Return one sentence: how many were fetched, and what happened to the others."""
        if not self.attempted and self.already_fetched:
            return f"All {self.already_fetched:,} images were fetched before: nothing to do."
        fetched = f"Fetched {self.ok:,} of {self.attempted:,} images."
        problems = self.problems()
        return fetched + (" The others: " + "; ".join(problems) + "." if problems else "")


@dataclass(frozen=True)
class _Row:
    image_id: int
    source_url: str
    url_expiry: str | None


@dataclass(frozen=True)
class _Result:
    status: str
    message: str | None = None
    image: PreparedImage | None = None


def fetch_images(
    workspace: Workspace,
    settings: FetchSettings = FetchSettings(),
    progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
) -> FetchReport:
    """Download, check and store every image not fetched yet; record each one's status.

    ``progress(done, total)`` is called as images finish; setting ``stop`` ends the
    run early, leaving unreached images 'pending'. Returns a :class:`FetchReport`.
    Raises :class:`StageNotReadyError` when the workspace has no images, and
    :class:`WorkspaceError` when an image cannot be written to disk.
    """
    started = time.monotonic()
    rows, already = _load_rows(workspace)
    counts = dict.fromkeys(OUTCOMES, 0)
    now = settings.now or datetime.now(UTC)
    live = [row for row in rows if not _is_expired(row, now)]
    run = _Run(workspace, settings, counts, len(rows), progress, stop or threading.Event())
    run.record_expired([row for row in rows if _is_expired(row, now)])
    run.download_all(_group_by_url(live))
    return FetchReport(
        attempted=sum(counts.values()), **counts, already_fetched=already,
        pending=len(rows) - run.done, stopped=run.stop.is_set() and run.done < len(rows),
        seconds=round(time.monotonic() - started, 3),
    )


def _load_rows(workspace: Workspace) -> tuple[list[_Row], int]:
    with connect(workspace) as conn:
        total = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        found = conn.execute(
            "SELECT image_id, source_url, url_expiry FROM images WHERE fetch_status NOT IN (?, ?) "
            "ORDER BY image_id", DONE_STATUSES).fetchall()
    if total == 0:
        raise StageNotReadyError(
            "There are no images to fetch: import posts first.",
            "Import a PhantomBuster CSV export (Posts page, or python -m kayfabe_core ingest), then fetch images.",
        )
    rows = [_Row(int(r["image_id"]), str(r["source_url"]), r["url_expiry"]) for r in found]
    return rows, total - len(rows)


def _is_expired(row: _Row, now: datetime) -> bool:
    if not row.url_expiry:
        return False
    return _parse_expiry(row.url_expiry) < now


def _parse_expiry(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _group_by_url(rows: list[_Row]) -> list[tuple[str, list[int]]]:
    """One entry per distinct URL, so a link shared by several posts is requested once."""
    groups: dict[str, list[int]] = {}
    for row in rows:
        groups.setdefault(row.source_url, []).append(row.image_id)
    return list(groups.items())


def _fetch_one(url: str, settings: FetchSettings, stop: threading.Event) -> _Result | None:
    """Download and check one URL (in a worker thread). None when stopped before starting."""
    if stop.is_set():
        return None
    limits = Limits(settings.timeout_s, settings.max_bytes, settings.allow_private)
    try:
        image = prepare_image(download(url, limits), settings.max_pixels, settings.max_bytes)
    except FetchFailure as failure:
        return _Result(failure.status, failure.message)
    if image.too_small:
        note = (f"The image is {image.width} × {image.height} pixels; "
                f"Rekognition needs at least {MIN_SIDE} on each side.")
        return _Result("too_small", note, image)
    return _Result("ok", None, image)


class _Run:
    """The state of one fetch run: counts, progress and the database writes."""

    def __init__(self, workspace: Workspace, settings: FetchSettings, counts: dict[str, int], total: int,
                 progress: Callable[[int, int], None] | None, stop: threading.Event) -> None:
        self.workspace, self.settings, self.counts = workspace, settings, counts
        self.total, self.progress, self.stop = total, progress, stop
        self.done = 0

    def record_expired(self, rows: list[_Row]) -> None:
        """Mark links past their expiry 'expired', without requesting them, in one transaction.

        An old export can be all expired links; one write each would cost a disk sync per image.
        """
        with transaction(self.workspace) as conn:
            for row in rows:
                when = _parse_expiry(str(row.url_expiry)).strftime("%Y-%m-%d %H:%M UTC")
                message = f"The image link expired on {when}; scrape the post again to get a fresh link."
                mark_not_fetched(conn, row.image_id, "expired", message)
        self.counts["expired"] += len(rows)
        self.done += len(rows)
        if rows and self.progress is not None:
            self.progress(self.done, self.total)

    def download_all(self, groups: list[tuple[str, list[int]]]) -> None:
        """Fetch the URLs with a pool of workers, recording each result as it arrives."""
        pending = iter(groups)
        with ThreadPoolExecutor(max_workers=max(1, self.settings.workers)) as pool:
            running: dict[Future[_Result | None], list[int]] = {}
            self._submit(pool, pending, running)
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    image_ids = running.pop(future)
                    result = future.result()
                    if result is not None:
                        self._record(image_ids, result)
                self._submit(pool, pending, running)

    def _submit(self, pool: ThreadPoolExecutor, pending: Iterator[tuple[str, list[int]]],
                running: dict[Future[_Result | None], list[int]]) -> None:
        while len(running) < max(1, self.settings.workers) and not self.stop.is_set():
            entry = next(pending, None)
            if entry is None:
                return
            url, image_ids = entry
            running[pool.submit(_fetch_one, url, self.settings, self.stop)] = image_ids

    def _record(self, image_ids: list[int], result: _Result) -> None:
        stored = self._save(result.image) if result.image is not None else None
        for image_id in image_ids:
            with transaction(self.workspace) as conn:
                if stored is not None:
                    mark_fetched(conn, image_id, stored, result.status, result.message)
                else:
                    mark_not_fetched(conn, image_id, result.status, result.message or result.status)
            self.counts[result.status] += 1
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total)

    def _save(self, image: PreparedImage) -> StoredImage:
        try:
            return save_image_bytes(self.workspace, image.data)
        except OSError as exc:
            raise WorkspaceError(
                f"Could not save an image in {self.workspace.images_dir}: {exc.strerror or exc}.",
                "Check there is free disk space and that you may write to the workspace folder.",
            ) from exc
