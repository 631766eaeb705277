"""One paid job of a kind per workspace at a time, in this process.

Streamlit starts a page again as soon as the user clicks, while the run that
was stopped is still storing the answers to calls already sent. Labelling takes
this lock before it reads which images still need a call, so a second run waits
for the first to finish storing: no image is sent (and billed) twice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from kayfabe_core.errors import WorkspaceError
from kayfabe_core.workspace import Workspace

LABELLING = "labelling"
_locks: dict[tuple[str, str], threading.RLock] = {}
_guard = threading.Lock()


def _lock_for(workspace: Workspace, kind: str) -> threading.RLock:
    with _guard:
        return _locks.setdefault((str(workspace.root), kind), threading.RLock())


@contextmanager
def exclusive(workspace: Workspace, kind: str, wait_s: float) -> Iterator[None]:
    """Hold the workspace's ``kind`` lock for the block, waiting up to ``wait_s`` seconds for it.

    The same thread may take it again inside the block. Raises
    :class:`WorkspaceError` when another run still holds it after ``wait_s``.
    """
    lock = _lock_for(workspace, kind)
    if not lock.acquire(timeout=wait_s):
        raise WorkspaceError(
            f"A {kind} run of this workspace is still finishing the calls it already sent "
            f"(waited {wait_s:.0f} s).",
            "Wait a little and start again: images already labelled are never sent or paid for again.",
        )
    try:
        yield
    finally:
        lock.release()


def wait_until_free(workspace: Workspace, kind: str, wait_s: float) -> bool:
    """Return whether no run holds the workspace's ``kind`` lock, waiting up to ``wait_s`` seconds."""
    lock = _lock_for(workspace, kind)
    if not lock.acquire(timeout=wait_s):
        return False
    lock.release()
    return True
