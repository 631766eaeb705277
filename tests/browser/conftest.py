"""Browser-test helpers: a demo workspace, the app served by ``streamlit run``, Debian's Chromium.

Chromium is Debian's (``apt-get install chromium``); Playwright cannot download its own
browser on these machines. Without it the browser tests are skipped, except under CI
(``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM_WRAPPER = Path("/usr/bin/chromium")
CHROMIUM_BINARY = Path("/usr/lib/chromium/chromium")  # the wrapper's target, without its warning
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
IDLE = '[data-testid="stApp"][data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]'
SERVER_START_TIMEOUT_S = 30.0
DEMO_TIMEOUT_S = 300


def require_chromium() -> None:
    """Skip when Debian's Chromium is missing, but fail under CI, which must run these tests."""
    if CHROMIUM_WRAPPER.exists():
        return
    message = f"{CHROMIUM_WRAPPER} not found: install Debian's chromium (apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: browser tests must run)")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"streamlit was not healthy after {SERVER_START_TIMEOUT_S:.0f} s:\n"
                f"{log.read_text(errors='replace')}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace built with the CLI (``python -m kayfabe_core demo``)."""
    require_chromium()  # no point building the demo when nothing can look at it
    folder = tmp_path_factory.mktemp("browser") / "demo-workspace"
    done = subprocess.run([sys.executable, "-m", "kayfabe_core", "demo", str(folder)], cwd=ROOT,
                          capture_output=True, text=True, timeout=DEMO_TIMEOUT_S)
    if done.returncode != 0:
        pytest.fail(f"building the demo workspace failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return folder


@contextmanager
def serve_app(env: dict[str, str], log: Path) -> Iterator[str]:
    """Serve the app with ``streamlit run app.py`` on a free local port with ``env``; yield its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(url, server, log)
        yield url
    finally:
        _stop(server)


@pytest.fixture(scope="session")
def app_url(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served on a free local port, on the demo workspace."""
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with serve_app(os.environ | {"KAYFABE_WORKSPACE": str(demo_workspace)}, log) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright."""
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = CHROMIUM_BINARY if CHROMIUM_BINARY.exists() else CHROMIUM_WRAPPER
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser tab (own context) at a desktop size."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    context.set_default_timeout(20_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The folder for screenshots (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def wait_idle(page: object, timeout_ms: int = 30_000) -> None:
    """Wait until the app is connected and no script is running.

    Call it after waiting for content the action should produce: right after a click
    the state still reads ``notRunning`` for a few milliseconds.
    """
    page.locator(IDLE).wait_for(state="attached", timeout=timeout_ms)  # type: ignore[attr-defined]


_CONTENT_HEIGHT_JS = """() => Math.max(document.documentElement.scrollHeight,
    ...['stMain', 'stAppViewContainer', 'stSidebarContent', 'stMainBlockContainer'].map(
        id => document.querySelector(`[data-testid="${id}"]`)?.scrollHeight ?? 0))"""


def full_screenshot(page: object, path: Path) -> None:
    """Save the whole page, not just the window.

    Streamlit scrolls inside its own containers, so Playwright's ``full_page`` sees only
    the window: grow the window to the content's height, shoot, then put it back.
    """
    viewport = page.viewport_size  # type: ignore[attr-defined]
    height = int(page.evaluate(_CONTENT_HEIGHT_JS))  # type: ignore[attr-defined]
    if height > viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": min(height + 40, 12_000)})  # type: ignore[attr-defined]
        page.wait_for_timeout(500)  # type: ignore[attr-defined]  # let charts and tables re-lay-out
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    page.set_viewport_size(viewport)  # type: ignore[attr-defined]
