"""The rules of an import applied to one chunk of export rows at a time.

An export is read in chunks; :class:`RowState` carries what the next chunk needs
to know (which images were kept, how many per post, the counts), so the rows of
one post may lie anywhere in the files and the result does not depend on where
the chunks end. Per chunk, :func:`split_chunk` returns

- ``images``: one row per image kept, with its position in its post (0 = first);
- ``posts``: the post of each image row whose post had no image yet; its fields
  come from that row, its ``n_images`` (1) and ``media_type`` are provisional:
  the number of images is known only at the end (:func:`final_media_type`);
- ``imageless``: the first row without an image of each post; such a post is kept
  only if no image of it turns up by the end of the import.

Rules: rows with an ``error`` value are dropped; a row repeating a post's link and
image (same URL path; the signature may differ between scrapes) is a duplicate;
rows sharing a post link with different images are the slides of one carousel.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kayfabe_core.phantombuster import TAGGED

POST_FIELDS = (
    "post_url", "media_id", "owner", "full_name", "profile_url", "description", "alt_text",
    "media_type", "n_images", "pub_date", "like_count", "comment_count", "view_count",
    "location", "query", "scraped_at", "tagged",
)
IMAGE_FIELDS = ("post_url", "position", "image_key", "source_url", "url_expiry")
TEXT_FIELDS = ("media_id", "owner", "full_name", "profile_url", "description", "alt_text",
               "location", "query", "scraped_at")
COUNT_FIELDS = ("like_count", "comment_count", "view_count")

Columns = dict[str, list[Any]]
"""A table as column name -> values (cheaper than a DataFrame to build and to write)."""

_WEB_LINK = ("https://", "http://")  # what a post link starts with
_SCHEME_HOST = re.compile(r"^[a-zA-Z]+://[^/]*")
_EXPIRY = re.compile(r"[?&]oe=([0-9A-Fa-f]{1,12})(?:&|$)")
_EXPIRY_RE2 = r"[?&]oe=(?P<hex>[0-9A-Fa-f]{1,12})(?:&|$)"  # the same in Arrow's RE2
_LAST_SECOND = 9_223_372_036  # the last whole second pandas timestamps reach (2262-04-11)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TICKS_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
_json_string = json.encoder.encode_basestring_ascii  # a string as json.dumps writes it (ensure_ascii)


@dataclass
class RowState:
    """What the chunks read so far tell the next ones, and the counts for the report."""

    positions: dict[str, int] = field(default_factory=dict)  # post link -> images kept so far
    seen: set[tuple[str, str]] = field(default_factory=set)  # (post link, image key) kept so far
    rows_read: int = 0
    error_rows: int = 0
    rows_without_post_url: int = 0
    linked_rows: int = 0  # rows with a post link and no error
    images: int = 0
    unreadable_dates: int = 0  # among the posts returned in ``posts`` so far


@dataclass(frozen=True)
class ChunkParts:
    """What one chunk adds: see the module docstring. Post tables carry ``seq``, the row's
    number in the import, and ``imageless`` also ``bad_date`` (a date given but unreadable)."""

    posts: Columns
    images: Columns
    imageless: Columns


@dataclass
class _Picked:
    images: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    first_images: list[int] = field(default_factory=list)
    imageless: list[int] = field(default_factory=list)


def split_chunk(rows: pd.DataFrame, state: RowState) -> ChunkParts:
    """Apply the import's rules to ``rows`` (strings under canonical names), updating ``state``.

    Returns the chunk's :class:`ChunkParts`.
    """
    first_seq = state.rows_read
    state.rows_read += len(rows)
    post_urls = clean_post_urls(_stripped(rows, "post_url"))
    image_urls = _stripped(rows, "image_url")
    image_keys = [url_path(url) for url in image_urls]
    picked = _pick(state, _stripped(rows, "error"), post_urls, image_keys)
    state.images += len(picked.images)
    images: Columns = {
        "post_url": [post_urls[i] for i in picked.images],
        "position": picked.positions,
        "image_key": [image_keys[i] for i in picked.images],
        "source_url": [image_urls[i] for i in picked.images],
        "url_expiry": url_expiries([image_urls[i] for i in picked.images]),
    }
    posts, bad = _post_columns(rows, picked.first_images, post_urls, first_seq, n_images=1)
    state.unreadable_dates += sum(bad)
    imageless, bad = _post_columns(rows, picked.imageless, post_urls, first_seq, n_images=0)
    imageless["bad_date"] = bad
    return ChunkParts(posts=posts, images=images, imageless=imageless)


def _pick(state: RowState, errors: list[str], post_urls: list[str], image_keys: list[str]) -> _Picked:
    """Choose the rows to keep, in order: the stateful part of the rules.

    Runs once per row of the import, so it counts in local variables and appends through bound methods.
    """
    picked = _Picked()
    positions, seen = state.positions, state.seen
    add_image, add_position = picked.images.append, picked.positions.append
    error_rows = unlinked = linked = 0
    for i, (error, url, key) in enumerate(zip(errors, post_urls, image_keys, strict=True)):
        if error:
            error_rows += 1
            continue
        if not url.startswith(_WEB_LINK):  # blank, or words where a link belongs ("not a url")
            unlinked += 1
            continue
        linked += 1
        pair = (url, key)
        if pair in seen:  # a duplicate
            continue
        seen.add(pair)
        if not key:
            picked.imageless.append(i)
            continue
        position = positions.get(url, 0)
        if position == 0:
            picked.first_images.append(i)
        positions[url] = position + 1
        add_image(i)
        add_position(position)
    state.error_rows += error_rows
    state.rows_without_post_url += unlinked
    state.linked_rows += linked
    return picked


def _stripped(rows: pd.DataFrame, name: str, index: list[int] | None = None) -> list[str]:
    """The column's values without surrounding spaces ('' for a column the file lacks)."""
    if name not in rows.columns:
        return [""] * (len(rows) if index is None else len(index))
    values = rows[name].to_numpy()
    return [value.strip() for value in (values if index is None else values[index])]


def clean_post_url(url: str) -> str:
    """The post link without query and fragment, ending in '/' ('' stays '')."""
    base = url.split("?", 1)[0].split("#", 1)[0]
    return base + "/" if base and not base.endswith("/") else base


def clean_post_urls(urls: list[str]) -> list[str]:
    """:func:`clean_post_url` of each link; a link that is clean already (most are) is kept as it is."""
    return [url if url.endswith("/") and "?" not in url and "#" not in url else clean_post_url(url)
            for url in urls]


def url_path(url: str) -> str:
    """The URL without scheme, host and query: stable when a re-scrape re-signs it."""
    base = url.split("?", 1)[0]
    if base.startswith("https://"):  # what _SCHEME_HOST would remove, found without it (a third faster)
        slash = base.find("/", 8)
        return base[slash:] if slash >= 0 else ""
    return _SCHEME_HOST.sub("", base)


def url_expiry(url: str) -> str | None:
    """When a signed image URL stops working (its ``oe`` parameter, hex Unix seconds), ISO-8601 UTC."""
    match = _EXPIRY.search(url)
    if match is None:
        return None
    seconds = int(match.group(1), 16)
    return time.strftime(_TIME_FORMAT, time.gmtime(seconds)) if seconds <= _LAST_SECOND else None


def url_expiries(urls: list[str]) -> list[str | None]:
    """:func:`url_expiry` of each URL, in bulk: Arrow finds the ``oe`` parameters and numpy writes the times
    (a regular expression and a strftime per image took a tenth of a large import)."""
    found = pc.extract_regex(pa.array(urls, pa.string()), _EXPIRY_RE2).field("hex").to_pylist()
    seconds = np.array([int(text, 16) if text else -1 for text in found], dtype=np.int64)
    usable = (seconds >= 0) & (seconds <= _LAST_SECOND)
    times = np.datetime_as_string(np.where(usable, seconds, 0).astype("datetime64[s]"), unit="s").tolist()
    return [f"{text}Z" if ok else None for text, ok in zip(times, usable.tolist(), strict=True)]


def _post_columns(rows: pd.DataFrame, index: list[int], post_urls: list[str], first_seq: int,
                  n_images: int) -> tuple[Columns, list[bool]]:
    """Post fields from the rows at ``index``; also whether each row's date was unreadable."""
    columns: Columns = {"post_url": [post_urls[i] for i in index]}
    for name in TEXT_FIELDS:
        columns[name] = [value or None for value in _stripped(rows, name, index)]
    columns["media_type"] = _media_types(_stripped(rows, "media_type", index),
                                         _stripped(rows, "is_carousel", index))
    columns["n_images"] = [n_images] * len(index)
    raw_dates = _stripped(rows, "pub_date", index)
    columns["pub_date"] = _dates(raw_dates)
    for name in COUNT_FIELDS:
        columns[name] = _counts(_stripped(rows, name, index))
    columns["tagged"] = _tagged_lists(rows, index)
    columns["seq"] = [first_seq + i for i in index]
    bad = [raw != "" and date is None for raw, date in zip(raw_dates, columns["pub_date"], strict=True)]
    return columns, bad


def _media_types(declared: list[str], carousel_flags: list[str]) -> list[str]:
    """Photo, Video or Carousel from the row alone (see :func:`final_media_type`)."""
    kinds = []
    for kind, flag in zip(declared, carousel_flags, strict=True):
        kind = kind.lower()
        if kind == "video":
            kinds.append("Video")
        elif kind in ("sidecar", "carousel") or flag.lower() in ("true", "1", "yes"):
            kinds.append("Carousel")
        else:
            kinds.append("Photo")
    return kinds


def final_media_type(provisional: str, n_images: int) -> str:
    """The post's type once its images are counted: a Photo with several images is a Carousel."""
    return "Carousel" if provisional == "Photo" and n_images > 1 else provisional


def _dates(raw: list[str]) -> list[str | None]:
    """ISO-8601 UTC to the second, None where empty or unreadable."""
    stamps = pd.to_datetime(pd.Series(raw, dtype=object), utc=True, errors="coerce", format="ISO8601")
    # numpy writes the text from whole seconds (strftime per value took a second of a million-post import);
    # seconds by floor division, as strftime drops the fraction also before 1970 (astype wraps near the limits)
    ticks = stamps.dt.tz_convert(None).to_numpy()
    per_second = _TICKS_PER_SECOND[np.datetime_data(ticks.dtype)[0]]  # pandas picks the unit
    unreadable = np.isnat(ticks)
    seconds = np.where(unreadable, 0, ticks.view(np.int64) // per_second).astype("datetime64[s]")
    texts = np.datetime_as_string(seconds, unit="s").tolist()
    return [None if bad else f"{text}Z" for text, bad in zip(texts, unreadable.tolist(), strict=True)]


def _counts(raw: list[str]) -> list[int | None]:
    """Whole numbers ('1,204' -> 1204), None where empty, unreadable or not a whole number."""
    numbers = pd.to_numeric(pd.Series([text.replace(",", "") for text in raw], dtype=object), errors="coerce")
    if numbers.dtype == np.int64:  # all whole and in range: no check per value
        return numbers.tolist()  # type: ignore[no-any-return]
    if numbers.dtype == np.float64:  # whole where the value has no fraction (NaN where unreadable)
        values = numbers.to_numpy()
        whole = np.isfinite(values) & (np.floor(values) == values) & (values >= -(2.0**63)) & (values < 2.0**63)
        return [int(value) if ok else None for value, ok in zip(values.tolist(), whole.tolist(), strict=True)]
    return [_whole(value) for value in numbers.tolist()]


def _whole(value: object) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and -(2**63) <= value < 2**63 else None


def _tagged_lists(rows: pd.DataFrame, index: list[int]) -> list[str]:
    """JSON lists of the tagged usernames (taggedUsername1, 2, ... in that order)."""
    columns = sorted(
        (column for column in rows.columns if (m := TAGGED.match(column)) and m.group(1) == "Username"),
        key=lambda column: int(TAGGED.match(column).group(2)),  # type: ignore[union-attr]
    )
    if not columns:
        return ["[]"] * len(index)
    values = [rows[column].to_numpy()[index] for column in columns]
    # the text json.dumps writes for a list of strings, without its call per row (a second at a million posts)
    return ["[" + ", ".join([_json_string(name) for name in row if name]) + "]" for row in zip(*values, strict=True)]
