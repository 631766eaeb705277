"""Importing saved Rekognition responses: matching, bad lines, folders, re-imports."""

from __future__ import annotations

import hashlib
import io
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kayfabe_core.errors import InputFileError, WorkspaceError
from kayfabe_core.images import mark_fetched, save_image_bytes
from kayfabe_core.ingest import ingest_files
from kayfabe_core.label_store import LabelName
from kayfabe_core.labels import flatten_response, model_version_of
from kayfabe_core.labels_import import import_labels
from kayfabe_core.labels_import_read import LabelRows, label_tuples
from kayfabe_core.response_store import unpacked
from kayfabe_core.workspace import Workspace, connect, read_data_version, transaction
from tests.conftest import make_csv, post_row

LABELS = {"Labels": [{"Name": "Person", "Confidence": 99.1, "Parents": [],
                      "Categories": [{"Name": "Person Description"}]},
                     {"Name": "Wrestling", "Confidence": 88.0, "Parents": [{"Name": "Sport"}]},
                     {"Name": "Wrestling", "Confidence": 91.0, "Parents": [{"Name": "Sport"}]}],
          "LabelModelVersion": "3.0", "ResponseMetadata": {"RequestId": "req-1", "HTTPStatusCode": 200}}
MODERATION = {"ModerationLabels": [{"Name": "Violence", "ParentName": "", "Confidence": 70.5},
                                   {"Name": "Fighting", "ParentName": "Violence", "Confidence": 60.0}],
              "ModerationModelVersion": "7.0"}
CELEBRITIES = {"CelebrityFaces": [{"Name": "Ronda", "Id": "abc", "MatchConfidence": 97.0},
                                  {"Name": "Ronda", "Id": "abc", "MatchConfidence": 99.0}]}


def _picture(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 90), (shade, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def hashes(workspace: Workspace) -> dict[str, str]:
    """Posts A (fetched), B (carousel: cover fetched, slide not), C (not fetched); code -> cover sha256."""
    rows = [post_row("A"), post_row("B", "1"), post_row("B", "2"), post_row("C")]
    ingest_files(workspace, [("export.csv", make_csv(rows).encode())])
    found = {}
    with transaction(workspace) as conn:
        for shade, code in enumerate(("A", "B"), start=1):
            stored = save_image_bytes(workspace, _picture(shade * 40))
            image_id = conn.execute("SELECT image_id FROM images WHERE post_url = ? AND position = 0",
                                    (f"https://www.instagram.com/p/{code}/",)).fetchone()[0]
            mark_fetched(conn, image_id, stored)
            found[code] = stored.sha256
    return found


def _line(operation: str = "DetectLabels", response: dict[str, Any] | None = None, **match: str) -> str:
    return json.dumps({**match, "operation": operation, "response": response or LABELS})


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _label_rows(workspace: Workspace) -> list[tuple[Any, ...]]:
    with connect(workspace) as conn:
        return [tuple(row) for row in conn.execute("SELECT * FROM labels ORDER BY sha256, source, key")]


def test_matches_by_sha256_signed_url_and_post_link(workspace: Workspace, hashes: dict[str, str],
                                                    tmp_path: Path) -> None:
    source = _write(tmp_path / "saved.jsonl", [
        _line(sha256=hashes["A"]),
        _line("DetectModerationLabels", MODERATION,
              image_url="https://other-cdn.example/v/A_1_n.jpg?oh=NEW&oe=70000000"),
        _line("RecognizeCelebrities", CELEBRITIES, post_url="https://www.instagram.com/p/B?igsh=xyz"),
    ])
    seen: list[int] = []
    report = import_labels(workspace, source, progress=seen.append)
    assert (report.lines_read, report.images_matched, report.responses_stored) == (3, 2, 3)
    assert (report.unmatched, report.already_stored, report.bad_lines) == (0, 0, 0)
    assert report.labels == 2 + 2 + 1
    assert seen[-1] == 3
    with connect(workspace) as conn:
        stored = conn.execute("SELECT sha256, operation, model_version, origin, request_id, response "
                              "FROM responses ORDER BY operation").fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in stored] == [
        (hashes["A"], "DetectLabels", "3.0", "import"),
        (hashes["A"], "DetectModerationLabels", "7.0", "import"),
        (hashes["B"], "RecognizeCelebrities", "", "import")]
    assert stored[0]["request_id"] == "req-1"
    assert isinstance(stored[0]["response"], bytes)  # kept compressed
    assert unpacked(stored[0]["response"])["Labels"] and "ResponseMetadata" not in unpacked(stored[0]["response"])


def test_label_rows_match_flatten_response(workspace: Workspace, hashes: dict[str, str], tmp_path: Path) -> None:
    responses: list[tuple[str, dict[str, Any]]] = [
        ("DetectLabels", LABELS), ("DetectModerationLabels", MODERATION), ("RecognizeCelebrities", CELEBRITIES)]
    source = _write(tmp_path / "saved.jsonl", [_line(op, resp, sha256=hashes["A"]) for op, resp in responses])
    import_labels(workspace, source)
    expected = [tuple(row.__dict__.values()) for op, resp in responses
                for row in flatten_response(hashes["A"], op, resp)]
    assert _label_rows(workspace) == sorted(expected, key=lambda row: (row[0], row[1], row[2]))
    for op, resp in responses:
        assert label_tuples("x", op, resp) == [tuple(r.__dict__.values()) for r in flatten_response("x", op, resp)]


def _random_responses(seed: int, n: int) -> list[tuple[str, dict[str, Any]]]:
    """Responses of all three operations whose labels share names across responses with other parents,
    categories or model versions, repeat a name, or break a response after some labels."""
    rng = random.Random(seed)
    parents = [[], [{"Name": "Sport"}], [{"Name": "Sport"}, {"Name": "Person"}]]
    categories = [[], [{"Name": "Sports"}]]
    broken = {"Labels": [{"Name": "L0", "Confidence": 60.0}, {"Name": "L1", "Confidence": 70.0, "Parents": [{}]}],
              "LabelModelVersion": "3.0"}
    others: list[tuple[str, dict[str, Any]]] = [("DetectModerationLabels", MODERATION),
                                                ("RecognizeCelebrities", CELEBRITIES)]
    responses: list[tuple[str, dict[str, Any]]] = [("DetectLabels", broken)]  # L0 first seen, then not kept
    for _ in range(n):
        if rng.random() < 0.15:
            responses.append(rng.choice(others))
            continue
        names = rng.sample([f"L{k}" for k in range(12)], rng.randint(0, 6))
        names += [rng.choice(names)] if names and rng.random() < 0.1 else []  # a repeated name
        items: list[dict[str, Any]] = [
            {"Name": name, "Confidence": rng.uniform(50, 100), "Parents": rng.choice(parents),
             **({"Categories": rng.choice(categories)} if rng.random() < 0.5 else {})} for name in names]
        if items and rng.random() < 0.05:
            rng.choice(items)["Parents" if rng.random() < 0.5 else "Confidence"] = [{"Nom": "?"}]  # not shaped
        responses.append(("DetectLabels", {"Labels": items, "LabelModelVersion": rng.choice(["3.0", "2.0"])}))
    return responses


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_label_rows_give_the_rows_and_name_order_of_label_tuples(seed: int) -> None:
    """LabelRows (a label seen before in the chunk placed by its name) gives the rows and the order of
    names of placing each row of label_tuples; a response that cannot be read adds nothing."""
    rows = LabelRows()
    names: dict[LabelName, int] = {}
    owners: list[int] = []
    places: list[int] = []
    confidences: list[float] = []
    owner = broken = 0
    for op, response in _random_responses(seed, 400):
        try:
            expected = label_tuples("x", op, response)
        except (KeyError, TypeError):
            with pytest.raises((KeyError, TypeError)):
                rows.add(owner, op, model_version_of(op, response), response)
            broken += 1
            continue
        rows.add(owner, op, model_version_of(op, response), response)
        for _, source, key, name, confidence, parents, categories, version in expected:
            places.append(names.setdefault((source, key, version, name, parents, categories), len(names)))
            confidences.append(confidence)
            owners.append(owner)
        owner += 1
    assert (rows.owners, rows.places, rows.confidences) == (owners, places, confidences)
    assert list(rows.names) == list(names)
    assert broken > 3 and len({name[:3] for name in names}) < len(names)  # labels seen with other parents


def test_unmatched_and_not_fetched_lines_are_reported(workspace: Workspace, hashes: dict[str, str],
                                                      tmp_path: Path) -> None:
    source = _write(tmp_path / "saved.jsonl", [
        _line(sha256="f" * 64),
        _line(post_url="https://www.instagram.com/p/NOPE/"),
        _line(image_url="https://cdn.example/v/C_1_n.jpg?oh=zz"),
        _line(post_url="https://www.instagram.com/p/C/"),
        _line(image_url="https://cdn.example/v/B_2_n.jpg"),
        _line(sha256=hashes["A"]),
    ])
    report = import_labels(workspace, source)
    assert (report.unmatched, report.responses_stored, report.images_matched) == (5, 1, 1)
    assert report.unmatched_examples == (
        f"{'f' * 64} (no fetched image has this sha256)",
        "https://www.instagram.com/p/NOPE/ (no post with this link)",
        "https://cdn.example/v/C_1_n.jpg?oh=zz (image not fetched yet)",
        "https://www.instagram.com/p/C/ (image not fetched yet)",
        "https://cdn.example/v/B_2_n.jpg (image not fetched yet)",
    )


def test_a_file_whose_usable_lines_all_match_nothing_is_refused_and_writes_nothing(
        workspace: Workspace, hashes: dict[str, str], tmp_path: Path) -> None:
    source = _write(tmp_path / "saved.jsonl", [
        _line(sha256="f" * 64),
        "{not json",
        _line(post_url="https://www.instagram.com/p/C/"),
    ])
    before = read_data_version(workspace)
    with pytest.raises(InputFileError) as refused:
        import_labels(workspace, source)
    assert refused.value.message == (
        "No response in saved.jsonl matched a fetched image of this workspace (2 responses read), so nothing "
        f"was stored. For example: {'f' * 64} (no fetched image has this sha256).")
    assert "Fetch the images first" in refused.value.hint
    assert read_data_version(workspace) == before
    with connect(workspace) as conn:
        assert conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 0


def test_bad_lines_are_counted_not_fatal(workspace: Workspace, hashes: dict[str, str], tmp_path: Path) -> None:
    source = _write(tmp_path / "saved.jsonl", [
        "{not json",
        json.dumps({"sha256": hashes["A"], "response": LABELS}),
        _line("DetectFaces", sha256=hashes["A"]),
        "",
        _line(sha256=hashes["A"]),
        _line(response={"Labels": [{"Confidence": 50}]}, sha256=hashes["B"]),
    ])
    report = import_labels(workspace, source)
    assert (report.lines_read, report.bad_lines, report.responses_stored) == (5, 4, 1)
    assert report.problems[1:] == (
        "line 2 does not have the expected keys (found: sha256, response)",
        "line 3 has the unknown operation 'DetectFaces'",
        'line 6 "response" is not shaped like a DetectLabels response',
    )
    assert report.problems[0].startswith("line 1 is not JSON")


def test_a_file_with_no_usable_line_is_refused(workspace: Workspace, hashes: dict[str, str],
                                               tmp_path: Path) -> None:
    source = _write(tmp_path / "bad.jsonl", [json.dumps({"name": "x", "value": 1}), "oops"])
    with pytest.raises(InputFileError) as caught:
        import_labels(workspace, source)
    assert caught.value.message == (
        'bad.jsonl holds no usable Rekognition response: expected one JSON object per line with '
        '"operation" (DetectLabels, DetectModerationLabels or RecognizeCelebrities), "response" and '
        'one of "sha256", "image_url" or "post_url". Line 1 does not have the expected keys '
        '(found: name, value).')
    assert _label_rows(workspace) == []


def test_missing_and_empty_inputs_are_refused(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        import_labels(workspace, tmp_path / "nowhere.jsonl")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(InputFileError, match="empty.jsonl is empty"):
        import_labels(workspace, tmp_path / "empty.jsonl")
    (tmp_path / "blank.jsonl").write_text("\n \n")
    with pytest.raises(InputFileError, match="blank.jsonl is empty: the file holds only blank lines"):
        import_labels(workspace, tmp_path / "blank.jsonl")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InputFileError, match="folder holds no .json"):
        import_labels(workspace, tmp_path / "nothing")


def test_folder_of_saved_documents(workspace: Workspace, hashes: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "rekognition"
    (folder / hashes["A"]).mkdir(parents=True)
    (folder / hashes["A"] / "DetectLabels.json").write_text(json.dumps(LABELS))
    (folder / hashes["A"] / "DetectModerationLabels.json").write_text(
        json.dumps({"response": MODERATION, "called_at": "2022-02-01T12:00:00Z", "region": "eu-west-1"}))
    (folder / f"{hashes['B']}.RecognizeCelebrities.json").write_text(json.dumps(CELEBRITIES))
    (folder / "line.json").write_text(_line(post_url="https://www.instagram.com/p/B/"))
    (folder / "notes.json").write_text(json.dumps({"hello": 1}))
    report = import_labels(workspace, folder)
    assert (report.lines_read, report.responses_stored, report.bad_lines, report.images_matched) == (5, 4, 1, 2)
    assert report.problems == ("file notes.json is not named <sha256>/<Operation>.json or "
                               "<sha256>.<Operation>.json and is not in the line format",)
    with connect(workspace) as conn:
        row = conn.execute("SELECT called_at, region FROM responses WHERE operation = 'DetectModerationLabels'"
                           ).fetchone()
    assert tuple(row) == ("2022-02-01T12:00:00Z", "eu-west-1")


def test_second_import_stores_nothing_new(workspace: Workspace, hashes: dict[str, str], tmp_path: Path) -> None:
    source = _write(tmp_path / "saved.jsonl", [_line(sha256=hashes["A"]), _line(sha256=hashes["A"]),
                                               _line(post_url="https://www.instagram.com/p/B/")])
    first = import_labels(workspace, source)
    rows = _label_rows(workspace)
    again = import_labels(workspace, source)
    assert (first.responses_stored, first.already_stored) == (2, 1)
    assert (again.responses_stored, again.already_stored, again.labels) == (0, 3, 0)
    assert _label_rows(workspace) == rows
    assert again.to_dict()["unmatched_examples"] == []


@pytest.mark.parametrize("parallel", [False, True])
def test_many_batches_commit_once(workspace: Workspace, hashes: dict[str, str], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch, parallel: bool) -> None:
    """Many parsed batches (in this process or a worker process) are written in ONE transaction."""
    import kayfabe_core.labels_import as labels_import
    from kayfabe_core.workspace import read_data_version

    monkeypatch.setattr(labels_import, "BATCH_LINES", 1)
    monkeypatch.setattr(labels_import, "BATCH_BYTES", 1)  # a block is cut after the line its first byte is in
    monkeypatch.setattr(labels_import, "PARALLEL_MIN_BYTES", 0 if parallel else 1 << 40)
    source = _write(tmp_path / "saved.jsonl", [
        _line(sha256=hashes["A"]), "not json",
        _line("DetectModerationLabels", MODERATION, sha256=hashes["A"]),
        _line("RecognizeCelebrities", CELEBRITIES, post_url="https://www.instagram.com/p/B/"),
        _line(sha256=hashes["A"])])
    before = read_data_version(workspace)
    seen: list[int] = []
    report = import_labels(workspace, source, seen.append)
    assert (report.responses_stored, report.labels, report.bad_lines) == (3, 5, 1)
    assert (report.already_stored, report.images_matched) == (1, 2)
    assert report.problems == ("line 2 is not JSON (it breaks off at character 1)",)
    assert seen == [1, 2, 3, 4, 5, 5]
    assert read_data_version(workspace) == before + 1
    with connect(workspace) as conn:
        assert conn.execute("SELECT count(*) FROM responses").fetchone()[0] == 3


def test_a_failure_during_the_import_leaves_the_workspace_unchanged(
        workspace: Workspace, hashes: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An error after some batches were staged, before the one commit, writes nothing."""
    import kayfabe_core.labels_import as labels_import
    from kayfabe_core.workspace import read_data_version

    monkeypatch.setattr(labels_import, "BATCH_LINES", 1)
    source = _write(tmp_path / "saved.jsonl", [
        _line(sha256=hashes["A"]),
        _line("RecognizeCelebrities", CELEBRITIES, post_url="https://www.instagram.com/p/B/")])
    before = read_data_version(workspace)
    calls: list[int] = []

    def fail_late(lines: int) -> None:
        calls.append(lines)
        if lines == 2:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        import_labels(workspace, source, fail_late)
    assert read_data_version(workspace) == before
    with connect(workspace) as conn:
        assert conn.execute("SELECT count(*) FROM responses").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 0
    report = import_labels(workspace, source)  # importing again works and is complete
    assert (report.responses_stored, report.already_stored) == (2, 0)
    assert read_data_version(workspace) == before + 1


# --- the parallel path: chunks parsed by worker processes, one transaction opened first ----------

def _many_images(workspace: Workspace, n: int) -> list[str]:
    """Add ``n`` fetched one-image posts (fake hashes spread over all hash ranges); return the hashes."""
    hashes = [hashlib.sha256(f"image {i}".encode()).hexdigest() for i in range(n)]
    with transaction(workspace) as conn:
        conn.executemany("INSERT INTO posts(post_url, n_images) VALUES (?, 1)",
                         [(f"https://www.instagram.com/p/M{i}/",) for i in range(n)])
        conn.executemany("INSERT INTO images(post_url, position, image_key, source_url, sha256, fetch_status) "
                         "VALUES (?, 0, ?, ?, ?, 'ok')",
                         [(f"https://www.instagram.com/p/M{i}/", f"/v/M{i}_n.jpg",
                           f"https://cdn.example/v/M{i}_n.jpg?oe=61E00000", sha) for i, sha in enumerate(hashes)])
    return hashes


def _many_lines(hashes: list[str]) -> list[str]:
    """Lines of all three operations, matched three ways, with repeats and a bad line."""
    lines = []
    for i, sha in enumerate(hashes):
        labels = {**LABELS, "Labels": [{"Name": f"L{(i * 7 + j) % 23}", "Confidence": 50 + (i + j) % 50,
                                        "Parents": [{"Name": "Sport"}] if j % 2 else []} for j in range(i % 6)]}
        match = [{"sha256": sha}, {"image_url": f"https://other.example/v/M{i}_n.jpg?oh=x"},
                 {"post_url": f"https://www.instagram.com/p/M{i}"}][i % 3]
        lines.append(json.dumps({**match, "operation": "DetectLabels", "response": labels,
                                 "called_at": "2022-02-01T12:00:00Z"}))
        if i % 4 == 0:
            lines.append(json.dumps({"sha256": sha, "operation": "DetectModerationLabels",
                                     "response": MODERATION, "called_at": "2022-02-01T12:00:00Z"}))
        if i % 5 == 0:
            lines.append(json.dumps({"sha256": sha, "operation": "RecognizeCelebrities",
                                     "response": CELEBRITIES, "called_at": "2022-02-01T12:00:00Z"}))
    return [*lines, "not json", lines[3]]


def _stored(workspace: Workspace) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with connect(workspace) as conn:
        responses = [tuple(row) for row in conn.execute(
            "SELECT * FROM responses ORDER BY sha256, operation, model_version")]
    return responses, _label_rows(workspace)


def test_parallel_and_in_process_imports_store_the_same_rows(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers parsing chunks give the rows and counts of the in-process path, also on top of labels
    already stored (new rows land between stored ones)."""
    import kayfabe_core.labels_import as labels_import
    from kayfabe_core.workspace import open_workspace

    monkeypatch.setattr(labels_import, "BATCH_LINES", 97)
    monkeypatch.setattr(labels_import, "BATCH_BYTES", 9_000)
    results: list[tuple[Any, dict[str, Any]]] = []
    for parallel in (False, True):
        workspace = open_workspace(tmp_path / f"ws{parallel}")
        lines = _many_lines(_many_images(workspace, 400))
        monkeypatch.setattr(labels_import, "PARALLEL_MIN_BYTES", 1 << 40)
        import_labels(workspace, _write(tmp_path / "first.jsonl", lines[::7]))
        monkeypatch.setattr(labels_import, "PARALLEL_MIN_BYTES", 0 if parallel else 1 << 40)
        report = import_labels(workspace, _write(tmp_path / "all.jsonl", lines))
        results.append((_stored(workspace), report.to_dict() | {"seconds": 0}))
    (in_process, in_process_report), (in_workers, in_workers_report) = results
    assert in_workers_report == in_process_report
    assert in_process_report["already_stored"] > 0 and in_process_report["labels"] > 500
    assert in_workers == in_process


def _odd_lines(hashes: list[str]) -> list[str]:
    """Lines that do not all match: unknown links and hashes, an image not fetched yet (by its link and by its
    post's), and badly shaped responses of a known image and of an unknown one."""
    return [_line(image_url="https://cdn.example/v/NOPE_n.jpg?oh=1"),
            _line(image_url="https://cdn.example/v/U_n.jpg?oh=2"),
            _line(post_url="https://www.instagram.com/p/U/"),
            _line(post_url="https://www.instagram.com/p/NOPE/"),
            _line(sha256="0" * 64),
            _line(response={"Labels": 3}, sha256=hashes[0]),
            _line(response={"Labels": 3}, image_url="https://cdn.example/v/NOPE2_n.jpg"),
            _line(image_url="https://cdn.example/v/M5_n.jpg?oe=61E00000")]


def test_the_importing_process_matches_the_workers_lines_as_one_process_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers only parse; the importing process matches their lines (the workers could not read a workspace
    the import holds exclusively). Unmatched and badly shaped lines, among matched ones in several chunks,
    give the report and rows the in-process path gives."""
    import kayfabe_core.labels_import as labels_import
    from kayfabe_core.workspace import open_workspace

    monkeypatch.setattr(labels_import, "BATCH_LINES", 13)
    monkeypatch.setattr(labels_import, "BATCH_BYTES", 2_000)
    results: list[tuple[Any, dict[str, Any]]] = []
    for parallel in (False, True):
        workspace = open_workspace(tmp_path / f"ws{parallel}")
        hashes = _many_images(workspace, 60)
        with transaction(workspace) as conn:
            conn.execute("INSERT INTO posts(post_url, n_images) VALUES ('https://www.instagram.com/p/U/', 1)")
            conn.execute("INSERT INTO images(post_url, position, image_key, source_url) VALUES "
                         "('https://www.instagram.com/p/U/', 0, '/v/U_n.jpg', 'https://cdn.example/v/U_n.jpg')")
        lines, odd = _many_lines(hashes), _odd_lines(hashes)
        monkeypatch.setattr(labels_import, "PARALLEL_MIN_BYTES", 0 if parallel else 1 << 40)
        report = import_labels(workspace, _write(tmp_path / "mixed.jsonl",
                                                 [*odd, *lines[:30], *odd, *lines[30:], *odd[::-1]]))
        results.append((_stored(workspace), report.to_dict() | {"seconds": 0}))
    (in_process, in_process_report), (in_workers, in_workers_report) = results
    assert in_workers_report == in_process_report
    assert in_process_report["unmatched"] == 18 and in_process_report["bad_lines"] == 4
    assert any("not fetched yet" in example for example in in_process_report["unmatched_examples"])
    assert in_workers == in_process


@pytest.mark.parametrize("alone", [False, True])
def test_a_failure_in_a_parallel_import_leaves_the_workspace_unchanged(
        workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alone: bool) -> None:
    """Responses and label rows written in the open transaction are rolled back by an error while
    reading or just before the commit; the write lock is released and importing again works. Also through
    the rollback journal (``alone``), after which the workspace is back in the write-ahead log."""
    import kayfabe_core.labels_import as labels_import
    from kayfabe_core.workspace import read_data_version, read_meta, write_meta

    monkeypatch.setattr(labels_import, "BATCH_BYTES", 5_000)
    monkeypatch.setattr(labels_import, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(labels_import, "ALONE_MIN_BYTES", 0 if alone else 1 << 40)
    source = _write(tmp_path / "all.jsonl", _many_lines(_many_images(workspace, 300)))
    before = read_data_version(workspace)

    def fail_late(lines: int) -> None:
        if lines >= 200:
            raise RuntimeError("interrupted while reading")

    with pytest.raises(RuntimeError, match="interrupted while reading"):
        import_labels(workspace, source, fail_late)

    original = labels_import._Writer.commit

    def fail_at_commit(self: Any) -> None:
        assert self.conn.execute("SELECT count(*) FROM label_rows").fetchone()[0] > 500  # written ...
        raise ValueError("the disk is full")  # ... but never committed

    monkeypatch.setattr(labels_import._Writer, "commit", fail_at_commit)
    with pytest.raises(ValueError, match="the disk is full"):
        import_labels(workspace, source)
    assert read_data_version(workspace) == before
    assert _stored(workspace) == ([], [])
    with transaction(workspace) as conn:  # no lock left behind
        write_meta(conn, "after", "1")
    assert read_meta(workspace, "after") == "1"
    with connect(workspace) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    monkeypatch.setattr(labels_import._Writer, "commit", original)
    journals: list[bool] = []
    close = labels_import._Writer._close

    def close_and_note(self: Any) -> None:
        journals.append(self.journal)
        close(self)

    monkeypatch.setattr(labels_import._Writer, "_close", close_and_note)
    report = import_labels(workspace, source)
    assert report.responses_stored == 300 + 75 + 60 and report.labels > 500
    assert journals == [alone]
    with connect(workspace) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


KILLED_IMPORT = """
import multiprocessing
import sys
from pathlib import Path
import kayfabe_core.labels_import as labels_import
from kayfabe_core.workspace import open_workspace

labels_import.BATCH_BYTES = 2_000
labels_import.PARALLEL_MIN_BYTES = 0
labels_import.CACHE_KIB = 16  # a tiny page cache: written pages spill to the WAL before the commit

def report(lines):
    print(lines, flush=True)
    if lines >= 100:
        print(" ".join(str(child.pid) for child in multiprocessing.active_children()), flush=True)  # the workers
        sys.stdin.readline()  # wait here, responses written but not committed, until killed

if __name__ == "__main__":
    labels_import.import_labels(open_workspace(sys.argv[1], create=False), Path(sys.argv[2]), report)
"""


def process_running(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting to be reaped has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def test_a_killed_import_leaves_the_workspace_unchanged(workspace: Workspace, tmp_path: Path) -> None:
    """A crash with the transaction open (responses already written to the WAL) loses only the import."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys

    from kayfabe_core.workspace import open_workspace, read_data_version

    root = Path(__file__).resolve().parents[1]
    source = _write(tmp_path / "all.jsonl", _many_lines(_many_images(workspace, 300)))
    before = read_data_version(workspace)
    script = tmp_path / "killed_import.py"
    script.write_text(KILLED_IMPORT)
    wal = workspace.root / "kayfabe.sqlite-wal"
    wal_before = wal.stat().st_size if wal.exists() else 0
    process = subprocess.Popen([sys.executable, str(script), str(workspace.root), str(source)], cwd=root,
                               env={**os.environ, "PYTHONPATH": str(root)},
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        read = 0
        while read < 100:
            read = int(process.stdout.readline())
        workers = [int(pid) for pid in process.stdout.readline().split()]
        assert workers  # parsed in worker processes
        assert wal.stat().st_size > wal_before + 8192  # written, not committed
        with sqlite3.connect(workspace.db_path, timeout=0) as other, \
                pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")  # the import holds the write lock
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + 10
    while any(process_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(process_running(pid) for pid in workers)  # the workers end with the killed import, not live on
    reopened = open_workspace(workspace.root)
    assert read_data_version(reopened) == before
    assert _stored(reopened) == ([], [])
    assert import_labels(reopened, source).responses_stored == 300 + 75 + 60


def test_a_binary_file_is_said_to_be_no_text(workspace: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "photo.jsonl"
    source.write_bytes(b"\xff\xd8\xff\xe0 not a line of text \x00\x81")
    with pytest.raises(InputFileError) as caught:
        import_labels(workspace, source)
    assert caught.value.message.endswith("Line 1 is not text (not UTF-8: a binary file, or text saved in another "
                                         "encoding).")


@pytest.mark.parametrize("block_bytes", [1, 7, 9, 10, 11, 64, 1 << 20])
def test_the_workers_byte_ranges_give_every_line_once_in_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int) -> None:
    """Each worker reads the lines whose first byte is in its range: together they are the file (CRLF, blank
    lines, a line longer than a range and a last line without a break included), and their line counts
    number the lines as the file does."""
    import kayfabe_core.labels_import as labels_import

    monkeypatch.setattr(labels_import, "BATCH_BYTES", block_bytes)
    text = b'{"a": 1}\r\n\n{"b": 22222222222}\n{"c": [3]}\r\n{"d": 4}'
    path = tmp_path / "lines.jsonl"
    path.write_bytes(text)
    blocks = [bytes(labels_import._lines_of(path, start, stop, bytearray()))
              for start, stop in labels_import._byte_ranges(path)]
    shared, again = bytearray(), []  # as a worker reads: every block into the same buffer, long and short
    for start, stop in [*labels_import._byte_ranges(path)][::-1]:
        with labels_import._lines_of(path, start, stop, shared) as view:
            again.append(bytes(view))
    assert again[::-1] == blocks
    assert b"".join(blocks) == text
    lines, before = text.split(b"\n"), 0
    for block in filter(None, blocks):
        assert block.split(b"\n")[0] == lines[before]  # a block starts at a line's start: the (before+1)th
        before += block.count(b"\n")
    if block_bytes in (1, 1 << 20):  # a block per line, or the whole file
        assert len([block for block in blocks if block]) == (5 if block_bytes == 1 else 1)


@pytest.mark.parametrize("parallel", [False, True])
def test_a_byte_order_mark_and_windows_line_ends_are_read_with_the_files_line_numbers(
        workspace: Workspace, hashes: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        parallel: bool) -> None:
    import kayfabe_core.labels_import as labels_import

    monkeypatch.setattr(labels_import, "BATCH_BYTES", 40)  # several ranges, some inside one line
    monkeypatch.setattr(labels_import, "PARALLEL_MIN_BYTES", 0 if parallel else 1 << 40)
    lines = [_line(sha256=hashes["A"]), "", "not json", _line("RecognizeCelebrities", CELEBRITIES,
                                                               post_url="https://www.instagram.com/p/B/"), "{"]
    source = tmp_path / "saved.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())
    report = import_labels(workspace, source)
    assert (report.responses_stored, report.bad_lines) == (2, 2)
    assert report.problems[0] == "line 3 is not JSON (it breaks off at character 1)"
    assert report.problems[1].startswith("line 5 is not JSON")


def test_a_file_saved_as_one_json_list_says_so_in_words(workspace: Workspace, hashes: dict[str, str],
                                                         tmp_path: Path) -> None:
    source = tmp_path / "saved.json"
    source.write_text("[" + _line(sha256=hashes["A"]) + ", " + _line(sha256=hashes["A"]) + "]\n")
    with pytest.raises(InputFileError) as caught:
        import_labels(workspace, source)
    assert ("Line 1 is a JSON list ([ … ]), not one saved response: the file needs one response object per line "
            "(JSON Lines)") in caught.value.message


@pytest.mark.parametrize("parallel", [False, True])
def test_a_full_disk_during_the_import_is_said_in_words_and_writes_nothing(
        workspace: Workspace, hashes: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        parallel: bool) -> None:
    import kayfabe_core.labels_import as labels_import
    from tests.workspace_states import limit_growth

    if parallel:
        monkeypatch.setattr(labels_import, "PARALLEL_MIN_BYTES", 1)
    many = {"Labels": [{"Name": f"label {random.Random(n).getrandbits(64):x}", "Confidence": 50 + n % 50}
                       for n in range(3000)], "LabelModelVersion": "3.0"}  # more than the pages left
    source = _write(tmp_path / "saved.jsonl", [_line(response=many, sha256=hashes["A"])])
    before = read_data_version(workspace)
    limit_growth(monkeypatch, 1, "kayfabe_core.labels_import")
    with pytest.raises(WorkspaceError) as caught:
        import_labels(workspace, source)
    assert "ran out of space" in caught.value.message
    monkeypatch.undo()
    assert read_data_version(workspace) == before
    assert _label_rows(workspace) == []
    assert import_labels(workspace, source).labels == 3000  # once there is room, the same file imports
