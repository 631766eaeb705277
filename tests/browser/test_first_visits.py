"""The first visits after the server starts, to two pages' addresses at once: both get app.py's sidebar."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import serve_app

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

TIMEOUT_MS = 45_000


def test_two_sessions_opened_at_once_both_get_the_apps_sidebar(  # type: ignore[no-untyped-def]
        browser, demo_workspace: Path, tmp_path: Path) -> None:
    """Streamlit runs a page's file alone on the first visits after it starts (the pages/ folder's old rules).
    The page sends its session through app.py; a rule shared by the sessions let the second session opened at
    once stay alone, with the folder's file names for a sidebar and no workspace (3 times out of 3)."""
    with serve_app(os.environ | {"KAYFABE_WORKSPACE": str(demo_workspace)}, tmp_path / "server.log") as url:
        contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(2)]
        try:
            tabs = [context.new_page() for context in contexts]
            for tab, path in zip(tabs, ("train", "images"), strict=True):
                tab.goto(f"{url}/{path}", wait_until="commit")  # the second starts before the first has run
            for tab in tabs:
                sidebar = tab.locator('[data-testid="stSidebar"]')
                expect(sidebar).to_contain_text("Workspace", timeout=TIMEOUT_MS)
                expect(sidebar).to_contain_text("Progress", timeout=TIMEOUT_MS)
                expect(sidebar.get_by_text("app", exact=True)).to_have_count(0)  # not the folder's file names
        finally:
            for context in contexts:
                context.close()
