"""Shared fixtures: a fresh workspace, and builders for small PhantomBuster CSVs."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from kayfabe_core.workspace import Workspace, open_workspace

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL_TABLE = ROOT.parent / "shared" / "datasets" / "rondarousey_features.csv"

HEADER = ["postUrl", "description", "commentCount", "likeCount", "pubDate", "isSidecar", "type",
          "imgUrl", "postId", "query", "timestamp", "error", "taggedUsername1"]


def post_row(code: str, image: str = "1", **fields: str) -> dict[str, str]:
    """One export row for post ``code`` showing image ``image`` (empty image: none)."""
    row = {
        "postUrl": f"https://www.instagram.com/p/{code}/",
        "description": f"caption of {code}",
        "commentCount": "3",
        "likeCount": "120",
        "pubDate": "2020-03-01T17:04:05.000Z",
        "isSidecar": "false",
        "type": "Photo",
        "imgUrl": f"https://cdn.example/v/{code}_{image}_n.jpg?oh=ab12&oe=61E00000" if image else "",
        "postId": f"99{len(code)}",
        "query": "https://www.instagram.com/someone/",
        "timestamp": "2022-01-10T10:00:00.000Z",
        "error": "",
        "taggedUsername1": "",
    }
    row.update(fields)
    return row


def error_row() -> dict[str, str]:
    """A failure row as PhantomBuster writes it: only query, timestamp and error."""
    return {name: "" for name in HEADER} | {
        "query": "https://www.instagram.com/gone/", "timestamp": "2022-01-10T10:00:00.000Z",
        "error": "Can't access posts"}


def make_csv(rows: list[dict[str, str]], header: list[str] | None = None, delimiter: str = ",") -> str:
    """Return CSV text with ``header`` (default :data:`HEADER`) and ``rows``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header or HEADER, delimiter=delimiter,
                            extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A new empty workspace in a temporary folder."""
    return open_workspace(tmp_path / "ws")


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace built once for the whole test session (tests must not change it)."""
    from kayfabe_core.demo_workspace import build_demo_workspace

    root = tmp_path_factory.mktemp("demo") / "ws"
    build_demo_workspace(root)
    return root


def copy_workspace(source: Path, target: Path, images: bool = True) -> Path:
    """Copy a workspace folder whole: its WAL is checkpointed first and the -wal/-shm files left
    behind (they come and go as connections close, which made plain copytree fail now and then)."""
    with sqlite3.connect(source / "kayfabe.sqlite") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    skipped = ["*.sqlite-wal", "*.sqlite-shm", *([] if images else ["images"])]
    return Path(shutil.copytree(source, target, ignore=shutil.ignore_patterns(*skipped)))


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """A moto server on 127.0.0.1 for the session; its URL (point clients' endpoint_url at it)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _jpeg(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 100), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


PICTURES = {"/a.jpg": _jpeg("red"), "/b.jpg": _jpeg("blue")}


@contextmanager
def picture_server(pictures: dict[str, bytes]) -> Iterator[str]:
    """Serve ``pictures`` (by URL path; 404 elsewhere) on 127.0.0.1 while the block runs; yield the base URL."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = pictures.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def image_server() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving PICTURES (404 elsewhere); its base URL."""
    with picture_server(PICTURES) as url:
        yield url
