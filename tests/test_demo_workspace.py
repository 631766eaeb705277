"""Building the demo workspace: what it holds, and that it never mixes with real data."""

from __future__ import annotations

from pathlib import Path

import pytest

from kayfabe_core.demo_workspace import build_demo_workspace
from kayfabe_core.errors import WorkspaceError
from kayfabe_core.ingest import ingest_files
from kayfabe_core.stages import read_progress
from kayfabe_core.workspace import connect, open_workspace
from tests.conftest import make_csv, post_row


def test_demo_holds_posts_pictures_labels_and_codes(demo_root: Path) -> None:
    workspace = open_workspace(demo_root)
    progress = read_progress(workspace)
    assert 1400 <= progress.posts <= 1600
    assert progress.images_fetched == progress.images  # every image has a picture
    assert progress.images_labelled == progress.images_fetched
    assert progress.images_coded == progress.images_fetched
    with connect(workspace) as conn:
        kinds = dict(conn.execute("SELECT media_type, COUNT(*) FROM posts GROUP BY media_type").fetchall())
        coders = [row[0] for row in conn.execute("SELECT DISTINCT coder FROM codes ORDER BY coder")]
        sources = {row[0] for row in conn.execute("SELECT DISTINCT source FROM labels")}
        files = conn.execute("SELECT COUNT(*) FROM images WHERE fetch_status = 'ok'").fetchone()[0]
        report = conn.execute("SELECT report FROM imports").fetchone()[0]
    assert set(kinds) == {"Photo", "Carousel", "Video"}
    assert coders == ["coder_a", "coder_b"]
    assert sources == {"label", "moderation", "celebrity"}
    assert len(list(workspace.images_dir.glob("*.jpg"))) == len({p.name for p in workspace.images_dir.iterdir()})
    assert files == progress.images
    assert '"error_rows": 5' in report and '"duplicates_dropped": 12' in report


def test_building_again_is_a_no_op(demo_root: Path) -> None:
    assert build_demo_workspace(demo_root).already_there


def test_demo_is_deterministic(demo_root: Path, tmp_path: Path) -> None:
    build_demo_workspace(tmp_path / "again")
    first = sorted(p.name for p in (demo_root / "images").iterdir())
    second = sorted(p.name for p in (tmp_path / "again" / "images").iterdir())
    assert first == second  # same pictures, byte for byte (names are content hashes)


def test_demo_refuses_a_workspace_with_real_posts(tmp_path: Path) -> None:
    workspace = open_workspace(tmp_path / "mine")
    ingest_files(workspace, [("m.csv", make_csv([post_row("A1")]).encode())])
    with pytest.raises(WorkspaceError) as caught:
        build_demo_workspace(tmp_path / "mine")
    assert caught.value.message == (
        f"The workspace {workspace.root} already holds 1 post of your own, so the demo was not added to it.")


def test_demo_refuses_a_blank_path_and_a_folder_of_other_files(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="No folder was given for the demo workspace"):
        build_demo_workspace("  ")
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.docx").write_text("x")
    with pytest.raises(WorkspaceError, match="holds other files and no workspace, so the demo was not built there"):
        build_demo_workspace(tmp_path / "thesis")
    assert sorted(path.name for path in (tmp_path / "thesis").iterdir()) == ["chapter1.docx"]
