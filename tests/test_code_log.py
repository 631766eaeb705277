"""The kept code log: later reads fetch only new codes, and give what a whole read gives."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from kayfabe_core import code_log
from kayfabe_core.associations import ADJUDICATOR, read_resolved_codes
from kayfabe_core.codes import append_codes
from kayfabe_core.stages import read_work_counts
from kayfabe_core.workspace import Workspace, connect, open_workspace, transaction


@pytest.fixture
def keeping(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """Keep code logs (as the app does) in a store of this test's own."""
    kept: dict = {}
    monkeypatch.setattr(code_log, "_KEEPING", True)
    monkeypatch.setattr(code_log, "_KEPT", kept)
    yield kept


def _whole_read(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    with monkeypatch.context() as patch:
        patch.setattr(code_log, "_KEPT", {})
        patch.setattr(code_log, "_KEEPING", False)
        return read_resolved_codes(workspace)


def _random_codes(rng: np.random.Generator, images: list[str], size: int) -> list[tuple[str, str, str]]:
    coders = ["ann", "bob", "cy", ADJUDICATOR]
    return list(zip(rng.choice(images, size).tolist(), rng.choice(coders, size, p=[.35, .35, .2, .1]).tolist(),
                    rng.choice(["YES", "NO", "UNSURE"], size, p=[.45, .4, .15]).tolist(), strict=True))


def _hex(number: int) -> str:
    return hashlib.sha256(str(number).encode()).hexdigest()


@pytest.mark.parametrize("odd_texts", [False, True])
def test_reads_after_new_codes_equal_a_whole_read(workspace: Workspace, keeping: dict,
                                                  monkeypatch: pytest.MonkeyPatch, odd_texts: bool) -> None:
    rng = np.random.default_rng(7)
    images = [_hex(number) for number in range(80)]
    for round_number in range(6):  # a few codes at a time, as on the Code page; new images and old ones
        if odd_texts and round_number == 3:
            images = ["é", "short", "", *images]  # from here on the hashes are texts of other lengths
        with transaction(workspace, codes_only=True) as conn:
            append_codes(conn, _random_codes(rng, images[: 20 + 12 * round_number], int(rng.integers(1, 40))), None)
        resolved = read_resolved_codes(workspace)
        pd.testing.assert_frame_equal(resolved, _whole_read(workspace, monkeypatch))
        assert len(keeping) == 1
    with connect(workspace) as conn:
        log = code_log.read_code_log(conn, workspace)
        assert code_log.read_code_log(conn, workspace) is log  # nothing new: the kept log itself
    assert log.hashes.dtype.kind == ("O" if odd_texts else "S")


def test_only_the_new_codes_are_read(workspace: Workspace, keeping: dict) -> None:
    with transaction(workspace, codes_only=True) as conn:
        append_codes(conn, [(_hex(number), "ann", "YES") for number in range(50)], None)
    read_resolved_codes(workspace)
    with transaction(workspace, codes_only=True) as conn:
        append_codes(conn, [(_hex(7), "bob", "NO"), (_hex(99), "ann", "NO")], None)
    seen: list[str] = []
    with connect(workspace) as conn:
        conn.set_trace_callback(seen.append)
        log = code_log.read_code_log(conn, workspace)
    assert len(log.image) == 52
    assert any("code_id > 50" in statement for statement in seen)  # from the last kept code on


def test_a_workspace_replaced_in_the_same_folder_is_read_afresh(tmp_path, keeping: dict,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    first = open_workspace(tmp_path / "ws")
    with transaction(first, codes_only=True) as conn:
        append_codes(conn, [(_hex(number), "ann", "YES") for number in range(10)], None)
    assert set(read_resolved_codes(first)["value"]) == {"YES"}
    shutil.rmtree(tmp_path / "ws")
    second = open_workspace(tmp_path / "ws")
    with transaction(second, codes_only=True) as conn:  # as many codes, and more: other images, other values
        append_codes(conn, [(_hex(100 + number), "bob", "NO") for number in range(12)], None)
    resolved = read_resolved_codes(second)
    assert set(resolved["value"]) == {"NO"} and len(resolved) == 12
    pd.testing.assert_frame_equal(resolved, _whole_read(second, monkeypatch))


def test_coded_images_are_counted_from_the_log(workspace: Workspace, keeping: dict) -> None:
    with transaction(workspace, codes_only=True) as conn:
        append_codes(conn, [("a" * 64, "ann", "YES"), ("b" * 64, "ann", "UNSURE"), ("a" * 64, "bob", "NO")], None)
    assert read_work_counts(workspace)["images_coded"] == 1  # an image coded Unsure only is not coded
    with transaction(workspace, codes_only=True) as conn:
        append_codes(conn, [("b" * 64, "bob", "NO"), ("c" * 64, "bob", "UNSURE")], None)
    assert read_work_counts(workspace)["images_coded"] == 2
