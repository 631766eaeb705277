"""The command line's progress lines on standard error: redrawn in place on a terminal; written to a pipe or a
file only once finished (a log of 300 redraws of one bar helps no one)."""

from __future__ import annotations

import sys

BAR_OPEN: list[bool] = [False]  # a line is drawn without its end (an error then starts a new line)


def draw(text: str, finished: bool) -> None:
    """Show ``text`` as the progress line; ``finished`` ends the line."""
    if sys.stderr.isatty():
        print(f"\r{text}", end="\n" if finished else "", file=sys.stderr, flush=True)
        BAR_OPEN[0] = not finished
    elif finished:
        print(text, file=sys.stderr, flush=True)


def bar(what: str, done: int, total: int) -> str:
    """Return "What [#####.....] 3/10"."""
    filled = int(30 * done / max(total, 1))
    return f"{what} [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}"
