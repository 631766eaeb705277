"""Stored responses: LZ4 now, zlib and plain JSON text from older rows, all read back the same."""

from __future__ import annotations

import json
import zlib

from kayfabe_core.response_store import MARK, packed, unpacked

RESPONSE = {"Labels": [{"Name": "Person", "Confidence": 99.55699920654297, "Parents": []}],
            "LabelModelVersion": "3.0", "Note": "é ✓"}


def test_a_response_comes_back_exactly_and_smaller() -> None:
    document = json.dumps([RESPONSE] * 20).encode()
    stored = packed(document)
    assert stored.startswith(MARK) and len(stored) < len(document) / 3
    assert unpacked(stored) == [RESPONSE] * 20


def test_rows_stored_by_earlier_versions_still_read() -> None:
    document = json.dumps(RESPONSE)
    assert unpacked(zlib.compress(document.encode(), 1)) == RESPONSE  # zlib: schema 5's rows
    assert unpacked(document) == RESPONSE  # JSON text: older rows
