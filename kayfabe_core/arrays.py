"""Small numpy helpers shared by the modules that count millions of label rows."""

from __future__ import annotations

import numpy as np


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """Return the distinct values of ``values`` in increasing order, like ``np.unique(values)``.

    Sorts and keeps the first of each run: numpy 2.4's ``np.unique`` takes a hash-table path for
    integers that was 90 times slower on 2 million label rows (2.8 s against 0.03 s).
    """
    ordered = np.sort(values, kind="stable")
    if not len(ordered):
        return ordered
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]
