"""The scale benchmark's generator makes files the app reads, and the benchmark runs end to end at a tiny size."""

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from kayfabe_core.ingest import read_export

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_scale.py"


def _bench_scale() -> ModuleType:
    sys.path.insert(0, str(SCRIPT.parent))
    import bench_scale

    return bench_scale


def test_each_image_gets_5_to_25_distinct_labels() -> None:
    bench = _bench_scale()
    weights = 1 / np.arange(1, 301)
    image, keys, confidence = bench._draw_labels(np.random.default_rng(0), 400, weights / weights.sum())
    per_image = np.bincount(image, minlength=400)
    assert per_image.min() >= 5 and per_image.max() <= 25
    assert len({(i, k) for i, k in zip(image.tolist(), keys.tolist(), strict=True)}) == len(keys)
    assert np.all(np.diff(image) >= 0) and 50 <= confidence.min() and confidence.max() <= 100


def test_generated_files_are_a_phantombuster_export_and_saved_responses(tmp_path: Path) -> None:
    counts = _bench_scale().generate(tmp_path, 300, 200, seed=3)
    parsed = read_export([("posts.csv", (tmp_path / "posts.csv").read_bytes())])
    assert parsed.report.posts == counts["posts"] == 300
    assert len(parsed.images) == counts["images"] and parsed.report.error_rows == 0
    assert set(parsed.posts["media_type"]) == {"Photo", "Carousel"}
    lines = [json.loads(line) for line in (tmp_path / "responses.jsonl").read_text().splitlines()]
    assert len(lines) == counts["response_lines"]
    assert {line["operation"] for line in lines} == {"DetectLabels", "DetectModerationLabels"}
    codes = (tmp_path / "codes.csv").read_text().splitlines()
    assert codes[0] == "image_url,value" and len(codes) == counts["images"] + 1


@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_at_a_tiny_size() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--posts", "300", "--labels", "300", "--wait-s", "0"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("| 300 |"))
    assert "skipped" not in row and "failed" not in row
    assert "100k-post target: not run" in result.stdout
    assert "training again after one more code" in result.stdout
