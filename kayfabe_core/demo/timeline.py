"""When and how the invented account posted: dates, media ids, shortcodes, engagement.

Media ids follow Instagram's layout (milliseconds since Instagram's epoch,
shifted left 23 bits, plus shard and sequence bits), and the shortcode in
postUrl is that id in Instagram's URL-safe base 64, 11 characters for
2019-2021 posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from kayfabe_core.demo.accounts import Account
from kayfabe_core.demo.scenes import SCENES
from kayfabe_core.demo.truth import scene_weights

INSTAGRAM_EPOCH_MS = 1_314_220_021_721
SHORTCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
P_VIDEO = 0.10
P_CAROUSEL = 0.15
CAROUSEL_SIZES = (2, 3, 4, 5)
CAROUSEL_SIZE_P = (0.4, 0.3, 0.2, 0.1)
SCRAPE_START = "2022-01-18T09:41:07"
"""When the first demo launch scraped its first row (UTC)."""


@dataclass(frozen=True)
class Posts:
    """Per-post arrays, newest post first. ``kind``: 0 single photo, 1 carousel, 2 video."""

    pub_seconds: np.ndarray
    pub_text: list[str]
    kind: np.ndarray
    n_images: np.ndarray
    scene: np.ndarray
    media_id: list[int]
    shortcode: list[str]
    likes: np.ndarray
    comments: np.ndarray
    views: np.ndarray

    def pub_datetime(self, p: int) -> datetime:
        """Return post ``p``'s publication time as an aware UTC datetime."""
        return datetime.fromtimestamp(int(self.pub_seconds[p]), tz=UTC)


def sample_posts(rng: np.random.Generator, n_posts: int, start: str, end: str,
                 account: Account) -> Posts:
    """Return ``n_posts`` posts published between the days ``start`` and ``end`` (inclusive)."""
    first = _day_seconds(start)
    last = _day_seconds(end) + 86_399
    pub = np.sort(rng.integers(first, last + 1, size=n_posts))[::-1]
    roll = rng.random(n_posts)
    kind = _ensure_each_kind(np.where(roll < P_VIDEO, 2, np.where(roll < P_VIDEO + P_CAROUSEL, 1, 0)))
    sizes = rng.choice(CAROUSEL_SIZES, size=n_posts, p=CAROUSEL_SIZE_P)
    n_images = np.where(kind == 1, sizes, 1)
    scene = rng.choice(len(SCENES), size=n_posts, p=scene_weights())
    media_id = _media_ids(rng, pub)
    likes, comments, views = _engagement(rng, pub, first, scene, kind, account)
    pub_text = [s + ".000Z" for s in np.datetime_as_string(pub.astype("datetime64[s]"), unit="s")]
    return Posts(pub, pub_text, kind, n_images, scene, media_id,
                 [shortcode(m) for m in media_id], likes, comments, views)


def shortcode(media_id: int) -> str:
    """Return the postUrl shortcode of an Instagram media id."""
    chars = []
    while media_id:
        media_id, digit = divmod(media_id, 64)
        chars.append(SHORTCODE_ALPHABET[digit])
    return "".join(reversed(chars)) or "A"


def scrape_times(rng: np.random.Generator, n_rows: int) -> tuple[list[str], np.ndarray]:
    """Return (ISO-8601 texts, whole seconds) of the scrape time of each of ``n_rows`` rows."""
    start_ms = np.datetime64(SCRAPE_START, "ms").astype(np.int64)
    gaps = rng.exponential(800.0, size=n_rows).astype(np.int64) + 150
    ms = start_ms + np.cumsum(gaps)
    texts = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")
    return [t + "Z" for t in texts], ms // 1000


def _ensure_each_kind(kind: np.ndarray) -> np.ndarray:
    """Return ``kind`` with at least one carousel and one video when there are 3+ posts."""
    kind = kind.copy()
    if len(kind) >= 3:
        if not (kind == 1).any():
            kind[0] = 1
        if not (kind == 2).any():
            others = np.flatnonzero(kind != 1)
            kind[int(others[-1]) if len(others) else -1] = 2
    return kind


def _day_seconds(day: str) -> int:
    return int(np.datetime64(day, "s").astype(np.int64))


def _media_ids(rng: np.random.Generator, pub: np.ndarray) -> list[int]:
    ms = (pub * 1000 + rng.integers(0, 1000, size=len(pub))).tolist()
    low = rng.integers(0, 2**23, size=len(pub)).tolist()
    seen: set[int] = set()
    ids = []
    for t, bits in zip(ms, low, strict=True):
        media_id = ((t - INSTAGRAM_EPOCH_MS) << 23) | bits
        while media_id in seen:
            media_id += 1
        seen.add(media_id)
        ids.append(media_id)
    return ids


def _engagement(rng: np.random.Generator, pub: np.ndarray, first: int, scene: np.ndarray,
                kind: np.ndarray, account: Account) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    years = (pub - first) / (365.25 * 86_400)
    factor = np.array([s.like_factor for s in SCENES])[scene] * np.where(kind == 2, 1.2, 1.0)
    likes = account.base_likes * np.exp(0.45 * years) * factor * rng.lognormal(0.0, 0.5, len(pub))
    comments = likes * 0.012 * rng.lognormal(0.0, 0.6, len(pub)) + rng.poisson(3, len(pub))
    views = likes * rng.uniform(3.0, 8.0, len(pub))
    return likes.astype(np.int64), comments.astype(np.int64), views.astype(np.int64)
