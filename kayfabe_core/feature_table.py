"""The feature table every split and model works on: one row per coded image.

It is built either from a workspace (:mod:`kayfabe_core.features`) or from a
ready-made CSV (:mod:`kayfabe_core.tables`); everything after that is the same.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass(frozen=True, eq=False)
class FeatureTable:
    """Features, codes and the facts needed to split them honestly.

    ``matrix`` is a float32 CSR matrix, one row per image and one column per
    feature named in ``names`` (names a person reads, e.g. ``label: Wrestling``).
    ``observed`` holds 1 for the positive code (YES) and 0 otherwise. ``context``
    has one row per image with at least ``item`` (the image's sha256, or
    ``row N`` for a table), ``post`` (what keeps images together in a grouped
    split; None when unknown) and ``time`` (UTC timestamp or NaT), plus any
    columns a user may group by. ``post_level`` names the features shared by
    every image of a post, ``identifiers`` those that look like ids.
    """

    matrix: sp.csr_matrix
    names: tuple[str, ...]
    observed: np.ndarray
    context: pd.DataFrame
    origin: dict[str, object]
    positive_name: str = "YES"
    negative_name: str = "NO"
    post_level: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    # the hashes once worked out: a table is read-only, and every run on it hashes it (0.05 s at 150,000 images)
    _hashes: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def n_images(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def n_positive(self) -> int:
        return int(self.observed.sum())

    def data_hash(self) -> str:
        """Return a short hash of the matrix, the names and the codes: equal hashes, equal data."""
        return self._worked_out_hashes()["data"]

    def codes_hash(self) -> str:
        """Return a short hash of the images and their codes alone: runs with equal ones were split from the same
        coded images (their features may differ: other cuts, other columns)."""
        return self._worked_out_hashes()["codes"]

    def _worked_out_hashes(self) -> dict[str, str]:
        """Both hashes, worked out together the first time either is asked for (they share the images' text)."""
        if not self._hashes:
            items = "\n".join(self.context["item"].astype(str).tolist()).encode()  # the images (or rows), a line each
            observed = np.ascontiguousarray(self.observed).tobytes()
            data = hashlib.sha256()
            for array in (self.matrix.indptr, self.matrix.indices, self.matrix.data):
                data.update(np.ascontiguousarray(array).tobytes())
            data.update(observed)
            data.update("\n".join(self.names).encode())
            data.update(items)
            codes = hashlib.sha256(observed)
            codes.update(items)
            self._hashes.update(data=data.hexdigest()[:16], codes=codes.hexdigest()[:16])
        return self._hashes


def build_matrix(rows: np.ndarray, columns: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Return a float32 CSR matrix in canonical form (sorted columns in each row) from unique (row, column,
    value) coordinates. Built straight into CSR: going through COO's sum_duplicates took 5 times longer."""
    matrix = sp.csr_matrix((values.astype(np.float32), (rows, columns)), shape=shape)
    if not matrix.has_canonical_format:
        matrix.sum_duplicates()
    return matrix


def join_columns(blocks: list[tuple[sp.csr_matrix, list[str]]]) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """Put feature blocks side by side; return the matrix and all names."""
    matrices = [block for block, _ in blocks]
    names = tuple(name for _, block_names in blocks for name in block_names)
    return sp.hstack(matrices, format="csr", dtype=np.float32), names


def describe_context(context: pd.DataFrame) -> pd.DataFrame:
    """Return ``context`` with its required columns in place (item, post, time)."""
    out = context.copy()
    if "post" not in out:
        out["post"] = None
    if "time" not in out:
        out["time"] = pd.NaT
    return out


def drop_features(table: FeatureTable, names: list[str]) -> FeatureTable:
    """Return ``table`` without the features called ``names``.

    Raises :class:`~kayfabe_core.errors.SettingError` naming any feature the table lacks.
    """
    from dataclasses import replace

    from kayfabe_core.errors import SettingError
    from kayfabe_core.wording import quoted_list

    unknown = [name for name in names if name not in table.names]
    if unknown:
        raise SettingError(f"There is no feature called {quoted_list(unknown)}.",
                           "Feature names look like “label: Person”, “moderation: Violence” or “likes”.")
    keep = [position for position, name in enumerate(table.names) if name not in set(names)]
    kept_names = tuple(table.names[position] for position in keep)
    return replace(table, matrix=table.matrix[:, keep], names=kept_names,
                   post_level=tuple(name for name in table.post_level if name in kept_names),
                   identifiers=tuple(name for name in table.identifiers if name in kept_names))
