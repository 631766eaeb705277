"""How far coders agree on the images they both coded.

Uses each coder's latest code per image (by code order); Unsure codes are left
out. Two coders give Cohen's kappa, three or more Krippendorff's alpha (nominal,
by the coincidence-matrix method), each with a bootstrap 95 % interval that
resamples images with replacement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from kayfabe_core.associations import ADJUDICATOR, read_latest_codes
from kayfabe_core.errors import StageNotReadyError
from kayfabe_core.workspace import Workspace, connect

MIN_IMAGES = 10
DECIDED = ("YES", "NO")
KAPPA = "Cohen's kappa"
ALPHA = "Krippendorff's alpha"


class NotEnoughCodesError(StageNotReadyError):
    """Too few coders, or too few images coded by two of them, to measure agreement."""


@dataclass(frozen=True)
class Agreement:
    """Agreement of ``coders`` on the ``images`` that at least two of them coded Yes or No.

    ``percent`` is the share of agreeing coder pairs (0..1); ``statistic`` is
    Cohen's kappa (two coders) or Krippendorff's alpha (three or more), with a
    bootstrap 95 % percentile interval ``ci_low``..``ci_high`` from ``n_boot``
    resamples of the images (resamples where the statistic is undefined are skipped).
    """

    coders: tuple[str, ...]
    images: int
    percent: float
    statistic_name: str
    statistic: float
    ci_low: float
    ci_high: float
    n_boot: int

    def to_dict(self) -> dict[str, object]:
        """Return the agreement as plain JSON-ready data."""
        data = asdict(self)
        data["coders"] = list(self.coders)
        return data


# --- the statistics --------------------------------------------------------------------------

def cohens_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Return Cohen's kappa (nominal) of two coders' values for the same items, in the same order.

    Returns nan when it is undefined (both coders gave one and the same value
    throughout). Raises ValueError when the sequences are empty or differ in length.
    """
    if len(a) != len(b) or not a:
        raise ValueError(f"cohens_kappa needs two equally long, non-empty sequences (got {len(a)} and {len(b)})")
    categories = sorted(set(a) | set(b))
    index = {value: i for i, value in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)))
    np.add.at(table, ([index[v] for v in a], [index[v] for v in b]), 1)
    table /= table.sum()
    observed = float(np.trace(table))
    expected = float(table.sum(axis=1) @ table.sum(axis=0))
    return float("nan") if expected == 1 else (observed - expected) / (1 - expected)


def krippendorff_alpha(units: list[list[str]]) -> float:
    """Return Krippendorff's alpha (nominal) for ``units``, each the values given to one item.

    Units with fewer than two values are left out (they cannot be paired). Uses
    the coincidence matrix: each unit with m values adds 1/(m-1) for every ordered
    pair of its values. Returns nan when it is undefined (fewer than two pairable
    values, or only one value used).
    """
    pairable = [unit for unit in units if len(unit) >= 2]
    categories = sorted({value for unit in pairable for value in unit})
    index = {value: i for i, value in enumerate(categories)}
    coincidence = np.zeros((len(categories), len(categories)))
    for unit in pairable:
        counts = np.bincount([index[value] for value in unit], minlength=len(categories)).astype(float)
        coincidence += (np.outer(counts, counts) - np.diag(counts)) / (len(unit) - 1)
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    disagree_expected = n * n - float(totals @ totals)
    if n < 2 or disagree_expected == 0:
        return float("nan")
    disagree_observed = coincidence.sum() - np.trace(coincidence)
    return float(1 - (n - 1) * disagree_observed / disagree_expected)


def _kappa_from_cells(cells: np.ndarray) -> np.ndarray:
    """Vectorised kappa from rows of 2×2 totals (yes-yes, yes-no, no-yes, no-no); nan where undefined."""
    n = cells.sum(axis=-1)
    observed = (cells[..., 0] + cells[..., 3]) / n
    first_yes = (cells[..., 0] + cells[..., 1]) / n
    second_yes = (cells[..., 0] + cells[..., 2]) / n
    expected = first_yes * second_yes + (1 - first_yes) * (1 - second_yes)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (observed - expected) / (1 - expected)
    return np.where(np.isclose(expected, 1), np.nan, kappa)


def _alpha_from_sums(sums: np.ndarray) -> np.ndarray:
    """Vectorised binary alpha from rows of totals (yes values, no values, Σ yes·no/(m-1)); nan where undefined."""
    yes, no, mixed = sums[..., 0], sums[..., 1], sums[..., 2]
    n = yes + no
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1 - (n - 1) * mixed / (yes * no)
    return np.where(yes * no == 0, np.nan, alpha)


# --- reading the codes -----------------------------------------------------------------------

def _latest_decided(workspace: Workspace, coders: Sequence[str] | None) -> pd.DataFrame:
    """Return each coder's latest code per image where it is YES or NO: columns sha256, coder, value."""
    with connect(workspace) as conn:
        latest = read_latest_codes(conn)
    latest = latest[latest["value"].isin(DECIDED)]
    if coders is not None:
        latest = latest[latest["coder"].isin(list(coders))]
    return latest.sort_values(["sha256", "coder"]).reset_index(drop=True)


def _shared(latest: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of ``latest`` on images with at least two coders."""
    per_image = latest.groupby("sha256")["coder"].transform("size")
    return latest[per_image >= 2]


def _check_enough(latest: pd.DataFrame, shared: pd.DataFrame) -> None:
    present = sorted(latest["coder"].unique())
    hint = ("Have a second coder code at least "
            f"{MIN_IMAGES} of the images another coder coded (Unsure codes do not count).")
    if len(present) < 2:
        found = "no coder with Yes or No codes" if not present else f"only one coder ({present[0]})"
        raise NotEnoughCodesError(
            f"Agreement needs at least two coders who coded the same images; found {found}.", hint)
    images = shared["sha256"].nunique()
    if images < MIN_IMAGES:
        raise NotEnoughCodesError(
            "Agreement needs at least two coders who coded the same images; found "
            f"{images} image{'' if images == 1 else 's'} coded Yes or No by two or more of "
            f"{', '.join(present)} (at least {MIN_IMAGES} are needed).", hint)


def measure_agreement(
    workspace: Workspace, coders: Sequence[str] | None = None, n_boot: int = 1000, seed: int = 0,
) -> Agreement:
    """Return the :class:`Agreement` of ``coders`` (default: every coder) on the images they share.

    Raises :class:`NotEnoughCodesError` when fewer than two coders have Yes/No
    codes, or fewer than ten images were coded Yes or No by at least two of them.
    """
    latest = _latest_decided(workspace, coders)
    shared = _shared(latest)
    _check_enough(latest, shared)
    names = tuple(sorted(shared["coder"].unique()))
    wide = shared.pivot(index="sha256", columns="coder", values="value")
    yes = (wide == "YES").sum(axis=1).to_numpy(dtype=float)
    no = (wide == "NO").sum(axis=1).to_numpy(dtype=float)
    m = yes + no
    agreeing_pairs = yes * (yes - 1) / 2 + no * (no - 1) / 2
    percent = float(agreeing_pairs.sum() / (m * (m - 1) / 2).sum())
    rng = np.random.default_rng(seed)
    if len(names) == 2:
        first, second = (wide[name].to_numpy() for name in names)
        statistic = cohens_kappa(list(first), list(second))
        cells = np.stack([(first == "YES") & (second == "YES"), (first == "YES") & (second == "NO"),
                          (first == "NO") & (second == "YES"), (first == "NO") & (second == "NO")],
                         axis=1).astype(float)
        boot = _kappa_from_cells(_resampled_sums(cells, n_boot, rng))
        name = KAPPA
    else:
        units = [[value for value in row if isinstance(value, str)] for row in wide.to_numpy()]
        statistic = krippendorff_alpha(units)
        contributions = np.stack([yes, no, yes * no / (m - 1)], axis=1)
        boot = _alpha_from_sums(_resampled_sums(contributions, n_boot, rng))
        name = ALPHA
    boot = boot[~np.isnan(boot)]
    low, high = (np.percentile(boot, [2.5, 97.5]) if boot.size else (float("nan"), float("nan")))
    return Agreement(coders=names, images=len(wide), percent=percent, statistic_name=name,
                     statistic=float(statistic), ci_low=float(low), ci_high=float(high), n_boot=n_boot)


def _resampled_sums(per_image: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Return the column sums of ``per_image`` (one row per image) over ``n_boot`` resamples of its rows.

    One resample at a time, as how often each image is drawn: all draws at once took 1,000 x images x 4
    numbers (4.8 GB at 150,000 double-coded images). The same draws as before.
    """
    n = len(per_image)
    sums = np.empty((n_boot, per_image.shape[1]))
    for row in range(n_boot):
        sums[row] = np.bincount(rng.integers(0, n, size=n), minlength=n) @ per_image
    return sums


def read_disagreements(workspace: Workspace, coders: Sequence[str] | None = None,
                       words: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Return the images whose coders' latest Yes/No codes differ.

    Columns: sha256, post_url (a post showing the image, '' when none), codes
    (e.g. ``"coder_a: YES · coder_b: NO"``, coders in name order; ``words`` maps YES and NO to the words to
    show instead, e.g. the codebook's names). Sorted by post_url, then sha256.
    """
    latest = _latest_decided(workspace, coders)
    differing = latest.groupby("sha256")["value"].transform("nunique") > 1
    latest = latest[differing]
    if latest.empty:
        return pd.DataFrame(columns=["sha256", "post_url", "codes"])
    values = latest["value"].map(lambda value: (words or {}).get(value, value))
    codes = (latest["coder"] + ": " + values).groupby(latest["sha256"]).agg(" · ".join)
    with connect(workspace) as conn:
        posts = dict(conn.execute("SELECT sha256, MIN(post_url) FROM images WHERE sha256 IS NOT NULL "
                                  "GROUP BY sha256").fetchall())
    table = pd.DataFrame({"sha256": codes.index, "post_url": [posts.get(sha, "") for sha in codes.index],
                          "codes": codes.to_numpy()})
    return table.sort_values(["post_url", "sha256"]).reset_index(drop=True)


def read_open_disagreements(workspace: Workspace, coders: Sequence[str] | None = None,
                            words: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Return the disagreements the team has not decided yet, with each image's file extension.

    Columns: those of :func:`read_disagreements`, plus ext. Coder :data:`ADJUDICATOR`'s codes are decisions.
    """
    cases = read_disagreements(workspace, [name for name in coders or [] if name != ADJUDICATOR] or None, words)
    with connect(workspace) as conn:
        decided = {row[0] for row in conn.execute("SELECT DISTINCT sha256 FROM codes WHERE coder = ?",
                                                  (ADJUDICATOR,))}
        exts = dict(conn.execute("SELECT sha256, MIN(ext) FROM images WHERE sha256 IS NOT NULL GROUP BY sha256"))
    open_cases = cases[~cases["sha256"].isin(decided)].reset_index(drop=True)
    return open_cases.assign(ext=[exts.get(sha, "") for sha in open_cases["sha256"]])
