"""Feature tables kept on disk per data version and options, so training again skips building them.

A feature table is written once under ``<workspace>/cache/features/<key>/``,
where the key is a hash of the workspace's data version, the feature options
and :data:`CACHE_FORMAT`: any new post, image, label or code moves the data
version and so misses the cache. Saving a run moves only the results version
and keeps it. A new code still keeps the posts and labels the table is built
from (:mod:`kayfabe_core.feature_inputs`), so that rebuild is quick.

Entries are whole or absent (:mod:`kayfabe_core.cache_entries`); only the
newest :data:`KEEP` stay. Nothing here is pickled: arrays, a Parquet file and
JSON.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from kayfabe_core.cache_entries import clear_entries, prune, read_entry, write_entry
from kayfabe_core.feature_inputs import forget_inputs_in_memory, inputs_folder
from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.workspace import Workspace, read_data_version

CACHE_FORMAT = 1  # bump when the table's layout or the way features are built changes
KEEP = 4  # newest entries kept
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feature-cache")  # entries written behind
_TEXT_FIELDS = ("positive_name", "negative_name")
_TUPLE_FIELDS = ("names", "post_level", "identifiers", "notes")


def cache_folder(workspace: Workspace) -> Path:
    """Return the folder holding the cached feature tables of ``workspace``."""
    return workspace.root / "cache" / "features"


def cache_key(version: int, options: FeatureOptions) -> str:
    """Return the entry name for a data version and feature options."""
    text = json.dumps({"format": CACHE_FORMAT, "version": version, "options": options.to_dict()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def load_features(workspace: Workspace, options: FeatureOptions,
                  write_behind: bool = False) -> tuple[FeatureTable, bool]:
    """Return the feature table of ``workspace`` for ``options`` and whether it came from the cache.

    Builds it (and caches it) when the cache has no entry for the current data
    version; with ``write_behind`` the entry is written on a worker thread after
    the table is returned (the app keeps the table in memory meanwhile: writing it
    took 0.1 s of every Train visit after a code at 150,000 images). Raises what
    :func:`~kayfabe_core.features.build_features` raises.
    """
    options.checked()
    version = read_data_version(workspace)
    entry = cache_folder(workspace) / cache_key(version, options)
    cached = read_entry(entry, _read_entry)
    if cached is not None:
        return cached, True
    table = build_features(workspace, options)
    if write_behind:
        _WRITER.submit(_keep, workspace, entry, table)
    else:
        _keep(workspace, entry, table)
    return table, False


def wait_for_cache_writes() -> None:
    """Return once every entry written behind (``load_features(..., write_behind=True)``) is on disk."""
    _WRITER.submit(lambda: None).result()


def _keep(workspace: Workspace, entry: Path, table: FeatureTable) -> None:
    write_entry(entry, lambda partial: _write_entry(partial, table))
    prune(cache_folder(workspace), KEEP)


def clear_feature_cache(workspace: Workspace) -> int:
    """Delete every cached feature table of ``workspace`` and its kept inputs (on disk, and in this process's
    memory); return how many tables there were."""
    forget_inputs_in_memory()
    clear_entries(inputs_folder(workspace))
    return clear_entries(cache_folder(workspace))


def _write_entry(folder: Path, table: FeatureTable) -> None:
    sp.save_npz(folder / "matrix.npz", table.matrix, compressed=False)
    np.save(folder / "observed.npy", table.observed, allow_pickle=False)
    table.context.to_parquet(folder / "context.parquet", index=False)
    (folder / "table.json").write_text(json.dumps(_fields(table), default=str))


def _fields(table: FeatureTable) -> dict[str, Any]:
    fields: dict[str, Any] = {name: list(getattr(table, name)) for name in _TUPLE_FIELDS}
    fields.update({name: getattr(table, name) for name in _TEXT_FIELDS}, origin=table.origin)
    return fields


def _read_entry(entry: Path) -> FeatureTable:
    fields = json.loads((entry / "table.json").read_text())
    return FeatureTable(matrix=sp.load_npz(entry / "matrix.npz").tocsr(), names=tuple(fields["names"]),
                        observed=np.load(entry / "observed.npy", allow_pickle=False),
                        context=pd.read_parquet(entry / "context.parquet"),
                        origin=fields["origin"], positive_name=str(fields["positive_name"]),
                        negative_name=str(fields["negative_name"]), post_level=tuple(fields["post_level"]),
                        identifiers=tuple(fields["identifiers"]), notes=tuple(fields["notes"]))
