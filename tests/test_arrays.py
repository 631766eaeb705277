"""The shared array helpers agree with the plain numpy and pandas ways they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from kayfabe_core.arrays import ascending, dense_ranks, is_in, positions_in, present_numbers, unique_sorted


def test_positions_in_matches_a_dict_lookup() -> None:
    rng = np.random.default_rng(3)
    among = [f"{value:064x}" for value in rng.choice(10_000, 3_000, replace=False)]
    values = [f"{value:064x}" for value in rng.integers(0, 10_000, 5_000)]
    place = {text: at for at, text in enumerate(among)}
    expected = np.array([place.get(text, -1) for text in values])
    for given in (values, pd.Series(values, dtype="str"), pa.array(values)):
        assert np.array_equal(positions_in(given, pd.Series(among, dtype="str")), expected)


def test_positions_in_with_missing_and_empty_inputs() -> None:
    texts = pd.Series(["a", None, "c"], dtype="str")
    assert positions_in(texts, ["c", "a"]).tolist() == [1, -1, 0]
    assert positions_in(["a"], []).tolist() == [-1]
    assert positions_in([], ["a"]).dtype == np.int64


def test_unique_sorted_present_numbers_and_is_in() -> None:
    values = np.array([5, 1, 5, 3, 1])
    assert unique_sorted(values).tolist() == np.unique(values).tolist()
    assert present_numbers(values).tolist() == [1, 3, 5]
    assert is_in(pd.Series(["x", "y", "z"], dtype="str"), ["z", "x", "x"]).tolist() == [True, False, True]


@pytest.mark.parametrize("values", [np.array([5, 1, 5, 3, 1, 9]), np.array([0.5, -2.0, 0.5]), np.array([7]),
                                    np.zeros(0, dtype=np.int64), np.random.default_rng(0).integers(0, 50, 1_000)])
def test_dense_ranks_are_numpy_unique_inverse(values: np.ndarray) -> None:
    assert np.array_equal(dense_ranks(values), np.unique(values, return_inverse=True)[1])


def test_ascending_sorts_only_what_is_out_of_order() -> None:
    already = np.array([1, 2, 2, 8])
    assert ascending(already) is already
    assert ascending(np.array([3, 1, 2])).tolist() == [1, 2, 3]
    assert ascending(np.zeros(0, dtype=np.int64)).tolist() == []
