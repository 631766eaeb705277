"""The Train page's split preview: kept per feature table (by identity) and split options, made again otherwise."""

from __future__ import annotations

import copy

from kayfabe_core.split import SplitOptions
from kayfabe_ui import train_view
from tests.test_split import make_table


def test_the_same_table_and_options_reuse_the_split_and_anything_else_splits_again() -> None:
    table, options = make_table(), SplitOptions()
    split, balance = train_view._split_preview(table, options)
    assert train_view._split_preview(table, options)[0] is split  # another widget moved: not split again
    other = train_view._split_preview(table, SplitOptions(test_size=0.4))[0]
    assert other is not split and len(other.folds[0].test) > len(split.folds[0].test)
    again = train_view._split_preview(copy.deepcopy(table), options)[0]  # a new table (new codes): split again
    assert again is not split and [fold.test.tolist() for fold in again.folds] == [
        fold.test.tolist() for fold in split.folds]
    assert balance.equals(train_view._split_preview(table, options)[1])
