"""Small helpers for the words shown to people."""

from __future__ import annotations


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """Return ``number`` with its noun in the right form: "1 post", "2,000 posts", "0 runs"."""
    noun = singular if number == 1 else (plural or singular + "s")
    return f"{number:,} {noun}"


def counted_are(number: int, singular: str) -> str:
    """Return ``number`` with its noun and verb agreeing: "1 image is", "3 images are"."""
    return f"{counted(number, singular)} {'is' if number == 1 else 'are'}"


def quoted_list(names: list[str], limit: int = 5) -> str:
    """Return ``names`` quoted and joined, the first ``limit`` only: "“a”, “b” and 12 more"."""
    shown = ", ".join(f"“{name}”" for name in names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


def join_words(words: list[str]) -> str:
    """Return "a", "a and b" or "a, b and c" ("" for no words)."""
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def minute_text(stamp: object) -> str:
    """Return a stored ISO time to the minute, as tables show it: "2026-12-03T19:05:32Z" -> "2026-12-03 19:05"."""
    return str(stamp)[:16].replace("T", " ")
