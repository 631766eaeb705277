"""Score images with a saved run: features built exactly as at training time, then the run's model.

The run's record holds its feature options and its vocabulary (the feature
names, in column order); a label the run never saw is left out, a feature it
knew but an image lacks is simply absent, as in training.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xgboost as xgb

from kayfabe_core.errors import StageNotReadyError
from kayfabe_core.feature_inputs import LabelInputs, load_label_inputs
from kayfabe_core.feature_table import build_matrix
from kayfabe_core.features import SOURCE_PREFIX, FeatureOptions, hash_rows_of, label_cuts, label_rows, parent_rows
from kayfabe_core.features_post import caption_block, metadata_block, read_image_posts
from kayfabe_core.runs import list_runs, load_booster, read_run, read_test_features
from kayfabe_core.workspace import Workspace


def latest_workspace_run(workspace: Workspace) -> str:
    """Return the newest run trained on this workspace's images (not on an uploaded table).

    Raises :class:`StageNotReadyError` when there is none.
    """
    for run_id in list_runs(workspace)["run_id"]:
        if read_run(workspace, run_id)["data"]["origin"]["kind"] == "workspace":  # type: ignore[index]
            return str(run_id)
    raise StageNotReadyError("This needs a model trained on this workspace's images, and there is none yet.",
                             "Train one on the Train page or with `train WORKSPACE` (a model trained on an "
                             "uploaded table cannot score these images).")


def score_images(workspace: Workspace, run_id: str, sha256s: Sequence[str]) -> pd.DataFrame:
    """Return the run's score (probability of YES) for each fetched image: columns sha256, score."""
    record = read_run(workspace, run_id)
    origin = record["data"]["origin"]  # type: ignore[index]
    options_dict = dict(origin["options"])
    options_dict["sources"] = tuple(options_dict["sources"])
    options = FeatureOptions(**options_dict)
    _, names = read_test_features(workspace, run_id)
    matrix = build_scoring_matrix(workspace, options, names, list(sha256s), origin.get("labels_before_parents"))
    best_round = int(record["curve"]["best_round"])  # type: ignore[index]
    scores = load_booster(workspace, run_id).predict(xgb.DMatrix(matrix, nthread=-1), iteration_range=(0, best_round))
    return pd.DataFrame({"sha256": list(sha256s), "score": scores.astype(float)})


def build_scoring_matrix(workspace: Workspace, options: FeatureOptions, names: tuple[str, ...],
                         sha256s: list[str], labels_before_parents: list[str] | None = None,
                         label_inputs: LabelInputs | None = None) -> sp.csr_matrix:
    """Return the features of ``sha256s`` in the column order ``names`` (a run's vocabulary).

    ``labels_before_parents`` are the labels training kept before dropping parent
    labels (needed only when the run left parents out), so parents drop alike.
    The label rows come from ``label_inputs`` (when scoring in chunks, read once), else from the kept inputs.
    """
    vocabulary = pd.Index(names)
    inputs = label_inputs if label_inputs is not None else load_label_inputs(workspace, label_cuts(options))
    image_rows, label_columns = _label_cells(inputs, options, sha256s, vocabulary,
                                             set(labels_before_parents or names))
    rows, columns, values = [image_rows], [label_columns], [np.ones(len(image_rows))]
    if options.metadata or options.caption:
        posts = read_image_posts(workspace)
        context = pd.DataFrame({"sha256": sha256s}).merge(posts, on="sha256", how="left")
        if context["post_url"].isna().any():
            raise StageNotReadyError("Some images to score are not fetched images of any post.",
                                     "Fetch the images on the Images & labels page (or with `fetch-images`) first.")
        blocks = ([metadata_block(context)] if options.metadata else []) + \
                 ([caption_block(context, 1)] if options.caption else [])
        for block, block_names in blocks:
            coo = block.tocoo()
            rows.append(coo.row)
            columns.append(vocabulary.get_indexer(pd.Index(block_names)[coo.col]))
            values.append(coo.data)
    row, column, value = np.concatenate(rows), np.concatenate(columns), np.concatenate(values)
    known = column >= 0
    return build_matrix(row[known], column[known], value[known], (len(sha256s), len(names)))


def _label_cells(inputs: LabelInputs, options: FeatureOptions, sha256s: list[str], vocabulary: pd.Index,
                 allowed: set[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return each label feature of ``sha256s`` as its row and its column in ``vocabulary`` (-1: unknown to the
    run): one per image and label, the first stored (in table order) whatever the number of model versions."""
    image_n, place_n, combos = label_rows(inputs, options, hash_rows_of(inputs, pd.Series(sha256s, dtype=str)))
    parts = [combo.split("\x00") for combo in combos]  # source, key, name by place
    key_of: dict[tuple[str, str], int] = {}
    key_n = np.array([key_of.setdefault((source, key), len(key_of)) for source, key, _ in parts], dtype=np.int64)
    features = [f"{SOURCE_PREFIX[source]}: {name}" for source, _, name in parts]
    first = np.sort(np.unique(image_n.astype(np.int64) * max(len(key_of), 1) + key_n[place_n],
                              return_index=True)[1])
    image_n, place_n = image_n[first], place_n[first]
    if not options.include_parents:
        known = np.array([feature in allowed for feature in features], dtype=bool)[place_n]
        image_n, place_n = image_n[known], place_n[known]
        dropped = parent_rows(image_n, place_n, inputs.names)
        image_n, place_n = image_n[~dropped], place_n[~dropped]
    return image_n, vocabulary.get_indexer(pd.Index(features)).astype(np.int64)[place_n]
