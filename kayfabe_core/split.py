"""Split coded images into training and test sets: grouped by post (default), stratified, random or by time.

A grouped split keeps every image of a post on one side, so a carousel cannot
be learned from one slide and tested on its twin. k-fold cross-validation and
repeated splits give several (training, test) pairs, called folds here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from kayfabe_core.arrays import ascending, dense_ranks
from kayfabe_core.constraints import SPLIT_KNOBS, check_settings
from kayfabe_core.errors import SettingError
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.leakage import leakage_warnings
from kayfabe_core.wording import counted

METHODS = {
    "grouped": "Grouped by post: all images of a post on the same side (recommended)",
    "stratified": "Stratified by image: same share of each code on both sides, posts may be cut",
    "random": "Random images: no grouping, no stratification",
    "time": "By time: train on older posts, test on the newest",
}
MIN_TEST_IMAGES = 10
MIN_PER_CODE = 2
MIN_CODED = 20


_DEFAULTS = {knob.key: knob.default for knob in SPLIT_KNOBS}


@dataclass(frozen=True)
class SplitOptions:
    """How to split; every number is checked against :data:`~kayfabe_core.constraints.SPLIT_KNOBS`."""

    method: str = "grouped"
    test_size: float = float(_DEFAULTS["test_size"])  # the defaults are the constraints table's, as the sliders'
    folds: int = int(_DEFAULTS["folds"])  # 0: one split with test_size; 2 or more: k-fold cross-validation
    repeats: int = int(_DEFAULTS["repeats"])
    seed: int = int(_DEFAULTS["seed"])
    group_by: tuple[str, ...] = ()  # columns that identify a post; empty: the workspace's post

    def checked(self) -> SplitOptions:
        """Return self after checking it; raise :class:`SettingError` otherwise."""
        check_settings(SPLIT_KNOBS, {"test_size": self.test_size, "folds": self.folds,
                                     "repeats": self.repeats, "seed": self.seed})
        if self.method not in METHODS:
            raise SettingError(f"There is no split called “{self.method}”.",
                               "Choose one of: " + ", ".join(METHODS) + ".")
        if self.folds == 1:
            raise SettingError("Cross-validation needs at least 2 folds; got 1.",
                               "Use 0 for one split with a test share, or 2 to 10 folds.")
        if self.method == "time" and (self.folds or self.repeats > 1):
            raise SettingError("A split by time tests once on the newest posts: it cannot be cut into folds "
                               "or repeated.", "Set folds to 0 and repeats to 1, or choose another split.")
        return self

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Fold:
    """One (training, test) pair: row numbers into the feature table."""

    repeat: int
    number: int
    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True, eq=False)
class Split:
    """The folds of a split, what kept images together, and warnings for the user."""

    options: SplitOptions
    folds: tuple[Fold, ...]
    grouped_by: str
    warnings: tuple[str, ...]


def make_split(table: FeatureTable, options: SplitOptions) -> Split:
    """Return the :class:`Split` of ``table``.

    Raises :class:`SettingError` for options out of range, grouping columns
    the table lacks, or a split that would leave a side with too few images or
    one code only (the message says what to change).
    """
    options.checked()
    _check_enough(table)
    groups, grouped_by = group_ids(table, options)
    if options.method in ("stratified", "random") and not options.group_by:
        grouped_by = ""
    _check_groups(groups, grouped_by, options)
    folds = []
    for repeat in range(options.repeats):
        seed = options.seed + repeat
        for number, (train, test) in enumerate(_pairs(table, options, groups, seed)):
            folds.append(Fold(repeat, number, ascending(train), ascending(test)))
    for fold in folds:
        _check_side(table, fold, options)
    post_numbers = groups if groups is not None and not options.group_by else None  # then groups are posts
    warnings = leakage_warnings(table, options.method, grouped_by, folds[0].train, folds[0].test, post_numbers,
                                len(folds))
    warnings += _coarse_groups_warning(table, folds[0], groups, grouped_by, options)
    warnings += _undated_warning(table, options)
    return Split(options, tuple(folds), grouped_by, tuple(warnings))


def _undated_warning(table: FeatureTable, options: SplitOptions) -> list[str]:
    """A split by time puts the images without a date on the training side: say how many."""
    if options.method != "time":
        return []
    undated = int(image_times(table).isna().sum())
    if not undated:
        return []
    return [f"{counted(undated, 'image')} without a date went to the training side (a split by time cannot place "
            "them among the newer images); choose another split if that matters."]


def _check_groups(groups: np.ndarray | None, grouped_by: str, options: SplitOptions) -> None:
    """Refuse a grouping into one group (it cannot sit on both sides; too few for the folds is said by them)."""
    if groups is None or not grouped_by or options.method == "time":
        return
    if len(groups) and int(groups.max()) == 0:
        raise SettingError(
            f"Grouping by {grouped_by} puts every image in one group, and a group never sits on both sides: "
            "nothing would be left to test on.",
            "Group by columns that tell posts apart (the post's link, or its date and counts), use fewer folds, "
            "or do not group.")


def _coarse_groups_warning(table: FeatureTable, fold: Fold, groups: np.ndarray | None, grouped_by: str,
                           options: SplitOptions) -> list[str]:
    """Warn when whole groups made the test share far from the one asked (a few large groups)."""
    if groups is None or not grouped_by or options.folds or options.method == "time":
        return []
    share = len(fold.test) / max(table.n_images, 1)
    if abs(share - options.test_size) <= 0.1:
        return []
    count = int(groups.max()) + 1
    return [f"The test set holds {share:.0%} of the images, not the {options.test_size:.0%} asked: grouping by "
            f"{grouped_by} makes only {count:,} groups, and each stays whole on one side."]


def group_ids(table: FeatureTable, options: SplitOptions) -> tuple[np.ndarray | None, str]:
    """Return the group number of each row and a description of the grouping (None, "" when ungrouped)."""
    if options.group_by:
        missing = [name for name in options.group_by if name not in table.context.columns]
        if missing:
            raise SettingError("There is no column " + ", ".join(f"“{name}”" for name in missing) + " to group by.",
                               "Group by columns of the table, e.g. " + ", ".join(
                                   map(str, table.context.columns[1:6])) + ".")
        columns = table.context[list(options.group_by)].astype(str)  # as text: 1 and "1" are one value
        # numbered per column and combined: joining the texts row by row took 7 s for 150,000 rows
        return columns.groupby(list(columns.columns), sort=False, dropna=False).ngroup().to_numpy(), \
            ", ".join(options.group_by)
    if table.context["post"].notna().all():
        return pd.factorize(table.context["post"])[0], "post"
    if options.method == "grouped":
        raise SettingError(
            "This table does not say which images belong to the same post, so it cannot be grouped by post.",
            "Choose columns that together identify a post to group by (for the original study's table: "
            "commentCount, likeCount, pubYear, pubMonth, pubDay), or use a stratified split and read the "
            "result knowing that images of one post may sit on both sides.")
    return None, ""


def _pairs(table: FeatureTable, options: SplitOptions, groups: np.ndarray | None,
           seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    observed, rows = table.observed, np.arange(table.n_images)
    method, folds = options.method, options.folds
    if method == "time":
        return [_time_holdout(table, options.test_size)]
    if folds:
        if method == "grouped" or (groups is not None and options.group_by):
            assert groups is not None
            n_groups = len(np.unique(groups))
            if n_groups < folds:
                raise SettingError(f"Cross-validation with {folds} folds needs at least {folds} posts to share "
                                   f"out, and this data has {n_groups:,}.",
                                   "Use fewer folds, or group by columns that tell more posts apart.")
            fold_of = grouped_folds(observed, groups, folds, np.random.default_rng(seed))
            return [(rows[fold_of != number], rows[fold_of == number]) for number in range(folds)]
        plain = StratifiedKFold if method == "stratified" else KFold
        return list(plain(n_splits=folds, shuffle=True, random_state=seed).split(rows, observed))
    rng = np.random.default_rng(seed)
    if method == "grouped" or (groups is not None and options.group_by):
        assert groups is not None
        test_mask = grouped_holdout(observed, groups, options.test_size, rng)
    elif method == "stratified":
        test_mask = grouped_holdout(observed, rows, options.test_size, rng)
    else:
        test_mask = np.zeros(len(rows), dtype=bool)
        test_mask[rng.permutation(len(rows))[:round(options.test_size * len(rows))]] = True
    return [(rows[~test_mask], rows[test_mask])]


def grouped_holdout(observed: np.ndarray, groups: np.ndarray, test_size: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Return a test mask taking whole groups, about ``test_size`` of each code's images.

    Groups are sorted into mostly-YES and mostly-NO; from each, shuffled groups
    go to the test side until that stratum's share is closest to ``test_size``.
    With one group per row this is an ordinary stratified split.
    """
    inverse = dense_ranks(groups)
    sizes = np.bincount(inverse)
    mostly_yes = np.bincount(inverse, weights=observed) * 2 >= sizes
    chosen: list[np.ndarray] = []
    for stratum in (False, True):
        members = rng.permutation(np.flatnonzero(mostly_yes == stratum))
        if members.size == 0:
            continue
        cumulative = np.cumsum(sizes[members])
        take = int(np.argmin(np.abs(cumulative - test_size * cumulative[-1]))) + 1
        chosen.append(members[:take])
    in_test = np.zeros(len(sizes), dtype=bool)  # by group: np.isin of every row sorted them (about 10 ms)
    in_test[np.concatenate(chosen)] = True
    return in_test[inverse]


def grouped_folds(observed: np.ndarray, groups: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Return the fold (0 to ``folds`` - 1) of each row: whole groups, about as many images and as many of
    each code in every fold.

    As :func:`grouped_holdout`, groups are sorted into mostly-YES and mostly-NO and shuffled; each stratum's
    run of groups is then cut into ``folds`` stretches of about equal images (a group goes where its middle
    falls), the second stratum's numbered backwards so that their rounding evens out. scikit-learn's
    StratifiedGroupKFold compares every group with every fold in Python: 12 s for 30,000 posts, and more than
    linear in the posts; this takes milliseconds.
    """
    inverse = dense_ranks(groups)
    sizes = np.bincount(inverse)
    mostly_yes = np.bincount(inverse, weights=observed) * 2 >= sizes
    group_fold = np.zeros(len(sizes), dtype=np.int64)
    for stratum in (False, True):
        members = rng.permutation(np.flatnonzero(mostly_yes == stratum))
        if members.size == 0:
            continue
        cumulative = np.cumsum(sizes[members])
        middles = cumulative - sizes[members] / 2
        numbers = np.minimum((middles * folds / cumulative[-1]).astype(np.int64), folds - 1)
        group_fold[members] = numbers if not stratum else folds - 1 - numbers
    return group_fold[inverse]


def image_times(table: FeatureTable) -> pd.Series:
    """Return each image's time (UTC; NaT where it has no date, or one that cannot be read)."""
    return pd.to_datetime(table.context["time"], utc=True, errors="coerce")


_OTHER_SPLIT = ("Choose a split grouped by post or stratified instead (on the command line: --split grouped or "
                "--split stratified)")


def _time_holdout(table: FeatureTable, test_size: float) -> tuple[np.ndarray, np.ndarray]:
    times = image_times(table)  # no date: training (said)
    if times.isna().all():
        raise SettingError("A split by time needs each image's date, and this data has none.",
                           f"{_OTHER_SPLIT}.")
    dated = times.dropna()
    if dated.nunique() == 1:  # nothing older to train on and newer to test on
        raise SettingError(f"A split by time needs images from different times, and {_one_time(dated)}.",
                           _OTHER_SPLIT + (
                               ", or check the table's dates." if table.origin.get("kind") == "table" else "."))
    rows = np.arange(table.n_images)
    cutoff = times.quantile(1 - test_size)
    test = (times > cutoff).to_numpy()
    if not test.any():
        test = (times >= cutoff).to_numpy()
    return rows[~test], rows[test]


def _one_time(dated: pd.Series) -> str:
    """Say that the dated images all have one time: "all 40 dated images have the same one (1 May 2021)"."""
    moment = dated.iloc[0]
    when = f"{moment.day} {moment:%B %Y}" + ("" if moment == moment.normalize() else f", {moment:%H:%M} UTC")
    if len(dated) == 1:
        return f"only one image has a date ({when})"
    return f"all {len(dated):,} dated images have the same one ({when})"


def _check_enough(table: FeatureTable) -> None:
    yes = table.n_positive
    no = table.n_images - yes
    if table.n_images < MIN_CODED or min(yes, no) < 2 * MIN_PER_CODE:
        enough = f"at least {MIN_CODED} images, with at least {2 * MIN_PER_CODE} of each code"
        if table.origin.get("kind") == "table":  # an uploaded table: its rows, and maybe the wrong column
            raise SettingError(
                f"The table has only {table.n_images:,} rows ({yes:,} {table.positive_name}, {no:,} "
                f"{table.negative_name}): too few to train a model and test it.",
                f"Give a table with {enough}, and check that the column chosen as the code holds the "
                "YES/NO codes.")
        raise SettingError(
            f"Only {table.n_images:,} images are coded ({yes:,} {table.positive_name}, {no:,} "
            f"{table.negative_name}): too few to train a model and test it.",
            f"Code {enough}.")


def _check_side(table: FeatureTable, fold: Fold, options: SplitOptions) -> None:
    several = options.folds or options.repeats > 1
    where = f" (repeat {fold.repeat + 1}, fold {fold.number + 1})" if several else ""
    for side, rows in (("training", fold.train), ("test", fold.test)):
        yes = int(table.observed[rows].sum())
        no = len(rows) - yes
        small = side == "test" and len(rows) < MIN_TEST_IMAGES
        if small or min(yes, no) < MIN_PER_CODE:
            raise SettingError(
                f"This split would leave the {side} set{where} with {len(rows):,} images "
                f"({yes:,} {table.positive_name}, {no:,} {table.negative_name}): too few to "
                f"{'learn' if side == 'training' else 'measure'} anything.",
                f"Each side needs at least {MIN_PER_CODE} images of each code and the test set at least "
                f"{MIN_TEST_IMAGES} images. Raise the test share, use fewer folds, or code more images "
                f"({table.n_images:,} are coded now).")


def class_balance(table: FeatureTable, fold: Fold) -> pd.DataFrame:
    """Return images per side and code for ``fold``: columns side, code, images, share."""
    rows = []
    for side, members in (("Training", fold.train), ("Test", fold.test)):
        yes = int(table.observed[members].sum())
        for code, count in ((table.positive_name, yes), (table.negative_name, len(members) - yes)):
            rows.append({"side": side, "code": code, "images": count, "share": count / max(len(members), 1)})
    return pd.DataFrame(rows)
