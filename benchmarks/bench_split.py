"""Benchmark: drawing the split (holdout, cross-validation, repeats) of a large feature table.

The Train page draws the split again on every run of the page (to show the class balance), so a split that
takes seconds makes every slider move take seconds. Times :func:`~kayfabe_core.split.make_split` on a
synthetic table of N images in posts of 1–4 images (most single, as in ``bench_scale``), a YES share of 40 %
mostly shared by a post's images, for the default holdout and for grouped cross-validation; and, for the
same grouped folds, scikit-learn's ``StratifiedGroupKFold`` (which the app used before) up to
``--sklearn-max`` images, since it grows faster than the number of posts.

    .venv/bin/python benchmarks/bench_split.py                       # 15,000 / 150,000 / 1,500,000 images
    .venv/bin/python benchmarks/bench_split.py --images 150000 --sklearn-max 50000
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.model_selection import StratifiedGroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kayfabe_core.feature_table import FeatureTable  # noqa: E402
from kayfabe_core.split import SplitOptions, make_split  # noqa: E402

SIZES, SIZE_SHARES = (1, 2, 3, 4), (0.7, 0.15, 0.1, 0.05)  # images per post, as bench_scale draws them
CASES = (("holdout 30 %", SplitOptions()), ("5 folds", SplitOptions(folds=5)),
         ("10 folds x 5 repeats", SplitOptions(folds=10, repeats=5)))


def make_table(n_images: int, seed: int = 1) -> FeatureTable:
    """Return a table of ``n_images`` images in posts, codes mostly shared within a post, one empty feature."""
    rng = np.random.default_rng(seed)
    sizes = rng.choice(SIZES, size=n_images, p=SIZE_SHARES)
    post = np.repeat(np.arange(n_images), sizes)[:n_images]
    post_yes = rng.random(n_images) < 0.4
    observed = np.where(rng.random(n_images) < 0.9, post_yes[post], ~post_yes[post]).astype(np.int8)
    context = pd.DataFrame({"item": np.arange(n_images).astype(str), "post": post.astype(str),
                            "time": pd.Timestamp("2021-01-01", tz="UTC")})
    return FeatureTable(matrix=sp.csr_matrix((n_images, 1), dtype=np.float32), names=("none",), observed=observed,
                        context=context, origin={"kind": "benchmark"})


def best_seconds(work: object, repeat: int) -> float:
    """Return the best wall time of ``repeat`` calls of ``work``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[15_000, 150_000, 1_500_000])
    parser.add_argument("--sklearn-max", type=int, default=50_000, help="time StratifiedGroupKFold up to this size")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, best of {args.repeat}")
    print("| images | posts | " + " | ".join(f"{name} s" for name, _ in CASES) + " | StratifiedGroupKFold 5 folds s |")
    print("|---:|---:|" + "---:|" * (len(CASES) + 1))
    for n_images in args.images:
        print(row(n_images, args.repeat, n_images <= args.sklearn_max), flush=True)


def row(n_images: int, repeat: int, with_sklearn: bool) -> str:
    """Return the table row of ``n_images`` images."""
    table = make_table(n_images)
    figures = [best_seconds(lambda options=options: make_split(table, options), repeat) for _, options in CASES]
    groups = pd.factorize(table.context["post"])[0]
    splitter = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=2021)
    sklearn = (f"{best_seconds(lambda: list(splitter.split(groups, table.observed, groups)), 1):.2f}"
               if with_sklearn else "not run")
    return (f"| {n_images:,} | {int(groups.max()) + 1:,} | " + " | ".join(f"{seconds:.2f}" for seconds in figures)
            + f" | {sklearn} |")

if __name__ == "__main__":
    main()
