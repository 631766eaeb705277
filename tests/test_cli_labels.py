"""The CLI's image and label verbs end to end: fetch from loopback, label on moto, import JSONL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import make_csv, post_row

ROOT = Path(__file__).resolve().parents[1]






def run_cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    return subprocess.run([sys.executable, "-m", "kayfabe_core", *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


def test_fetch_label_and_import_from_the_command_line(tmp_path: Path, image_server: str, moto_url: str) -> None:
    workspace = str(tmp_path / "ws")
    export = tmp_path / "x.csv"
    export.write_text(make_csv([post_row("A", imgUrl=f"{image_server}/a.jpg?oe=7FFFFFFF"),
                                post_row("B", imgUrl=f"{image_server}/b.jpg?oe=7FFFFFFF"),
                                post_row("C", imgUrl=f"{image_server}/gone.jpg?oe=7FFFFFFF")]))
    assert run_cli("ingest", workspace, str(export), tmp_path=tmp_path).returncode == 0

    refused = json.loads(run_cli("fetch-images", workspace, "--json", tmp_path=tmp_path).stdout)
    assert (refused["ok"], refused["refused"]) == (0, 3)  # loopback is refused unless allowed
    fetched = run_cli("fetch-images", workspace, "--allow-private", "--json", tmp_path=tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    assert (json.loads(fetched.stdout)["ok"], json.loads(fetched.stdout)["http_error"]) == (2, 1)

    unconfirmed = run_cli("label", workspace, "--endpoint-url", moto_url, tmp_path=tmp_path)
    assert unconfirmed.returncode == 1
    assert unconfirmed.stdout.startswith("2 Rekognition calls needed (0 already stored, not repeated): about $0.00.")
    assert "Error: Labelling costs money, and there is no one to ask for confirmation here." in unconfirmed.stderr

    labelled = run_cli("label", workspace, "--endpoint-url", moto_url, "--yes", "--json", tmp_path=tmp_path)
    assert labelled.returncode == 0, labelled.stderr
    report = json.loads(labelled.stdout)  # with --json, standard output is the JSON alone; the estimate is on stderr
    assert labelled.stderr.startswith("2 Rekognition calls needed (0 already stored, not repeated)")
    assert (report["calls_made"], report["responses_stored"]) == (2, 2)
    again = run_cli("label", workspace, "--endpoint-url", moto_url, "--yes", tmp_path=tmp_path)
    assert again.stdout.startswith("0 Rekognition calls needed (2 already stored, not repeated)")
    again_json = run_cli("label", workspace, "--endpoint-url", moto_url, "--json", tmp_path=tmp_path)
    assert again_json.returncode == 0
    assert json.loads(again_json.stdout)["calls_needed"] == 0 and json.loads(again_json.stdout)["calls_skipped"] == 2

    lines = tmp_path / "saved.jsonl"
    response = {"ModerationLabels": [{"Name": "Violence", "ParentName": "", "Confidence": 80.0, "TaxonomyLevel": 1}],
                "ModerationModelVersion": "7.0"}
    lines.write_text("\n".join(json.dumps({"post_url": f"https://www.instagram.com/p/{code}/",
                                           "operation": "DetectModerationLabels", "response": response})
                               for code in ("A", "B", "Z")) + "\n")
    imported = run_cli("import-labels", workspace, str(lines), "--json", tmp_path=tmp_path)
    assert imported.returncode == 0, imported.stderr
    counts = json.loads(imported.stdout)
    assert (counts["lines_read"], counts["responses_stored"], counts["unmatched"], counts["labels"]) == (3, 2, 1, 2)

    lines.write_text(json.dumps({"post_url": "https://www.instagram.com/p/NOPE/", "operation": "DetectLabels",
                                 "response": {"Labels": []}}) + "\n")
    matched_nothing = run_cli("import-labels", workspace, str(lines), tmp_path=tmp_path)
    assert matched_nothing.returncode == 1
    assert matched_nothing.stderr.startswith("Error: No response in saved.jsonl matched a fetched image of this "
                                             "workspace (1 response read), so nothing was stored.")


def test_commands_on_a_missing_workspace_say_so(tmp_path: Path) -> None:
    result = run_cli("fetch-images", str(tmp_path / "nothing"), tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: No workspace found in {tmp_path / 'nothing'}")
