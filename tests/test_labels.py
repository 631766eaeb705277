"""Storing Rekognition responses once and flattening them to the long label table."""

from __future__ import annotations

import json

from kayfabe_core.labels import flatten_response, store_response
from kayfabe_core.workspace import Workspace, connect, transaction

LABELS = {"Labels": [
    {"Name": "Person", "Confidence": 99.1, "Parents": [], "Categories": [{"Name": "Person Description"}],
     "Instances": [], "Aliases": []},
    {"Name": "Wrestling", "Confidence": 87.5, "Parents": [{"Name": "Sport"}],
     "Categories": [{"Name": "Sports"}], "Instances": [], "Aliases": []},
], "LabelModelVersion": "3.0"}
MODERATION = {"ModerationLabels": [
    {"Confidence": 71.0, "Name": "Violence", "ParentName": "", "TaxonomyLevel": 1},
    {"Confidence": 70.0, "Name": "Physical Violence", "ParentName": "Violence", "TaxonomyLevel": 2},
], "ModerationModelVersion": "7.0"}
CELEBRITIES = {"CelebrityFaces": [
    {"Name": "Ada Example", "Id": "abc1", "MatchConfidence": 90.0, "Urls": [], "Face": {}},
    {"Name": "Ada Example", "Id": "abc1", "MatchConfidence": 97.0, "Urls": [], "Face": {}},
], "UnrecognizedFaces": []}


def test_flatten_each_operation() -> None:
    labels = flatten_response("h", "DetectLabels", LABELS)
    assert [(r.source, r.key, r.confidence, json.loads(r.parents), r.model_version) for r in labels] == [
        ("label", "Person", 99.1, [], "3.0"), ("label", "Wrestling", 87.5, ["Sport"], "3.0")]
    moderation = flatten_response("h", "DetectModerationLabels", MODERATION)
    assert [(r.key, json.loads(r.parents)) for r in moderation] == [
        ("Violence", []), ("Physical Violence", ["Violence"])]
    celebrities = flatten_response("h", "RecognizeCelebrities", CELEBRITIES)
    assert [(r.source, r.key, r.name, r.confidence) for r in celebrities] == [
        ("celebrity", "abc1", "Ada Example", 97.0)]


def test_a_response_is_stored_once_and_never_overwritten(workspace: Workspace) -> None:
    with transaction(workspace) as conn:
        assert store_response(conn, "h", "DetectLabels", LABELS, origin="demo", called_at="t") == 2
        changed = {**LABELS, "Labels": LABELS["Labels"][:1]}
        assert store_response(conn, "h", "DetectLabels", changed, origin="demo", called_at="t2") == 0
    with connect(workspace) as conn:
        assert tuple(conn.execute("SELECT COUNT(*), MIN(called_at) FROM responses").fetchone()) == (1, "t")
        assert conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 2
