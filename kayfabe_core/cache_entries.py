"""Cache entries on disk: folders written whole or not at all, read back or dropped, the newest kept.

An entry is written into a hidden folder next to it and renamed into place, so
a reader finds it whole or absent; one that cannot be read is deleted (and
built again by the caller). A full disk or a race with another process costs
only the cache.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

Kept = TypeVar("Kept")


def write_entry(entry: Path, write: Callable[[Path], None]) -> None:
    """Have ``write`` fill a new folder, then rename it to ``entry``; any OSError only costs the entry."""
    partial = entry.parent / f".{entry.name}.{uuid.uuid4().hex[:8]}"
    try:
        partial.mkdir(parents=True)
        write(partial)
        partial.rename(entry)
    except OSError:
        pass  # another process wrote the same entry first, or the disk is full
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def read_entry(entry: Path, read: Callable[[Path], Kept]) -> Kept | None:
    """Return what ``read`` makes of ``entry`` (marking it used), or None when it is absent or unreadable
    (then it is deleted)."""
    if not entry.is_dir():
        return None
    try:
        kept = read(entry)
    except (OSError, ValueError, KeyError, TypeError):
        shutil.rmtree(entry, ignore_errors=True)
        return None
    try:
        os.utime(entry)  # newest use first when pruning
    except OSError:
        pass
    return kept


def prune(folder: Path, keep: int) -> None:
    """Keep the ``keep`` most recently used entries of ``folder``."""
    if not folder.is_dir():
        return
    used = {}
    for path in folder.iterdir():
        try:
            if path.is_dir() and not path.name.startswith("."):
                used[path] = path.stat().st_mtime
        except OSError:  # pruned meanwhile by another process
            continue
    for path in sorted(used, key=used.__getitem__, reverse=True)[keep:]:
        shutil.rmtree(path, ignore_errors=True)


def clear_entries(folder: Path) -> int:
    """Delete every entry of ``folder``; return how many there were."""
    entries = [path for path in folder.iterdir() if path.is_dir()] if folder.is_dir() else []
    for path in entries:
        shutil.rmtree(path, ignore_errors=True)
    return len(entries)
