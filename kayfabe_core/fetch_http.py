"""Download one image URL safely: http(s) only, public addresses only, bounded time and size.

The host is resolved once per hop and the connection is made to that checked
address (so a second DNS answer cannot point it somewhere else). Redirects are
followed up to :data:`MAX_REDIRECTS` times, each target checked like the first URL.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 3
REDIRECT_CODES = {301, 302, 303, 307, 308}
CHUNK = 64 * 1024
USER_AGENT = "kayfabe-detector/0.1 (image fetch)"


class FetchFailure(Exception):
    """One image could not be fetched; ``status`` is the images.fetch_status to store."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Limits:
    """How long and how much one download may take."""

    timeout_s: float
    max_bytes: int
    allow_private: bool


def download(url: str, limits: Limits) -> bytes:
    """Return the body of ``url`` after at most :data:`MAX_REDIRECTS` redirects.

    Raises :class:`FetchFailure` with status 'refused' (scheme or address not
    allowed), 'http_error' (status 400 or more, too many redirects), 'too_large'
    (body over ``limits.max_bytes``) or 'failed' (network error or timeout).
    """
    deadline = time.monotonic() + 4 * limits.timeout_s
    for _ in range(MAX_REDIRECTS + 1):
        target = _checked_target(url, limits.allow_private)
        try:
            location, body = _get(target, limits, deadline)
        except TimeoutError as exc:
            raise FetchFailure("failed", f"The image server did not answer within {limits.timeout_s:g} s.") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise FetchFailure("failed", f"Could not download the image: {exc or type(exc).__name__}.") from exc
        if location is None:
            return body
        url = urljoin(url, location)
    raise FetchFailure("http_error", f"The image link redirected more than {MAX_REDIRECTS} times.")


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    address: str
    path: str


def _checked_target(url: str, allow_private: bool) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchFailure("refused", f"The image link is not a valid web address ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}:" if scheme else "no scheme"
        raise FetchFailure("refused", f"Only http and https image links are fetched (this one has {shown}).")
    if not parts.hostname:
        raise FetchFailure("refused", "The image link has no server name.")
    port = port or (443 if scheme == "https" else 80)
    address = resolve_public(parts.hostname, port, allow_private)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme, parts.hostname, port, address, path)


def resolve_public(host: str, port: int, allow_private: bool) -> str:
    """Return an IP address of ``host`` to connect to.

    Raises :class:`FetchFailure` 'failed' when the name does not resolve, and
    'refused' when any of its addresses is loopback, private, link-local,
    multicast, reserved or unspecified (unless ``allow_private``).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchFailure("failed", f"Could not find the image server {host}.") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                raise FetchFailure(
                    "refused", f"The image server {host} is on a private or local network address ({address}).")
    return addresses[0]


def is_public_address(address: str) -> bool:
    """Return True unless ``address`` is loopback, private, link-local, multicast, reserved or unspecified."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified)


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to a checked address, sending the host's name."""

    def __init__(self, target: _Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(_PinnedHTTP):
    """An HTTPS connection to a checked address, verifying the host's certificate."""

    def connect(self) -> None:
        super().connect()
        self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.host)


def _get(target: _Target, limits: Limits, deadline: float) -> tuple[str | None, bytes]:
    """GET one hop. Returns (redirect location, b'') or (None, body)."""
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = kind(target, limits.timeout_s)
    try:
        conn.request("GET", target.path, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
        response = conn.getresponse()
        location = response.getheader("Location")
        if response.status in REDIRECT_CODES and location:
            return location, b""
        if response.status >= 300:
            raise FetchFailure("http_error", _http_error_message(response))
        return None, _read_body(response, limits.max_bytes, deadline)
    finally:
        conn.close()


def _http_error_message(response: http.client.HTTPResponse) -> str:
    head = f"HTTP {response.status} {response.reason}".strip()
    text = response.read(300).decode("utf-8", "replace").strip()
    if "signature expired" in text.lower():
        return f"{head}: the image link has expired (the server said \"URL signature expired\")."
    content_type = (response.getheader("Content-Type") or "").lower()
    if text and content_type.startswith("text/plain") and len(text) < 200:
        return f"{head}: {text.splitlines()[0]}"
    return head


def _read_body(response: http.client.HTTPResponse, max_bytes: int, deadline: float) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchFailure("too_large", _too_large(int(declared), max_bytes))
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FetchFailure("too_large", _too_large(None, max_bytes))
        if time.monotonic() > deadline:
            raise TimeoutError
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int | None, max_bytes: int) -> str:
    shown = f" (it has {size:,})" if size is not None else ""
    return f"The image file is larger than the {max_bytes:,} bytes allowed{shown}."
