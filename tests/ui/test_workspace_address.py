"""The address keeps a workspace other than the default, so a reload opens it again."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kayfabe_core.workspace import open_workspace
from tests.conftest import copy_workspace
from tests.ui.conftest import APP, texts


def _session_at(monkeypatch: pytest.MonkeyPatch, default: Path, address_workspace: str | None) -> AppTest:
    """A new session (a reload) of the app whose default workspace is ``default``, on an address that names
    ``address_workspace`` (or none)."""
    monkeypatch.setenv("KAYFABE_WORKSPACE", str(default))
    at = AppTest.from_file(APP, default_timeout=60)
    if address_workspace is not None:
        at.query_params["workspace"] = address_workspace
    return at.run()


def test_a_reload_opens_the_workspace_the_address_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default, other = open_workspace(tmp_path / "default"), open_workspace(tmp_path / "other")
    assert "workspace" not in _session_at(monkeypatch, default.root, None).query_params  # the default: plain
    at = _session_at(monkeypatch, default.root, str(other.root))
    assert at.session_state["workspace_path"] == str(other.root)
    assert str(other.root) in "\n".join(str(caption.value) for caption in at.sidebar.caption)
    assert at.query_params["workspace"] == str(other.root)  # kept for the next reload


def test_an_address_never_makes_a_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = open_workspace(tmp_path / "default")
    elsewhere = tmp_path / "not-a-workspace"
    at = _session_at(monkeypatch, default.root, str(elsewhere))
    assert at.session_state["workspace_path"] == str(default.root)
    assert not elsewhere.exists()
    assert "workspace" not in at.query_params
    assert not at.exception and "Traceback" not in texts(at)


def test_an_address_the_system_cannot_read_opens_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_exists = Path.exists

    def exists(self: Path, *args: object, **kwargs: object) -> bool:
        if str(self).startswith("/root/private"):
            raise PermissionError(13, "Permission denied")  # a folder the server may not look into
        return real_exists(self, *args, **kwargs)  # type: ignore[arg-type]

    default = open_workspace(tmp_path / "default")
    monkeypatch.setattr(Path, "exists", exists)
    at = _session_at(monkeypatch, default.root, "/root/private/study")
    assert at.session_state["workspace_path"] == str(default.root)
    assert not at.exception
    unknown_user = _session_at(monkeypatch, default.root, "~nosuchuser-kayfabe/study")  # RuntimeError in Python
    assert unknown_user.session_state["workspace_path"] == str(default.root)
    assert not unknown_user.exception


def test_the_coders_name_is_kept_in_the_address_of_every_page(demo_root: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    demo_copy = Path(copy_workspace(demo_root, tmp_path / "ws", images=False))
    at = _session_at(monkeypatch, demo_copy, None)
    at.session_state["coder"] = "ana"
    at.switch_page("pages/4_train.py").run()
    assert at.query_params["coder"] == "ana"  # a reload of Train keeps the name, not only one of Code
    reloaded = AppTest.from_file(APP, default_timeout=60)
    reloaded.query_params["coder"] = "ana"
    reloaded.switch_page("pages/4_train.py").run()  # a reload of Train: a new session, the name from the address
    assert reloaded.session_state["coder"] == "ana"
    reloaded.switch_page("pages/3_code.py").run()
    assert reloaded.sidebar.text_input(key="coder").value == "ana"
