"""Every other stage page loads, says what it needs, and never invents numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from kayfabe_core.ingest import ingest_files
from kayfabe_core.workspace import open_workspace
from tests.conftest import make_csv, post_row
from tests.ui.conftest import PAGES, texts

NEEDS_ON_EMPTY = {
    "pages/2_images.py": "This stage needs posts first",
    "pages/3_code.py": "This stage needs fetched images",
    "pages/4_train.py": "Training on this workspace needs labelled images",
    "pages/5_results.py": "There is no trained model in this workspace yet",
    "pages/6_runs.py": "There are no runs in this workspace yet",
    "pages/7_predict.py": "Predicting needs a trained model",
}


@pytest.mark.parametrize("page", PAGES[1:])
def test_guard_on_an_empty_workspace(tmp_path: Path, open_app, page: str) -> None:
    at = open_app(tmp_path / "ws")
    at.switch_page(page).run()
    assert not at.exception
    assert NEEDS_ON_EMPTY[page] in texts(at)
    assert len(at.metric) == 0


def test_sidebar_checklist_and_switching_workspace(tmp_path: Path, open_app) -> None:
    ingest_files(open_workspace(tmp_path / "ws"), [("p.csv", make_csv([post_row("A1")]).encode())])
    at = open_app(tmp_path / "ws")
    assert "**Posts** · 1 post" in "\n".join(m.value for m in at.sidebar.markdown)
    assert at.text_input(key="workspace_input") and at.button(key="open_workspace")
    # AppTest cannot click sidebar widgets under st.navigation (the browser test clicks them);
    # here: the pages follow the session's chosen workspace.
    at.session_state["workspace_path"] = str(tmp_path / "other")
    at.run()
    assert not at.exception
    assert (tmp_path / "other" / "kayfabe.sqlite").exists()
    assert "This workspace has no posts yet" in texts(at)


def test_an_unusable_workspace_shows_a_message_not_a_traceback(tmp_path: Path, open_app) -> None:
    (tmp_path / "file").write_text("x")
    at = open_app(tmp_path / "file")
    assert not at.exception
    assert "The workspace must be a folder" in at.error[0].value


@pytest.mark.parametrize("page", ["pages/2_images.py", "pages/5_results.py"])
def test_a_page_opened_first_by_its_address_still_gets_the_sidebar(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    """The first visit after the server starts, straight to /images (a bookmark): Streamlit runs the page file
    alone under the pages/ folder's old rules; the page hands over to app.py, which draws the sidebar."""
    from streamlit.testing.v1 import AppTest

    from tests.ui.conftest import APP

    ingest_files(open_workspace(tmp_path / "ws"), [("p.csv", make_csv([post_row("A1")]).encode())])
    monkeypatch.setenv("KAYFABE_WORKSPACE", str(tmp_path / "ws"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(page).run()  # the session's first run, on the page's address
    assert not at.exception
    assert "**Posts** · 1 post" in "\n".join(m.value for m in at.sidebar.markdown)
    assert at.title[0].value == {"pages/2_images.py": "Images & labels", "pages/5_results.py": "Results"}[page]


def test_a_folder_of_other_files_is_asked_about_before_a_workspace_is_made_in_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.ui.conftest import APP

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "posts.csv").write_text("a\n")
    monkeypatch.setenv("KAYFABE_WORKSPACE", str(tmp_path / "ws"))
    at = AppTest.from_file(APP, default_timeout=60)
    # AppTest cannot click sidebar widgets under st.navigation, and draws the sidebar on a session's first run
    # only: the session starts holding what the Open button chose
    at.session_state["pending_workspace"] = str(tmp_path / "data")
    at.run()
    assert not at.exception
    assert "holds other files and no workspace" in at.sidebar.warning[0].value
    assert [b.label for b in at.sidebar.button][-2:] == ["Create the workspace there", "Cancel"]
    assert not (tmp_path / "data" / "kayfabe.sqlite").exists()


def test_the_streamlit_setting_the_router_switches_off_still_exists() -> None:
    """The router (kayfabe_ui.common.through_the_router) turns off a private Streamlit setting; a Streamlit that
    renamed it would silently leave page addresses opened first without the app's sidebar."""
    import inspect

    import streamlit.runtime.scriptrunner.script_runner as script_runner
    from streamlit.runtime.pages_manager import PagesManager

    assert hasattr(PagesManager, "uses_pages_directory")
    # hasattr alone cannot fail after any AppTest run (AppTest and the router assign it); these come from
    # Streamlit's own code: the class declares the setting and the script runner reads it
    assert "uses_pages_directory" in PagesManager.__annotations__
    assert "PagesManager.uses_pages_directory" in inspect.getsource(script_runner)
