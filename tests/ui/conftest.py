"""AppTest fixtures: the app pointed at a workspace through $KAYFABE_WORKSPACE."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGES = ["pages/1_posts.py", "pages/2_images.py", "pages/3_code.py", "pages/4_train.py",
         "pages/5_results.py", "pages/6_runs.py", "pages/7_predict.py"]


@pytest.fixture
def open_app(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], AppTest]:
    """Return a function that runs the app on the workspace at a given folder."""

    def run(workspace_root: Path) -> AppTest:
        monkeypatch.setenv("KAYFABE_WORKSPACE", str(workspace_root))
        return AppTest.from_file(APP, default_timeout=60).run()

    return run


def texts(at: AppTest) -> str:
    """All markdown, captions, info, warnings and errors of the page, joined."""
    parts = [element.value for kind in ("markdown", "caption", "info", "warning", "error", "title", "subheader")
             for element in getattr(at, kind)]
    return "\n".join(str(part) for part in parts)
