"""JSON as every JSON reader takes it: a number that is not defined (NaN) is written as null.

Python's ``json`` writes NaN as the bare word ``NaN``, which is not JSON: SQLite's
``json_extract`` (before 3.42), ``jq``, R and JavaScript refuse the whole document.
A precision with no image predicted YES is such a number, so a run record holding
one made every later training of its workspace fail where the pace of earlier runs
is read. Records and the command line's ``--json`` output are written through
:func:`json_text`; :func:`metrics_restored` turns a stored record's undefined
metrics back into NaN for the code that formats them.
"""

from __future__ import annotations

import json
import math
from typing import Any

METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "roc_auc")


def json_ready(value: Any) -> Any:
    """Return ``value`` with every float that is NaN or infinite replaced by None (dicts, lists and tuples
    walked)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    return value


def json_text(value: Any, **options: Any) -> str:
    """Return ``value`` as strict JSON (undefined numbers as null); ``options`` go to :func:`json.dumps`."""
    return json.dumps(json_ready(value), allow_nan=False, **options)


def metrics_restored(record: dict[str, Any]) -> dict[str, Any]:
    """Return ``record`` (a run record as read) with its undefined metrics (null) as NaN again, in the metrics,
    their intervals and each fold."""
    metrics = record.get("metrics")
    if isinstance(metrics, dict):
        for name in METRIC_NAMES:
            if name in metrics and metrics[name] is None:
                metrics[name] = math.nan
        for name, bounds in (metrics.get("intervals") or {}).items():
            metrics["intervals"][name] = [math.nan if bound is None else bound for bound in bounds]
    for fold in record.get("folds") or []:
        if isinstance(fold, dict) and "accuracy" in fold and fold["accuracy"] is None:
            fold["accuracy"] = math.nan
    return record
