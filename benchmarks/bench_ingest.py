"""Benchmark: import a large PhantomBuster export into a new workspace, as the command line does.

Generates a synthetic export with the demo generator (same column layout,
carousels, videos, error rows, duplicates) and writes it to a CSV file. Then,
for each size, a fresh process runs the command line's import
(``python -m kayfabe_core ingest WORKSPACE FILE.csv``: the file streamed from disk
in chunks, one transaction) and reports its time (wall clock, and CPU time, which
depends less on what else runs on the machine: the importing process's and that of
the worker process that reads and splits a large file) and its peak memory
(ru_maxrss: the importing process's, and the worker's on its own).
With ``--upload`` the same file also goes through the Posts page's path (the
bytes in memory, :func:`kayfabe_core.ingest.ingest_files`) in another process.
Prints one Markdown table.

    .venv/bin/python benchmarks/bench_ingest.py                # 10,000 and 100,000 posts
    .venv/bin/python benchmarks/bench_ingest.py --posts 250000 --upload
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_export(n_posts: int, path: Path) -> None:
    """Write a synthetic export of ``n_posts`` posts to ``path`` (in a child process, to keep this one small)."""
    code = ("import sys; from pathlib import Path; from kayfabe_core.demo import make_export; "
            "Path(sys.argv[2]).write_text(make_export(int(sys.argv[1]), seed=1).csv_text)")
    _run_child([sys.executable, "-c", code, str(n_posts), str(path)])


def measure(path: Path, way: str, folder: Path) -> dict[str, float]:
    """Import ``path`` into a new workspace in a fresh process; return its seconds, peak MB and counts."""
    out = folder / f"{way}.json"
    _run_child([sys.executable, __file__, "--child", way, str(path), str(folder / f"ws-{way}"), str(out)])
    result: dict[str, float] = json.loads(out.read_text())
    return result


def _run_child(command: list[str]) -> resource.struct_rusage:
    pid = os.posix_spawn(command[0], command, dict(os.environ, PYTHONPATH=str(ROOT)))
    _, status, rusage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command[:3])} … failed")
    return rusage


def child(way: str, path: Path, workspace: Path, out: Path) -> None:
    """In the child: time one import, through the command line's own entry point or the Posts page's call."""
    sys.path.insert(0, str(ROOT))
    from kayfabe_core.__main__ import main
    from kayfabe_core.ingest import ingest_files
    from kayfabe_core.workspace import open_workspace

    printed = io.StringIO()
    start, cpu_start, worker_start = time.perf_counter(), time.process_time(), _children_cpu()
    if way == "cli":
        with contextlib.redirect_stdout(printed):
            if main(["ingest", str(workspace), str(path), "--json"]) != 0:
                raise SystemExit(1)
        report = json.loads(printed.getvalue())
    else:
        report = ingest_files(open_workspace(workspace), [(path.name, path.read_bytes())]).to_dict()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    worker_cpu = _children_cpu() - worker_start
    out.write_text(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds + worker_cpu,
                               "posts": report["posts"], "rows": report["rows_read"], "images": report["images"],
                               "own_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                               "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (the worker that read a large file)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--upload", action="store_true", help="also time the Posts page's in-memory path")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        way, path, workspace, out = args.child
        child(way, Path(path), Path(workspace), Path(out))
        return
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    ways = ["cli", "upload"] if args.upload else ["cli"]
    print("| posts | CSV rows | images | CSV MB | path | import s (wall) | import s (CPU) | peak memory MB "
          "| worker's peak MB |")
    print("|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for n_posts in args.posts:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            path = folder / "export.csv"
            write_export(n_posts, path)
            for way in ways:
                r = measure(path, way, folder)
                print(f"| {r['posts']:,} | {r['rows']:,} | {r['images']:,} | {path.stat().st_size / 1e6:.0f} | "
                      f"{way} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {r['own_peak_mb']:,.0f} | "
                      f"{r['worker_peak_mb']:,.0f} |", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
