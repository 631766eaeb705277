"""Asking before the command line spends money (Rekognition calls, SageMaker jobs)."""

from __future__ import annotations

import sys
from typing import TextIO

from kayfabe_core.errors import KayfabeError


def confirm_spending(what: str, question: str) -> bool:
    """Ask ``question`` on the terminal; True for yes. ``what`` names the spending, e.g. "Labelling".

    Raises :class:`KayfabeError` when there is no terminal to ask (a script must pass --yes).
    """
    if not sys.stdin.isatty():
        raise KayfabeError(f"{what} costs money, and there is no one to ask for confirmation here.",
                           "Run it again with --yes to confirm the estimate shown above.")
    return input(question).strip().lower() in ("y", "yes")


def spending_agreed(yes: bool, what: str, question: str, out: TextIO | None = None) -> bool:
    """Return True when the spending may go ahead: ``--yes`` was given, or the user says yes.

    Otherwise says "Nothing was sent." on ``out`` (standard error by default). Raises like
    :func:`confirm_spending` when there is no one to ask.
    """
    if yes or confirm_spending(what, question):
        return True
    print("Nothing was sent.", file=out or sys.stderr)
    return False
