"""Splits: whole posts on one side, stratification, time order, folds, repeats, seeds and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from kayfabe_core.errors import SettingError
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.split import (
    Fold,
    SplitOptions,
    class_balance,
    group_ids,
    grouped_folds,
    grouped_holdout,
    make_split,
)


def make_table(n_posts: int = 60, seed: int = 0, yes_share: float = 0.4, with_posts: bool = True,
               with_times: bool = True) -> FeatureTable:
    """Posts of 1–4 images; a post's images mostly share its code; a few extra columns to group by."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, n_posts)
    post = np.repeat(np.arange(n_posts), sizes)
    post_yes = rng.random(n_posts) < yes_share
    observed = np.where(rng.random(len(post)) < 0.9, post_yes[post], ~post_yes[post]).astype(np.int8)
    days = rng.permutation(n_posts)[post]
    context = pd.DataFrame({
        "item": [f"img{n}" for n in range(len(post))],
        "post": [f"P{p}" for p in post] if with_posts else None,
        "time": (pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(days, unit="D")) if with_times else pd.NaT,
        "likes": post * 7 % 13,
        "day": days,
    })
    matrix = sp.csr_matrix(rng.random((len(post), 3)).astype(np.float32))
    return FeatureTable(matrix=matrix, names=("a", "b", "c"), observed=observed, context=context,
                        origin={"kind": "test"})


def posts_of(table: FeatureTable, rows: np.ndarray) -> set[str]:
    return set(table.context["post"].to_numpy()[rows])


def assert_partition(table: FeatureTable, fold: Fold) -> None:
    assert len(np.intersect1d(fold.train, fold.test)) == 0
    assert len(fold.train) + len(fold.test) == table.n_images
    assert np.array_equal(fold.train, np.sort(fold.train)) and np.array_equal(fold.test, np.sort(fold.test))


@pytest.mark.parametrize("seed", range(5))
def test_grouped_split_never_cuts_a_post(seed: int) -> None:
    table = make_table(seed=seed)
    split = make_split(table, SplitOptions("grouped", seed=seed))
    (fold,) = split.folds
    assert_partition(table, fold)
    assert not posts_of(table, fold.train) & posts_of(table, fold.test)
    assert split.grouped_by == "post"
    assert len(fold.test) / table.n_images == pytest.approx(0.3, abs=0.08)
    assert not any("both sides" in warning for warning in split.warnings)


def test_grouped_folds_and_repeats_never_cut_a_post() -> None:
    table = make_table(n_posts=80)
    split = make_split(table, SplitOptions("grouped", folds=4, repeats=3))
    assert len(split.folds) == 12
    assert [(fold.repeat, fold.number) for fold in split.folds] == [(r, k) for r in range(3) for k in range(4)]
    for repeat in range(3):
        folds = [fold for fold in split.folds if fold.repeat == repeat]
        # each image is tested exactly once per repeat
        assert np.array_equal(np.sort(np.concatenate([fold.test for fold in folds])), np.arange(table.n_images))
        for fold in folds:
            assert_partition(table, fold)
            assert not posts_of(table, fold.train) & posts_of(table, fold.test)
    tests = [tuple(fold.test) for fold in split.folds if fold.number == 0]
    assert len(set(tests)) == 3  # each repeat draws again


def test_grouped_repeats_of_one_split_never_cut_a_post() -> None:
    table = make_table()
    split = make_split(table, SplitOptions("grouped", repeats=4))
    assert len(split.folds) == 4 and len({tuple(fold.test) for fold in split.folds}) == 4
    for fold in split.folds:
        assert not posts_of(table, fold.train) & posts_of(table, fold.test)


@pytest.mark.parametrize("seed", range(5))
def test_stratified_keeps_the_yes_share_on_both_sides(seed: int) -> None:
    table = make_table(n_posts=100, seed=seed, yes_share=0.25)
    split = make_split(table, SplitOptions("stratified", test_size=0.3, seed=seed))
    (fold,) = split.folds
    assert_partition(table, fold)
    share = table.observed.mean()
    # one row more or fewer per code at most
    assert table.observed[fold.train].mean() == pytest.approx(share, abs=2 / len(fold.train))
    assert table.observed[fold.test].mean() == pytest.approx(share, abs=2 / len(fold.test))
    assert len(fold.test) / table.n_images == pytest.approx(0.3, abs=0.01)
    assert split.grouped_by == ""


def test_stratified_cuts_posts_and_says_so() -> None:
    table = make_table(n_posts=100)
    split = make_split(table, SplitOptions("stratified"))
    (fold,) = split.folds
    shared = posts_of(table, fold.train) & posts_of(table, fold.test)
    assert shared
    assert any(f"{len(shared):,} posts have images on both sides of this split." in warning
               for warning in split.warnings)
    folded = make_split(table, SplitOptions("stratified", folds=4))  # counted on the first fold: said so
    first = folded.folds[0]
    shared = posts_of(table, first.train) & posts_of(table, first.test)
    assert any(f"{len(shared):,} posts have images on both sides of the first of its 4 splits (the others are "
               "alike)." in warning for warning in folded.warnings)


def test_stratified_folds_keep_the_share() -> None:
    table = make_table(n_posts=100, yes_share=0.3)
    split = make_split(table, SplitOptions("stratified", folds=5))
    share = table.observed.mean()
    for fold in split.folds:
        assert table.observed[fold.test].mean() == pytest.approx(share, abs=0.03)


def test_random_split_takes_the_test_share() -> None:
    table = make_table()
    (fold,) = make_split(table, SplitOptions("random", test_size=0.2)).folds
    assert_partition(table, fold)
    assert len(fold.test) == round(0.2 * table.n_images)


def test_time_split_tests_on_the_newest() -> None:
    table = make_table(n_posts=80)
    split = make_split(table, SplitOptions("time", test_size=0.25))
    (fold,) = split.folds
    assert_partition(table, fold)
    times = table.context["time"]
    assert times.iloc[fold.test].min() >= times.iloc[fold.train].max()
    assert len(fold.test) / table.n_images == pytest.approx(0.25, abs=0.08)


def test_time_split_with_a_tie_at_the_cut_keeps_the_order() -> None:
    table = make_table(n_posts=80)
    times = table.context["time"].copy()
    times.iloc[: table.n_images // 2] = pd.Timestamp("2019-01-01", tz="UTC")
    times.iloc[table.n_images // 2:] = pd.Timestamp("2022-01-01", tz="UTC")
    table.context["time"] = times
    (fold,) = make_split(table, SplitOptions("time", test_size=0.3)).folds
    assert times.iloc[fold.test].min() >= times.iloc[fold.train].max()


def test_a_time_split_says_how_many_undated_images_went_to_training() -> None:
    table = make_table(n_posts=80)
    assert not any("without a date" in text for text in make_split(table, SplitOptions("time")).warnings)
    table.context["time"] = table.context["time"].where(np.arange(table.n_images) % 10 != 0)  # every tenth undated
    undated = int(table.context["time"].isna().sum())
    split = make_split(table, SplitOptions("time", test_size=0.25))
    (fold,) = split.folds
    assert set(np.flatnonzero(table.context["time"].isna())) <= set(fold.train)
    assert f"{undated} images without a date went to the training side" in " ".join(split.warnings)


def test_time_split_without_dates_is_refused() -> None:
    with pytest.raises(SettingError, match="needs each image's date"):
        make_split(make_table(with_times=False), SplitOptions("time"))


def test_time_split_with_every_date_the_same_is_refused_saying_the_date() -> None:
    table = make_table(n_posts=80)
    table.context["time"] = pd.Timestamp("2021-05-01T09:30", tz="UTC")
    with pytest.raises(SettingError) as same:
        make_split(table, SplitOptions("time"))
    assert same.value.message == (f"A split by time needs images from different times, and all {table.n_images} "
                                  "dated images have the same one (1 May 2021, 09:30 UTC).")
    assert same.value.hint == ("Choose a split grouped by post or stratified instead (on the command line: "
                               "--split grouped or --split stratified).")
    table.context["time"] = pd.Series(pd.NaT, index=table.context.index, dtype="datetime64[ns, UTC]")
    table.context.loc[3, "time"] = pd.Timestamp("2021-05-01", tz="UTC")
    with pytest.raises(SettingError, match=r"and only one image has a date \(1 May 2021\)\. Choose"):
        make_split(table, SplitOptions("time"))


@pytest.mark.parametrize(("folds", "repeats"), [(5, 1), (0, 3)])
def test_time_split_cannot_be_folded_or_repeated(folds: int, repeats: int) -> None:
    with pytest.raises(SettingError, match="A split by time tests once on the newest posts"):
        make_split(make_table(), SplitOptions("time", folds=folds, repeats=repeats))


def test_group_by_columns_keeps_equal_values_together() -> None:
    table = make_table(with_posts=False)
    options = SplitOptions("grouped", group_by=("likes", "day"))
    split = make_split(table, options)
    (fold,) = split.folds
    keys = table.context["likes"].astype(str) + "/" + table.context["day"].astype(str)
    assert not set(keys.iloc[fold.train]) & set(keys.iloc[fold.test])
    assert split.grouped_by == "likes, day"
    groups, described = group_ids(table, options)
    assert described == "likes, day" and groups is not None and groups.max() + 1 == keys.nunique()


def test_group_by_columns_with_folds_and_a_stratified_method() -> None:
    table = make_table(n_posts=80, with_posts=False)
    split = make_split(table, SplitOptions("stratified", folds=3, group_by=("day",)))
    for fold in split.folds:
        assert not set(table.context["day"].iloc[fold.train]) & set(table.context["day"].iloc[fold.test])
    assert split.grouped_by == "day"


def test_unknown_group_column_is_named() -> None:
    with pytest.raises(SettingError, match="There is no column “postcode”, “owner” to group by") as caught:
        make_split(make_table(), SplitOptions("grouped", group_by=("postcode", "owner", "likes")))
    assert "post" in caught.value.hint and "likes" in caught.value.hint


def test_grouped_split_of_a_table_without_posts_is_refused() -> None:
    with pytest.raises(SettingError, match="does not say which images belong to the same post") as caught:
        make_split(make_table(with_posts=False), SplitOptions("grouped"))
    assert "commentCount, likeCount, pubYear, pubMonth, pubDay" in caught.value.hint
    # a stratified split of the same table is fine
    assert make_split(make_table(with_posts=False), SplitOptions("stratified")).grouped_by == ""


def test_too_few_images_are_refused_with_the_counts() -> None:
    table = make_table(n_posts=6, seed=1)
    assert table.n_images < 20
    yes = table.n_positive
    with pytest.raises(SettingError) as caught:
        make_split(table, SplitOptions("stratified"))
    assert caught.value.message == (f"Only {table.n_images} images are coded ({yes} YES, {table.n_images - yes} NO): "
                                    "too few to train a model and test it.")
    assert "at least 20 images, with at least 4 of each code" in caught.value.hint


def test_too_few_of_one_code_is_refused() -> None:
    table = make_table(n_posts=40)
    observed = np.zeros(table.n_images, dtype=np.int8)
    observed[:3] = 1
    with pytest.raises(SettingError, match=r"\(3 YES, \d+ NO\): too few"):
        make_split(FeatureTable(table.matrix, table.names, observed, table.context, {}), SplitOptions("stratified"))


def test_a_side_with_one_code_is_refused_with_the_counts() -> None:
    table = make_table(n_posts=40)
    observed = np.zeros(table.n_images, dtype=np.int8)
    observed[:5] = 1  # five YES images: a 10 % test share leaves too few YES on the test side
    table = FeatureTable(table.matrix, table.names, observed, table.context.assign(post=None), {})
    with pytest.raises(SettingError) as caught:
        make_split(table, SplitOptions("stratified", test_size=0.1))
    message = caught.value.message
    assert message.startswith("This split would leave the test set with ")
    assert "(0 YES" in message or "(1 YES" in message
    assert "too few to measure anything" in message
    assert f"({table.n_images} are coded now)" in caught.value.hint


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_a_small_test_set_names_the_fold() -> None:
    table = make_table(n_posts=12, seed=3)
    assert table.n_images >= 20
    with pytest.raises(SettingError, match=r"test set \(repeat 1, fold \d+\) with \d+ images"):
        make_split(table, SplitOptions("stratified", folds=10))


def test_more_folds_than_posts_is_a_setting_error() -> None:
    table = make_table(n_posts=60, with_posts=False)
    table.context["few"] = np.arange(table.n_images) % 3
    with pytest.raises(SettingError, match="5 folds needs at least 5 posts to share out, and this data has 3"):
        make_split(table, SplitOptions("grouped", folds=5, group_by=("few",)))


@pytest.mark.parametrize(("options", "phrase"), [
    (SplitOptions(test_size=0.6), "between 0.1 and 0.5; got 0.6"),
    (SplitOptions(folds=1), "Cross-validation needs at least 2 folds; got 1"),
    (SplitOptions(folds=11), "between 0 and 10; got 11"),
    (SplitOptions(repeats=0), "between 1 and 20; got 0"),
    (SplitOptions(method="by-owner"), "There is no split called “by-owner”"),
])
def test_bad_options(options: SplitOptions, phrase: str) -> None:
    with pytest.raises(SettingError) as caught:
        make_split(make_table(), options)
    assert phrase in caught.value.message


@pytest.mark.parametrize("method", ["grouped", "stratified", "random"])
def test_the_same_seed_gives_the_same_split_and_another_seed_another(method: str) -> None:
    table = make_table(n_posts=80)
    first = make_split(table, SplitOptions(method, seed=7)).folds[0]
    again = make_split(table, SplitOptions(method, seed=7)).folds[0]
    other = make_split(table, SplitOptions(method, seed=8)).folds[0]
    assert np.array_equal(first.test, again.test) and np.array_equal(first.train, again.train)
    assert not np.array_equal(first.test, other.test)


def test_the_same_seed_gives_the_same_folds() -> None:
    table = make_table(n_posts=80)
    first = make_split(table, SplitOptions("grouped", folds=5, seed=3))
    again = make_split(table, SplitOptions("grouped", folds=5, seed=3))
    other = make_split(table, SplitOptions("grouped", folds=5, seed=4))
    assert all(np.array_equal(a.test, b.test) for a, b in zip(first.folds, again.folds, strict=True))
    assert not all(np.array_equal(a.test, b.test) for a, b in zip(first.folds, other.folds, strict=True))


def test_class_balance() -> None:
    table = make_table()
    (fold,) = make_split(table, SplitOptions()).folds
    balance = class_balance(table, fold)
    assert list(balance.columns) == ["side", "code", "images", "share"]
    assert list(zip(balance["side"], balance["code"], strict=True)) == [
        ("Training", "YES"), ("Training", "NO"), ("Test", "YES"), ("Test", "NO")]
    yes_train = int(table.observed[fold.train].sum())
    assert balance["images"].tolist() == [yes_train, len(fold.train) - yes_train,
                                          int(table.observed[fold.test].sum()),
                                          len(fold.test) - int(table.observed[fold.test].sum())]
    assert balance.groupby("side")["share"].sum().tolist() == [pytest.approx(1.0), pytest.approx(1.0)]


def test_grouped_holdout_takes_whole_groups_near_the_share() -> None:
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(200), rng.integers(1, 4, 200))
    observed = (groups % 3 == 0).astype(np.int8)
    mask = grouped_holdout(observed, groups, 0.3, rng)
    for group in np.unique(groups):
        assert len(set(mask[groups == group])) == 1
    assert mask.mean() == pytest.approx(0.3, abs=0.02)
    assert observed[mask].mean() == pytest.approx(observed.mean(), abs=0.03)


@pytest.mark.parametrize("folds", [2, 5, 10])
def test_grouped_folds_take_whole_groups_of_about_equal_size_and_share(folds: int) -> None:
    rng = np.random.default_rng(folds)
    sizes = rng.integers(1, 5, 3_000)
    groups = rng.permutation(np.repeat(np.arange(3_000), sizes))  # rows of a group scattered
    group_yes = rng.random(3_000) < 0.3
    observed = np.where(rng.random(len(groups)) < 0.9, group_yes[groups], ~group_yes[groups]).astype(np.int8)
    fold_of = grouped_folds(observed, groups, folds, np.random.default_rng(7))
    assert set(fold_of.tolist()) == set(range(folds))
    for group in range(0, 3_000, 37):
        assert len(set(fold_of[groups == group].tolist())) == 1
    counts = np.bincount(fold_of, minlength=folds)
    assert np.abs(counts - len(groups) / folds).max() <= 2 * sizes.max()
    for number in range(folds):
        assert observed[fold_of == number].mean() == pytest.approx(observed.mean(), abs=0.03)
    assert np.array_equal(fold_of, grouped_folds(observed, groups, folds, np.random.default_rng(7)))
    assert not np.array_equal(fold_of, grouped_folds(observed, groups, folds, np.random.default_rng(8)))


def test_grouped_folds_of_one_image_posts_are_stratified_folds() -> None:
    observed = np.array([1] * 30 + [0] * 70, dtype=np.int8)
    fold_of = grouped_folds(observed, np.arange(100), 5, np.random.default_rng(0))
    assert np.bincount(fold_of).tolist() == [20] * 5
    assert np.bincount(fold_of, weights=observed).tolist() == [6] * 5


def test_leakage_warning_for_post_level_features_under_a_row_split() -> None:
    table = make_table()
    leaky = FeatureTable(table.matrix, table.names, table.observed, table.context, {}, post_level=("a",),
                         identifiers=("b",))
    warnings = make_split(leaky, SplitOptions("stratified")).warnings
    assert any("same on every image of a post: a." in warning for warning in warnings)
    assert any("look like identifiers" in warning and ": b." in warning for warning in warnings)
    grouped = make_split(leaky, SplitOptions("grouped")).warnings
    assert not any("same on every image of a post" in warning for warning in grouped)


def test_one_group_is_refused_and_coarse_groups_are_warned_about() -> None:
    table = make_table(n_posts=60, with_posts=False)
    table.context["owner"] = "rondarousey"
    with pytest.raises(SettingError, match="Grouping by owner puts every image in one group") as caught:
        make_split(table, SplitOptions("grouped", group_by=("owner",)))
    assert "tell posts apart" in caught.value.hint
    table.context["kind"] = np.where(np.arange(table.n_images) % 3 == 0, "video", "photo")
    split = make_split(table, SplitOptions("grouped", test_size=0.1, group_by=("kind",)))
    test_share = len(split.folds[0].test) / table.n_images
    assert any(f"The test set holds {test_share:.0%} of the images, not the 10% asked: grouping by kind makes "
               "only 2 groups" in warning for warning in split.warnings)
    assert not any("The test set holds" in w for w in make_split(make_table(), SplitOptions()).warnings)
