"""Renaming a run and then using the Runs page again, in a real browser (AppTest cannot show this bug)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kayfabe_core.__main__ import main
from kayfabe_core.runs import list_runs
from kayfabe_core.workspace import open_workspace
from tests.browser.conftest import serve_app, wait_idle

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

PICKER = "Runs to open, repeat, delete (one) or compare (two or more)"


def test_after_a_rename_the_runs_page_filters_and_deletes_without_an_error(  # type: ignore[no-untyped-def]
        page, demo_workspace: Path, tmp_path: Path) -> None:
    """The picker's browser side held the runs' old names; the next click after a rename (a filter, a repeat)
    sent one back and the page showed "TypeError: bad argument type for built-in operation"."""
    root = tmp_path / "ws"
    shutil.copytree(demo_workspace, root)
    for depth in ("3", "5"):
        assert main(["train", str(root), "--preset", "quick", "--param", f"max_depth={depth}", "--json"]) == 0
    first = str(list_runs(open_workspace(root)).iloc[0]["run_id"])
    with serve_app(os.environ | {"KAYFABE_WORKSPACE": str(root)}, tmp_path / "server.log") as url:
        page.goto(f"{url}/runs")
        picker = page.get_by_role("combobox", name=PICKER).first
        picker.click()
        page.get_by_role("option").filter(has_text=first[-4:]).first.click()
        page.keyboard.press("Escape")
        page.get_by_role("textbox", name="Name", exact=True).fill("renamed run")
        page.get_by_role("button", name="Save name and note").click()
        expect(page.get_by_role("heading", name="Run renamed run")).to_be_visible()
        wait_idle(page)
        page.get_by_role("textbox", name="Filter").fill("renamed")
        page.get_by_role("textbox", name="Filter").press("Enter")
        expect(page.get_by_text("1 run. Click a column header")).to_be_visible()
        wait_idle(page)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        page.get_by_role("button", name="Delete").click()
        page.get_by_role("button", name="Delete for good").click()
        expect(page.get_by_text("No run's name, note, split or id holds “renamed”")).to_be_visible()
        wait_idle(page)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert first not in set(list_runs(open_workspace(root))["run_id"])
