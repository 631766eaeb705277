"""What the features are made of besides the codes, read once per inputs version and kept on disk.

Coding an image moves the data version, so the next training builds its feature
table again; but the posts and the labels have not changed, and reading them is
most of a build (about two thirds at 150,000 images). They are therefore kept
under ``<workspace>/cache/inputs/``: the posts per inputs version (which every
data write moves except writes of codes only: see
:func:`kayfabe_core.workspace.transaction`) and whether captions are read, the
labels per inputs version and confidence cuts (a new cut reads only the labels
again), each also keyed by :data:`INPUTS_FORMAT`. An entry is whole or absent (see
:mod:`kayfabe_core.cache_entries`); only the newest :data:`KEEP` stay. Nothing is
pickled: arrays, a Parquet file, text and JSON.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kayfabe_core.arrays import positions_in
from kayfabe_core.cache_entries import Kept, prune, read_entry, write_entry
from kayfabe_core.features_post import read_image_posts
from kayfabe_core.label_store import read_content_hashes, read_label_numbers
from kayfabe_core.workspace import INPUTS_VERSION, Workspace, connect, database_identity, read_data_version

INPUTS_FORMAT = 1  # bump when what is kept, or how it is read, changes
KEEP = 6  # newest entries kept, posts, labels and links together (a million posts: 120, 280 and 6 MB)

_IN_MEMORY = False  # see keep_inputs_in_memory
_MEMORY: dict[tuple[object, ...], FeatureInputs] = {}
_MEMORY_LOCK = threading.Lock()
LabelEntry = tuple[int, str, str, str, str]  # label number, source, key, name, parents (a label_names row)


@dataclass(frozen=True)
class LabelInputs:
    """Every label row at or above the lowest of some cuts, as numbers.

    ``triples`` (int32) holds one row per label row: content number, label
    number and how many of the other cuts its confidence reaches; ``numbers`` and
    ``hashes`` name each content number's image; ``names`` describes each label.
    """

    names: list[LabelEntry]
    numbers: np.ndarray
    hashes: list[str]
    triples: np.ndarray


@dataclass(frozen=True)
class FeatureInputs:
    """The posts of the fetched images (:func:`~kayfabe_core.features_post.read_image_posts`), their labels, and
    for each of ``labels.hashes`` its row in ``posts`` (-1: none), kept too (two hash lookups of 150,000
    texts were a fifth of a feature build after a code)."""

    posts: pd.DataFrame
    labels: LabelInputs
    label_posts: np.ndarray
    # what is worked out from these inputs and kept as long as they are (see features._every_image_block)
    derived: dict[object, tuple[object]] = field(default_factory=dict, compare=False, repr=False)


def read_label_inputs(workspace: Workspace, cuts: Sequence[float]) -> LabelInputs:
    """Read the label rows at or above the lowest of ``cuts`` (see :class:`LabelInputs`) from the label table."""
    with connect(workspace) as conn:
        names = [tuple(row) for row in conn.execute("SELECT label_no, source, key, name, parents FROM label_names")]
        numbers, hashes = read_content_hashes(conn)
        has_rows = bool(cuts and names and len(numbers))
        # int32: 22.7 million label rows of a million posts take 272 MB instead of 545 MB
        triples = read_label_numbers(conn, cuts) if has_rows else np.zeros((0, 3), np.int32)
    return LabelInputs(names=names, numbers=numbers, hashes=hashes, triples=triples)  # type: ignore[arg-type]


def keep_inputs_in_memory() -> None:
    """Keep the last inputs read in this process's memory too (the app does: a Train visit after a code read
    them from disk again, 0.1 s at 150,000 images; a one-off command would only hold the memory)."""
    global _IN_MEMORY
    _IN_MEMORY = True


def inputs_kept_in_memory() -> bool:
    """Return whether :func:`keep_inputs_in_memory` was called in this process."""
    return _IN_MEMORY


def forget_inputs_in_memory() -> None:
    """Drop the inputs kept in memory (emptying the caches empties this one too)."""
    with _MEMORY_LOCK:
        _MEMORY.clear()


def load_inputs(workspace: Workspace, cuts: Sequence[float], captions: bool) -> FeatureInputs:
    """Return the inputs for ``cuts`` (with the captions or not): each part from the cache when the inputs
    have not changed since it was kept, else read from the workspace (and kept). Treat them as read-only:
    with :func:`keep_inputs_in_memory` the same objects are handed out again."""
    cuts = sorted({float(cut) for cut in cuts})
    version = read_data_version(workspace, INPUTS_VERSION)
    key = (*database_identity(workspace), version, tuple(cuts), captions)
    with _MEMORY_LOCK:
        remembered = _MEMORY.get(key)
    if remembered is not None:
        return remembered
    inputs = _load_inputs(workspace, version, cuts, captions)
    if _IN_MEMORY:
        with _MEMORY_LOCK:
            _MEMORY.clear()  # one set of inputs at a time (a million posts: 400 MB)
            _MEMORY[key] = inputs
    return inputs


def _load_inputs(workspace: Workspace, version: int, cuts: list[float], captions: bool) -> FeatureInputs:
    folder = inputs_folder(workspace)
    # both at once, each on its own connection: SQLite and Arrow leave the interpreter lock while they read
    with ThreadPoolExecutor(max_workers=1) as pool:
        posts_read = pool.submit(_load, folder / _key("posts", version, captions), _read_posts, _write_posts,
                                 lambda: read_image_posts(workspace, captions=captions))
        labels = _load(folder / _key("labels", version, cuts), _read_labels, _write_labels,
                       lambda: read_label_inputs(workspace, cuts))
        posts = posts_read.result()
    label_posts = _load(folder / _key("links", version, [cuts, captions]), _read_links, _write_links,
                        lambda: positions_in(labels.hashes, posts["sha256"]).astype(np.int32))
    prune(folder, KEEP)
    return FeatureInputs(posts=posts, labels=labels, label_posts=label_posts)


def load_label_inputs(workspace: Workspace, cuts: Sequence[float]) -> LabelInputs:
    """Return the label inputs for ``cuts`` alone (for scoring): kept, or read from the workspace and kept."""
    cuts = sorted({float(cut) for cut in cuts})
    folder = inputs_folder(workspace)
    labels = _load(folder / _key("labels", read_data_version(workspace, INPUTS_VERSION), cuts), _read_labels,
                   _write_labels, lambda: read_label_inputs(workspace, cuts))
    prune(folder, KEEP)
    return labels


def inputs_folder(workspace: Workspace) -> Path:
    """Return the folder holding the kept inputs of ``workspace``."""
    return workspace.root / "cache" / "inputs"


def _load(entry: Path, read: Callable[[Path], Kept], write: Callable[[Path, Kept], None],
          build: Callable[[], Kept]) -> Kept:
    cached = read_entry(entry, read)
    if cached is not None:
        return cached
    made = build()
    write_entry(entry, lambda partial: write(partial, made))
    return made


def _key(part: str, version: int, detail: object) -> str:
    text = json.dumps({"format": INPUTS_FORMAT, "part": part, "version": version, "detail": detail})
    return f"{part}-{hashlib.sha256(text.encode()).hexdigest()[:20]}"


def _write_posts(folder: Path, posts: pd.DataFrame) -> None:
    posts.to_parquet(folder / "posts.parquet", index=False)


def _read_posts(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "posts.parquet")


def _write_labels(folder: Path, labels: LabelInputs) -> None:
    (folder / "names.json").write_text(json.dumps(labels.names))
    (folder / "hashes.txt").write_text("\n".join(labels.hashes))
    np.save(folder / "numbers.npy", labels.numbers.astype(np.int64), allow_pickle=False)
    np.save(folder / "triples.npy", labels.triples, allow_pickle=False)


def _write_links(folder: Path, links: np.ndarray) -> None:
    np.save(folder / "label_posts.npy", links, allow_pickle=False)


def _read_links(folder: Path) -> np.ndarray:
    return np.load(folder / "label_posts.npy", allow_pickle=False)


def _read_labels(folder: Path) -> LabelInputs:
    hashes = (folder / "hashes.txt").read_text()
    return LabelInputs(names=[tuple(name) for name in json.loads((folder / "names.json").read_text())],
                       numbers=np.load(folder / "numbers.npy", allow_pickle=False),
                       hashes=hashes.split("\n") if hashes else [],
                       triples=np.load(folder / "triples.npy", allow_pickle=False))
