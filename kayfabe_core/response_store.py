"""The raw Rekognition responses as the workspace keeps them: one document per image and operation, compressed.

Each response's JSON is stored zlib-compressed (level 1, about five to one). A
million posts' responses are 3.4 GB of JSON; writing a fifth of that made their
import 74 s instead of 112 s and the workspace 3.3 GB instead of 6.9 GB.
Compressing costs the import's parsing workers about 18 µs a response. Rows
stored before this hold the JSON as text; both read back the same.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

LEVEL = 1  # zlib's fastest: 4.8 to 1 on DetectLabels JSON; level 6 gave 5.2 to 1 for a third more time


def packed(document: bytes) -> bytes:
    """Return a response's JSON (UTF-8 bytes) as stored in ``responses.response``."""
    return zlib.compress(document, LEVEL)


def unpacked(stored: str | bytes) -> Any:
    """Return the response a ``responses.response`` value holds (compressed, or JSON text in older rows)."""
    return json.loads(zlib.decompress(stored) if isinstance(stored, bytes) else stored)
