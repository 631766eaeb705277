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
