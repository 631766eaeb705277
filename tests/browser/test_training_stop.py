"""Stop during a long training in Chromium: the work ends at once, nothing is saved, and the page says so."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import wait_idle

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

TIMEOUT_MS = 30_000


def _runs_in_sidebar(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="stSidebar"]').inner_text().split("Train")[-1]


def test_stop_ends_training_and_says_nothing_was_saved(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/train")
    expect(page.locator(".st-key-train_button button").first).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    runs_before = _runs_in_sidebar(page)
    for key, value in (("split_folds", "10"), ("split_repeats", "20")):  # 200 models: several seconds
        page.locator(f".st-key-{key} input").fill(value)
        page.locator(f".st-key-{key} input").press("Enter")
        wait_idle(page)
    expect(page.get_by_text("200 models × up to 100 rounds")).to_be_visible(timeout=TIMEOUT_MS)
    page.locator(".st-key-train_button button").first.click()
    expect(page.get_by_text("Training: fold", exact=False)).to_be_visible(timeout=TIMEOUT_MS)
    clicked = time.monotonic()
    page.locator(".st-key-stop_training button").first.click()
    told = page.locator('[data-testid="stToast"]', has_text="Training was stopped before it finished")
    expect(told).to_be_visible(timeout=TIMEOUT_MS)
    assert time.monotonic() - clicked < 10  # the round in progress ends, no more
    wait_idle(page)
    expect(page.locator(".st-key-stop_training button")).to_have_count(0)
    assert _runs_in_sidebar(page) == runs_before  # nothing was saved
