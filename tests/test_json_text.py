"""Strict JSON: undefined numbers written as null, and a run record's undefined metrics read back as NaN."""

from __future__ import annotations

import json
import math

import pytest

from kayfabe_core.json_text import json_ready, json_text, metrics_restored


def test_undefined_numbers_are_written_as_null_everywhere_in_the_document() -> None:
    document = {"precision": math.nan, "f1": 0.0, "intervals": {"precision": (math.nan, math.inf)},
                "folds": [{"accuracy": 0.5}, {"accuracy": -math.inf}], "name": "NaN"}
    text = json_text(document)
    assert json.loads(text) == {"precision": None, "f1": 0.0, "intervals": {"precision": [None, None]},
                                "folds": [{"accuracy": 0.5}, {"accuracy": None}], "name": "NaN"}
    assert "NaN" not in text.replace('"NaN"', "")
    assert json_ready(1) == 1 and json_ready("x") == "x"


def test_a_records_undefined_metrics_come_back_as_nan_and_nothing_else_changes() -> None:
    stored = json.loads(json_text({
        "metrics": {"accuracy": 0.7, "precision": math.nan, "intervals": {"precision": [math.nan, math.nan],
                                                                          "accuracy": [0.6, 0.8]}},
        "folds": [{"accuracy": math.nan, "seconds": 1.0}], "accuracy_sd": None, "sagemaker": None}))
    record = metrics_restored(stored)
    assert math.isnan(record["metrics"]["precision"])
    assert all(math.isnan(bound) for bound in record["metrics"]["intervals"]["precision"])
    assert record["metrics"]["intervals"]["accuracy"] == [0.6, 0.8] and record["metrics"]["accuracy"] == 0.7
    assert math.isnan(record["folds"][0]["accuracy"]) and record["folds"][0]["seconds"] == 1.0
    assert record["accuracy_sd"] is None and record["sagemaker"] is None  # not metrics: left as they are


def test_json_text_refuses_nothing_it_can_write() -> None:
    with pytest.raises(TypeError):
        json_text({"when": object()})  # not JSON at all: an error, as json.dumps
    assert json_text({"when": object()}, default=lambda _: "x") == '{"when": "x"}'
