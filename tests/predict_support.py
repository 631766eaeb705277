"""A NEW PhantomBuster export for the demo workspace (posts it has never seen), served as a user would get it.

:func:`new_export` invents a few posts of the demo's account in a later half
year (same generator as the demo, another seed), with their pictures drawn and
their Rekognition responses written as a JSON Lines file that ``import-labels``
reads. The pictures are served over HTTP on 127.0.0.1, so the images are
fetched exactly as real ones are. :func:`capture_downloads` keeps the bytes of
every ``st.download_button`` an AppTest run renders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from kayfabe_core.demo import THUNDERQUILL, build_responses, draw_picture, get_scene, make_export

CDN = "https://scontent.cdninstagram.example"
FETCHED_AT = datetime(2022, 1, 18, 12, tzinfo=UTC)  # the export's signed links expire at the end of January 2022


@dataclass(frozen=True)
class NewExport:
    """The export's CSV text, its posts, its pictures by URL path and its images' responses (JSON Lines)."""

    csv_text: str
    posts: tuple[str, ...]
    pictures: dict[str, bytes]
    label_lines: str


def new_export(base_url: str, n_posts: int = 12, seed: int = 77) -> NewExport:
    """Return posts of the demo's account from 2022 whose images live at ``base_url`` (the picture server)."""
    export = make_export(n_posts, seed, account=THUNDERQUILL, start="2022-01-01", end="2022-06-30", error_rows=1,
                         duplicate_rows=1)
    pictures, lines = {}, []
    for image in export.images:
        url = image.source_url.replace(CDN, base_url)
        pictures[urlsplit(url).path] = draw_picture(image.scene, image.picture_seed)
        responses = build_responses(get_scene(image.scene), export.account, (seed << 32) | image.picture_seed)
        lines += [json.dumps({"image_url": url, "operation": operation, "response": response,
                              "called_at": "2022-01-19T09:00:00Z", "region": "us-east-1"})
                  for operation, response in responses.items()]
    posts = tuple(dict.fromkeys(image.post_url for image in export.images))
    return NewExport(export.csv_text.replace(CDN, base_url), posts, pictures, "\n".join(lines) + "\n")


def capture_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Record every download button's file (name -> bytes, the latest render wins) while the test runs; a
    button whose file is made on click (a callable) is recorded as a click would make it."""
    files: dict[str, bytes] = {}
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def recording(self: MediaFileManager, path_or_data: Any, mimetype: str, coordinates: str,
                  file_name: str | None = None, is_for_static_download: bool = False) -> str:
        if is_for_static_download and file_name and isinstance(path_or_data, bytes):
            files[file_name] = path_or_data
        return add(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    def recording_deferred(self: MediaFileManager, make: Any, mimetype: str, coordinates: str,
                           file_name: str | None = None, **rest: Any) -> str:
        if file_name:
            data = make()
            files[file_name] = data.encode() if isinstance(data, str) else data
        return add_deferred(self, make, mimetype, coordinates, file_name=file_name, **rest)

    monkeypatch.setattr(MediaFileManager, "add_deferred", recording_deferred)
    monkeypatch.setattr(MediaFileManager, "add", recording)
    return files

