"""Feature tables kept on disk per data version and options, so training again skips the label scan.

Building the features of a large workspace reads every label row out of
SQLite (about 3.7 s for 100,000 images and 1.3 million label rows), while
training on them may take less than a second. The table is therefore written
once under ``<workspace>/cache/features/<key>/``, where the key is a hash of the
workspace's data version, the feature options and :data:`CACHE_FORMAT`: any
new post, image, label or code moves the data version and so misses the cache.
Saving a run moves only the results version and keeps it.

An entry is written into a hidden folder and renamed into place, so it is
whole or absent; one that cannot be read is built again. Only the newest
:data:`KEEP` entries stay. Nothing here is pickled: arrays, a Parquet file and
JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from kayfabe_core.feature_table import FeatureTable
from kayfabe_core.features import FeatureOptions, build_features
from kayfabe_core.workspace import Workspace, read_data_version

CACHE_FORMAT = 1  # bump when the table's layout or the way features are built changes
KEEP = 4  # newest entries kept
_TEXT_FIELDS = ("positive_name", "negative_name")
_TUPLE_FIELDS = ("names", "post_level", "identifiers", "notes")


def cache_folder(workspace: Workspace) -> Path:
    """Return the folder holding the cached feature tables of ``workspace``."""
    return workspace.root / "cache" / "features"


def cache_key(version: int, options: FeatureOptions) -> str:
    """Return the entry name for a data version and feature options."""
    text = json.dumps({"format": CACHE_FORMAT, "version": version, "options": options.to_dict()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def load_features(workspace: Workspace, options: FeatureOptions) -> tuple[FeatureTable, bool]:
    """Return the feature table of ``workspace`` for ``options`` and whether it came from the cache.

    Builds it (and caches it) when the cache has no entry for the current data
    version. Raises what :func:`~kayfabe_core.features.build_features` raises.
    """
    options.checked()
    version = read_data_version(workspace)
    entry = cache_folder(workspace) / cache_key(version, options)
    cached = _read_entry(entry)
    if cached is not None:
        os.utime(entry)  # newest use first when pruning
        return cached, True
    table = build_features(workspace, options)
    _write_entry(entry, table)
    _prune(cache_folder(workspace))
    return table, False


def clear_feature_cache(workspace: Workspace) -> int:
    """Delete every cached feature table of ``workspace``; return how many there were."""
    folder = cache_folder(workspace)
    entries = [path for path in folder.iterdir() if path.is_dir()] if folder.is_dir() else []
    for path in entries:
        shutil.rmtree(path, ignore_errors=True)
    return len(entries)


def _write_entry(entry: Path, table: FeatureTable) -> None:
    """Write ``table`` as ``entry`` (whole or not at all); a full disk only costs the cache."""
    partial = entry.parent / f".{entry.name}.{uuid.uuid4().hex[:8]}"
    try:
        partial.mkdir(parents=True)
        sp.save_npz(partial / "matrix.npz", table.matrix, compressed=False)
        np.save(partial / "observed.npy", table.observed, allow_pickle=False)
        table.context.to_parquet(partial / "context.parquet", index=False)
        (partial / "table.json").write_text(json.dumps(_fields(table), default=str))
        partial.rename(entry)
    except OSError:
        pass  # another process wrote the same entry first, or the disk is full: the table is still returned
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _fields(table: FeatureTable) -> dict[str, Any]:
    fields: dict[str, Any] = {name: list(getattr(table, name)) for name in _TUPLE_FIELDS}
    fields.update({name: getattr(table, name) for name in _TEXT_FIELDS}, origin=table.origin)
    return fields


def _read_entry(entry: Path) -> FeatureTable | None:
    """Return the table stored as ``entry``, or None when there is none or it cannot be read."""
    if not entry.is_dir():
        return None
    try:
        fields = json.loads((entry / "table.json").read_text())
        matrix = sp.load_npz(entry / "matrix.npz").tocsr()
        observed = np.load(entry / "observed.npy", allow_pickle=False)
        context = pd.read_parquet(entry / "context.parquet")
    except (OSError, ValueError, KeyError):
        shutil.rmtree(entry, ignore_errors=True)
        return None
    return FeatureTable(matrix=matrix, names=tuple(fields["names"]), observed=observed, context=context,
                        origin=fields["origin"], positive_name=str(fields["positive_name"]),
                        negative_name=str(fields["negative_name"]), post_level=tuple(fields["post_level"]),
                        identifiers=tuple(fields["identifiers"]), notes=tuple(fields["notes"]))


def _prune(folder: Path) -> None:
    """Keep the :data:`KEEP` most recently used entries."""
    entries = sorted((path for path in folder.iterdir() if path.is_dir() and not path.name.startswith(".")),
                     key=lambda path: path.stat().st_mtime, reverse=True)
    for path in entries[KEEP:]:
        shutil.rmtree(path, ignore_errors=True)
