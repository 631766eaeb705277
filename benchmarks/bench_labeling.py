"""Benchmark: labelling throughput against a local fake Rekognition with 100–200 ms latency.

Starts a fake Rekognition endpoint on 127.0.0.1 (AWS JSON 1.1, answers after a
random 100–200 ms sleep from a seeded generator), builds a fresh temporary
workspace of N distinct fetched JPEGs for each configured rate, and runs
``label_images`` (DetectLabels only) through a real boto3 client pointed at
it. The achieved rate is measured from the server's request arrival times
(first to last call), so start-up and the database write after the last
answer do not distort it; the end-to-end rate (calls / ``LabelReport.seconds``)
is shown as well. Prints a Markdown table and whether each rate reached 90 %
of the configured rate. A missed target is reported, not an error.

    .venv/bin/python benchmarks/bench_labeling.py                       # 300 images at 5, 10, 20 /s
    .venv/bin/python benchmarks/bench_labeling.py --images 100 --rates 5 50 --workers 16
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


import kayfabe_core.rekognition as rekognition  # noqa: E402
from kayfabe_core.rekognition import label_images, make_rekognition_client, plan_labeling  # noqa: E402
from tests.fake_rekognition import FakeRekognition, build_workspace  # noqa: E402

TARGET = 0.90
LATENCY_S = (0.100, 0.200)
MAX_LATENCY_S = LATENCY_S[1]

# --------------------------------------------------------------------------- instrumentation

class TimedClient:
    """Proxy for a boto3 client that times each Rekognition call as the worker sees it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.round_trips: list[float] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name not in rekognition.METHODS.values():
            return attr

        def timed(**kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return attr(**kwargs)
            finally:
                with self._lock:
                    self.round_trips.append(time.monotonic() - started)
        return timed


def time_db_writes(sink: list[float]) -> Callable[[], None]:
    """Wrap ``rekognition._record`` (the per-answer write on the calling thread) to time it."""
    original = rekognition._record

    def timed(*args: Any, **kwargs: Any) -> None:
        started = time.monotonic()
        try:
            original(*args, **kwargs)
        finally:
            sink.append(time.monotonic() - started)

    rekognition._record = timed  # type: ignore[assignment]

    def restore() -> None:
        rekognition._record = original  # type: ignore[assignment]
    return restore


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


# --------------------------------------------------------------------------- benchmark

@dataclass
class Result:
    rate: float
    workers: int
    calls: int
    achieved: float          # (calls - 1) / (last arrival - first arrival), at the server
    end_to_end: float        # calls / LabelReport.seconds
    seconds: float
    lead_in_s: float         # label_images start -> first request at the server
    tail_s: float            # last request at the server -> label_images returned
    server_p50_ms: float
    server_p95_ms: float
    client_p50_ms: float
    client_p95_ms: float
    db_p50_ms: float
    db_p95_ms: float
    db_max_ms: float

    @property
    def ratio(self) -> float:
        return self.achieved / self.rate


def run_one(service: FakeRekognition, rate: float, workers: int, n: int, seed: int) -> Result:
    """Label ``n`` fresh images at ``rate`` calls/s with ``workers`` threads; return the figures."""
    with tempfile.TemporaryDirectory() as folder:
        workspace = build_workspace(Path(folder) / "ws", n, seed)
        plan = plan_labeling(workspace, ["DetectLabels"])
        if plan.calls_needed != n:
            raise RuntimeError(f"expected {n} calls to be needed, plan says {plan.calls_needed}")
        client = TimedClient(make_rekognition_client(region="us-east-1",
                                                     endpoint_url=f"http://127.0.0.1:{service.port}",
                                                     workers=workers))
        db_writes: list[float] = []
        restore = time_db_writes(db_writes)
        service.reset()
        try:
            started = time.monotonic()
            report = label_images(workspace, client, ["DetectLabels"], rate_per_s=rate, workers=workers,
                                  region="us-east-1")
            ended = time.monotonic()
        finally:
            restore()
    arrivals, handling = service.snapshot()
    if report.calls_made != n or report.responses_stored != n or len(arrivals) != n:
        raise RuntimeError(f"rate {rate}: {report.calls_made} calls made, {report.responses_stored} stored, "
                           f"{len(arrivals)} requests at the server; expected {n} "
                           f"(left for retry: {report.left_for_retry})")
    span = arrivals[-1] - arrivals[0]
    return Result(
        rate=rate, workers=workers, calls=n,
        achieved=(n - 1) / span if span > 0 else float("inf"),
        end_to_end=n / report.seconds, seconds=report.seconds,
        lead_in_s=arrivals[0] - started, tail_s=ended - arrivals[-1],
        server_p50_ms=_pct(handling, 50) * 1000, server_p95_ms=_pct(handling, 95) * 1000,
        client_p50_ms=_pct(client.round_trips, 50) * 1000, client_p95_ms=_pct(client.round_trips, 95) * 1000,
        db_p50_ms=_pct(db_writes, 50) * 1000, db_p95_ms=_pct(db_writes, 95) * 1000,
        db_max_ms=max(db_writes) * 1000,
    )


def fake_credentials() -> None:
    """Fake AWS credentials for the local endpoint; no config files, no instance metadata."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        os.environ.pop(name, None)
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    })


def workers_for(rate: float, requested: int) -> int:
    """At least enough workers to keep ``rate`` calls/s going at the longest latency, plus one."""
    return max(requested, math.ceil(rate * MAX_LATENCY_S) + 1)


def print_table(results: list[Result], n: int) -> None:
    print(f"Labelling {n} images per rate, DetectLabels only, fake Rekognition on 127.0.0.1 "
          f"answering after {LATENCY_S[0] * 1000:.0f}–{LATENCY_S[1] * 1000:.0f} ms.\n")
    print("| Configured rate (/s) | Workers | Calls | Achieved (/s, server) | % of configured "
          "| End-to-end (/s) | Server latency p50 / p95 (ms) | Round trip p50 / p95 (ms) "
          "| DB write p50 / p95 / max (ms) | ≥ 90 % |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for r in results:
        print(f"| {r.rate:g} | {r.workers} | {r.calls} | {r.achieved:.2f} | {r.ratio * 100:.1f} % "
              f"| {r.end_to_end:.2f} | {r.server_p50_ms:.0f} / {r.server_p95_ms:.0f} "
              f"| {r.client_p50_ms:.0f} / {r.client_p95_ms:.0f} "
              f"| {r.db_p50_ms:.1f} / {r.db_p95_ms:.1f} / {r.db_max_ms:.1f} "
              f"| {'yes' if r.ratio >= TARGET else 'no'} |")
    print()
    for r in results:
        verdict = "target met" if r.ratio >= TARGET else "target missed"
        print(f"rate {r.rate:g}/s: {verdict} ({r.ratio * 100:.1f} % of configured, target "
              f"{TARGET * 100:.0f} %); {r.seconds:.1f} s end to end, first call after "
              f"{r.lead_in_s * 1000:.0f} ms, returned {r.tail_s * 1000:.0f} ms after the last call")
    print()
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
          f"Python {platform.python_version()}; botocore {_botocore_version()}")


def _botocore_version() -> str:
    import botocore
    return botocore.__version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=300, help="images (= calls) per rate (default 300)")
    parser.add_argument("--rates", type=float, nargs="+", default=[5.0, 10.0, 20.0],
                        help="configured rates in calls per second (default 5 10 20)")
    parser.add_argument("--workers", type=int, default=8,
                        help="worker threads; raised to ceil(rate x 0.2 s) + 1 where that is more (default 8)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.images < 2 or any(rate <= 0 for rate in args.rates) or args.workers < 1:
        parser.error("need --images >= 2, positive --rates and --workers >= 1")

    fake_credentials()
    results = []
    with FakeRekognition(latency_s=LATENCY_S, seed=args.seed) as service:
        for index, rate in enumerate(args.rates):
            workers = workers_for(rate, args.workers)
            print(f"rate {rate:g}/s, {workers} workers, {args.images} calls ...", file=sys.stderr, flush=True)
            results.append(run_one(service, rate, workers, args.images, seed=args.seed + index))
    print_table(results, args.images)
    return 0


if __name__ == "__main__":
    sys.exit(main())
