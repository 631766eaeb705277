"""Benchmark: import a large JSON Lines file of saved DetectLabels responses.

Builds a workspace with N fetched images (rows inserted directly, fake hashes,
no pictures), writes N lines with small realistic responses (5–10 labels each,
a third matched by sha256, a third by signed image URL, a third by post link),
imports them as `import-labels` does, then imports them again (all already
stored). Prints one table with the peak memory of this process and of the
worker processes, and the load average (the machine may be shared: a load
above the number of cores means the timings include waiting for a core).

    .venv/bin/python benchmarks/bench_labels_import.py                 # 100,000 and 1,000,000 lines
    .venv/bin/python benchmarks/bench_labels_import.py --lines 20000
    .venv/bin/python benchmarks/bench_labels_import.py --lines 100000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import platform
import pstats
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kayfabe_core.labels_import import import_labels  # noqa: E402
from kayfabe_core.workspace import Workspace, open_workspace, transaction  # noqa: E402

NAMES = [("Person", ["Human"]), ("Human", []), ("Sport", []), ("Wrestling", ["Sport"]),
         ("Boxing", ["Sport"]), ("Face", ["Person"]), ("Smile", ["Face"]), ("Crowd", ["Person"]),
         ("Arena", ["Building"]), ("Building", []), ("Belt", ["Accessories"]), ("Accessories", []),
         ("Text", []), ("Poster", ["Text"]), ("Car", ["Vehicle"]), ("Vehicle", []), ("Dog", ["Animal"]),
         ("Animal", []), ("Food", []), ("Beach", ["Nature"]), ("Nature", []), ("Gym", ["Building"])]


def build_workspace(root: Path, n: int) -> Workspace:
    """Return a workspace with ``n`` one-image posts whose images are all fetched."""
    workspace = open_workspace(root)
    posts = [(f"https://www.instagram.com/p/P{i:07d}/",) for i in range(n)]
    images = [(f"https://www.instagram.com/p/P{i:07d}/", 0, f"/v/t51/{i:07d}_n.jpg",
               f"https://cdn.example/v/t51/{i:07d}_n.jpg?oh=aa&oe=61E00000", _sha(i), "ok")
              for i in range(n)]
    with transaction(workspace) as conn:
        conn.executemany("INSERT INTO posts(post_url, n_images) VALUES (?, 1)", posts)
        conn.executemany("INSERT INTO images(post_url, position, image_key, source_url, sha256, "
                         "fetch_status) VALUES (?, ?, ?, ?, ?, ?)", images)
    return workspace


def _sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def write_jsonl(path: Path, n: int) -> None:
    """Write ``n`` lines, one DetectLabels response per image."""
    rng = random.Random(1)
    with path.open("w") as handle:
        for i in range(n):
            labels = [{"Name": name, "Confidence": round(rng.uniform(50, 99.9), 3),
                       "Instances": [], "Parents": [{"Name": p} for p in parents],
                       "Aliases": [], "Categories": [{"Name": "Popular"}]}
                      for name, parents in rng.sample(NAMES, rng.randint(5, 10))]
            response = {"Labels": labels, "LabelModelVersion": "3.0",
                        "ResponseMetadata": {"RequestId": f"req-{i}", "HTTPStatusCode": 200}}
            match = [{"sha256": _sha(i)},
                     {"image_url": f"https://scontent.example/v/t51/{i:07d}_n.jpg?oh=bb&oe=62000000"},
                     {"post_url": f"https://www.instagram.com/p/P{i:07d}?igsh=x"}][i % 3]
            handle.write(json.dumps({**match, "operation": "DetectLabels", "response": response}) + "\n")


def bench(n: int, profile: bool) -> dict[str, float]:
    """Return figures for importing ``n`` lines into a workspace of ``n`` images."""
    with tempfile.TemporaryDirectory() as folder:
        workspace = build_workspace(Path(folder) / "ws", n)
        source = Path(folder) / "responses.jsonl"
        write_jsonl(source, n)
        profiler = cProfile.Profile() if profile else None
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        report = import_labels(workspace, source)
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        first = time.perf_counter() - start
        again = import_labels(workspace, source)
        assert report.responses_stored == n and again.already_stored == n, (report, again)
        return {"lines": n, "mb": source.stat().st_size / 1e6, "labels": report.labels,
                "s": first, "again_s": again.seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the first import")
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    print("| lines | JSONL MB | label rows | import s | lines/s | re-import s | peak MB so far "
          "| workers' peak MB | load |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.lines:
        r = bench(n, args.profile)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"| {n:,} | {r['mb']:.0f} | {r['labels']:,} | {r['s']:.1f} | {n / r['s']:,.0f} | "
              f"{r['again_s']:.1f} | {peak_mb:,.0f} | {workers_mb:,.0f} | {os.getloadavg()[0]:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
