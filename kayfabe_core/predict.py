"""Predict: score images with a saved run, with a decision and the reasons, in chunks.

Only images with the same kinds of Rekognition responses as the run was
trained on are scored: an image without, say, moderation labels would look
like an image where none were found, so it is reported instead of silently
scored. The decision uses the run's threshold (0.5 unless one was saved from
the Results page).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb

from kayfabe_core.errors import StageNotReadyError
from kayfabe_core.features import FeatureOptions
from kayfabe_core.ingest import IngestReport, read_export, store_export
from kayfabe_core.runs import load_booster, read_run, read_test_features
from kayfabe_core.scoring import build_scoring_matrix
from kayfabe_core.workspace import RESULTS_VERSION, Workspace, connect, read_meta, transaction, write_meta

CHUNK = 20_000
OPERATION_OF_SOURCE = {"label": "DetectLabels", "moderation": "DetectModerationLabels",
                       "celebrity": "RecognizeCelebrities"}
REASONS = 3
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
    """Return the posts none of whose images has a code."""
    sql = ("SELECT post_url FROM posts WHERE post_url NOT IN (SELECT i.post_url FROM images i "
           "JOIN codes c ON c.sha256 = i.sha256) ORDER BY pub_date DESC")
    with connect(workspace) as conn:
        return [row[0] for row in conn.execute(sql)]


def import_posts(workspace: Workspace, files: Sequence[tuple[str, bytes]]) -> tuple[IngestReport, list[str]]:
    """Import PhantomBuster files into the workspace (as on the Posts page); return the report and their posts.

    Raises :class:`~kayfabe_core.errors.InputFileError` (nothing written) for a file that is not an export.
    """
    parsed = read_export(files)
    return store_export(workspace, parsed), list(parsed.posts["post_url"])


def predict_posts(workspace: Workspace, run_id: str, post_urls: Sequence[str],
                  progress: ProgressCallback | None = None) -> tuple[pd.DataFrame, PredictionReport]:
    """Score every scorable image of ``post_urls`` with the run.

    Returns one row per image (post_url, image_url, sha256, score, decision,
    reasons), highest score first, and the :class:`PredictionReport`. Raises
    :class:`StageNotReadyError` when the run was trained on an uploaded table.
    """
    record = read_run(workspace, run_id)
    origin = record["data"]["origin"]  # type: ignore[index]
    if origin["kind"] != "workspace":
        raise StageNotReadyError(f"Run {run_id} was trained on an uploaded table ({origin.get('file')}), whose "
                                 "features cannot be rebuilt from images.", "Choose a run trained on a workspace.")
    options = _options(origin["options"])
    _, names = read_test_features(workspace, run_id)
    images = _images_of(workspace, post_urls)
    fetched = images[images["sha256"].notna()]
    needed = sorted({OPERATION_OF_SOURCE[name.split(":")[0]] for name in names
                     if name.split(":")[0] in OPERATION_OF_SOURCE})
    missing = _missing_responses(workspace, list(fetched["sha256"].unique()), needed)
    lacking = set().union(*missing.values()) if missing else set()
    scorable = fetched[~fetched["sha256"].isin(lacking)]
    threshold = run_threshold(workspace, run_id)
    scores = _score(workspace, run_id, record, options, names, list(scorable["sha256"].unique()), threshold,
                    progress, origin.get("labels_before_parents"))
    table = scorable.merge(scores, on="sha256").sort_values("score", ascending=False, ignore_index=True)
    names_of = (record["data"]["positive_name"], record["data"]["negative_name"])  # type: ignore[index]
    table["decision"] = np.where(table["score"] >= threshold, names_of[0], names_of[1])
    report = PredictionReport(len(images), len(table), int(images["sha256"].isna().sum()),
                              {operation: len(found) for operation, found in missing.items()}, threshold)
    return table[["post_url", "image_url", "sha256", "score", "decision", "reasons"]], report


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


def _score(workspace: Workspace, run_id: str, record: dict[str, object], options: FeatureOptions,
           names: tuple[str, ...], hashes: list[str], threshold: float,
           progress: ProgressCallback | None, labels_before_parents: list[str] | None) -> pd.DataFrame:
    booster = load_booster(workspace, run_id)
    best_round = int(record["curve"]["best_round"])  # type: ignore[index]
    frames = []
    for start in range(0, len(hashes), CHUNK):
        chunk = hashes[start:start + CHUNK]
        data = xgb.DMatrix(build_scoring_matrix(workspace, options, names, chunk, labels_before_parents), nthread=-1)
        scores = booster.predict(data, iteration_range=(0, best_round))
        contributions = booster.predict(data, pred_contribs=True, iteration_range=(0, best_round))[:, :-1]
        frames.append(pd.DataFrame({"sha256": chunk, "score": scores.astype(float),
                                    "reasons": _reasons(contributions, scores >= threshold, names)}))
        if progress is not None:
            progress(min(start + CHUNK, len(hashes)), len(hashes))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["sha256", "score", "reasons"])


def _reasons(contributions: np.ndarray, decided_yes: np.ndarray, names: tuple[str, ...]) -> list[str]:
    """The features that pushed hardest towards each image's decision, as text."""
    signed = np.where(decided_yes[:, None], contributions, -contributions)
    top = np.argsort(-signed, axis=1)[:, :REASONS]
    reasons = []
    for row, columns in enumerate(top):
        parts = [f"{names[c]} ({contributions[row, c]:+.2f})" for c in columns if signed[row, c] > 0]
        reasons.append("; ".join(parts))
    return reasons


def all_posts(workspace: Workspace) -> list[str]:
    """Return every post of the workspace, newest first."""
    with connect(workspace) as conn:
        return [row[0] for row in conn.execute("SELECT post_url FROM posts ORDER BY pub_date DESC")]
