"""The coding queue and one code per click."""

from __future__ import annotations

from pathlib import Path

import pytest

from kayfabe_core.coding import build_queue, code_image, next_image, read_coding_progress, read_latest_code
from kayfabe_core.errors import KayfabeError
from kayfabe_core.workspace import Workspace, connect
from tests.conftest import copy_workspace
from tests.test_gallery import labelled_workspace


def test_queue_puts_the_coders_uncoded_images_first(workspace: Workspace) -> None:
    hashes = labelled_workspace(workspace)
    code_image(workspace, hashes["A"], "ann", "YES")
    queue = build_queue(workspace, "ann", "oldest")
    assert queue == [hashes["B"], hashes["C"], hashes["D"], hashes["A"]]
    assert build_queue(workspace, "ann", "newest")[:3] == [hashes["D"], hashes["C"], hashes["B"]]
    assert build_queue(workspace, "bob", "oldest")[0] == hashes["A"]  # another coder starts afresh
    shuffled = build_queue(workspace, "ann", "uncoded_random", seed=3)
    assert shuffled == build_queue(workspace, "ann", "uncoded_random", seed=3)
    assert shuffled[-1] == hashes["A"] and set(shuffled) == set(hashes.values())
    with pytest.raises(KeyError):
        build_queue(workspace, "ann", "sideways")


def test_next_image_skips_what_was_skipped_or_coded() -> None:
    assert next_image(["a", "b", "c"], skipped={"a"}, coded={"b"}) == "c"
    assert next_image(["a"], skipped={"a"}, coded=set()) is None


def test_codes_append_and_the_latest_wins(workspace: Workspace) -> None:
    hashes = labelled_workspace(workspace)
    code_image(workspace, hashes["A"], " ann ", "YES", "first look")
    code_image(workspace, hashes["A"], "ann", "NO")
    assert read_latest_code(workspace, hashes["A"], "ann") == "NO"
    with connect(workspace) as conn:
        assert conn.execute("SELECT COUNT(*) FROM codes WHERE coder = 'ann'").fetchone()[0] == 2
        assert conn.execute("SELECT note FROM codes ORDER BY code_id LIMIT 1").fetchone()[0] == "first look"
    progress = read_coding_progress(workspace, "ann")
    assert (progress.images, progress.coded_by_coder, progress.coded_by_anyone) == (4, 1, 1)


def test_a_code_needs_a_coder_and_a_known_value(workspace: Workspace) -> None:
    hashes = labelled_workspace(workspace)
    with pytest.raises(KayfabeError) as caught:
        code_image(workspace, hashes["A"], "  ", "YES")
    assert caught.value.message == "No coder name is set, so the code cannot be credited to anyone."
    with pytest.raises(KayfabeError) as caught:
        code_image(workspace, hashes["A"], "ann", "MAYBE")
    assert caught.value.message == "'MAYBE' is not a code."


CODER_PROCESS = """
import sys
from kayfabe_core.coding import code_image
from kayfabe_core.workspace import open_workspace
workspace = open_workspace(sys.argv[1])
hashes = sys.argv[2].split(",")
i = 0
while True:
    code_image(workspace, hashes[i % len(hashes)], "ann", "YES" if i % 2 else "NO", note=str(i))
    print(i, flush=True)  # acknowledged only after the code's transaction committed
    i += 1
"""


def test_a_killed_coder_process_loses_no_acknowledged_code(workspace: Workspace) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    hashes = labelled_workspace(workspace)
    process = subprocess.Popen([sys.executable, "-c", CODER_PROCESS, str(workspace.root), ",".join(hashes.values())],
                               cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    acknowledged: list[int] = []
    deadline = time.monotonic() + 60
    while len(acknowledged) < 25 and time.monotonic() < deadline:
        acknowledged.append(int(process.stdout.readline()))
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with connect(workspace) as conn:
        notes = {int(row[0]) for row in conn.execute("SELECT note FROM codes WHERE coder = 'ann'")}
    assert len(acknowledged) == 25
    assert set(acknowledged) <= notes


def test_double_coding_sample_comes_first_and_is_the_same_for_everyone(workspace: Workspace) -> None:
    from kayfabe_core.coding import in_double_sample

    hashes = labelled_workspace(workspace)
    sample = [sha for sha in hashes.values() if in_double_sample(sha, 0.15)]
    queue = build_queue(workspace, "ann", "double_sample", seed=1)
    assert queue[:len(sample)] == [sha for sha in queue if sha in sample]
    assert in_double_sample("00000000" + "0" * 56) and not in_double_sample("ffffffff" + "0" * 56)
    shares = [in_double_sample(f"{i:08x}" + "0" * 56) for i in range(0, 2**32, 2**32 // 10_000)]
    assert 0.13 < sum(shares) / len(shares) < 0.17


def test_double_coding_share_is_kept_in_the_workspace(workspace: Workspace) -> None:
    from kayfabe_core.coding import read_double_coding_share, write_double_coding_share

    assert read_double_coding_share(workspace) == 0.15
    write_double_coding_share(workspace, 0.2)
    assert read_double_coding_share(workspace) == 0.2
    with pytest.raises(KayfabeError) as caught:
        write_double_coding_share(workspace, 0)
    assert caught.value.message == "The double-coding share must be between 1 % and 100 %; got 0 %."


def test_most_uncertain_first_follows_the_latest_model(demo_root: Path, tmp_path: Path) -> None:

    from kayfabe_core.errors import StageNotReadyError
    from kayfabe_core.experiment import run_experiment
    from kayfabe_core.features import FeatureOptions, build_features
    from kayfabe_core.scoring import score_images
    from kayfabe_core.split import SplitOptions
    from kayfabe_core.train import TrainSettings
    from kayfabe_core.workspace import open_workspace

    copy_workspace(demo_root, tmp_path / "demo")
    demo = open_workspace(tmp_path / "demo")
    with pytest.raises(StageNotReadyError, match="needs a model trained on this workspace"):
        build_queue(demo, "newcomer", "uncertain")
    run = run_experiment(demo, build_features(demo, FeatureOptions()), SplitOptions(),
                         TrainSettings.from_choices("quick"))
    queue = build_queue(demo, "newcomer", "uncertain")
    scores = score_images(demo, run.run_id, queue).set_index("sha256")["score"]
    distance = (scores - 0.5).abs().to_numpy()
    assert len(queue) == len(set(queue)) == 1954
    assert (distance[:-1] <= distance[1:] + 1e-12).all()  # closest to 0.5 first
    assert distance[0] < 0.05 < distance[-1]
