"""The demo data set: an export, its images' Rekognition answers and two coders' codes.

Everything follows from the seed: the same seed gives byte-identical CSV text
and identical responses and codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kayfabe_core.demo.accounts import LANTERN, THUNDERQUILL, Account
from kayfabe_core.demo.codebook import DEMO_CODEBOOK, DEMO_CODERS, Codebook
from kayfabe_core.demo.export import ExportImage, make_export
from kayfabe_core.demo.responses import build_responses
from kayfabe_core.demo.scenes import get_scene

DEMO_POSTS = 1500
DEMO_ERROR_ROWS = 5
DEMO_DUPLICATE_ROWS = 12


@dataclass(frozen=True)
class DemoImage:
    """One distinct image of the demo export, with its truth and fake Rekognition answers."""

    post_url: str
    source_url: str
    """Exactly the imgUrl string of the image's first row in the CSV."""
    position: int
    """0-based slide number within the post."""
    scene: str
    picture_seed: int
    responses: dict[str, dict[str, Any]]
    """Operation name -> response (DetectLabels, DetectModerationLabels, RecognizeCelebrities)."""
    code: str
    """The main coder's code, "YES" or "NO"."""
    second_code: str | None
    """The second coder's code for a ~15 % sample, else None."""


@dataclass(frozen=True)
class DemoData:
    """The whole demo: the export CSV, its images, the codebook and the coders' names."""

    export_csv: str
    images: tuple[DemoImage, ...]
    codebook: Codebook
    coders: tuple[str, str]
    account: Account = THUNDERQUILL


def generate_demo(seed: int = 2021) -> DemoData:
    """Return the :class:`DemoData` of the invented account for ``seed`` (~1,500 posts)."""
    export = make_export(DEMO_POSTS, seed, account=THUNDERQUILL,
                         error_rows=DEMO_ERROR_ROWS, duplicate_rows=DEMO_DUPLICATE_ROWS)
    images = tuple(_with_responses(image, seed, export.account) for image in export.images)
    return DemoData(export.csv_text, images, DEMO_CODEBOOK, DEMO_CODERS, export.account)


def make_sample_export(n_posts: int = 40, seed: int = 7) -> str:
    """Return a small export CSV of a second invented account, for trying the upload.

    It holds at least one carousel and one video, and two error rows and two
    duplicates (fewer when ``n_posts`` is tiny).
    """
    export = make_export(n_posts, seed, account=LANTERN, start="2021-01-01", end="2021-12-31",
                         error_rows=2, duplicate_rows=min(2, n_posts))
    return export.csv_text


def _with_responses(image: ExportImage, seed: int, account: Account) -> DemoImage:
    responses = build_responses(get_scene(image.scene), account, (seed << 32) | image.picture_seed)
    return DemoImage(image.post_url, image.source_url, image.position, image.scene,
                     image.picture_seed, responses, image.code, image.second_code)
