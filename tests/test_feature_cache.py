"""The on-disk feature cache: same table as a fresh build, missed on new data, kept across saved runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kayfabe_core import feature_cache
from kayfabe_core.coding import code_image
from kayfabe_core.feature_cache import cache_folder, clear_feature_cache, load_features
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.workspace import RESULTS_VERSION, Workspace, read_data_version, transaction
from tests.test_features import fill_workspace, sha

OPTIONS = FeatureOptions(min_images=1, metadata=True, caption=True, include_parents=False)


@pytest.fixture
def filled(workspace: Workspace) -> Workspace:
    fill_workspace(workspace)
    return workspace


def assert_same_table(got: FeatureTable, expected: FeatureTable) -> None:
    assert (got.matrix != expected.matrix).nnz == 0 and got.matrix.shape == expected.matrix.shape
    assert got.matrix.dtype == expected.matrix.dtype == np.float32
    assert np.array_equal(got.observed, expected.observed) and got.observed.dtype == expected.observed.dtype
    pd.testing.assert_frame_equal(got.context, expected.context)
    for name in ("names", "post_level", "identifiers", "notes", "origin", "positive_name", "negative_name"):
        assert getattr(got, name) == getattr(expected, name), name
    assert got.data_hash() == expected.data_hash()


def test_a_cached_table_equals_a_fresh_build(filled: Workspace) -> None:
    first, first_cached = load_features(filled, OPTIONS)
    second, second_cached = load_features(filled, OPTIONS)
    assert (first_cached, second_cached) == (False, True)
    assert_same_table(second, build_features(filled, OPTIONS))
    assert_same_table(first, second)
    assert second.positive_name == "Kayfabe"


def test_an_entry_written_behind_is_there_once_the_writer_is_done(filled: Workspace) -> None:
    table, cached = load_features(filled, OPTIONS, write_behind=True)
    feature_cache._WRITER.submit(lambda: None).result()  # one worker, in order: the entry's write is done
    again, again_cached = load_features(filled, OPTIONS)
    assert (cached, again_cached) == (False, True)
    assert_same_table(again, table)


def test_new_data_misses_the_cache_and_a_saved_run_does_not(filled: Workspace) -> None:
    load_features(filled, OPTIONS)
    with transaction(filled, RESULTS_VERSION) as conn:  # what saving a run does
        conn.execute("INSERT INTO runs (run_id, created_at, backend, record) VALUES ('r', 't', 'local', '{}')")
    assert load_features(filled, OPTIONS)[1] is True
    before = read_data_version(filled)
    code_image(filled, sha("i1"), "c", "YES")
    assert read_data_version(filled) == before + 1
    table, cached = load_features(filled, OPTIONS)
    assert cached is False
    assert_same_table(table, build_features(filled, OPTIONS))


def test_other_options_are_another_entry(filled: Workspace) -> None:
    with_parents, _ = load_features(filled, FeatureOptions(min_images=1))
    without, cached = load_features(filled, FeatureOptions(min_images=1, include_parents=False))
    assert cached is False and with_parents.matrix.nnz > without.matrix.nnz


def test_a_damaged_entry_is_built_again(filled: Workspace) -> None:
    load_features(filled, OPTIONS)
    (entry,) = cache_folder(filled).iterdir()
    (entry / "matrix.npz").write_bytes(b"not a matrix")
    table, cached = load_features(filled, OPTIONS)
    assert cached is False
    assert_same_table(table, build_features(filled, OPTIONS))
    assert load_features(filled, OPTIONS)[1] is True


def test_only_the_newest_entries_are_kept(filled: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feature_cache, "KEEP", 2)
    for cut in (60.0, 70.0, 80.0):
        load_features(filled, FeatureOptions(min_images=1, label_threshold=cut))
    assert len(list(cache_folder(filled).iterdir())) == 2
    assert load_features(filled, FeatureOptions(min_images=1, label_threshold=80.0))[1] is True
    assert clear_feature_cache(filled) == 2 and not list(cache_folder(filled).iterdir())


def test_the_cli_empties_the_cache_and_nothing_else(filled: Workspace, capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    from kayfabe_core.__main__ import main
    from kayfabe_core.feature_inputs import inputs_folder

    load_features(filled, OPTIONS)
    assert list(cache_folder(filled).iterdir()) and list(inputs_folder(filled).iterdir())
    assert main(["clear-cache", str(filled.root)]) == 0
    assert "1 feature table and the kept feature inputs deleted" in capsys.readouterr().out
    assert not list(cache_folder(filled).iterdir()) and not list(inputs_folder(filled).iterdir())
    assert main(["clear-cache", str(filled.root)]) == 0  # a second time: nothing was there
    assert "was already empty: nothing was deleted" in capsys.readouterr().out
    assert load_features(filled, OPTIONS)[1] is False  # built again, from the tables still there
    assert main(["clear-cache", str(tmp_path / "nowhere")]) == 1
    assert "No workspace found" in capsys.readouterr().err
