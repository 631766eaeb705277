"""The command line: same report as the page, one message and exit 1 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kayfabe_core.__main__ import main
from kayfabe_core.ingest import ingest_files
from kayfabe_core.workspace import open_workspace
from tests.conftest import error_row, make_csv, post_row

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kayfabe_core", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_ingest_json_has_the_promised_keys_and_matches_the_core(tmp_path: Path) -> None:
    export = tmp_path / "x.csv"
    export.write_text(make_csv([post_row("A1"), post_row("A1", "2"), post_row("B1"), error_row()]))
    result = run_cli("ingest", str(tmp_path / "cli"), str(export), "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    for key in ("rows_read", "posts", "images", "duplicates_dropped", "error_rows",
                "posts_without_image", "unknown_columns", "new_posts", "workspace_posts"):
        assert key in printed
    direct = ingest_files(open_workspace(tmp_path / "direct"), [("x.csv", export.read_bytes())])
    assert printed == direct.to_dict()
    assert (printed["posts"], printed["images"], printed["error_rows"]) == (2, 3, 1)


def test_ingest_text_report_and_second_import(tmp_path: Path) -> None:
    export = tmp_path / "x.csv"
    export.write_text(make_csv([post_row("A1")]))
    run_cli("ingest", str(tmp_path / "w"), str(export))
    result = run_cli("ingest", str(tmp_path / "w"), str(export))
    assert result.returncode == 0
    assert "New posts added to the workspace   0" in result.stdout
    assert "Posts in the workspace now         1" in result.stdout


def test_bad_file_exits_1_with_one_message_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "people.csv"
    bad.write_text("name,age\nann,3\n")
    result = run_cli("ingest", str(tmp_path / "w"), str(bad))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: people.csv does not look like a PhantomBuster Instagram export")
    assert "What to do:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_exits_1(tmp_path: Path) -> None:
    result = run_cli("ingest", str(tmp_path / "w"), str(tmp_path / "nope.csv"))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == f"Error: The file {tmp_path / 'nope.csv'} does not exist."


def test_codes_export_then_import_round_trips(tmp_path: Path) -> None:
    import sqlite3

    source, target = tmp_path / "source", tmp_path / "target"
    assert run_cli("demo", str(source)).returncode == 0
    assert run_cli("demo", str(target)).returncode == 0
    with sqlite3.connect(target / "kayfabe.sqlite") as conn:
        conn.execute("DELETE FROM codes")
    assert run_cli("export-codes", str(source), str(tmp_path / "codes.csv")).stdout.startswith("Wrote 2,233 codes")
    result = run_cli("import-codes", str(target), str(tmp_path / "codes.csv"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["codes_added"] == 2233
    query = "SELECT sha256, coder, value, note, codebook_version, coded_at FROM codes ORDER BY code_id"
    with sqlite3.connect(source / "kayfabe.sqlite") as a, sqlite3.connect(target / "kayfabe.sqlite") as b:
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


def test_workers_must_be_a_positive_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kayfabe_core.__main__ import main

    with pytest.raises(SystemExit):
        main(["fetch-images", str(tmp_path), "--workers", "0"])
    assert "at least 1 is needed, not 0" in capsys.readouterr().err


def test_an_error_after_a_half_drawn_progress_bar_starts_on_its_own_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from kayfabe_core import __main__ as cli
    from kayfabe_core.errors import KayfabeError

    def half_then_fail(args: object) -> int:
        cli._progress_printer("Fetching images")(3, 10)
        raise KayfabeError("The network went away.", "Try again.")

    monkeypatch.setattr(cli, "_cmd_fetch", half_then_fail)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal: the bar is drawn in place
    assert cli.main(["fetch-images", "ws"]) == 1
    assert "3/10\nError: The network went away." in capsys.readouterr().err


def test_progress_to_a_pipe_is_written_once_finished(capsys: pytest.CaptureFixture[str]) -> None:
    from kayfabe_core import __main__ as cli

    show = cli._progress_printer("Fetching images")
    for done in range(301):
        show(done, 300)
    assert capsys.readouterr().err == f"Fetching images [{'#' * 30}] 300/300\n"  # not 300 redraws


def test_ctrl_c_stops_with_one_line_and_no_traceback(tmp_path: Path, demo_root: Path) -> None:
    import signal
    import time

    from kayfabe_core.runs import list_runs
    from tests.conftest import copy_workspace

    workspace = copy_workspace(demo_root, tmp_path / "ws", images=False)
    runs_before = len(list_runs(open_workspace(workspace, create=False)))
    process = subprocess.Popen([sys.executable, "-m", "kayfabe_core", "train", str(workspace), "--folds", "10",
                                "--repeats", "20", "--rounds", "2000"], cwd=Path(__file__).resolve().parents[1],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(8)  # well into training
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Stopped (Ctrl-C)." in err and "Traceback" not in err
    assert len(list_runs(open_workspace(workspace, create=False))) == runs_before and "Saved in" not in out


def test_a_refused_import_into_a_new_folder_leaves_no_workspace(tmp_path: Path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text(make_csv([post_row("A1")]).splitlines()[0] + "\n")
    assert main(["ingest", str(tmp_path / "new"), str(header_only)]) == 1
    assert not (tmp_path / "new").exists()
    (tmp_path / "empty").mkdir()
    assert main(["ingest", str(tmp_path / "empty"), str(header_only)]) == 1
    assert (tmp_path / "empty").is_dir() and not any((tmp_path / "empty").iterdir())
    kept = open_workspace(tmp_path / "kept")
    ingest_files(kept, [("p.csv", make_csv([post_row("A1")]).encode())])
    assert main(["ingest", str(tmp_path / "kept"), str(header_only)]) == 1
    assert (tmp_path / "kept" / "kayfabe.sqlite").exists()  # a workspace that was there stays


def test_an_import_stopped_with_ctrl_c_leaves_no_new_workspace(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from kayfabe_core import ingest

    export = tmp_path / "export.csv"
    export.write_text(make_csv([post_row("A1")]))

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest, "ingest_sources", interrupted)
    assert main(["ingest", str(tmp_path / "new"), str(export)]) == 130
    assert not (tmp_path / "new").exists()


def test_importing_codes_that_match_nothing_fails_and_says_why(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    ingest_files(open_workspace(tmp_path / "ws"), [("p.csv", make_csv([post_row("A1")]).encode())])
    codes = tmp_path / "codes.csv"
    codes.write_text("sha256,value\nabc,YES\n")
    assert main(["import-codes", str(tmp_path / "ws"), str(codes)]) == 1
    out, err = capsys.readouterr()
    assert "no row of codes.csv matched an image of this workspace" in err
    assert "unmatched examples: row 2: abc" in out and "stopped" not in out
    assert out.startswith("Read codes.csv") and "Imported" not in out  # not 'Imported' over 'no code was added'


def test_ctrl_c_during_tuning_keeps_the_trials_and_exits_130(tmp_path: Path, demo_root: Path) -> None:
    import signal
    import time

    from tests.conftest import copy_workspace

    workspace = copy_workspace(demo_root, tmp_path / "ws", images=False)
    process = subprocess.Popen([sys.executable, "-m", "kayfabe_core", "tune", str(workspace), "--trials", "200"],
                               cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(10)  # a few trials in
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Stopping after the current fold (the trials done are kept)" in err and "Traceback" not in err
    assert "trials" in out


@pytest.mark.parametrize(("argv", "said"), [
    (["train", "--workspace", "ws", "--test-size", "abc"],
     "Error: Argument --test-size: expected a number, not 'abc'."),
    (["train", "--workspace", "ws", "--seed", "x"], "Error: Argument --seed: expected a whole number, not 'x'."),
    (["predict", "ws"], "Error: The following arguments are required: --out."),
    ([], "Error: The following arguments are required: VERB."),
])
def test_option_errors_are_one_message_and_exit_1(argv: list[str], said: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from kayfabe_core.__main__ import main

    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(said + "\n")  # no usage block before it
    assert err.endswith("--help`.\n") and err.count("\n") == 2


def test_ctrl_c_before_the_first_trial_is_a_stop_exit_130_in_command_line_words(
        demo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A stop the training or tuning caught (TrainingStopped) ends as Ctrl-C does, not as an error with the page's
    'Press Tune again'."""
    import kayfabe_core.tune as tuning
    from kayfabe_core.__main__ import main
    from kayfabe_core.errors import TrainingStopped
    from tests.conftest import copy_workspace

    def stopped_at_once(*_args: object, **_kwargs: object) -> None:
        raise TrainingStopped("Tuning was stopped before the starting settings were measured; nothing was saved.",
                              "Press Tune again to start over.")

    monkeypatch.setattr(tuning, "tune", stopped_at_once)
    assert main(["tune", str(copy_workspace(demo_root, tmp_path / "ws", images=False)), "--trials", "3"]) == 130
    err = capsys.readouterr().err
    assert "Stopped (Ctrl-C). Tuning was stopped before" in err and "Press Tune" not in err
