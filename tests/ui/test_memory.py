"""Freezing the heap after imports keeps the collection after each run cheap."""

from __future__ import annotations

import gc
import sys
import types

import pytest

from kayfabe_ui import memory


def test_a_run_that_imported_modules_freezes_what_is_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_modules_frozen", 0)
    assert memory.freeze_after_imports() is True
    assert gc.get_freeze_count() > 0
    kept = gc.get_freeze_count()
    assert memory.freeze_after_imports() is False  # nothing imported since: nothing more is frozen
    monkeypatch.setitem(sys.modules, "kayfabe_test_module", types.ModuleType("kayfabe_test_module"))
    alive = [[] for _ in range(1000)]  # made since the last freeze and still reachable
    assert memory.freeze_after_imports() is True
    assert gc.get_freeze_count() >= kept + len(alive)
    gc.unfreeze()
