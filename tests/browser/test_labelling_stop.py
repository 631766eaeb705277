"""Stop Rekognition labelling half-way in the browser, then resume it: no image is billed twice.

The app runs with ``streamlit run`` on a workspace of 30 fetched images and talks to a
fake Rekognition on 127.0.0.1 (``AWS_ENDPOINT_URL``, fake credentials), which answers
DetectLabels after 1 s and counts the calls per image.

Run with ``pytest -m browser tests/browser``. Screenshots land in tests/browser/screenshots/.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import full_screenshot, require_chromium, serve_app, wait_idle
from tests.fake_rekognition import FakeRekognition, build_workspace, fake_aws_env

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

N_IMAGES = 30
RATE = 2               # calls per second: slow enough to stop half-way, 15 s for all 30
LATENCY_S = 1.0        # the fake service's answer time: calls are still in flight at the stop
STOP_AFTER = 4         # calls that reach the service before the stop click
STOPPED_FOR_S = 2.0    # no new call for this long (4 slots at RATE) means the run has ended
TIMEOUT_MS = 30_000
OPERATION = "DetectLabels"
OTHER_OPERATIONS = ("DetectModerationLabels", "RecognizeCelebrities")


@pytest.fixture
def rekognition() -> Iterator[FakeRekognition]:
    with FakeRekognition(latency_s=LATENCY_S) as service:
        yield service


@pytest.fixture
def workspace_root(tmp_path: Path) -> Path:
    require_chromium()  # no point building it when nothing can look at it
    return build_workspace(tmp_path / "workspace", N_IMAGES).root


@pytest.fixture
def labelling_app(workspace_root: Path, rekognition: FakeRekognition, tmp_path: Path) -> Iterator[str]:
    """The app served by ``streamlit run`` on ``workspace_root``, with AWS pointed at the fake service."""
    log = tmp_path / "server.log"
    env = fake_aws_env(rekognition.endpoint) | {"KAYFABE_WORKSPACE": str(workspace_root)}
    with serve_app(env, log) as url:
        yield url
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")


def _stored(root: Path) -> dict[str, int]:
    """Stored Rekognition answers (errors included) per image sha256, for DetectLabels."""
    conn = sqlite3.connect(f"file:{os.fspath(root / 'kayfabe.sqlite')}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT sha256, COUNT(*) FROM responses WHERE operation = ? GROUP BY sha256",
                            (OPERATION,)).fetchall()
    finally:
        conn.close()
    return {str(sha256): int(n) for sha256, n in rows}


def _image_hashes(root: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{os.fspath(root / 'kayfabe.sqlite')}?mode=ro", uri=True, timeout=10)
    try:
        return {str(row[0]) for row in conn.execute("SELECT sha256 FROM images WHERE sha256 IS NOT NULL")}
    finally:
        conn.close()


def _wait_until_ended(service: FakeRekognition, root: Path, timeout_s: float = 30.0) -> int:
    """Wait until no call has reached the service for STOPPED_FOR_S and every call made is stored.

    Returns the number of calls made. Fails when calls keep coming (the run did not stop).
    """
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        calls = service.total()
        if calls != last:
            last, since = calls, time.monotonic()
        elif time.monotonic() - since >= STOPPED_FOR_S and sum(_stored(root).values()) == calls:
            return calls
        time.sleep(0.1)
    pytest.fail(f"labelling did not end within {timeout_s:g} s: {service.total()} calls made, "
                f"{sum(_stored(root).values())} answers stored")


def _metric_value(page, label: str):  # type: ignore[no-untyped-def]
    label_box = page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    return page.locator('[data-testid="stMetric"]', has=label_box).locator('[data-testid="stMetricValue"]')


def _no_exception(page) -> None:  # type: ignore[no-untyped-def]
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()
    assert "Traceback" not in page.locator('[data-testid="stMain"]').inner_text()


def _agree(page, checked: bool) -> None:  # type: ignore[no-untyped-def]
    """Tick (or untick) the cost confirmation and wait for the page to settle."""
    box = page.locator(".st-key-agree_cost input")
    if box.is_checked() != checked:
        page.locator(".st-key-agree_cost label").click()
    expect(box).to_be_checked(checked=checked, timeout=TIMEOUT_MS)
    wait_idle(page)


def test_labelling_stops_on_stop_and_resumes_without_paying_twice(  # type: ignore[no-untyped-def]
        page, labelling_app: str, workspace_root: Path, rekognition: FakeRekognition, screenshots: Path) -> None:
    images = _image_hashes(workspace_root)
    assert len(images) == N_IMAGES

    # 1. Images & labels, Fetch & label section (the default while nothing is labelled).
    page.goto(labelling_app)
    nav = page.locator('[data-testid="stSidebarNavLink"]', has_text="Images & labels")
    expect(nav).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    nav.click()
    expect(page.locator("h1", has_text="Images & labels")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    section = page.locator(".st-key-images_section button", has_text="Fetch & label")
    if section.get_attribute("aria-checked") != "true":  # a click on the chosen one would unchoose it
        section.click()
    expect(section).to_have_attribute("aria-checked", "true")
    expect(page.get_by_text("2. Get Rekognition labels")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    _no_exception(page)
    expect(_metric_value(page, "Fetched")).to_have_text(f"{N_IMAGES}")
    expect(_metric_value(page, "With labels")).to_have_text("0")

    # 2. DetectLabels only, at RATE calls a second, in the region from the environment.
    for operation in OTHER_OPERATIONS:
        page.get_by_role("button", name=re.compile(rf"^Remove {operation}\b")).click()
        expect(page.get_by_role("button", name=re.compile(rf"^Remove {operation}\b"))).to_have_count(0)
        wait_idle(page)
    expect(page.get_by_role("button", name=re.compile(rf"^Remove {OPERATION}\b"))).to_have_count(1)
    expect(page.locator(".st-key-region input")).to_have_value("us-east-1")
    rate = page.locator(".st-key-rate input")
    rate.fill(str(RATE))
    rate.press("Enter")
    expect(rate).to_have_value(f"{RATE:.2f}", timeout=TIMEOUT_MS)
    wait_idle(page)
    expect(_metric_value(page, "Calls needed")).to_have_text(f"{N_IMAGES}")
    expect(_metric_value(page, "Already stored (not paid again)")).to_have_text("0")

    # 3. Confirm the cost and start; stop after a few calls.
    start = page.locator(".st-key-start_labeling button")
    expect(start).to_be_disabled()
    _agree(page, True)
    expect(start).to_be_enabled(timeout=TIMEOUT_MS)
    start.click()
    progress = page.locator('[data-testid="stProgress"]')
    expect(progress).to_contain_text("Stop keeps the images already finished", timeout=TIMEOUT_MS)
    rekognition.wait_for(STOP_AFTER, timeout_s=30)
    assert rekognition.total() < N_IMAGES
    page.locator(".st-key-stop_labelling button").first.click()  # (a key class sits on two nested elements)

    # 4. The page waits for the calls already sent, then says what was stored and what is left,
    #    with no extra click (Streamlit draws the page again while the stopped run still stores).
    stopped = page.locator('[data-testid="stToast"]', has_text="Labelling stopped")
    expect(stopped).to_be_visible(timeout=TIMEOUT_MS)
    made = _wait_until_ended(rekognition, workspace_root)
    stored = _stored(workspace_root)
    assert STOP_AFTER <= made < N_IMAGES - 5, f"{made} calls before the run ended: it did not stop"
    assert len(stored) == made and set(stored.values()) == {1}  # every answer paid for is kept, once
    assert set(stored) <= images
    expect(stopped).to_contain_text(f"{made:,} responses were stored before the stop")
    expect(progress).to_have_count(0, timeout=TIMEOUT_MS)
    expect(_metric_value(page, "With labels")).to_have_text(f"{made}", timeout=TIMEOUT_MS)
    expect(_metric_value(page, "Already stored (not paid again)")).to_have_text(f"{made}")
    expect(_metric_value(page, "Calls needed")).to_have_text(f"{N_IMAGES - made}")
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text(f"{N_IMAGES} images, {made} labelled")
    wait_idle(page)
    _no_exception(page)
    full_screenshot(page, screenshots / "labelling_stopped.png")

    # 5. Resume: only the images left are sent, and the run completes.
    expect(start).to_be_enabled(timeout=TIMEOUT_MS)
    start.click()
    left = N_IMAGES - made
    done = page.locator('[data-testid="stAlert"]', has_text=f"Stored {left:,} responses")
    expect(done).to_be_visible(timeout=TIMEOUT_MS + int(1000 * left / RATE))
    expect(done).to_contain_text("0 images could not be labelled")
    expect(done).to_contain_text("0 left to retry")
    expect(progress).to_have_count(0)  # drawn again when done: no finished bar or Stop button left behind
    expect(_metric_value(page, "Calls needed")).to_have_text("0", timeout=TIMEOUT_MS)
    wait_idle(page)
    _no_exception(page)
    full_screenshot(page, screenshots / "labelling_resumed.png")

    # 6. Every image has exactly one DetectLabels answer and was sent exactly once.
    stored = _stored(workspace_root)
    assert stored == {sha256: 1 for sha256 in images}
    assert rekognition.calls(OPERATION) == Counter({sha256: 1 for sha256 in images})
    assert rekognition.total() == N_IMAGES  # nothing else was called
    conn = sqlite3.connect(f"file:{os.fspath(workspace_root / 'kayfabe.sqlite')}?mode=ro", uri=True)
    try:
        bad = conn.execute("SELECT COUNT(*) FROM responses WHERE response IS NULL OR error_code IS NOT NULL "
                           "OR origin != 'rekognition' OR region != 'us-east-1'").fetchone()[0]
    finally:
        conn.close()
    assert bad == 0

    # 7. A fresh look at the page agrees: everything labelled, nothing left to pay for.
    page.locator(".st-key-images_section button", has_text="Gallery").click()
    expect(page.get_by_text(f"{N_IMAGES} images match")).to_be_visible(timeout=TIMEOUT_MS)
    expect(_metric_value(page, "With labels")).to_have_text(f"{N_IMAGES}")
    wait_idle(page)
    _no_exception(page)
