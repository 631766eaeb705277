"""Files the command line reads (exports, codes) and writes for the user (codes, scores): checked before the
work, written whole."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from kayfabe_core.errors import InputFileError
from kayfabe_core.workspace import DB_NAME, WORKSPACE_PARTS  # a file written over a part destroys the workspace


def writable_file(name: str | Path, example: str = "scores.csv", workspace: Path | None = None,
                  inputs: Sequence[str | Path] = ()) -> Path:
    """Return ``name`` as a path a file can be written to; raise :class:`InputFileError` saying why not
    (no such folder, a folder of that name, no permission, a file of the ``workspace`` itself, one of the
    ``inputs`` being read) before any work is done. ``example`` names such a file in the hint."""
    path = Path(name).expanduser()
    folder = folder_of(path)
    _refuse_own_files(path, example, workspace, inputs)  # first: a workspace's folder is no place to suggest
    if path.is_dir():
        raise InputFileError(f"{path} is a folder, not a file name.", "Give the name of the CSV file to write, "
                             f"e.g. {path / example}.")
    if not folder.is_dir():
        raise InputFileError(f"Cannot write {path}: the folder {folder} does not exist.",
                             "Create the folder first, or give a file name in an existing folder.")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputFileError(f"Cannot write {path}: no permission to write there.",
                             "Give a file name in a folder you can write to.")
    return path


def _refuse_own_files(path: Path, example: str, workspace: Path | None, inputs: Sequence[str | Path]) -> None:
    target = path.resolve()
    # this command's workspace, and any other one the file would land in
    roots = [Path(workspace).expanduser().resolve()] if workspace is not None else []
    roots += [folder for folder in target.parents if (folder / DB_NAME).is_file()]
    for root in roots:
        parts = {(root / part).resolve() for part in WORKSPACE_PARTS}
        if target in parts or any(parent in parts for parent in target.parents):
            raise InputFileError(f"{path} is part of the workspace {root}: writing it there would destroy the "
                                 "workspace.", f"Give a file name outside it, e.g. {root.parent / example}.")
    if _is_database(target):
        raise InputFileError(f"{path} is a database (SQLite), not a file of results: writing over it would lose it.",
                             f"Give another file name, e.g. {folder_of(path) / example}.")
    if any(target == Path(source).expanduser().resolve() for source in inputs):
        raise InputFileError(f"{path} is also a file being read: writing the results over it would lose it.",
                             f"Give another file name, e.g. {folder_of(path) / example}.")


def _is_database(path: Path) -> bool:
    """Whether ``path`` is an existing SQLite database (a workspace's, renamed or copied, or anyone's)."""
    try:
        with path.open("rb") as file:
            return file.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def folder_of(path: Path) -> Path:
    """Return the folder ``path`` is in ('.' for a bare file name)."""
    return path.parent if str(path.parent) else Path(".")


def write_file(name: str | Path, data: bytes, example: str = "scores.csv", workspace: Path | None = None,
               inputs: Sequence[str | Path] = ()) -> Path:
    """Write ``data`` to ``name`` (checked by :func:`writable_file`); raise :class:`InputFileError` if the
    system refuses it (a full disk)."""
    path = writable_file(name, example, workspace, inputs)
    try:
        path.write_bytes(data)
    except OSError as error:
        raise InputFileError(f"Cannot write {path}: {error.strerror or error}.",
                             "Free some space or give another file name.") from error
    return path


def read_input_file(path: Path, kind: str = "CSV") -> bytes:
    """Return the bytes of the file at ``path``; raise :class:`InputFileError` saying what is there instead."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputFileError(f"The file {path} does not exist.", "Check the path and try again.") from exc
    except IsADirectoryError as exc:
        raise InputFileError(f"{path} is a folder, not a {kind} file.",
                             f"Give the path of a .{kind.lower()} file.") from exc
    except OSError as exc:
        raise InputFileError(f"The file {path} cannot be read ({exc.strerror}).",
                             "Check that you may read it, and try again.") from exc
