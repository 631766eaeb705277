"""Build a PhantomBuster "Instagram Posts Extractor" CSV for an invented account.

Rows are newest first; a carousel gives one row per slide (same postUrl,
``isSidecar`` true), a video gives one row with the cover frame as imgUrl.
A few error rows (only query, timestamp, error) and a few duplicates (a
re-scrape: same postUrl and image path, new ``oh``/``oe``) are mixed in.
All values are strings; missing ones are written as "".
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass

import numpy as np

from kayfabe_core.demo import captions
from kayfabe_core.demo.accounts import THUNDERQUILL, Account
from kayfabe_core.demo.scenes import SCENES
from kayfabe_core.demo.timeline import Posts, sample_posts, scrape_times
from kayfabe_core.demo.truth import Truth, sample_truth

MAX_TAGS = 13
COLUMNS: tuple[str, ...] = (
    "postUrl", "description", "commentCount", "likeCount", "location", "locationId", "pubDate",
    "likedByViewer", "isSidecar", "type", "caption", "profileUrl", "username", "fullName", "imgUrl",
    "postId", "timestamp", "query", "viewCount", "videoUrl", "sidePostUrl",
    *(f"tagged{kind}{n}" for n in range(1, MAX_TAGS + 1) for kind in ("FullName", "Username")),
    "error",
)
"""The export's header, in PhantomBuster's first-seen order."""

CDN = "https://scontent.cdninstagram.example"
ERROR_MESSAGES = ("Can't access posts", "No post")
_COL = {name: i for i, name in enumerate(COLUMNS)}


@dataclass(frozen=True)
class ExportImage:
    """The truth about one distinct image of the export."""

    post_url: str
    source_url: str
    position: int
    scene: str
    picture_seed: int
    code: str
    second_code: str | None


@dataclass(frozen=True)
class DemoExport:
    """A generated export: the CSV text and the truth about each distinct image."""

    csv_text: str
    images: tuple[ExportImage, ...]
    account: Account
    n_posts: int
    n_rows: int


def make_export(n_posts: int, seed: int, *, account: Account | None = None,
                start: str = "2019-01-01", end: str = "2021-12-31",
                error_rows: int = 5, duplicate_rows: int = 12) -> DemoExport:
    """Return a :class:`DemoExport` of ``n_posts`` posts published between ``start`` and ``end``.

    The same arguments always give byte-identical CSV text.
    """
    account = account or THUNDERQUILL
    rng = np.random.default_rng([seed, account.seed_salt])
    text_rng = random.Random(seed * 1_000_003 + account.seed_salt)
    posts = sample_posts(rng, n_posts, start, end, account)
    truth = sample_truth(rng, posts.scene, posts.n_images)
    seeds = rng.choice(2**31 - 1, size=len(truth.scene), replace=False)
    image_rows = _image_rows(rng, text_rng, posts, truth, account)
    rows, kinds = _mix_in_extras(rng, image_rows, account, error_rows, duplicate_rows)
    _stamp(rng, rows, kinds)
    images = _truth_images(truth, image_rows, seeds)
    return DemoExport(_to_csv(rows), images, account, n_posts, len(rows))


def _image_rows(rng: np.random.Generator, text_rng: random.Random, posts: Posts, truth: Truth,
                account: Account) -> list[list[str]]:
    """Return one row per image, with imgUrl/videoUrl holding only the URL path."""
    paths = _unique_paths(rng, len(truth.scene), "t51.2885-15", "jpg")
    video_paths = _unique_paths(rng, len(posts.scene), "t50.2886-16", "mp4")
    base = [""] * len(COLUMNS)
    for name, value in (("profileUrl", account.profile_url), ("username", account.username),
                        ("fullName", account.full_name), ("query", account.profile_url)):
        base[_COL[name]] = value
    liked = rng.random(len(posts.scene)) < 0.02
    rows: list[list[str]] = []
    for p in range(len(posts.scene)):
        post = _post_cells(text_rng, posts, p, account, base, bool(liked[p]), video_paths[p])
        for _ in range(int(posts.n_images[p])):
            row = list(post)
            row[_COL["imgUrl"]] = paths[len(rows)]
            rows.append(row)
    return rows


def _post_cells(text_rng: random.Random, posts: Posts, p: int, account: Account,
                base: list[str], liked: bool, video_path: str) -> list[str]:
    scene = SCENES[int(posts.scene[p])].name
    row = list(base)
    kind = int(posts.kind[p])
    location, location_id = captions.place(text_rng, scene)
    low, high = SCENES[int(posts.scene[p])].people
    values = {
        "postUrl": f"https://www.instagram.com/p/{posts.shortcode[p]}/",
        "description": captions.description(text_rng, scene, account),
        "commentCount": str(int(posts.comments[p])), "likeCount": str(int(posts.likes[p])),
        "location": location, "locationId": location_id, "pubDate": posts.pub_text[p],
        "likedByViewer": "true" if liked else "false",
        "isSidecar": "true" if kind == 1 else "false", "type": "Video" if kind == 2 else "Photo",
        "caption": captions.alt_text(text_rng, scene, text_rng.randint(low, high),
                                     posts.pub_datetime(p), account.full_name),
        "postId": str(posts.media_id[p]),
        "viewCount": str(int(posts.views[p])) if kind == 2 else "",
        "videoUrl": video_path if kind == 2 else "",
    }
    for name, value in values.items():
        row[_COL[name]] = value
    for n, (full_name, username) in enumerate(captions.tags(text_rng, scene, account), start=1):
        row[_COL[f"taggedFullName{n}"]] = full_name
        row[_COL[f"taggedUsername{n}"]] = username
    return row


def _unique_paths(rng: np.random.Generator, n: int, kind: str, ext: str) -> list[str]:
    """Return ``n`` distinct CDN paths like /v/t51.2885-15/123_456_789_n.jpg."""
    a = rng.integers(10_000_000, 999_999_999, size=n)
    b = rng.integers(10**14, 10**15 - 1, size=n)
    c = rng.choice(9 * 10**17, size=n, replace=False) + 10**18
    parts = zip(a.tolist(), b.tolist(), c.tolist(), strict=True)
    return [f"{CDN}/v/{kind}/{x}_{y}_{z}_n.{ext}" for x, y, z in parts]


def _mix_in_extras(rng: np.random.Generator, rows: list[list[str]], account: Account,
                   error_rows: int, duplicate_rows: int) -> tuple[list[list[str]], list[str]]:
    """Return all rows in file order, and each row's kind: "post", "duplicate" or "error"."""
    n = len(rows)
    keyed: list[tuple[int, int, int, list[str], str]] = [(i, 0, 0, row, "post") for i, row in enumerate(rows)]
    picked = rng.choice(n, size=min(duplicate_rows, n), replace=False) if n else np.zeros(0, int)
    originals: list[int] = np.sort(picked).tolist()
    for k, i in enumerate(originals):
        after = int(rng.integers(i, n))
        keyed.append((after, 1, k, list(rows[i]), "duplicate"))
    for k in range(error_rows):
        row = [""] * len(COLUMNS)
        row[_COL["query"]] = account.profile_url
        row[_COL["error"]] = ERROR_MESSAGES[int(rng.integers(len(ERROR_MESSAGES)))]
        keyed.append((int(rng.integers(0, max(n, 1))), 2, k, row, "error"))
    keyed.sort(key=lambda item: item[:3])
    return [item[3] for item in keyed], [item[4] for item in keyed]


def _stamp(rng: np.random.Generator, rows: list[list[str]], kinds: list[str]) -> None:
    """Fill in scrape timestamps and give each URL its signed query string."""
    stamps, seconds = scrape_times(rng, len(rows))
    expiry = seconds + rng.integers(3 * 86_400, 12 * 86_400, size=len(rows))
    signatures = rng.bytes(16 * len(rows)).hex()
    categories = rng.integers(1, 111, size=len(rows))
    img, video, stamp = _COL["imgUrl"], _COL["videoUrl"], _COL["timestamp"]
    for r, row in enumerate(rows):
        row[stamp] = stamps[r]
        if kinds[r] == "error":
            continue
        query = f"?_nc_cat={categories[r]}&oh={signatures[32 * r:32 * r + 32]}&oe={int(expiry[r]):08X}"
        row[img] = row[img] + query
        if row[video]:
            row[video] = row[video] + query


def _truth_images(truth: Truth, image_rows: list[list[str]], seeds: np.ndarray) -> tuple[ExportImage, ...]:
    img, post = _COL["imgUrl"], _COL["postUrl"]
    names = [scene.name for scene in SCENES]
    return tuple(
        ExportImage(
            post_url=row[post], source_url=row[img], position=int(truth.position[i]),
            scene=names[int(truth.scene[i])], picture_seed=int(seeds[i]),
            code="YES" if truth.code_yes[i] else "NO",
            second_code=("YES" if truth.second_yes[i] else "NO") if truth.has_second[i] else None,
        )
        for i, row in enumerate(image_rows)
    )


def _to_csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()
