"""Freezing the heap after imports keeps the collection after each run cheap."""

from __future__ import annotations

import gc
import sys
import types
import weakref

import pytest

from kayfabe_ui import memory


def test_a_run_that_imported_modules_freezes_what_is_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_modules_frozen", 0)
    assert memory.freeze_after_imports() is True
    assert gc.get_freeze_count() > 0
    kept = gc.get_freeze_count()
    assert memory.freeze_after_imports() is False  # nothing imported since: nothing more is frozen
    assert gc.get_freeze_count() <= kept  # not one more (frozen objects freed by their last reference leave it)
    monkeypatch.setitem(sys.modules, "kayfabe_test_module", types.ModuleType("kayfabe_test_module"))
    alive = [[] for _ in range(1000)]  # made since the last freeze and still reachable
    assert memory.freeze_after_imports() is True
    assert gc.get_freeze_count() > 0
    collectable = {id(obj) for obj in gc.get_objects()}  # the permanent generation is not listed
    assert not any(id(obj) in collectable for obj in alive)
    gc.unfreeze()


class _Node:
    """An object in a reference cycle, so only the cyclic collector can free it."""

    def __init__(self) -> None:
        self.me = self


def test_what_was_frozen_and_became_garbage_is_freed_at_the_next_freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_modules_frozen", 0)
    node = _Node()
    gone = weakref.ref(node)
    assert memory.freeze_after_imports() is True  # the node is frozen with the rest
    del node  # now garbage, in the permanent generation
    gc.collect()
    assert gone() is not None  # a collection does not look at frozen objects
    monkeypatch.setitem(sys.modules, "kayfabe_test_module_2", types.ModuleType("kayfabe_test_module_2"))
    assert memory.freeze_after_imports() is True
    assert gone() is None
    gc.unfreeze()
