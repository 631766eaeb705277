"""The kept feature inputs (posts and label rows): reused while only codes change, read again otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kayfabe_core import feature_inputs
from kayfabe_core.cache_entries import clear_entries
from kayfabe_core.coding import code_image
from kayfabe_core.feature_cache import clear_feature_cache
from kayfabe_core.feature_inputs import inputs_folder
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.labels_import import import_labels
from kayfabe_core.workspace import INPUTS_VERSION, Workspace, read_data_version, transaction
from tests.test_feature_cache import assert_same_table
from tests.test_features import fill_workspace, sha

OPTIONS = FeatureOptions(min_images=1, metadata=True, caption=True, include_parents=False,
                         moderation_threshold=60.0)


@pytest.fixture
def filled(workspace: Workspace) -> Workspace:
    fill_workspace(workspace)
    return workspace


def fresh_build(workspace: Workspace, options: FeatureOptions) -> Any:
    """Build from the tables alone: no kept inputs."""
    clear_entries(inputs_folder(workspace))
    return build_features(workspace, options)


def forbid_reading(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("read from the workspace although kept")

    for name in names:
        monkeypatch.setattr(feature_inputs, name, refuse)


def test_a_new_code_keeps_the_inputs_and_the_table_equals_a_fresh_build(
        filled: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    build_features(filled, OPTIONS)
    version = read_data_version(filled, INPUTS_VERSION)
    code_image(filled, sha("i1"), "c", "NO")
    assert read_data_version(filled, INPUTS_VERSION) == version
    with monkeypatch.context() as patched:
        forbid_reading(patched, "read_image_posts", "read_label_inputs")
        table = build_features(filled, OPTIONS)
    assert_same_table(table, fresh_build(filled, OPTIONS))


def test_any_other_data_write_reads_the_inputs_again(filled: Workspace) -> None:
    build_features(filled, OPTIONS)
    version = read_data_version(filled, INPUTS_VERSION)
    with transaction(filled) as conn:  # e.g. new posts, images or labels
        conn.execute("UPDATE posts SET like_count = like_count + 1000")
    assert read_data_version(filled, INPUTS_VERSION) == version + 1
    table = build_features(filled, OPTIONS)
    assert_same_table(table, fresh_build(filled, OPTIONS))
    assert "likes" in table.names


def test_a_new_cut_reads_only_the_labels_again(filled: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    build_features(filled, OPTIONS)
    lower = FeatureOptions(min_images=1, metadata=True, caption=True, include_parents=False, label_threshold=55.0)
    with monkeypatch.context() as patched:
        forbid_reading(patched, "read_image_posts")
        table = build_features(filled, lower)
    assert_same_table(table, fresh_build(filled, lower))


def test_a_damaged_entry_is_read_again(filled: Workspace) -> None:
    build_features(filled, OPTIONS)
    for entry in inputs_folder(filled).iterdir():
        for path in entry.iterdir():
            path.write_bytes(b"damaged")
    assert_same_table(build_features(filled, OPTIONS), fresh_build(filled, OPTIONS))


def test_importing_saved_labels_reads_the_inputs_again(filled: Workspace, tmp_path: Path) -> None:
    build_features(filled, OPTIONS)
    version = read_data_version(filled, INPUTS_VERSION)
    response = {"ModerationLabels": [{"Name": "Violence", "Confidence": 91.0, "ParentName": ""}],
                "ModerationModelVersion": "7.0"}
    lines = [{"sha256": sha(image), "operation": "DetectModerationLabels", "response": response}
             for image in ("i0", "i1", "i2")]
    path = tmp_path / "saved.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    assert import_labels(filled, path).responses_stored == 3
    assert read_data_version(filled, INPUTS_VERSION) == version + 1
    table = build_features(filled, OPTIONS)
    assert "moderation: Violence" in table.names
    assert_same_table(table, fresh_build(filled, OPTIONS))



def test_coding_settings_keep_the_inputs_but_not_the_table(filled: Workspace) -> None:
    from kayfabe_core.codes import Codebook, write_codebook
    from kayfabe_core.coding import send_to_coding, write_double_coding_share

    build_features(filled, OPTIONS)
    inputs, data = read_data_version(filled, INPUTS_VERSION), read_data_version(filled)
    send_to_coding(filled, [sha("i1")])
    write_double_coding_share(filled, 0.3)
    with transaction(filled, codes_only=True) as conn:
        write_codebook(conn, Codebook("Food", "Food", "Not food", "A meal."))
    assert read_data_version(filled, INPUTS_VERSION) == inputs
    assert read_data_version(filled) == data + 3
    assert build_features(filled, OPTIONS).positive_name == "Food"  # the codebook's names reach the table


def test_inputs_kept_in_memory_are_handed_out_until_the_inputs_change(
        filled: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feature_inputs, "_IN_MEMORY", True)
    monkeypatch.setattr(feature_inputs, "_MEMORY", {})
    build_features(filled, OPTIONS)
    code_image(filled, sha("i1"), "c", "NO")  # codes only: the same inputs
    with monkeypatch.context() as patched:
        forbid_reading(patched, "read_image_posts", "read_label_inputs", "_read_posts", "_read_labels")
        table = build_features(filled, OPTIONS)
    with monkeypatch.context() as patched:
        patched.setattr(feature_inputs, "_MEMORY", {})
        assert_same_table(table, fresh_build(filled, OPTIONS))
    with transaction(filled) as conn:  # new data: read again, from the workspace
        conn.execute("UPDATE posts SET like_count = like_count + 1000")
    table = build_features(filled, OPTIONS)
    with monkeypatch.context() as patched:
        patched.setattr(feature_inputs, "_MEMORY", {})
        assert_same_table(table, fresh_build(filled, OPTIONS))
    assert len(feature_inputs._MEMORY) == 1  # one set of inputs at a time
    clear_feature_cache(filled)
    assert not feature_inputs._MEMORY  # emptying the caches empties this one too
