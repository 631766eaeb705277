"""Splitting an export in a worker process while the import writes: the same tables, errors and reports as
splitting it in the importing process, and no worker left behind."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from multiprocessing import resource_tracker
from pathlib import Path

import pytest

from kayfabe_core import ingest, ingest_read
from kayfabe_core.errors import InputFileError
from kayfabe_core.ingest import ingest_files, ingest_paths
from kayfabe_core.ingest_stream import open_path
from kayfabe_core.workspace import Workspace, connect, open_workspace
from tests.conftest import make_csv, post_row
from tests.test_ingest import mixed_rows, scattered_export
from tests.test_labels_import import process_running

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def in_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split every file read from disk in a worker process, however small."""
    monkeypatch.setattr(ingest_read, "WORKER_MIN_BYTES", 0)


def _tables(workspace: Workspace) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the import's tables (the imports without their time), and the schema."""
    queries = {
        "posts": "SELECT * FROM posts ORDER BY post_url",
        "images": "SELECT * FROM images ORDER BY image_id",
        "imports": "SELECT import_id, files, report FROM imports ORDER BY import_id",
        "schema": "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name",
    }
    with connect(workspace) as conn:
        return {name: [tuple(row) for row in conn.execute(sql)] for name, sql in queries.items()}


_before_test: set[int] = set()  # children started by earlier tests in this process (a moto server, ...)


@pytest.fixture(autouse=True)
def _note_earlier_children() -> None:
    _before_test.clear()
    _before_test.update(_all_children())


def _children() -> list[int]:
    """The processes this one started during the test that still run (zombies, ended but not yet reaped,
    included)."""
    return [pid for pid in _all_children() if pid not in _before_test]


def _all_children() -> list[int]:
    """The processes this one started that still run, but for multiprocessing's resource tracker (one per
    process, started with the first worker, kept)."""
    me = str(os.getpid())
    tracker = resource_tracker._resource_tracker._pid  # type: ignore[attr-defined]
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == me and int(stat.parent.name) != tracker:
            pids.append(int(stat.parent.name))
    return pids


def _batches() -> list[list[bytes]]:
    """Two imports of several files: carousels across chunks and files, duplicates (also across files),
    error rows, rows without a post link, imageless posts (kept, and dropped for a later image)."""
    semicolons = make_csv([post_row("C1", "5"), post_row("A1"), post_row("Q1", "", description="café")],
                          delimiter=";")
    first = [make_csv(mixed_rows()).encode(), scattered_export(3).encode(), b"\xef\xbb\xbf" + semicolons.encode()]
    second = [make_csv([post_row("C1", "6"), post_row("A1", "2"), post_row("Z1")]).encode(),
              scattered_export(4).encode()]
    return [first, second]


def _import(folder: Path, batches: list[list[bytes]], chunk_rows: int) -> tuple[list[dict[str, object]], Workspace]:
    workspace = open_workspace(folder / "ws")
    reports = []
    for b, texts in enumerate(batches):
        paths = [folder / f"{b}-{i}.csv" for i in range(len(texts))]
        for path, raw in zip(paths, texts, strict=True):
            path.write_bytes(raw)
        reports.append(ingest_paths(workspace, paths, chunk_rows=chunk_rows).to_dict())
    return reports, workspace


@pytest.mark.parametrize("chunk_rows", [1, 3, 50_000])
def test_the_worker_writes_what_the_importing_process_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              chunk_rows: int) -> None:
    here_reports, here = _import(tmp_path / "here", _batches(), chunk_rows)
    started = []
    monkeypatch.setattr(ingest_read, "WORKER_MIN_BYTES", 0)
    original = ingest_read._split_in_worker
    monkeypatch.setattr(ingest_read, "_split_in_worker", lambda *args: started.append(1) or original(*args))
    worker_reports, in_worker = _import(tmp_path / "worker", _batches(), chunk_rows)
    assert len(started) == 2  # both imports went through a worker
    assert worker_reports == here_reports
    assert _tables(in_worker) == _tables(here)
    assert _children() == []


def test_small_files_and_uploads_are_split_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_worker(*_args: object) -> None:
        raise AssertionError("a worker was started")

    monkeypatch.setattr(ingest_read, "_split_in_worker", no_worker)
    path = tmp_path / "small.csv"
    path.write_text(scattered_export(5))
    assert ingest_paths(open_workspace(tmp_path / "a"), [path]).posts > 0  # under WORKER_MIN_BYTES
    monkeypatch.setattr(ingest_read, "WORKER_MIN_BYTES", 0)
    assert ingest_files(open_workspace(tmp_path / "b"), [("small.csv", path.read_bytes())]).posts > 0


def _damaged(path: Path) -> Path:
    lines = make_csv([post_row(f"P{i}", description="x" * 200) for i in range(300)]).splitlines()
    lines.insert(250, lines[249] + ",extra")  # line 251 of the file has one cell too many
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("case", ["ragged row", "header only", "no post link"])
def test_a_bad_file_raises_the_same_error_from_the_worker_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    good = tmp_path / "good.csv"
    good.write_text(scattered_export(6))
    bad = tmp_path / "bad.csv"
    if case == "ragged row":
        _damaged(bad)
    elif case == "header only":
        bad.write_text(make_csv([]))
    else:
        bad.write_text(make_csv([post_row("B1") | {"postUrl": "not a link"}]))
    errors = []
    for threshold, earlier in [(1 << 62, False), (0, False), (1 << 62, True), (0, True)]:  # here, in a worker
        monkeypatch.setattr(ingest_read, "WORKER_MIN_BYTES", threshold)
        workspace = open_workspace(tmp_path / f"ws-{threshold}-{earlier}")
        if earlier:  # posts there before: their indexes are kept, not made again
            ingest_files(workspace, [("first.csv", make_csv([post_row("A1"), post_row("C1", "2")]).encode())])
        before = _tables(workspace)
        with pytest.raises(InputFileError) as caught:
            ingest_paths(workspace, [good, bad], chunk_rows=7)
        errors.append((type(caught.value), caught.value.message, caught.value.hint))
        assert _tables(workspace) == before  # nothing written; the indexes dropped for an empty table are back
        assert _children() == []
    assert errors == [errors[0]] * 4
    assert "bad.csv" in errors[0][1] and errors[0][2]
    if case == "ragged row":
        assert errors[0][1].startswith("Line 251 of bad.csv has ")


def test_an_error_that_is_a_bug_keeps_the_workers_traceback(in_worker: None, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(make_csv([post_row("A1")]))
    source = open_path(path)
    broken = replace(source, mapping=source.mapping | {"description": "post_url"})  # two post link columns
    with pytest.raises(AttributeError) as caught:
        ingest.ingest_sources(open_workspace(tmp_path / "ws"), [broken])
    assert any("In the process reading the files" in note for note in caught.value.__notes__)
    assert _children() == []


def test_a_worker_that_dies_stops_the_import_with_nothing_written(in_worker: None, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "export.csv"
    path.write_text(scattered_export(7))
    workspace = open_workspace(tmp_path / "ws")
    original = ingest._ChunkWriter.add

    def add_then_kill(self: ingest._ChunkWriter, *args: object) -> None:
        original(self, *args)  # type: ignore[arg-type]
        for child in multiprocessing.active_children():
            assert child.pid is not None
            os.kill(child.pid, signal.SIGKILL)

    monkeypatch.setattr(ingest._ChunkWriter, "add", add_then_kill)
    with pytest.raises(ingest_read.ReaderStopped, match="stopped before the end.*import again"):
        ingest_paths(workspace, [path], chunk_rows=2)
    assert _tables(workspace)["posts"] == [] and _tables(workspace)["imports"] == []
    assert _children() == []


STOPPED_IMPORT = """
import functools
import multiprocessing
import sys

from kayfabe_core import ingest, ingest_read
from kayfabe_core.__main__ import main

ingest_read.WORKER_MIN_BYTES = 0
ingest.ingest_sources = functools.partial(ingest.ingest_sources, chunk_rows=2)  # chunks enough to fill the pipe
original = ingest._ChunkWriter.add

def add(self, *args):
    original(self, *args)
    print(" ".join(str(child.pid) for child in multiprocessing.active_children()), flush=True)  # the worker
    sys.stdin.readline()  # wait here, the first chunk written but not committed, until stopped

ingest._ChunkWriter.add = add

if __name__ == "__main__":
    sys.exit(main(["ingest", sys.argv[1], sys.argv[2]]))
"""


@pytest.mark.parametrize("stop", ["ctrl-c", "kill"])
def test_a_stopped_import_leaves_no_worker_and_no_workspace(tmp_path: Path, stop: str) -> None:
    """Ctrl-C (to the whole process group, as a terminal sends it) stops the worker with the import; a killed
    import's worker, blocked sending the chunks it split, ends on its own."""
    path = tmp_path / "export.csv"
    path.write_text(make_csv([post_row(f"P{i}") for i in range(2000)]))
    script = tmp_path / "stopped_import.py"
    script.write_text(STOPPED_IMPORT)
    process = subprocess.Popen([sys.executable, str(script), str(tmp_path / "ws"), str(path)], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    try:
        workers = [int(pid) for pid in process.stdout.readline().split()]
        assert len(workers) == 1 and process_running(workers[0])
        if stop == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)
            assert process.wait(timeout=30) == 130
            assert "Stopped (Ctrl-C)" in process.stderr.read() and not process_running(workers[0])
        else:
            process.send_signal(signal.SIGKILL)
            process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    deadline = time.monotonic() + 10
    while process_running(workers[0]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not process_running(workers[0])
    if stop == "ctrl-c":
        assert not (tmp_path / "ws").exists()  # the CLI removes the workspace it made for the failed import
