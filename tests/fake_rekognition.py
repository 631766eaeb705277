"""A fake Amazon Rekognition on 127.0.0.1 and a workspace of fetched images for it to label.

The service speaks the AWS JSON 1.1 protocol botocore uses for Rekognition
(``X-Amz-Target: RekognitionService.DetectLabels``), answers each call after a
fixed delay (or one drawn from a range) and counts the calls per operation and
per image (the sha256 of the image bytes sent), so a test can prove that no
image was billed twice; it also keeps when each call arrived and how long it
was handled, for ``benchmarks/bench_labeling.py``. Point a
client at it with ``AWS_ENDPOINT_URL`` and fake credentials (:func:`fake_aws_env`).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image

from kayfabe_core.images import mark_fetched, save_image_bytes
from kayfabe_core.workspace import Workspace, open_workspace, transaction

REGION = "us-east-1"
ANSWERS: dict[str, dict[str, Any]] = {
    "DetectLabels": {
        "Labels": [
            {"Name": "Person", "Confidence": 99.1, "Instances": [], "Parents": [], "Aliases": [],
             "Categories": [{"Name": "Person Description"}]},
            {"Name": "Wrestling", "Confidence": 87.4, "Instances": [], "Parents": [{"Name": "Sport"}],
             "Aliases": [], "Categories": [{"Name": "Sports"}]},
            {"Name": "Sport", "Confidence": 87.4, "Instances": [], "Parents": [], "Aliases": [],
             "Categories": [{"Name": "Sports"}]},
        ],
        "LabelModelVersion": "3.0",
    },
    "DetectModerationLabels": {"ModerationLabels": [], "ModerationModelVersion": "7.0"},
    "RecognizeCelebrities": {"CelebrityFaces": [], "UnrecognizedFaces": []},
}


class FakeRekognition:
    """A threaded HTTP server answering Rekognition's JSON 1.1 calls after ``latency_s`` seconds.

    Use it as a context manager; ``endpoint`` is its URL. ``calls`` counts
    (operation, sha256 of the image bytes) pairs, counted when the request
    arrives, so a call the client gives up on is still counted as billed.
    """

    def __init__(self, latency_s: float | tuple[float, float] = 0.3, seed: int = 7) -> None:
        self.latency_s = latency_s
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, str]] = Counter()
        self.arrivals: list[float] = []  # time.monotonic() when each request's headers were read
        self.handling: list[float] = []  # seconds from arrival to answer sent
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                arrived = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
                owner._note(operation, body)
                time.sleep(owner._next_delay())
                if operation in ANSWERS:
                    status, answer = 200, ANSWERS[operation]
                else:
                    status, answer = 400, {"__type": "InvalidParameterException",
                                           "Message": f"Unknown operation {operation!r}"}
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                self.end_headers()
                self.wfile.write(payload)
                owner._timed(arrived, time.monotonic() - arrived)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-rekognition", daemon=True)

    def _next_delay(self) -> float:
        if isinstance(self.latency_s, tuple):
            with self._lock:
                return self._rng.uniform(*self.latency_s)
        return self.latency_s

    def _timed(self, arrived: float, handled: float) -> None:
        with self._lock:
            self.arrivals.append(arrived)
            self.handling.append(handled)

    def reset(self) -> None:
        """Forget the calls and timings so far."""
        with self._lock:
            self._calls.clear()
            self.arrivals.clear()
            self.handling.clear()

    def snapshot(self) -> tuple[list[float], list[float]]:
        """The arrival times (sorted) and handling seconds so far."""
        with self._lock:
            return sorted(self.arrivals), list(self.handling)

    def _note(self, operation: str, body: bytes) -> None:
        try:
            image = base64.b64decode(json.loads(body or b"{}").get("Image", {}).get("Bytes", ""))
        except (ValueError, AttributeError):
            image = b""
        with self._lock:
            self._calls[(operation, hashlib.sha256(image).hexdigest())] += 1

    def calls(self, operation: str | None = None) -> Counter[str]:
        """Calls per image sha256 so far, for one operation or all of them."""
        with self._lock:
            counts: Counter[str] = Counter()
            for (op, sha256), n in self._calls.items():
                if operation is None or op == operation:
                    counts[sha256] += n
            return counts

    def total(self, operation: str | None = None) -> int:
        """How many calls arrived so far."""
        return sum(self.calls(operation).values())

    def wait_for(self, n: int, timeout_s: float = 30.0, operation: str | None = None) -> int:
        """Wait until at least ``n`` calls arrived; return the count (raise TimeoutError if too slow)."""
        deadline = time.monotonic() + timeout_s
        while (count := self.total(operation)) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count} of {n} calls arrived at the fake Rekognition in {timeout_s:g} s")
            time.sleep(0.05)
        return count

    def __enter__(self) -> FakeRekognition:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def fake_aws_env(endpoint: str, region: str = REGION) -> dict[str, str]:
    """The process environment with fake credentials, ``region`` and every AWS call sent to ``endpoint``.

    Profiles, config files and instance metadata are cut off, so nothing real is read or reached.
    """
    dropped = {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION",
               "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
               "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"}
    env = {name: value for name, value in os.environ.items()
           if name not in dropped and not name.startswith("AWS_ENDPOINT_URL")}
    return env | {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_ENDPOINT_URL": endpoint,
    }


def jpeg(rng: random.Random) -> bytes:
    """A tiny JPEG of random noise: distinct bytes (and sha256) for every call."""
    picture = Image.frombytes("RGB", (16, 16), bytes(rng.getrandbits(8) for _ in range(16 * 16 * 3)))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def build_workspace(root: Path, n: int, seed: int = 7) -> Workspace:
    """Return a workspace with ``n`` one-image posts whose distinct JPEGs are all fetched."""
    workspace = open_workspace(root)
    rng = random.Random(seed)
    with transaction(workspace) as conn:
        conn.executemany("INSERT INTO posts(post_url, n_images) VALUES (?, 1)",
                         [(f"https://www.instagram.com/p/B{i:07d}/",) for i in range(n)])
        conn.executemany("INSERT INTO images(post_url, position, image_key, source_url) VALUES (?, 0, ?, ?)",
                         [(f"https://www.instagram.com/p/B{i:07d}/", f"/v/t51/{i:07d}_n.jpg",
                           f"https://cdn.example/v/t51/{i:07d}_n.jpg?oh=aa&oe=61E00000") for i in range(n)])
        ids = [row[0] for row in conn.execute("SELECT image_id FROM images ORDER BY image_id")]
        hashes = set()
        for image_id in ids:
            stored = save_image_bytes(workspace, jpeg(rng))
            hashes.add(stored.sha256)
            mark_fetched(conn, image_id, stored)
    if len(hashes) != n:
        raise RuntimeError(f"expected {n} distinct images, made {len(hashes)}")
    return workspace
