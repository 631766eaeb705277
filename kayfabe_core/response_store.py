"""The raw Rekognition responses as the workspace keeps them: one document per image and operation, compressed.

Each response's JSON is stored LZ4-compressed (Arrow's LZ4 frame codec, about
three and a half to one), after a marker and its length: ``lz4:``, the JSON's
length in four bytes (little-endian), then the frame. Compressing costs about
2 µs a response where zlib's fastest level cost 16 µs (24 s of the parsing
workers' time for a million posts' 1.6 million responses) for a fifth more
bytes (a million posts' 3.4 GB of JSON: 960 MB stored instead of 710 MB).
Rows stored earlier hold zlib (which never starts with the marker) or JSON
text; all read back the same.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import pyarrow as pa

# The columns of ``stored_responses`` (schema 7: keyed by the image's content number, see
# kayfabe_core.label_store.LabelNumbers) that a writer fills, and the statement that fills them.
STORED_COLUMNS = ("content_no, operation, model_version, region, called_at, request_id, request, response, "
                  "error_code, error_message, origin")
INSERT_STORED = f"INSERT OR IGNORE INTO stored_responses({STORED_COLUMNS}) VALUES ({', '.join('?' * 11)})"

MARK = b"lz4:"  # zlib streams start with 0x78, so the two never mix up
_LZ4 = pa.Codec("lz4")


def packed(document: bytes) -> bytes:
    """Return a response's JSON (UTF-8 bytes) as stored in ``responses.response``."""
    return MARK + len(document).to_bytes(4, "little") + _LZ4.compress(document, asbytes=True)


def unpacked(stored: str | bytes) -> Any:
    """Return the response a ``responses.response`` value holds (LZ4, zlib in older rows, or JSON text)."""
    if isinstance(stored, str):
        return json.loads(stored)
    if stored.startswith(MARK):
        size = int.from_bytes(stored[4:8], "little")
        return json.loads(_LZ4.decompress(stored[8:], decompressed_size=size, asbytes=True))
    return json.loads(zlib.decompress(stored))
