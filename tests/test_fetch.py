"""Fetching images: each link requested once, checked, and stored under its content hash.

A real HTTP server on 127.0.0.1 serves good and bad answers; it counts the
requests per path so the tests can tell which links were never requested.
"""

from __future__ import annotations

import hashlib
import io
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from kayfabe_core.errors import StageNotReadyError
from kayfabe_core.fetch import FetchReport, FetchSettings, fetch_images
from kayfabe_core.fetch_content import prepare_image, sniff_format
from kayfabe_core.fetch_http import FetchFailure, is_public_address
from kayfabe_core.ingest import ingest_files
from kayfabe_core.workspace import Workspace, connect, open_workspace
from tests.conftest import make_csv, post_row

FUTURE = "oh=ab12&oe=7FFFFFFF"  # 2038
PAST = "oh=ab12&oe=5F000000"  # 2020
SMALL = FetchSettings(timeout_s=0.5, max_bytes=50_000, max_pixels=1_000_000, allow_private=True, workers=4)


def _picture(fmt: str, size: tuple[int, int] = (120, 100), mode: str = "RGB", color: object = "red",
             **options: object) -> bytes:
    buffer = io.BytesIO()
    picture = Image.new(mode, size, color)  # type: ignore[arg-type]
    for x in range(0, size[0], 7):  # some detail, so encoders have work to do
        picture.putpixel((x, x % size[1]), (0, 0, 0, 255)[: len(mode)] if mode != "P" else 0)
    picture.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG file whose header claims ``width`` × ``height`` pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(
        b"IEND", b"")


GOOD_JPEG = _picture("JPEG")
SAME_JPEG = _picture("JPEG", color="blue")


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "image/jpeg"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    send_length: bool = True


ROUTES: dict[str, Answer] = {
    "/good.jpg": Answer(body=GOOD_JPEG),
    "/pic.png": Answer(body=_picture("PNG", (100, 90)), content_type="image/png"),
    "/pic.webp": Answer(body=_picture("WEBP", (100, 100), "RGBA", (0, 200, 0, 128)), content_type="image/webp"),
    "/pic.gif": Answer(body=_picture("GIF", (90, 90), "P"), content_type="image/gif"),
    "/same-a.jpg": Answer(body=SAME_JPEG),
    "/same-b.jpg": Answer(body=SAME_JPEG),
    "/tiny.png": Answer(body=_picture("PNG", (40, 60)), content_type="image/png"),
    "/missing.jpg": Answer(status=404, body=b"<html>Not here</html>", content_type="text/html"),
    "/signed.jpg": Answer(status=403, body=b"URL signature expired", content_type="text/plain"),
    "/page.jpg": Answer(body=b"<!DOCTYPE html><html><body>Log in</body></html>", content_type="text/html"),
    "/corrupt.jpg": Answer(body=b"\xff\xd8\xff\xe0" + b"\x00garbage" * 50),
    "/huge.jpg": Answer(body=b"\xff\xd8\xff" + bytes(60_000)),
    "/stream.jpg": Answer(body=b"\xff\xd8\xff" + bytes(60_000), send_length=False),
    "/slow.jpg": Answer(body=GOOD_JPEG, delay=1.0),
    "/bomb.png": Answer(body=_png_declaring(5_000, 5_000), content_type="image/png"),
    "/old.jpg": Answer(body=GOOD_JPEG),
    "/redirect.jpg": Answer(status=302, headers=(("Location", "/pic.png"),)),
    "/loop.jpg": Answer(status=302, headers=(("Location", "/loop.jpg?again=1"),)),
}


@dataclass
class Server:
    base: str
    hits: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str, query: str = FUTURE) -> str:
        return f"{self.base}{path}?{query}"


@dataclass(frozen=True)
class Fetched:
    workspace: Workspace
    hits: Counter[str]
    report: FetchReport


@pytest.fixture(scope="module")
def _running_server() -> Iterator[Server]:
    state = Server("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            path = self.path.split("?", 1)[0]
            with state.lock:
                state.hits[path] += 1
            answer = ROUTES.get(path, Answer(status=404))
            time.sleep(answer.delay)
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            for name, value in answer.headers:
                self.send_header(name, value)
            if answer.send_length:
                self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            try:
                self.wfile.write(answer.body)
            except OSError:
                pass  # the client gave up early, as it should for too-large bodies

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def server(_running_server: Server) -> Server:
    """The test server, with its request counts cleared."""
    _running_server.hits.clear()
    return _running_server


def _ingest(workspace: Workspace, links: dict[str, str]) -> None:
    rows = [post_row(code, "1", imgUrl=url) for code, url in links.items()]
    ingest_files(workspace, [("export.csv", make_csv(rows).encode())])


def _images(workspace: Workspace) -> dict[str, dict[str, object]]:
    """The images table keyed by post code."""
    with connect(workspace) as conn:
        rows = conn.execute("SELECT * FROM images ORDER BY image_id").fetchall()
    return {row["post_url"].rstrip("/").rsplit("/", 1)[1]: dict(row) for row in rows}


def _statuses(workspace: Workspace) -> dict[str, str]:
    return {code: str(row["fetch_status"]) for code, row in _images(workspace).items()}


ALL_CASES = {
    "good": "/good.jpg", "goodtwin": "/good.jpg", "png": "/pic.png", "webp": "/pic.webp", "gif": "/pic.gif",
    "sameA": "/same-a.jpg", "sameB": "/same-b.jpg", "tiny": "/tiny.png", "missing": "/missing.jpg",
    "signed": "/signed.jpg", "page": "/page.jpg", "corrupt": "/corrupt.jpg", "huge": "/huge.jpg",
    "stream": "/stream.jpg", "slow": "/slow.jpg", "bomb": "/bomb.png", "redirect": "/redirect.jpg",
    "loop": "/loop.jpg",
}
EXPECTED = {
    "good": "ok", "goodtwin": "ok", "png": "ok", "webp": "ok", "gif": "ok", "sameA": "ok", "sameB": "ok",
    "tiny": "too_small", "missing": "http_error", "signed": "http_error", "page": "not_an_image",
    "corrupt": "not_an_image", "huge": "too_large", "stream": "too_large", "slow": "failed", "bomb": "too_large",
    "redirect": "ok", "loop": "http_error", "old": "expired",
}
MESSAGES = {
    "tiny": "The image is 40 × 60 pixels; Rekognition needs at least 80 on each side.",
    "missing": "HTTP 404 Not Found",
    "signed": 'HTTP 403 Forbidden: the image link has expired (the server said "URL signature expired").',
    "page": "The link gave a web page instead of an image.",
    "huge": "The image file is larger than the 50,000 bytes allowed (it has 60,003).",
    "stream": "The image file is larger than the 50,000 bytes allowed.",
    "slow": "The image server did not answer within 0.5 s.",
    "bomb": "The image is 5,000 × 5,000 pixels, more than the 1,000,000 allowed.",
    "loop": "The image link redirected more than 3 times.",
    "old": "The image link expired on 2020-07-04 04:05 UTC; scrape the post again to get a fresh link.",
}


@pytest.fixture(scope="module")
def fetched(_running_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Fetched:
    """A workspace with every case imported and fetched once (shared: tests must not change its statuses)."""
    server = _running_server
    workspace = open_workspace(tmp_path_factory.mktemp("fetched") / "ws")
    links = {code: server.url(path) for code, path in ALL_CASES.items()} | {"old": server.url("/old.jpg", PAST)}
    _ingest(workspace, links)
    server.hits.clear()
    report = fetch_images(workspace, SMALL)
    return Fetched(workspace, Counter(server.hits), report)


def test_each_image_gets_the_status_of_what_the_server_gave(fetched: Fetched) -> None:
    workspace = fetched.workspace
    assert _statuses(workspace) == EXPECTED


def test_failures_are_explained_in_users_words(fetched: Fetched) -> None:
    workspace = fetched.workspace
    errors = {code: row["fetch_error"] for code, row in _images(workspace).items()}
    assert {code: errors[code] for code in MESSAGES} == MESSAGES
    assert str(errors["corrupt"]).startswith("The file could not be read as an image (")
    assert errors["good"] is None


def test_report_counts_every_outcome(fetched: Fetched) -> None:
    report = fetched.report
    data = report.to_dict()
    assert data.pop("seconds") == report.seconds >= 0
    assert data == {"attempted": 19, "ok": 8, "too_small": 1, "expired": 1, "http_error": 3, "not_an_image": 2,
                    "too_large": 3, "refused": 0, "failed": 1, "already_fetched": 0, "pending": 0,
                    "stopped": False}
    assert report.summary() == (
        "Fetched 8 of 19 images. The others: 1 expired: Instagram's link is past its date; export the posts again "
        "for fresh links; 3 refused by the server (an HTTP error); 1 failed on the network (try again later); "
        "2 not pictures (the link gave something else); 3 too large (over the size limit); 1 too small for "
        "Rekognition (kept, not labelled).")


def test_bytes_are_stored_once_under_their_hash(fetched: Fetched) -> None:
    workspace, hits = fetched.workspace, fetched.hits
    images = _images(workspace)
    for code, row in images.items():
        if row["fetch_status"] in ("ok", "too_small"):
            data = workspace.image_path(str(row["sha256"]), str(row["ext"])).read_bytes()
            assert hashlib.sha256(data).hexdigest() == row["sha256"]
            assert row["n_bytes"] == len(data), code
        else:
            assert row["sha256"] is None, code
    assert images["good"]["sha256"] == hashlib.sha256(GOOD_JPEG).hexdigest()
    assert images["sameA"]["sha256"] == images["sameB"]["sha256"]
    assert images["goodtwin"]["sha256"] == images["good"]["sha256"]
    assert images["redirect"]["sha256"] == images["png"]["sha256"]
    assert (images["png"]["ext"], images["png"]["width"], images["png"]["height"]) == ("png", 100, 90)
    stored = sorted(path.name for path in workspace.images_dir.iterdir())
    assert len(stored) == 6  # good, png, webp, gif, same, tiny
    assert not [name for name in stored if name.endswith(".part")]
    assert hits["/good.jpg"] == 1  # one link shared by two posts is requested once


def test_webp_and_gif_are_stored_as_jpeg(fetched: Fetched) -> None:
    workspace = fetched.workspace
    images = _images(workspace)
    for code in ("webp", "gif"):
        assert images[code]["ext"] == "jpg"
        path = workspace.image_path(str(images[code]["sha256"]), "jpg")
        with Image.open(path) as picture:
            assert (picture.format, picture.mode) == ("JPEG", "RGB")
    with Image.open(workspace.image_path(str(images["webp"]["sha256"]), "jpg")) as picture:
        red, green, blue = picture.getpixel((50, 50))  # type: ignore[misc]
        assert green > 150 and red > 80 and blue > 80  # half-transparent green laid on white


def test_expired_links_are_never_requested(fetched: Fetched) -> None:
    assert fetched.hits["/old.jpg"] == 0


def test_second_run_requests_only_what_failed(fetched: Fetched, server: Server) -> None:
    workspace = fetched.workspace
    report = fetch_images(workspace, SMALL)
    stored = ["/good.jpg", "/pic.png", "/pic.webp", "/pic.gif", "/same-a.jpg", "/same-b.jpg", "/tiny.png"]
    assert [server.hits[path] for path in stored] == [0] * len(stored)
    assert server.hits["/old.jpg"] == 0
    assert server.hits["/missing.jpg"] == 1
    assert (report.already_fetched, report.attempted, report.ok) == (9, 10, 0)
    assert _statuses(workspace) == EXPECTED


def test_private_addresses_are_refused_without_a_request(workspace: Workspace, server: Server) -> None:
    _ingest(workspace, {"good": server.url("/good.jpg"), "local": f"http://localhost:1/x.jpg?{FUTURE}",
                        "ftp": f"ftp://cdn.example/x.jpg?{FUTURE}"})
    report = fetch_images(workspace, FetchSettings(allow_private=False, timeout_s=0.5))
    assert report.refused == 3 and report.attempted == 3
    assert report.summary() == ("Fetched 0 of 3 images. The others: 3 not allowed: the link is not http(s) or "
                                "points to a private or local address (never fetched, for safety).")
    assert sum(server.hits.values()) == 0
    errors = {code: row["fetch_error"] for code, row in _images(workspace).items()}
    assert errors["good"] == "The image server 127.0.0.1 is on a private or local network address (127.0.0.1)."
    assert errors["ftp"] == "Only http and https image links are fetched (this one has ftp:)."
    assert str(errors["local"]).startswith("The image server localhost is on a private or local network address")


@pytest.mark.parametrize(("address", "public"), [
    ("127.0.0.1", False), ("10.1.2.3", False), ("192.168.0.10", False), ("172.16.5.5", False),
    ("169.254.169.254", False), ("224.0.0.1", False), ("0.0.0.0", False), ("240.0.0.1", False),
    ("::1", False), ("fe80::1%eth0", False), ("::ffff:127.0.0.1", False), ("fc00::1", False),
    ("157.240.1.174", True), ("2a03:2880:f10c:83:face:b00c:0:25de", True),
])
def test_only_public_addresses_count_as_public(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_stop_leaves_the_remaining_images_pending(workspace: Workspace, server: Server) -> None:
    _ingest(workspace, {"a": server.url("/good.jpg"), "b": server.url("/pic.png"), "c": server.url("/pic.gif")})
    stop = threading.Event()
    calls: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total))
        stop.set()

    settings = FetchSettings(allow_private=True, workers=1)
    report = fetch_images(workspace, settings, progress=progress, stop=stop)
    assert _statuses(workspace) == {"a": "ok", "b": "pending", "c": "pending"}
    assert (report.ok, report.pending, report.stopped, calls) == (1, 2, True, [(1, 3)])
    assert server.hits["/pic.png"] == 0
    calls.clear()
    report = fetch_images(workspace, settings, progress=lambda done, total: calls.append((done, total)))
    assert _statuses(workspace) == {"a": "ok", "b": "ok", "c": "ok"}
    assert (report.ok, report.already_fetched, report.stopped, calls) == (2, 1, False, [(1, 2), (2, 2)])


def test_expiry_is_judged_against_the_given_time(workspace: Workspace, server: Server) -> None:
    _ingest(workspace, {"old": server.url("/old.jpg", PAST)})
    settings = FetchSettings(allow_private=True, now=datetime(2020, 1, 1, tzinfo=UTC))
    assert fetch_images(workspace, settings).ok == 1
    assert server.hits["/old.jpg"] == 1


def test_no_images_means_nothing_to_fetch(workspace: Workspace) -> None:
    with pytest.raises(StageNotReadyError, match="There are no images to fetch: import posts first."):
        fetch_images(workspace)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_images_with_too_many_pixels_are_not_decoded() -> None:
    with pytest.raises(FetchFailure) as caught:
        prepare_image(_png_declaring(10_000, 10_000), max_pixels=1_000_000, max_bytes=50_000)
    assert caught.value.status == "too_large"
    with pytest.raises(FetchFailure) as caught:  # past Pillow's own bomb limit
        prepare_image(_png_declaring(20_000, 20_000), max_pixels=10**9, max_bytes=50_000)
    assert caught.value.status == "too_large"
    assert caught.value.message.startswith("The image has too many pixels to open safely")


@pytest.mark.parametrize(("data", "name"), [
    (GOOD_JPEG, "JPEG"), (_picture("PNG"), "PNG"), (_picture("WEBP"), "WEBP"), (_picture("GIF", mode="P"), "GIF"),
    (_picture("BMP"), "BMP"), (_picture("TIFF"), "TIFF"), (b"<html>", None), (b"", None),
])
def test_formats_are_told_by_their_first_bytes(data: bytes, name: str | None) -> None:
    assert sniff_format(data) == name


def test_jpeg_and_png_bytes_are_kept_exactly() -> None:
    for data in (GOOD_JPEG, _picture("PNG")):
        prepared = prepare_image(data, max_pixels=1_000_000, max_bytes=50_000)
        assert (prepared.data, prepared.transcoded) == (data, False)
    bmp = prepare_image(_picture("BMP"), max_pixels=1_000_000, max_bytes=50_000)
    assert (bmp.source_format, bmp.transcoded, bmp.data[:3]) == ("BMP", True, b"\xff\xd8\xff")


def test_a_fetch_with_nothing_left_says_so_in_words() -> None:
    from kayfabe_core.fetch import FetchReport

    fields = {name: 0 for name in ("attempted", "ok", "too_small", "expired", "http_error", "not_an_image",
                                   "too_large", "refused", "failed", "pending")}
    report = FetchReport(**fields, already_fetched=1954, seconds=0.0, stopped=False)
    assert report.summary() == "All 1,954 images were fetched before: nothing to do."
