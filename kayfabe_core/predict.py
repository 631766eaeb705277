"""Predict: score images with a saved run, with a decision and the reasons, in chunks.

Only images with the same kinds of Rekognition responses as the run was
trained on are scored: an image without, say, moderation labels would look
like an image where none were found, so it is reported instead of silently
scored. The decision uses the run's threshold (0.5 unless one was saved from
the Results page).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xgboost as xgb

from kayfabe_core.arrays import positions_in
from kayfabe_core.code_log import read_code_log
from kayfabe_core.errors import StageNotReadyError
from kayfabe_core.explain import feature_with_value
from kayfabe_core.feature_inputs import load_label_inputs
from kayfabe_core.features import FeatureOptions, label_cuts
from kayfabe_core.ingest import IngestReport, read_export, store_export
from kayfabe_core.runs import load_booster, read_run, read_test_features
from kayfabe_core.scoring import build_scoring_matrix
from kayfabe_core.sql_columns import read_columns
from kayfabe_core.workspace import RESULTS_VERSION, Workspace, connect, read_meta, transaction, write_meta

CHUNK = 20_000
OPERATION_OF_SOURCE = {"label": "DetectLabels", "moderation": "DetectModerationLabels",
                       "celebrity": "RecognizeCelebrities"}
REASONS = 3
SCORE_COLUMNS = ("post_url", "image_url", "sha256", "score", "decision", "reasons")
REASON_SEPARATOR = "; "  # between the reasons of one image in the ``reasons`` column
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class PredictionReport:
    """What was scored and what could not be, with why."""

    images: int
    scored: int
    not_fetched: int
    missing_responses: dict[str, int]  # operation -> images lacking it
    threshold: float

    def to_dict(self) -> dict[str, object]:
        return {"images": self.images, "scored": self.scored, "not_fetched": self.not_fetched,
                "missing_responses": self.missing_responses, "threshold": self.threshold}


def run_threshold(workspace: Workspace, run_id: str) -> float:
    """Return the threshold saved for the run (0.5 by default)."""
    saved = read_meta(workspace, f"threshold:{run_id}")
    return 0.5 if saved is None else float(saved)


def save_run_threshold(workspace: Workspace, run_id: str, threshold: float) -> None:
    """Keep ``threshold`` as the run's decision threshold for predictions."""
    read_run(workspace, run_id)
    with transaction(workspace, RESULTS_VERSION) as conn:
        write_meta(conn, f"threshold:{run_id}", f"{threshold:.4f}")


def uncoded_posts(workspace: Workspace) -> list[str]:
    """Return the posts none of whose images has a code, newest first (undated last, then by link).

    Two scans and the code log set against each other by pandas: SQLite's NOT IN over images joined to codes
    took 1 s at 100,000 posts, once after every code.
    """
    with connect(workspace) as conn:
        posts = read_columns(conn, "SELECT post_url, pub_date FROM posts", ["post_url", "pub_date"])
        images = read_columns(conn, "SELECT sha256, post_url FROM images WHERE sha256 IS NOT NULL",
                              ["sha256", "post_url"])
        log = read_code_log(conn, workspace)
    coded = log.hash_texts(np.arange(len(log.hashes)))  # every image with a code (Unsure too)
    coded_posts = images["post_url"][positions_in(images["sha256"], coded) >= 0].unique()
    uncoded = posts[positions_in(posts["post_url"], coded_posts) < 0]
    uncoded = uncoded.sort_values(["pub_date", "post_url"], ascending=[False, True], na_position="last")
    return uncoded["post_url"].tolist()


def import_posts(workspace: Workspace, files: Sequence[tuple[str, bytes]]) -> tuple[IngestReport, list[str]]:
    """Import PhantomBuster files into the workspace (as on the Posts page); return the report and their posts.

    Raises :class:`~kayfabe_core.errors.InputFileError` (nothing written) for a file that is not an export.
    """
    parsed = read_export(files)
    return store_export(workspace, parsed), list(parsed.posts["post_url"])


@dataclass(frozen=True, eq=False)
class ScoringPlan:
    """What scoring ``post_urls`` with a run involves: the images that can be scored and how to build their rows."""

    run_id: str
    options: FeatureOptions
    names: tuple[str, ...]  # the run's vocabulary, in column order
    labels_before_parents: list[str] | None
    best_round: int
    decisions: tuple[str, str]  # the names of YES and NO
    scorable: pd.DataFrame  # post_url, image_url, sha256 of every image to score
    report: PredictionReport

    @property
    def hashes(self) -> list[str]:
        """The distinct images to score, in the order their rows are built."""
        return list(self.scorable["sha256"].unique())

    def matrices(self, workspace: Workspace, chunk: int | None = None) -> Iterator[tuple[list[str], sp.csr_matrix]]:
        """Yield (images, their feature rows) ``chunk`` (default :data:`CHUNK`) images at a time, built exactly
        as at training time."""
        hashes, chunk = self.hashes, chunk or CHUNK
        labels = load_label_inputs(workspace, label_cuts(self.options))  # once, not per chunk
        for start in range(0, len(hashes), chunk):
            part = hashes[start:start + chunk]
            yield part, build_scoring_matrix(workspace, self.options, self.names, part, self.labels_before_parents,
                                             labels)

    def table(self, scores: pd.DataFrame) -> pd.DataFrame:
        """Return the scores table of ``scores`` (sha256, score, reasons): see :func:`scores_table`."""
        return scores_table(self.scorable, scores, self.report.threshold, self.decisions)


def scores_table(images: pd.DataFrame, scores: pd.DataFrame, threshold: float,
                 decisions: tuple[str, str]) -> pd.DataFrame:
    """Return ``scores`` (sha256, score, reasons) joined to ``images`` (post_url, image_url, sha256), decided at
    ``threshold`` (``decisions``: the names of YES and NO), highest score first, in :data:`SCORE_COLUMNS`."""
    table = images.merge(scores, on="sha256").sort_values("score", ascending=False, ignore_index=True, kind="stable")
    table["decision"] = np.where(table["score"] >= threshold, *decisions)
    return table[list(SCORE_COLUMNS)]


def scoring_run(workspace: Workspace, run_id: str) -> dict[str, object]:
    """Return the record of run ``run_id`` once it is known to be able to score posts (check it before importing
    posts to score: a refused run then leaves the workspace as it was).

    Raises :class:`~kayfabe_core.errors.WorkspaceError` when there is no such run or its files are missing or
    damaged, :class:`StageNotReadyError` when it was trained on an uploaded table.
    """
    record = read_run(workspace, run_id)
    origin = record["data"]["origin"]  # type: ignore[index]
    if origin["kind"] != "workspace":
        raise StageNotReadyError(f"Run {run_id} was trained on an uploaded table ({origin.get('file')}), whose "
                                 "features cannot be rebuilt from images.", "Choose a run trained on a workspace.")
    read_test_features(workspace, run_id)
    load_booster(workspace, run_id)
    return record


def plan_scoring(workspace: Workspace, run_id: str, post_urls: Sequence[str]) -> ScoringPlan:
    """Return which images of ``post_urls`` the run can score, and what it needs to score them.

    Images not fetched, or lacking a kind of Rekognition response the run's
    features use, are counted in the plan's report and left out. Raises
    :class:`StageNotReadyError` when the run was trained on an uploaded table.
    """
    record = scoring_run(workspace, run_id)
    origin = record["data"]["origin"]  # type: ignore[index]
    _, names = read_test_features(workspace, run_id)
    images = _images_of(workspace, post_urls)
    fetched = images[images["sha256"].notna()]
    needed = sorted({OPERATION_OF_SOURCE[name.split(":")[0]] for name in names
                     if name.split(":")[0] in OPERATION_OF_SOURCE})
    missing = _missing_responses(workspace, list(fetched["sha256"].unique()), needed)
    lacking = set().union(*missing.values()) if missing else set()
    scorable = fetched[~fetched["sha256"].isin(lacking)].reset_index(drop=True)
    report = PredictionReport(len(images), len(scorable), int(images["sha256"].isna().sum()),
                              {operation: len(found) for operation, found in missing.items()},
                              run_threshold(workspace, run_id))
    data = record["data"]
    return ScoringPlan(run_id, _options(origin["options"]), names, origin.get("labels_before_parents"),
                       int(record["curve"]["best_round"]),  # type: ignore[index]
                       (str(data["positive_name"]), str(data["negative_name"])),  # type: ignore[index]
                       scorable, report)


def predict_posts(workspace: Workspace, run_id: str, post_urls: Sequence[str],
                  progress: ProgressCallback | None = None) -> tuple[pd.DataFrame, PredictionReport]:
    """Score every scorable image of ``post_urls`` with the run, on this computer.

    Returns one row per image (post_url, image_url, sha256, score, decision,
    reasons), highest score first, and the :class:`PredictionReport`. Raises
    :class:`StageNotReadyError` when the run was trained on an uploaded table.
    """
    plan = plan_scoring(workspace, run_id, post_urls)
    booster = load_booster(workspace, run_id)
    frames, total = [], len(plan.hashes)
    for chunk, matrix in plan.matrices(workspace):
        frames.append(_score(booster, plan, chunk, matrix))
        if progress is not None:
            progress(sum(map(len, frames)), total)
    scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["sha256", "score", "reasons"])
    return plan.table(scores), plan.report


def _options(stored: dict[str, object]) -> FeatureOptions:
    values = dict(stored)
    values["sources"] = tuple(values["sources"])  # type: ignore[arg-type]
    return FeatureOptions(**values)  # type: ignore[arg-type]


def _images_of(workspace: Workspace, post_urls: Sequence[str]) -> pd.DataFrame:
    wanted = pd.DataFrame({"post_url": list(dict.fromkeys(post_urls))})
    with connect(workspace) as conn:
        images = pd.read_sql_query("SELECT post_url, position, source_url AS image_url, "
                                   "CASE WHEN fetch_status = 'ok' THEN sha256 END AS sha256 FROM images", conn)
    return wanted.merge(images, on="post_url").sort_values(["post_url", "position"], ignore_index=True)


def _missing_responses(workspace: Workspace, hashes: list[str], operations: list[str]) -> dict[str, set[str]]:
    if not hashes or not operations:
        return {}
    with connect(workspace) as conn:
        stored = pd.read_sql_query("SELECT DISTINCT sha256, operation FROM responses WHERE response IS NOT NULL",
                                   conn)
    missing = {}
    for operation in operations:
        have = set(stored.loc[stored["operation"] == operation, "sha256"])
        lacking = {sha for sha in hashes if sha not in have}
        if lacking:
            missing[operation] = lacking
    return missing


def _score(booster: xgb.Booster, plan: ScoringPlan, hashes: list[str], matrix: sp.csr_matrix) -> pd.DataFrame:
    data = xgb.DMatrix(matrix, nthread=-1)
    rounds = (0, plan.best_round)
    scores = booster.predict(data, iteration_range=rounds)
    contributions = booster.predict(data, pred_contribs=True, iteration_range=rounds)[:, :-1]
    return pd.DataFrame({"sha256": hashes, "score": scores.astype(float),
                         "reasons": _reasons(contributions, scores >= plan.report.threshold, plan.names, matrix)})


def _reasons(contributions: np.ndarray, decided_yes: np.ndarray, names: tuple[str, ...],
             matrix: sp.csr_matrix) -> list[str]:
    """The features that pushed hardest towards each image's decision, as text, each with its value on the
    image (``matrix``): a label present or absent (an absent label pushes too), a number as it is."""
    signed = np.where(decided_yes[:, None], contributions, -contributions)
    top = _largest_columns(signed, REASONS)
    rows = np.repeat(np.arange(len(top)), top.shape[1])
    values = np.asarray(matrix[rows, top.ravel()]).reshape(top.shape) if top.size else top.astype(float)
    reasons = []
    for row, columns in enumerate(top):
        parts = [f"{feature_with_value(names[c], values[row, place])} ({contributions[row, c]:+.2f})"
                 for place, c in enumerate(columns) if signed[row, c] > 0]
        reasons.append(REASON_SEPARATOR.join(parts))
    return reasons


def reason_list(reasons: str) -> list[str]:
    """Return the reasons of one image (its ``reasons`` cell of the scores table) one by one."""
    return [part for part in str(reasons or "").split(REASON_SEPARATOR) if part]



def _largest_columns(values: np.ndarray, count: int) -> np.ndarray:
    """Return, per row, the columns of its ``count`` largest values, largest first (the first of equals first,
    as a stable sort would): one argmax per place (sorting every row took 29 s for 150,000 images)."""
    rows = np.arange(len(values))
    work = values.astype(np.promote_types(values.dtype, np.float32), copy=True)  # float32 stays float32
    top = np.empty((len(values), min(count, values.shape[1])), dtype=np.int64)
    for place in range(top.shape[1]):
        top[:, place] = work.argmax(axis=1)
        work[rows, top[:, place]] = -np.inf
    return top


def all_posts(workspace: Workspace) -> list[str]:
    """Return every post of the workspace, newest first."""
    with connect(workspace) as conn:
        return [row[0] for row in conn.execute("SELECT post_url FROM posts ORDER BY pub_date DESC")]
