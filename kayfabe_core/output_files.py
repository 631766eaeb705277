"""Files the command line writes for the user (codes, scores): checked before the work, written whole."""

from __future__ import annotations

import os
from pathlib import Path

from kayfabe_core.errors import InputFileError


def writable_file(name: str | Path) -> Path:
    """Return ``name`` as a path a file can be written to; raise :class:`InputFileError` saying why not
    (no such folder, a folder of that name, no permission) before any work is done."""
    path = Path(name).expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputFileError(f"{path} is a folder, not a file name.", "Give the name of the CSV file to write, "
                             f"e.g. {path / 'scores.csv'}.")
    if not folder.is_dir():
        raise InputFileError(f"Cannot write {path}: the folder {folder} does not exist.",
                             "Create the folder first, or give a file name in an existing folder.")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputFileError(f"Cannot write {path}: no permission to write there.",
                             "Give a file name in a folder you can write to.")
    return path


def write_file(name: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``name`` (checked by :func:`writable_file`); raise :class:`InputFileError` if the
    system refuses it (a full disk)."""
    path = writable_file(name)
    try:
        path.write_bytes(data)
    except OSError as error:
        raise InputFileError(f"Cannot write {path}: {error.strerror or error}.",
                             "Free some space or give another file name.") from error
    return path
