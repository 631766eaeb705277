"""Benchmark: import a large PhantomBuster export into a new workspace.

Generates a synthetic export with the demo generator (same column layout,
carousels, videos, error rows, duplicates), then times reading + normalising
and writing into SQLite, as the Posts page and `ingest` do. Prints one table.

    .venv/bin/python benchmarks/bench_ingest.py                # 10,000 and 100,000 posts
    .venv/bin/python benchmarks/bench_ingest.py --posts 250000
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kayfabe_core.demo import make_export  # noqa: E402
from kayfabe_core.ingest import read_export, store_export  # noqa: E402
from kayfabe_core.workspace import open_workspace  # noqa: E402


def bench(n_posts: int) -> dict[str, float]:
    """Return timings (seconds) and sizes for importing an export of ``n_posts`` posts."""
    export = make_export(n_posts, seed=1)
    data = export.csv_text.encode()
    with tempfile.TemporaryDirectory() as folder:
        workspace = open_workspace(Path(folder) / "ws")
        start = time.perf_counter()
        parsed = read_export([("bench.csv", data)])
        parsed_at = time.perf_counter()
        report = store_export(workspace, parsed)
        stored_at = time.perf_counter()
    return {
        "posts": report.posts, "rows": report.rows_read, "images": report.images,
        "mb": len(data) / 1e6, "read_s": parsed_at - start, "store_s": stored_at - parsed_at,
        "total_s": stored_at - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, "
          f"{__import__('os').cpu_count()} cores")
    print("| posts | CSV rows | images | CSV MB | read + normalise s | write to SQLite s | total s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n_posts in args.posts:
        r = bench(n_posts)
        print(f"| {r['posts']:,} | {r['rows']:,} | {r['images']:,} | {r['mb']:.0f} | "
              f"{r['read_s']:.1f} | {r['store_s']:.1f} | {r['total_s']:.1f} |", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the process: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
