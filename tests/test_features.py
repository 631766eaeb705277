"""The feature builder: label cuts per source, rare labels, parent labels, post metadata and captions."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from kayfabe_core.associations import read_resolved_codes
from kayfabe_core.errors import SettingError, StageNotReadyError
from kayfabe_core.feature_table import FeatureTable, drop_features
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.features_post import caption_block, read_image_posts
from kayfabe_core.label_store import store_label_rows
from kayfabe_core.workspace import Workspace, open_workspace, transaction
from tests.label_reference import drop_parent_labels, read_labels

# post: (owner, media_type, pub_date, likes, comments, views, caption, images)
POSTS = {
    "P0": ("wrestler", "Carousel", "2020-03-02T21:15:00.000Z", 100, 10, None,
           "Big #Win tonight at the arena", ["i0", "i1", "i2"]),
    "P1": ("wrestler", "Photo", "2020-04-07T08:00:00.000Z", 0, 3, None, "The arena was loud #win", ["i3"]),
    "P2": ("wrestler", "Video", "2021-01-01T00:30:00.000Z", 50, 5, 999, "training day", ["i4"]),
    "P3": ("wrestler", "Photo", "2021-06-05T12:00:00.000Z", 75, 1, None, "", ["i5"]),
    "P4": ("wrestler", "Carousel", "2021-07-01T10:00:00.000Z", 30, 2, None, None, ["i6", "i7"]),
    "P5": ("wrestler", "Photo", "2021-08-01T10:00:00.000Z", 20, 0, None, "x", ["i8"]),
    "P6": ("wrestler", "Photo", "2021-09-01T10:00:00.000Z", 20, 0, None, "y", ["i9"]),
}
# (image, source, key, name, confidence, parents, model_version)
LABELS = [
    *[(f"i{n}", "label", "Person", "Person", 90.0, [], "3.0") for n in range(6)],
    ("i0", "label", "Person", "Person", 91.0, [], "2.0"),  # a second model version: still one image
    ("i6", "label", "Person", "Person", 70.0, [], "3.0"),
    ("i0", "label", "Face", "Face", 95.0, ["Person"], "3.0"),
    ("i1", "label", "Face", "Face", 95.0, ["Person"], "3.0"),
    ("i2", "label", "Face", "Face", 70.0, ["Person"], "3.0"),  # below the usual cut: Person stays on i2
    ("i0", "label", "Rare", "Rare", 99.0, [], "3.0"),
    ("i0", "label", "Rare", "Rare", 99.0, [], "2.0"),
    ("i2", "moderation", "Violence", "Violence", 85.0, [], "6.0"),
    ("i3", "moderation", "Violence", "Violence", 85.0, [], "6.0"),
    ("i4", "moderation", "Violence", "Violence", 60.0, [], "6.0"),
    ("i5", "celebrity", "abc123", "Jane Star", 99.0, [], ""),
    ("i6", "celebrity", "abc123", "Jane Star", 99.0, [], ""),
    ("i7", "celebrity", "abc123", "Jane Star", 85.0, [], ""),
    ("i9", "label", "Person", "Person", 99.0, [], "3.0"),  # i9 is not coded (a tie)
]
# (image, coder, value) in the order they were given
CODES = [
    ("i0", "a", "YES"), ("i1", "a", "NO"), ("i2", "a", "YES"), ("i3", "a", "NO"), ("i4", "a", "YES"),
    ("i5", "a", "NO"), ("i6", "a", "YES"), ("i7", "a", "YES"), ("i7", "a", "NO"),  # i7: latest is NO
    ("i8", "a", "UNSURE"), ("i9", "a", "YES"), ("i9", "b", "NO"),  # i8 unsure, i9 a tie: both left out
    ("ghost", "a", "YES"),  # coded but never fetched
]
CODED = ["i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"]
YES = {"i0", "i2", "i4", "i6"}


def sha(image: str) -> str:
    return f"{image:0>64}"


def fill_workspace(workspace: Workspace, codebook: tuple[str, str] | None = ("Kayfabe", "Not kayfabe")) -> None:
    """Write POSTS, their images, LABELS and CODES straight into the database."""
    with transaction(workspace) as conn:
        for post, (owner, media, date, likes, comments, views, caption, images) in POSTS.items():
            conn.execute("INSERT INTO posts (post_url, owner, media_type, n_images, pub_date, like_count, "
                         "comment_count, view_count, description) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (post, owner, media, len(images), date, likes, comments, views, caption))
            for position, image in enumerate(images):
                conn.execute("INSERT INTO images (post_url, position, image_key, source_url, sha256, ext, "
                             "fetch_status) VALUES (?, ?, ?, ?, ?, 'jpg', 'ok')",
                             (post, position, image, f"https://cdn/{image}", sha(image)))
        conn.execute("INSERT INTO images (post_url, position, image_key, source_url, fetch_status) "
                     "VALUES ('P6', 1, 'pending', 'https://cdn/pending', 'pending')")
        store_label_rows(conn, [(sha(i), s, k, n, c, json.dumps(p), "", v) for i, s, k, n, c, p, v in LABELS])
        if codebook:
            conn.execute("INSERT INTO codebooks VALUES (1, 'kayfabe', ?, ?, 'def', 't')", codebook)
        conn.executemany("INSERT INTO codes (sha256, coder, value, coded_at) VALUES (?, ?, ?, 't')",
                         [(sha(i), c, v) for i, c, v in CODES])


@pytest.fixture
def filled(workspace: Workspace) -> Workspace:
    fill_workspace(workspace)
    return workspace


def dense(table: FeatureTable) -> pd.DataFrame:
    """The matrix as a DataFrame: rows by image name (i0 ...), columns by feature name; NaN where not stored."""
    coo = table.matrix.tocoo()
    values = np.full(table.matrix.shape, np.nan)
    values[coo.row, coo.col] = coo.data
    images = [item.lstrip("0") for item in table.context["item"]]
    return pd.DataFrame(values, index=images, columns=list(table.names))


def present(table: FeatureTable, name: str) -> set[str]:
    column = dense(table)[name]
    return set(column.index[column.fillna(0) > 0])


def test_rows_are_the_coded_fetched_images_with_their_resolved_codes(filled: Workspace) -> None:
    table = build_features(filled, FeatureOptions(min_images=1))
    assert sorted(item.lstrip("0") for item in table.context["item"]) == CODED
    resolved = read_resolved_codes(filled).set_index("sha256")["value"]
    expected = (resolved.loc[list(table.context["item"])] == "YES").to_numpy(np.int8)
    assert np.array_equal(table.observed, expected)
    assert {item.lstrip("0") for item, yes in zip(table.context["item"], table.observed, strict=True) if yes} == YES
    assert table.observed.dtype == np.int8
    assert (table.positive_name, table.negative_name) == ("Kayfabe", "Not kayfabe")
    posts = dict(zip(table.context["item"], table.context["post"], strict=True))
    assert posts[sha("i1")] == "P0" and posts[sha("i7")] == "P4"
    assert table.context["time"].dt.tz is not None
    assert table.origin["kind"] == "workspace" and table.origin["workspace"] == str(filled.root)


def test_matrix_is_float32_csr_of_the_right_shape(filled: Workspace) -> None:
    table = build_features(filled, FeatureOptions(min_images=1, metadata=True, caption=True))
    assert sp.issparse(table.matrix) and table.matrix.format == "csr"
    assert table.matrix.dtype == np.float32
    assert table.matrix.shape == (len(CODED), len(table.names)) == (table.n_images, table.n_features)
    assert len(set(table.names)) == len(table.names)


def test_default_cut_per_source(filled: Workspace) -> None:
    table = build_features(filled, FeatureOptions(min_images=1))
    assert table.names == ("celebrity: Jane Star", "label: Face", "label: Person", "label: Rare",
                           "moderation: Violence")
    assert present(table, "label: Person") == {"i0", "i1", "i2", "i3", "i4", "i5"}
    assert present(table, "label: Face") == {"i0", "i1"}
    assert present(table, "moderation: Violence") == {"i2", "i3"}
    assert present(table, "celebrity: Jane Star") == {"i5", "i6", "i7"}
    assert set(np.unique(table.matrix.data)) == {1.0}


def test_each_source_has_its_own_cut(filled: Workspace) -> None:
    table = build_features(filled, FeatureOptions(label_threshold=65, moderation_threshold=50,
                                                  celebrity_threshold=90, min_images=1))
    assert present(table, "label: Person") == {"i0", "i1", "i2", "i3", "i4", "i5", "i6"}
    assert present(table, "label: Face") == {"i0", "i1", "i2"}
    assert present(table, "moderation: Violence") == {"i2", "i3", "i4"}
    assert present(table, "celebrity: Jane Star") == {"i5", "i6"}
    strict = build_features(filled, FeatureOptions(label_threshold=95, moderation_threshold=90,
                                                   celebrity_threshold=100, min_images=1))
    assert strict.names == ("label: Face", "label: Rare")


def test_a_cut_is_inclusive(filled: Workspace) -> None:
    table = build_features(filled, FeatureOptions(label_threshold=70, min_images=1))
    assert "i6" in present(table, "label: Person")


def test_sources_can_be_left_out(filled: Workspace) -> None:
    table = build_features(filled, FeatureOptions(sources=("label",), min_images=1))
    assert all(name.startswith("label: ") for name in table.names)
    with pytest.raises(SettingError, match="no label source is chosen"):
        build_features(filled, FeatureOptions(sources=(), min_images=1))  # nothing left to learn from


def test_min_images_counts_images_not_rows(filled: Workspace) -> None:
    # Rare has two rows (two model versions) on one image: one image
    assert "label: Rare" in build_features(filled, FeatureOptions(min_images=1)).names
    assert "label: Rare" not in build_features(filled, FeatureOptions(min_images=2)).names
    three = build_features(filled, FeatureOptions(min_images=3))
    assert three.names == ("celebrity: Jane Star", "label: Person")
    with pytest.raises(SettingError, match="on at least 7 of the"):
        build_features(filled, FeatureOptions(min_images=7))


def test_min_images_counts_only_coded_images(filled: Workspace) -> None:
    # Person is on i0–i5 and on the uncoded i9: six coded images
    assert "label: Person" in build_features(filled, FeatureOptions(min_images=6)).names
    assert "label: Person" not in build_features(filled, FeatureOptions(label_threshold=95, min_images=1)).names


def test_without_parents_a_parent_goes_only_where_its_child_is(filled: Workspace) -> None:
    table = build_features(filled, FeatureOptions(include_parents=False, min_images=1))
    assert present(table, "label: Face") == {"i0", "i1"}
    # Person leaves i0 and i1 (Face is there) but stays on i2, whose Face is below the cut, and elsewhere
    assert present(table, "label: Person") == {"i2", "i3", "i4", "i5"}
    with_parents = build_features(filled, FeatureOptions(include_parents=True, min_images=1))
    assert present(with_parents, "label: Person") == {"i0", "i1", "i2", "i3", "i4", "i5"}
    # with the lower cut Face counts on i2 too, and Person leaves it
    low = build_features(filled, FeatureOptions(include_parents=False, label_threshold=65, min_images=1))
    assert present(low, "label: Person") == {"i3", "i4", "i5", "i6"}


def test_drop_parent_labels_keeps_sources_apart() -> None:
    labels = pd.DataFrame({
        "sha256": ["a", "a", "a", "b", "b"],
        "source": ["label", "moderation", "moderation", "label", "label"],
        "key": ["Alcohol", "Drinking", "Alcohol", "Alcohol", "Beer"],
        "name": ["Alcohol", "Drinking", "Alcohol", "Alcohol", "Beer"],
        "parents": ["[]", '["Alcohol"]', "[]", "[]", '["Alcohol", "Beverage"]'],
    })
    kept = drop_parent_labels(labels)
    assert list(zip(kept["sha256"], kept["source"], kept["key"], strict=True)) == [
        ("a", "label", "Alcohol"), ("a", "moderation", "Drinking"), ("b", "label", "Beer")]


def test_parent_rows_keep_sources_apart_and_go_by_image() -> None:
    from kayfabe_core.features import parent_rows

    names = [(0, "label", "Alcohol", "Alcohol", "[]"), (1, "moderation", "Drinking", "Drinking", '["Alcohol"]'),
             (2, "moderation", "Alcohol", "Alcohol", "[]"), (3, "label", "Beer", "Beer", '["Alcohol", "Beverage"]'),
             (4, "label", "Beverage", "Beverage", "[]")]
    images = np.array([0, 0, 0, 1, 1, 2, 2])
    places = np.array([0, 1, 2, 0, 3, 4, 0])  # image 2 has Alcohol and Beverage but no Beer: both stay
    assert parent_rows(images, places, names).tolist() == [False, False, True, True, False, False, False]
    assert parent_rows(images[:0], places[:0], names).tolist() == []


def test_metadata_features_and_names(filled: Workspace) -> None:
    table = build_features(filled, FeatureOptions(min_images=100, metadata=True))
    names = ["likes", "comments", "video views", "video post (1 = yes)", "carousel post (1 = yes)",
             "images in the post", "position in the carousel", "posted hour (UTC)",
             "posted weekday (0 = Monday)", "posted year"]
    assert list(table.names) == names
    assert table.post_level == tuple(name for name in names if name != "position in the carousel")
    frame = dense(table)
    # i1: second slide of the carousel P0, Monday 2 March 2020 21:15 UTC
    assert frame.loc["i1"].tolist() == [100, 10, pytest.approx(np.nan, nan_ok=True), 0, 1, 3, 1, 21, 0, 2020]
    assert np.isnan(frame.loc["i1", "video views"])  # unknown, not zero
    # i3: 0 likes is stored as a zero, so a model can tell it from a missing value
    assert frame.loc["i3", "likes"] == 0
    assert frame.loc["i4"].tolist() == [50, 5, 999, 1, 0, 1, 0, 0, 4, 2021]


def test_caption_features(filled: Workspace) -> None:
    table = build_features(filled, FeatureOptions(min_images=2, caption=True, sources=()))
    # P0 (3 images) + P1: #win and arena on 4 images; big and tonight on P0's 3; training, loud, day on 1
    assert table.names == ("caption word: arena", "caption word: big", "caption word: tonight", "hashtag: #win")
    assert table.post_level == table.names
    assert present(table, "hashtag: #win") == {"i0", "i1", "i2", "i3"}
    assert present(table, "caption word: big") == {"i0", "i1", "i2"}
    everything = build_features(filled, FeatureOptions(min_images=1, caption=True, sources=()))
    assert "caption word: training" in everything.names
    assert "caption word: win" not in everything.names  # a hashtag is not a word too
    for stop in ("the", "was", "at"):
        assert f"caption word: {stop}" not in everything.names


def test_caption_block_with_no_words() -> None:
    matrix, names = caption_block(pd.DataFrame({"description": ["", None, "#"]}), 1)
    assert names == [] and matrix.shape == (3, 0) and matrix.dtype == np.float32


def test_post_level_has_metadata_and_caption_but_no_labels(filled: Workspace) -> None:
    table = build_features(filled, FeatureOptions(min_images=2, metadata=True, caption=True))
    assert "position in the carousel" in table.names
    assert "position in the carousel" not in table.post_level
    assert "likes" in table.post_level and "hashtag: #win" in table.post_level
    assert not any(name.startswith(("label: ", "celebrity: ", "moderation: ")) for name in table.post_level)
    assert table.post_level == drop_features(table, ["label: Person"]).post_level


def test_without_a_codebook_the_codes_are_yes_and_no(workspace: Workspace) -> None:
    fill_workspace(workspace, codebook=None)
    table = build_features(workspace, FeatureOptions(min_images=1))
    assert (table.positive_name, table.negative_name) == ("YES", "NO")


def test_an_image_in_two_posts_takes_the_earliest(filled: Workspace) -> None:
    with transaction(filled) as conn:
        conn.execute("INSERT INTO posts (post_url, media_type, n_images, pub_date) "
                     "VALUES ('early', 'Photo', 1, '2019-01-01T00:00:00.000Z')")
        conn.execute("INSERT INTO images (post_url, position, image_key, source_url, sha256, fetch_status) "
                     "VALUES ('early', 0, 'k', 'u', ?, 'ok')", (sha("i3"),))
    posts = read_image_posts(filled).set_index("sha256")
    assert posts.loc[sha("i3"), "post_url"] == "early"
    assert len(posts) == 10
    table = build_features(filled, FeatureOptions(min_images=1))
    assert table.n_images == len(CODED)


def test_nothing_coded_is_not_ready(workspace: Workspace) -> None:
    with pytest.raises(StageNotReadyError, match="No image is both fetched and coded") as caught:
        build_features(workspace, FeatureOptions())
    assert "Code page" in caught.value.hint and "`import-codes`" in caught.value.hint  # the app's way and the CLI's


def test_codes_without_fetched_images_are_not_ready(workspace: Workspace) -> None:
    with transaction(workspace) as conn:
        conn.execute("INSERT INTO codes (sha256, coder, value, coded_at) VALUES ('abc', 'a', 'YES', 't')")
    with pytest.raises(StageNotReadyError) as caught:
        build_features(workspace, FeatureOptions())
    assert "Code page" in caught.value.hint


@pytest.mark.parametrize(("options", "phrase"), [
    (FeatureOptions(label_threshold=40), "Object / scene labels: minimum confidence” (label_threshold) must be "
                                         "between 50 and 100; got 40"),
    (FeatureOptions(moderation_threshold=101), "(moderation_threshold) must be between 50 and 100; got 101"),
    (FeatureOptions(celebrity_threshold=float("nan")), "(celebrity_threshold) must be between"),
    (FeatureOptions(min_images=0), "(min_images) must be between 1 and 500; got 0"),
    (FeatureOptions(min_images=2.5), "(min_images) must be a whole number"),  # type: ignore[arg-type]
])
def test_a_setting_out_of_range(filled: Workspace, options: FeatureOptions, phrase: str) -> None:
    with pytest.raises(SettingError) as caught:
        build_features(filled, options)
    assert phrase in caught.value.message


def test_demo_workspace_features(demo_root: Path) -> None:
    demo = open_workspace(demo_root, create=False)
    before = (demo_root / "kayfabe.sqlite").stat().st_size
    table = build_features(demo, FeatureOptions())
    resolved = read_resolved_codes(demo)
    fetched = set(read_image_posts(demo)["sha256"])
    coded = resolved[resolved["sha256"].isin(fetched)].set_index("sha256")["value"]
    assert table.n_images == len(coded) > 1000
    assert np.array_equal(table.observed, (coded.loc[list(table.context["item"])] == "YES").to_numpy(np.int8))
    assert table.context["post"].notna().all()
    assert table.context["post"].nunique() < table.n_images  # carousels: several images per post
    counts = np.asarray((table.matrix > 0).sum(axis=0)).ravel()
    assert counts.min() >= 5
    strict = build_features(demo, FeatureOptions(label_threshold=95, moderation_threshold=95,
                                                 celebrity_threshold=95))
    assert strict.matrix.nnz < table.matrix.nnz
    specific = build_features(demo, FeatureOptions(include_parents=False))
    assert specific.matrix.nnz < table.matrix.nnz
    assert table.data_hash() == build_features(demo, FeatureOptions()).data_hash()
    assert table.data_hash() != specific.data_hash()
    with sqlite3.connect(demo_root / "kayfabe.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    assert (demo_root / "kayfabe.sqlite").stat().st_size == before


def _reference_label_columns(workspace: Workspace, options: FeatureOptions, items: pd.Series) -> pd.DataFrame:
    """The label features the slow, obvious way: the ``labels`` view through pandas, then a pivot."""
    labels = read_labels(workspace, options)
    labels = labels[labels["sha256"].isin(set(items))]
    images_per_label = labels.groupby(["source", "key"])["sha256"].transform("nunique")
    labels = labels[images_per_label >= options.min_images]
    if not options.include_parents:
        labels = drop_parent_labels(labels)
    labels = labels.assign(feature=labels["source"] + ": " + labels["name"], value=1.0)
    wide = labels.pivot_table(index="sha256", columns="feature", values="value", aggfunc="max", fill_value=0.0)
    return wide.reindex(index=list(items), fill_value=0.0).sort_index(axis=1)


@pytest.mark.parametrize("options", [
    FeatureOptions(),
    FeatureOptions(label_threshold=55, moderation_threshold=90, celebrity_threshold=70, min_images=3),
    FeatureOptions(label_threshold=92.5, sources=("label", "celebrity"), include_parents=False, min_images=1),
    FeatureOptions(sources=("moderation",), moderation_threshold=50),
])
def test_label_features_equal_the_obvious_pivot_of_the_label_view(demo_root: Path, options: FeatureOptions) -> None:
    """Features read from the integer label rows equal a pandas pivot of the ``labels`` view."""
    demo = open_workspace(demo_root, create=False)
    table = build_features(demo, options)
    expected = _reference_label_columns(demo, options, table.context["item"])
    got = pd.DataFrame(table.matrix.toarray(), columns=table.names, index=list(table.context["item"]))
    assert expected.shape[1] > 0
    assert_frame_equal_values(got.sort_index(axis=1), expected)


def assert_frame_equal_values(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    assert np.array_equal(got.to_numpy(np.float64), expected.to_numpy(np.float64))


def test_settings_that_leave_no_feature_say_which_to_lower(filled: Workspace) -> None:
    with pytest.raises(SettingError) as caught:
        build_features(filled, FeatureOptions(min_images=500))
    assert "leave no feature to learn from" in caught.value.message
    assert "on at least 500 of the" in caught.value.message
    assert "(now 500; --min-images" in caught.value.hint
    with pytest.raises(SettingError, match="labels 80 %, moderation labels 80 %, celebrities 80 %"):
        build_features(filled, FeatureOptions(min_images=500))
    assert build_features(filled, FeatureOptions(min_images=500, metadata=True)).n_features > 0


@pytest.mark.parametrize("options", [
    FeatureOptions(), FeatureOptions(min_images=1), FeatureOptions(label_threshold=95, min_images=3),
    FeatureOptions(sources=("label", "celebrity"), metadata=True), FeatureOptions(include_parents=False),
])
def test_the_kept_label_block_builds_the_same_table(demo_root: Path, tmp_path: Path, options: FeatureOptions,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # with the inputs kept in memory (the app) the label block of every image is kept and a build after a code
    # only picks the coded rows: the same table as a build from the label rows, whichever images are coded
    import shutil

    from kayfabe_core import feature_inputs, features

    root = tmp_path / "ws"
    shutil.copytree(demo_root, root)
    workspace = open_workspace(root)
    every = read_resolved_codes(workspace)
    rng = np.random.default_rng(7)
    monkeypatch.setattr(feature_inputs, "_IN_MEMORY", True)
    for size in (len(every), len(every) - 1, len(every) // 2, 40):  # the same inputs: the kept block is used again
        codes = every.iloc[np.sort(rng.choice(len(every), size, replace=False))].reset_index(drop=True)
        monkeypatch.setattr(features, "read_resolved_codes", lambda _workspace, codes=codes: codes)
        kept = build_features(workspace, options)
        with monkeypatch.context() as direct:
            direct.setattr(features, "inputs_kept_in_memory", lambda: False)
            built = build_features(workspace, options)
        assert kept.names == built.names and kept.matrix.shape == built.matrix.shape
        for part in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(kept.matrix, part), getattr(built.matrix, part))
            assert getattr(kept.matrix, part).dtype == getattr(built.matrix, part).dtype
        assert np.array_equal(kept.observed, built.observed) and kept.context.equals(built.context)
        assert kept.origin == built.origin
    feature_inputs.forget_inputs_in_memory()


def test_the_kept_label_block_follows_each_sources_own_cut(demo_root: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Cuts swapped between two sources are the same set of cuts but other features: built one after the other
    with the inputs kept, each equals its direct build."""
    import shutil

    from kayfabe_core import feature_inputs, features

    root = tmp_path / "ws"
    shutil.copytree(demo_root, root)
    workspace = open_workspace(root)
    monkeypatch.setattr(feature_inputs, "_IN_MEMORY", True)
    for options in (FeatureOptions(label_threshold=60, moderation_threshold=95, min_images=1),
                    FeatureOptions(label_threshold=95, moderation_threshold=60, min_images=1)):
        kept = build_features(workspace, options)
        with monkeypatch.context() as direct:
            direct.setattr(features, "inputs_kept_in_memory", lambda: False)
            built = build_features(workspace, options)
        assert kept.names == built.names and (kept.matrix != built.matrix).nnz == 0
    feature_inputs.forget_inputs_in_memory()


def test_the_kept_label_block_is_not_used_for_labels_under_two_versions(filled: Workspace,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from kayfabe_core import feature_inputs, features

    monkeypatch.setattr(feature_inputs, "_IN_MEMORY", True)
    inputs = feature_inputs.load_inputs(filled, [80.0], captions=False)
    assert features._all_images_block(inputs, FeatureOptions()) is None  # Person and Rare: two model versions
    assert build_features(filled, FeatureOptions(min_images=2)).names == (  # Rare: one image, two rows
        "celebrity: Jane Star", "label: Face", "label: Person", "moderation: Violence")
    feature_inputs.forget_inputs_in_memory()


def test_a_table_hashed_once_keeps_its_hashes_and_a_table_made_from_it_gets_its_own(filled: Workspace) -> None:
    table = build_features(filled, FeatureOptions())
    data, codes = table.data_hash(), table.codes_hash()
    assert (table.data_hash(), table.codes_hash()) == (data, codes)
    fewer = drop_features(table, [table.names[0]])
    assert fewer.data_hash() != data and fewer.codes_hash() == codes  # the same images and codes, fewer features
    rebuilt = build_features(filled, FeatureOptions())
    assert (rebuilt.data_hash(), rebuilt.codes_hash()) == (data, codes)
