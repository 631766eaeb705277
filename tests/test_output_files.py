"""Files the command line writes: refused with a reason before any work, written whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from kayfabe_core.__main__ import main
from kayfabe_core.errors import InputFileError
from kayfabe_core.output_files import writable_file, write_file
from tests.conftest import copy_workspace


def test_a_file_in_an_existing_folder_is_written(tmp_path: Path) -> None:
    assert write_file(tmp_path / "out.csv", b"a,b\n") == tmp_path / "out.csv"
    assert (tmp_path / "out.csv").read_bytes() == b"a,b\n"


def test_a_missing_folder_or_a_folder_name_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as caught:
        writable_file(tmp_path / "nowhere" / "out.csv")
    assert caught.value.message == f"Cannot write {tmp_path / 'nowhere' / 'out.csv'}: the folder " \
                                   f"{tmp_path / 'nowhere'} does not exist."
    with pytest.raises(InputFileError, match="is a folder, not a file name"):
        writable_file(tmp_path)


@pytest.mark.parametrize("verb", [["export-codes", "WS", "OUT"], ["predict", "WS", "--all", "--out", "OUT"]])
def test_the_command_line_says_so_before_working(demo_root: Path, tmp_path: Path, verb: list[str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    workspace = copy_workspace(demo_root, tmp_path / "ws")
    target = str(tmp_path / "nowhere" / "x.csv")
    status = main([str(workspace) if part == "WS" else target if part == "OUT" else part for part in verb])
    assert status == 1
    err = capsys.readouterr().err
    assert "the folder" in err and "does not exist" in err and "Traceback" not in err


def test_the_workspaces_own_files_and_the_inputs_are_refused(tmp_path: Path) -> None:
    from kayfabe_core.workspace import open_workspace

    root = open_workspace(tmp_path / "ws").root
    for target in (root / "kayfabe.sqlite", root / "runs" / "x.csv", root / "images" / "a.jpg"):
        with pytest.raises(InputFileError, match="is part of the workspace .* would destroy the workspace"):
            writable_file(target, "codes.csv", root)
    assert writable_file(root / "codes.csv", "codes.csv", root) == root / "codes.csv"  # beside them is fine
    with pytest.raises(InputFileError) as folder:  # a part's folder: not "e.g. runs/codes.csv", refused next
        writable_file(root / "runs", "codes.csv", root)
    assert "is part of the workspace" in folder.value.message and folder.value.hint.endswith(
        f"e.g. {tmp_path / 'codes.csv'}.")
    export = tmp_path / "new.csv"
    export.write_text("postUrl\n")
    with pytest.raises(InputFileError, match="is also a file being read"):
        writable_file(export, workspace=root, inputs=[str(export)])
    assert export.read_text() == "postUrl\n"


def test_export_codes_over_the_database_is_refused_and_the_workspace_survives(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kayfabe_core.workspace import open_workspace

    root = open_workspace(tmp_path / "ws").root
    before = (root / "kayfabe.sqlite").read_bytes()
    assert main(["export-codes", str(root), str(root / "kayfabe.sqlite")]) == 1
    assert "would destroy the workspace" in capsys.readouterr().err
    assert (root / "kayfabe.sqlite").read_bytes() == before


def test_another_workspace_or_any_database_is_refused_too(tmp_path: Path) -> None:
    from kayfabe_core.workspace import open_workspace

    mine, other = open_workspace(tmp_path / "mine").root, open_workspace(tmp_path / "other").root
    before = (other / "kayfabe.sqlite").read_bytes()
    for target in (other / "kayfabe.sqlite", other / "runs" / "x.csv"):
        with pytest.raises(InputFileError, match=f"is part of the workspace {other}: writing it there would destroy"):
            writable_file(target, "codes.csv", mine)
    copied = tmp_path / "backup.db"
    copied.write_bytes(before)
    with pytest.raises(InputFileError, match="is a database \\(SQLite\\), not a file of results"):
        writable_file(copied, "codes.csv", mine)
    assert (other / "kayfabe.sqlite").read_bytes() == before == copied.read_bytes()
    plain = tmp_path / "old.csv"
    plain.write_text("old")
    assert writable_file(plain, "codes.csv", mine) == plain  # an ordinary file may be replaced, as before
