"""A workspace whose database file is damaged: every page says so in words, none shows a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kayfabe_core.ingest import ingest_files
from kayfabe_core.workspace import open_workspace
from tests.conftest import make_csv, post_row
from tests.ui.conftest import APP, PAGES, texts
from tests.workspace_states import damage


def test_every_page_says_in_words_that_the_workspace_is_damaged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each page opened by its address, as in a browser: the page hands over to app.py, whose navigation runs
    it; the error no page expected is shown there in words, and the sidebar says it cannot show progress."""
    root = tmp_path / "ws"
    ingest_files(open_workspace(root), [("p.csv", make_csv([post_row("A1"), post_row("A2")]).encode())])
    damage(root)
    monkeypatch.setenv("KAYFABE_WORKSPACE", str(root))
    for page in PAGES:
        at = AppTest.from_file(APP, default_timeout=60)
        at.switch_page(page).run()
        assert not at.exception, page
        assert "The workspace's database is damaged (database disk image is malformed)" in texts(at), page
        assert "sqlite3 kayfabe.sqlite .recover" in texts(at), page
        assert "The workspace cannot be read now: the page says why." in [c.value for c in at.sidebar.caption]
