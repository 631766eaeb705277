"""Worker processes that end with the process that started them.

A process killed from outside (out of memory, ``kill -9``) never tells its
workers; a worker waiting for work, or blocked sending a result nobody reads,
would then live on, holding its memory. :func:`watch_parent` starts a thread in
the worker that ends it once its parent is gone.
"""

from __future__ import annotations

import os
import threading
import time

PARENT_CHECK_S = 1.0  # how often a worker checks that the process that started it is alive


def watch_parent(parent: int) -> None:
    """End this process once ``parent`` is gone, checked from a daemon thread. ``parent`` is given by the
    parent itself, since a worker still starting when it died would already see another parent."""
    threading.Thread(target=end_with_parent, args=(parent,), daemon=True).start()


def end_with_parent(parent: int) -> None:
    """Exit (status 1, no clean-up) once ``parent`` is no longer this process's parent; return never."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)
