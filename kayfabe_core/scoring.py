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
from kayfabe_core.feature_table import build_matrix
from kayfabe_core.features import FeatureOptions, drop_parent_labels, feature_names, read_labels
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
                             "Train one on the Train page (a model trained on an uploaded table cannot score "
                             "these images).")


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
                         sha256s: list[str], labels_before_parents: list[str] | None = None) -> sp.csr_matrix:
    """Return the features of ``sha256s`` in the column order ``names`` (a run's vocabulary).

    ``labels_before_parents`` are the labels training kept before dropping parent
    labels (needed only when the run left parents out), so parents drop alike.
    """
    index = pd.Index(sha256s)
    vocabulary = pd.Index(names)
    labels = read_labels(workspace, options, only=sha256s)
    if not options.include_parents:
        labels = drop_parent_labels(labels[feature_names(labels).isin(set(labels_before_parents or names))])
    rows = [index.get_indexer(labels["sha256"])]
    columns = [vocabulary.get_indexer(feature_names(labels))]
    values = [np.ones(len(labels))]
    if options.metadata or options.caption:
        posts = read_image_posts(workspace)
        context = pd.DataFrame({"sha256": sha256s}).merge(posts, on="sha256", how="left")
        if context["post_url"].isna().any():
            raise StageNotReadyError("Some images to score are not fetched images of any post.",
                                     "Fetch the images on the Images & labels page first.")
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
