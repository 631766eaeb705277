"""The replication bundle's text: the command line that trains a run again, and the bundle's README."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kayfabe_core.methods_text import SOURCE_WORDS, number


def train_command(record: Mapping[str, Any], workspace_root: Path) -> tuple[list[str], list[str]]:
    """Return the ``python -m kayfabe_core train`` arguments that train the run again, and caveats: the
    ways in which that command cannot match the run (each a sentence; none when it matches exactly)."""
    data, split = record.get("data", {}), record.get("split", {})
    origin, options = data.get("origin", {}), split.get("options", {})
    command = ["python", "-m", "kayfabe_core", "train"]
    caveats = []
    if origin.get("kind") == "table":
        command += ["--table", str(origin.get("file", "TABLE.csv")), "--label", str(origin.get("label", "?"))]
        if origin.get("positive") is not None:
            command += ["--positive", str(origin["positive"])]
        if origin.get("dropped"):
            command += ["--drop", *map(str, origin["dropped"])]
        command += ["--save-in", str(workspace_root)]
        caveats.append(f"The table {origin.get('file')} is not in this bundle: put it in the folder you run the "
                       "command from (or give its path after --table).")
    else:
        features = origin.get("options", {})
        cuts = {float(features.get(f"{source}_threshold", 80.0)) for source in SOURCE_WORDS}
        command += ["--workspace", str(workspace_root), "--threshold", repr(float(features.get("label_threshold", 80))),
                    "--min-images", str(int(features.get("min_images", 5)))]
        command += ["--no-parents"] if not features.get("include_parents", True) else []
        command += ["--metadata"] if features.get("metadata") else []
        command += ["--caption"] if features.get("caption") else []
        if len(cuts) > 1:
            caveats.append("The run used different confidence cuts per label source; the command line takes one "
                           "cut for all, so train on the Train page with the cuts in record.json instead.")
        if sorted(features.get("sources", SOURCE_WORDS)) != sorted(SOURCE_WORDS):
            caveats.append("The run used only some label sources (" + ", ".join(features.get("sources", []))
                           + "); the command line uses all three, so train on the Train page instead.")
    command += ["--split", str(options.get("method", "grouped")), "--test-size", repr(float(options.get(
        "test_size", 0.3))), "--folds", str(int(options.get("folds", 0))), "--repeats",
        str(int(options.get("repeats", 1))), "--seed", str(int(options.get("seed", 2021)))]
    if options.get("group_by"):
        command += ["--group-by", *map(str, options["group_by"])]
    for key, value in record.get("settings", {}).items():
        command += ["--param", f"{key}={value!r}"]
    command += ["--name", f"replication of {record.get('run_id', 'a run')}"]
    if record.get("backend", "local") != "local":
        caveats.append(f"The run was trained on {record.get('backend')}; the command trains on this computer, "
                       "which can give slightly different trees.")
    return command, caveats


def readme_text(record: Mapping[str, Any], command: list[str], caveats: list[str], code: str,
                files: list[str]) -> str:
    """Return the bundle's README: what each file is, the code version, the data hash, and how to reproduce."""
    run_id, data = record.get("run_id", "?"), record.get("data", {})
    accuracy = number(record.get("metrics", {}).get("accuracy"))
    source = ("the same workspace folder (posts, images, labels and codes as when the run was trained)"
              if data.get("origin", {}).get("kind") != "table" else f"the table {data['origin'].get('file')}")
    described = {name: text for name, text in BUNDLE_FILES.items() if name in files}
    width = max(map(len, described))
    lines = [f"Replication bundle of run {run_id}" + (f" ({record['name']})" if record.get("name") else ""),
             f"Trained {record.get('created_at', '?')} with the kayfabe detector.", "",
             "Files", *[f"  {name.ljust(width)}  {text}" for name, text in described.items()], "",
             f"Code version: {code}",
             "  (the git commit of the app when this bundle was made; the run record does not store the commit",
             "  it was trained with)",
             f"Data hash:    {data.get('data_hash', 'unknown')}",
             "  (a hash of the feature table: values, feature names, codes and images; equal hashes, equal data)", "",
             "How to reproduce",
             "  1. Install the app at the code version above, with the package versions of record.json (versions):",
             "     " + ", ".join(f"{key} {value}" for key, value in record.get("versions", {}).items()) + ".",
             f"  2. Have {source}.",
             "  3. From the app's folder, run:", "", shlex.join(command), "",
             f"  4. The new run (in the workspace's runs/ folder) should show data hash {data.get('data_hash', '?')}",
             f"     and accuracy {accuracy}: the same data, seed, settings and versions give the same model.",
             "     Add --json to print the result as JSON."]
    if caveats:
        lines += ["", "Caveats", *[f"  - {caveat}" for caveat in caveats]]
    return "\n".join(lines) + "\n"


BUNDLE_FILES = {
    "record.json": "the run record: data, split, settings, per-fold results, metrics with intervals, versions",
    "model.ubj": "the (first fold's) model in XGBoost's own format: xgboost.Booster(model_file='model.ubj')",
    "models/": "every fold's model, one file per fold (cross-validated or repeated runs)",
    "predictions.csv": "every test prediction: repeat, fold, row, item, post, observed (1 = YES), score",
    "test_features.npz": "the first fold's test rows (scipy.sparse.load_npz), in predictions order",
    "feature_names.json": "the feature names, in the model's column order",
    "methods.txt": "the methods paragraph, ready to paste into a paper",
    "README.txt": "this file",
}
