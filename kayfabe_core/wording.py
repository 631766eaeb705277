"""Small helpers for the words shown to people."""

from __future__ import annotations


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """Return ``number`` with its noun in the right form: "1 post", "2,000 posts", "0 runs"."""
    noun = singular if number == 1 else (plural or singular + "s")
    return f"{number:,} {noun}"
