"""Build the feature table from a workspace: labels at chosen cuts, plus post metadata and captions.

Reads the long label table (never the raw JSON), so any confidence cut works
with no new Rekognition calls. Each coded image is one row; its code is the
resolved code (:func:`kayfabe_core.associations.read_resolved_codes`).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from kayfabe_core.arrays import positions_in, present_numbers
from kayfabe_core.associations import read_resolved_codes
from kayfabe_core.constraints import FEATURE_KNOBS, check_settings
from kayfabe_core.errors import SettingError, StageNotReadyError
from kayfabe_core.feature_inputs import FeatureInputs, LabelEntry, LabelInputs, inputs_kept_in_memory, load_inputs
from kayfabe_core.feature_table import FeatureTable, build_matrix, join_columns
from kayfabe_core.features_post import caption_block, metadata_block
from kayfabe_core.workspace import Workspace, connect

SOURCE_PREFIX = {"label": "label", "moderation": "moderation", "celebrity": "celebrity"}
SOURCE_NAMES = {"label": "labels", "moderation": "moderation labels", "celebrity": "celebrities"}
CONTEXT_COLUMNS = ("post_url", "time", "owner", "media_type")  # the posts' columns of the table's context


@dataclass(frozen=True)
class FeatureOptions:
    """How labels become features. Thresholds are confidences in per cent (50–100)."""

    label_threshold: float = 80.0
    moderation_threshold: float = 80.0
    celebrity_threshold: float = 80.0
    sources: tuple[str, ...] = ("label", "moderation", "celebrity")
    include_parents: bool = True  # False keeps only the most specific label of a chain (Face, not Person)
    min_images: int = 5
    metadata: bool = False  # likes, comments, views, type, carousel, hour, weekday, year
    caption: bool = False  # hashtags and words of the post's caption

    def checked(self) -> FeatureOptions:
        """Return self after checking every number against the constraints table (raises SettingError)."""
        check_settings(FEATURE_KNOBS, {"label_threshold": self.label_threshold,
                                       "moderation_threshold": self.moderation_threshold,
                                       "celebrity_threshold": self.celebrity_threshold,
                                       "min_images": self.min_images})
        return self

    def threshold(self, source: str) -> float:
        return {"label": self.label_threshold, "moderation": self.moderation_threshold,
                "celebrity": self.celebrity_threshold}[source]

    def to_dict(self) -> dict[str, object]:
        """Return the options as JSON-ready data (as a saved run records them)."""
        return asdict(self) | {"sources": list(self.sources)}


def build_features(workspace: Workspace, options: FeatureOptions) -> FeatureTable:
    """Return the :class:`FeatureTable` of every coded image of ``workspace``.

    Raises :class:`StageNotReadyError` when no image is both coded and fetched,
    and :class:`~kayfabe_core.errors.SettingError` for an option out of range.
    """
    options.checked()
    with ThreadPoolExecutor(max_workers=1) as pool:  # the codes are read while the inputs are
        codes_read = pool.submit(read_resolved_codes, workspace)
        inputs = load_inputs(workspace, label_cuts(options), captions=options.caption)
        codes = codes_read.result()
    rows = positions_in(codes["sha256"], inputs.posts["sha256"])  # both hold distinct hashes
    codes, rows = codes[rows >= 0].reset_index(drop=True), rows[rows >= 0]
    if codes.empty:
        raise StageNotReadyError("No image is both fetched and coded (YES or NO) yet.",
                                 "Code some images on the Code page (or import codes with `import-codes`), then "
                                 "come back.")
    # the posts' columns the table needs (all for post facts and captions): the captions' texts were most of
    # the copy (16 ms of 150,000 rows, 8 without them)
    posts = inputs.posts if options.metadata or options.caption else inputs.posts[list(CONTEXT_COLUMNS)]
    context = posts.iloc[rows].reset_index(drop=True)
    fast = _kept_label_block(inputs, options, rows)
    if fast is not None:
        label_matrix, label_names, kept = fast
    else:
        table_row = np.full(len(inputs.posts) + 1, -1, dtype=np.int32)  # by posts row (-1 last: no post): table row
        table_row[rows] = np.arange(len(rows))
        label_matrix, label_names, kept = _label_block(inputs.labels, options, table_row[inputs.label_posts],
                                                       len(rows))
    blocks = [(label_matrix, label_names)]
    post_level: list[str] = []
    if options.metadata:
        block = metadata_block(context)
        blocks.append(block)
        post_level += [name for name in block[1] if name != "position in the carousel"]
    if options.caption:
        block = caption_block(context, options.min_images)
        blocks.append(block)
        post_level += block[1]
    matrix, names = join_columns(blocks)
    if not names:
        raise _no_features(options, len(codes))
    book = _codebook_names(workspace)
    return FeatureTable(
        matrix=matrix, names=names, observed=(codes["value"] == "YES").to_numpy(np.int8),
        context=pd.DataFrame({"item": codes["sha256"], "post": context["post_url"], "time": context["time"],
                              "owner": context["owner"], "media_type": context["media_type"]}),
        origin={"kind": "workspace", "workspace": str(workspace.root), "options": options.to_dict(),
                "labels_before_parents": kept},
        positive_name=book[0], negative_name=book[1], post_level=tuple(post_level),
    )


def _no_features(options: FeatureOptions, n_coded: int) -> SettingError:
    """The error for settings under which no label (and no other fact) becomes a feature."""
    cuts = ", ".join(f"{SOURCE_NAMES[source]} {options.threshold(source):.0f} %" for source in options.sources
                     if source in SOURCE_NAMES)
    why = (f"no label reaches its confidence cut ({cuts}) on at least {options.min_images:,} of the {n_coded:,} "
           "coded images") if cuts else "no label source is chosen, and no post facts or caption words either"
    return SettingError(
        f"These settings leave no feature to learn from: {why}.",
        f"Lower “Drop labels seen on fewer images than” (now {options.min_images:,}; --min-images on the command "
        "line) or the confidence cuts, or add the posts' facts or caption words as features.")


def _label_block(inputs: LabelInputs, options: FeatureOptions, hash_rows: np.ndarray,
                 n_rows: int) -> tuple[object, list[str], list[str]]:
    """Return the label features (``n_rows`` rows; ``hash_rows``: the row of each of ``inputs.hashes``, -1 for
    none), their names, and the labels kept before parents were dropped.

    Works on the label rows as integer arrays (``inputs``): pandas string columns (isin, groupby, a name per
    row) and millions of live row tuples (the garbage collector walks them again and again) took most of the
    feature time on large workspaces.
    """
    image_n, combo_n, combos = label_rows(inputs, options, hash_rows)
    parts = [combo.split("\x00") for combo in combos]  # source, key, name
    key_of: dict[tuple[str, str], int] = {}  # (source, key) -> label number
    name_of: dict[tuple[str, str], int] = {}  # (source, name) -> name number
    # int32 numbers per label row (22.7 million at a million posts): half the memory of int64
    combo_label = np.array([key_of.setdefault((source, key), len(key_of)) for source, key, _ in parts], dtype=np.int32)
    combo_name = np.array([name_of.setdefault((source, name), len(name_of)) for source, _, name in parts],
                          dtype=np.int32)
    label_n, name_n = combo_label[combo_n], combo_name[combo_n]
    # one row per image and label, the first stored, whatever the number of model versions; with one stored
    # row per (image, label) already (a label under one version and one name), every row is kept
    one_each = len(key_of) == len(combos)
    if one_each:
        images_per_label = np.bincount(label_n, minlength=len(key_of))
        # rare labels go first: a rare child keeps its parent
        keep = np.flatnonzero(images_per_label[label_n] >= options.min_images)
    else:
        keep = np.sort(np.unique(image_n.astype(np.int64) * max(len(key_of), 1) + label_n, return_index=True)[1])
        images_per_label = np.bincount(label_n[keep], minlength=len(key_of))
        keep = keep[images_per_label[label_n[keep]] >= options.min_images]
    name_list = [f"{SOURCE_PREFIX[source]}: {name}" for source, name in name_of]
    kept: list[str] = []  # recorded only when parents are left out
    if not options.include_parents:
        kept = sorted({name_list[number] for number in present_numbers(name_n[keep])})
        keep = keep[~parent_rows(image_n[keep], combo_n[keep], inputs.names)]
    keys = list(key_of)
    order = sorted(present_numbers(label_n[keep]).tolist(),
                   key=lambda number: keys[number][0] + "\x00" + keys[number][1])
    column_of = np.full(max(len(key_of), 1), -1, dtype=np.int64)
    column_of[order] = np.arange(len(order))
    if one_each:  # a label's one combo names it
        combo_of = {label: combo for combo, label in enumerate(combo_label.tolist())}
        column_names = [name_list[combo_name[combo_of[number]]] for number in order]
    else:
        column_names = _last_names(keep, label_n, name_n, name_list, order)
    matrix = build_matrix(image_n[keep], column_of[label_n[keep]], np.ones(len(keep)), (n_rows, len(order)))
    return matrix, column_names, kept


@dataclass(frozen=True)
class _AllImages:
    """The label features of every image of some inputs, before any is dropped: one row per posts row, one
    column per label in the order of their keys (source, key), each value the label's rows on the image.

    Kept beside the inputs it was made from, it costs up to 8 bytes per label row at the chosen cuts
    (2.26 million rows of 100,000 posts: about 12 MB at the default cuts; a million posts' 22.7 million
    rows: at most 180 MB).
    """

    matrix: sp.csr_matrix  # float32, canonical
    names: list[str]  # each column's name


def _kept_label_block(inputs: FeatureInputs, options: FeatureOptions,
                      rows: np.ndarray) -> tuple[object, list[str], list[str]] | None:
    """The label block of :func:`_label_block` for the images at posts ``rows`` (in table order), taken from
    the label features of every image, kept with inputs kept in memory
    (:func:`~kayfabe_core.feature_inputs.keep_inputs_in_memory`): a new code changes which images are rows, not
    their labels, so only the rows are picked and the labels on too few of them dropped (at 150,000 images 90 ms
    of a feature build after a code, now about 25). None where the block is built as before: inputs not kept,
    parents left out, or a label under several names or model versions (which rows count then depends on the
    images).
    """
    if not options.include_parents or not inputs_kept_in_memory():
        return None
    kept = _every_image_block(inputs, options)
    if kept is None:
        return None
    matrix = kept.matrix[rows]
    per_label = np.bincount(matrix.indices, weights=matrix.data, minlength=len(kept.names))  # label rows, as before
    columns = np.flatnonzero((per_label >= options.min_images) & (per_label > 0))
    column_of = np.full(len(kept.names), -1, dtype=np.int64)
    column_of[columns] = np.arange(len(columns))
    new_index = column_of[matrix.indices]
    keep = new_index >= 0
    indptr = np.concatenate([[0], np.cumsum(keep)])[matrix.indptr].astype(matrix.indptr.dtype)
    block = sp.csr_matrix((matrix.data[keep], new_index[keep].astype(matrix.indices.dtype), indptr),
                          shape=(len(rows), len(columns)))
    block.has_sorted_indices = True  # the columns keep the keys' order, so each row's stay sorted
    block.has_canonical_format = True
    return block, [kept.names[column] for column in columns], []


def _every_image_block(inputs: FeatureInputs, options: FeatureOptions) -> _AllImages | None:
    """Return :func:`_all_images_block` of ``inputs`` and the options' cuts and sources: kept with the inputs
    (which the app keeps in memory, one set at a time), one block at a time."""
    # each source's own cut (the sorted set of cuts would mix up label 60 / moderation 95 and the reverse)
    key = ("every image's labels",
           tuple((source, float(options.threshold(source))) for source in options.sources if source in SOURCE_PREFIX))
    found = inputs.derived.get(key)  # (the block,): None is a block too (not used for these labels)
    if found is None:
        found = (_all_images_block(inputs, options),)
        inputs.derived.clear()  # other cuts' block: up to 180 MB at a million posts
        inputs.derived[key] = found
    return cast("_AllImages | None", found[0])


def _all_images_block(inputs: FeatureInputs, options: FeatureOptions) -> _AllImages | None:
    """The label features of every posts row of ``inputs`` (see :class:`_AllImages`), None where each label
    does not have one name and model version (see :func:`_kept_label_block`)."""
    image_n, combo_n, combos = label_rows(inputs.labels, options, inputs.label_posts)
    parts = [combo.split("\x00") for combo in combos]  # source, key, name
    key_of: dict[tuple[str, str], int] = {}
    for source, key, _ in parts:
        key_of.setdefault((source, key), len(key_of))
    if len(key_of) != len(combos) or not combos:
        return None
    keys = list(key_of)  # one per combo, in combo order
    order = sorted(range(len(keys)), key=lambda number: keys[number][0] + "\x00" + keys[number][1])
    column_of = np.empty(len(keys), dtype=np.int64)
    column_of[order] = np.arange(len(order))
    names = [f"{SOURCE_PREFIX[parts[number][0]]}: {parts[number][2]}" for number in order]
    matrix = build_matrix(image_n, column_of[combo_n], np.ones(len(image_n)), (len(inputs.posts), len(keys)))
    return _AllImages(matrix=matrix, names=names)


def _last_names(keep: np.ndarray, label_n: np.ndarray, name_n: np.ndarray, name_list: list[str],
                order: list[int]) -> list[str]:
    """Return the name on each label's last kept row (labels in ``order``): it names the label's column."""
    backwards = keep[::-1]
    last = dict(zip(*(part.tolist() for part in np.unique(label_n[backwards], return_index=True)), strict=True))
    return [name_list[name_n[backwards[last[number]]]] for number in order]


def label_cuts(options: FeatureOptions) -> list[float]:
    """Return the distinct confidence cuts of the chosen sources (none when no label source is chosen)."""
    return sorted({float(options.threshold(source)) for source in options.sources if source in SOURCE_PREFIX})


def label_rows(inputs: LabelInputs, options: FeatureOptions,
               hash_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return, for each stored label of an image with a row (``hash_rows``: the row of each of ``inputs.hashes``,
    -1 for none; see :func:`hash_rows_of`) at or above its cut (in table order):
    the image's row and the label's place in ``inputs.names``; and by place, "source NUL key NUL name".

    ``inputs`` holds the label rows as numbers (:func:`~kayfabe_core.feature_inputs.read_label_inputs`).
    """
    no_rows = np.zeros(0, dtype=np.int64)
    sources = [source for source in options.sources if source in SOURCE_PREFIX]
    names, numbers = inputs.names, inputs.numbers
    if not sources or not names or not len(numbers):
        return no_rows, no_rows, []
    label_place, needed = _label_lookups(names, sources, options, label_cuts(options))
    content_row = np.full(int(numbers.max()) + 1, -1, dtype=np.int32)
    content_row[numbers] = hash_rows
    triples = inputs.triples
    image, label, level = content_row[triples[:, 0]], triples[:, 1], triples[:, 2]
    keep = (image >= 0) & (level >= needed[label])
    combo = label_place[label[keep]]
    return image[keep], combo, [f"{source}\x00{key}\x00{name}" for _, source, key, name, _ in names]


def hash_rows_of(inputs: LabelInputs, row_hashes: pd.Series) -> np.ndarray:
    """Return the row of each of ``inputs.hashes`` among ``row_hashes`` (distinct content hashes), -1 for none."""
    return positions_in(inputs.hashes, row_hashes)


def _label_lookups(names: list[LabelEntry], sources: list[str], options: FeatureOptions,
                   cuts: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Return, by label number, its place in ``names`` and how many of ``cuts`` its row must pass
    (more than there are cuts for a source not chosen)."""
    size = max(number for number, *_ in names) + 1
    place = np.zeros(size, dtype=np.int32)
    needed = np.full(size, len(cuts) + 1, dtype=np.int32)
    for at, (number, source, *_) in enumerate(names):
        place[number] = at
        if source in sources:
            needed[number] = cuts.index(float(options.threshold(source)))
    return place, needed


def parent_rows(images: np.ndarray, places: np.ndarray, names: list[LabelEntry]) -> np.ndarray:
    """Mark the label rows (``images``: the image's row, ``places``: the label's place in ``names``) whose label
    is a parent of another row's label on the same image, of the same source (a moderation label's parent never
    removes the object label of that name).

    Each label's parents are read once per label, not once per row: per row in Python it took 7.7 s at 150,000
    images.
    """
    pair_of: dict[tuple[str, str], int] = {}  # (source, name) -> number
    own = np.array([pair_of.setdefault((source, name), len(pair_of)) for _, source, _, name, _ in names],
                   dtype=np.int64)
    parents_of = [[pair_of.setdefault((source, parent), len(pair_of)) for parent in json.loads(parents)]
                  if len(parents) > 2 else [] for _, source, _, _, parents in names]
    counts = np.array([len(parents) for parents in parents_of], dtype=np.int64)
    row_counts = counts[places]
    if not len(places) or not row_counts.any():
        return np.zeros(len(places), dtype=bool)
    flat = np.array([pair for parents in parents_of for pair in parents], dtype=np.int64)
    starts = np.cumsum(counts) - counts
    within = np.arange(int(row_counts.sum())) - np.repeat(np.cumsum(row_counts) - row_counts, row_counts)
    parent_pairs = flat[np.repeat(starts[places], row_counts) + within]
    width = len(pair_of)
    parent_keys = np.repeat(images.astype(np.int64), row_counts) * width + parent_pairs
    return np.isin(images.astype(np.int64) * width + own[places], parent_keys)


def _codebook_names(workspace: Workspace) -> tuple[str, str]:
    """Return the names of the YES and NO codes from the latest codebook (default YES, NO)."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT yes_name, no_name FROM codebooks ORDER BY version DESC LIMIT 1").fetchone()
    return (str(row[0]), str(row[1])) if row else ("YES", "NO")
