"""The Code page: code, skip and undo by clicking; codebook versions; jumping to an image."""

from __future__ import annotations

from pathlib import Path

import pytest

from kayfabe_core.codes import read_codebook
from kayfabe_core.workspace import connect, open_workspace
from tests.conftest import copy_workspace
from tests.ui.conftest import texts


@pytest.fixture
def demo_copy(demo_root: Path, tmp_path: Path) -> Path:
    """A private copy of the demo workspace that a test may write to."""
    return Path(copy_workspace(demo_root, tmp_path / "ws"))


def _codes(root: Path, coder: str) -> list[tuple[str, str]]:
    with connect(open_workspace(root)) as conn:
        return [tuple(row) for row in conn.execute(
            "SELECT sha256, value FROM codes WHERE coder = ? ORDER BY code_id", (coder,))]


def test_without_a_coder_name_the_page_asks_for_one(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    at.switch_page("pages/3_code.py").run()
    assert not at.exception
    assert "Type your name under **Coder**" in texts(at)


def test_code_skip_and_undo(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    at.session_state["coder"] = "ana"
    at.switch_page("pages/3_code.py").run()
    first = at.session_state["coding_current"]
    at.text_input(key="code_note").set_value("in the ring")
    at.button(key="code_yes").click().run()
    second = at.session_state["coding_current"]
    assert second != first
    at.button(key="code_skip").click().run()
    third = at.session_state["coding_current"]
    at.button(key="code_no").click().run()
    assert not at.exception
    assert _codes(demo_copy, "ana") == [(first, "YES"), (third, "NO")]
    at.button(key="code_undo").click().run()
    assert at.session_state["coding_current"] == third
    assert "You coded this image NO before" in texts(at)
    at.button(key="code_yes").click().run()
    assert _codes(demo_copy, "ana")[-1] == (third, "YES")
    assert second not in {sha for sha, _ in _codes(demo_copy, "ana")}  # skipped: no code written
    assert "ana: 2 of 1,954 images coded" in at.get("progress")[0].proto.text


def test_undo_after_skip_brings_the_skipped_image_back(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    at.session_state["coder"] = "ana"
    at.switch_page("pages/3_code.py").run()
    first = at.session_state["coding_current"]
    at.button(key="code_yes").click().run()
    skipped = at.session_state["coding_current"]
    at.button(key="code_skip").click().run()
    assert at.session_state["coding_current"] not in {first, skipped}
    at.button(key="code_undo").click().run()
    assert at.session_state["coding_current"] == skipped
    at.button(key="code_no").click().run()  # the skipped image can be coded now
    at.button(key="code_undo").click().run()
    assert at.session_state["coding_current"] == skipped
    at.button(key="code_undo").click().run()
    assert at.session_state["coding_current"] == first
    assert not at.exception
    assert _codes(demo_copy, "ana") == [(first, "YES"), (skipped, "NO")]


def open_tab(at, title: str) -> None:
    """Open the Code page on the tab ``title``: only the open tab's content runs."""
    at.session_state["code_tab"] = title
    at.switch_page("pages/3_code.py").run()


def test_codebook_edit_makes_a_new_version(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    open_tab(at, "Codebook")
    next(field for field in at.text_input if field.label == "Category").set_value("Heel turn")
    next(button for button in at.button if button.label == "Save as a new version").click().run()
    assert not at.exception
    assert "Saved as version 2" in "\n".join(message.value for message in at.success)
    assert read_codebook(open_workspace(demo_copy)).category == "Heel turn"


def test_a_link_jumps_to_an_image(demo_copy: Path, open_app) -> None:
    target = _any_image(demo_copy)
    at = open_app(demo_copy)
    at.session_state["coder"] = "ana"
    at.query_params["image"] = target
    at.switch_page("pages/3_code.py").run()
    assert at.session_state["coding_current"] == target


def _any_image(root: Path) -> str:
    with connect(open_workspace(root)) as conn:
        return str(conn.execute("SELECT sha256 FROM images ORDER BY sha256 DESC LIMIT 1").fetchone()[0])


def test_agreement_tab_and_adjudication(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    open_tab(at, "Agreement")
    assert not at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Images coded by two or more"] == "279"
    kappa = float(metrics["Cohen's kappa"])
    assert 0.6 < kappa < 0.9
    assert "95 % interval for Cohen's kappa" in texts(at)
    waiting = next(s.value for s in at.subheader if s.value.startswith("Disagreements to decide"))
    assert int(waiting.split(": ")[1]) > 6  # the demo's double-coded sample has more than one screenful
    assert "The first 6 are shown; each decision brings up the next." in texts(at)
    decide = [button for button in at.button if button.key and button.key.startswith("adjudicate_no_")][0]
    assert decide.label == "Decide Not in kayfabe"
    disagreements = [m.value for m in at.markdown if "[post](" in m.value]
    assert disagreements and all(": In kayfabe" in text and ": Not in kayfabe" in text for text in disagreements)
    assert not any(": YES" in text or ": NO" in text for text in disagreements)  # the category's words
    decided_sha = decide.key.removeprefix("adjudicate_no_")
    decide.click().run()
    assert not at.exception
    after = next(s.value for s in at.subheader if s.value.startswith("Disagreements to decide"))
    assert int(after.split(": ")[1]) == int(waiting.split(": ")[1]) - 1
    assert any(sha.startswith(decided_sha) and coder == "adjudicated"
               for sha, coder in _coders_of_codes(demo_copy))


def test_codes_import_from_the_page(demo_copy: Path, open_app) -> None:
    target = _any_image(demo_copy)
    at = open_app(demo_copy)
    open_tab(at, "Import / export")
    data = f"sha256,value\n{target},yes\n{'0' * 64},no\n{target},maybe\n{target},\n".encode()
    at.file_uploader(key="codes_file").set_value(("codes.csv", data, "text/csv"))
    at.run()
    at.text_input(key="import_coder").set_value("teacher")
    at.button(key="import_codes").click().run()
    assert not at.exception
    assert "row 4: 'maybe'). Nothing was imported." in at.error[0].value
    assert _codes(demo_copy, "teacher") == []
    at.file_uploader(key="codes_file").set_value(("codes.csv", data.replace(b"maybe", b"Y"), "text/csv"))
    at.run()
    at.button(key="import_codes").click().run()
    assert ("Added 2 codes for 1 image; 1 row matched no fetched image, 1 had no code, 0 were already there."
            == at.success[0].value)
    assert _codes(demo_copy, "teacher") == [(target, "YES"), (target, "YES")]
    at.button(key="import_codes").click().run()  # the same file again: a warning, nothing added
    assert "Added 0 codes for 1 image" in at.warning[0].value and not at.success
    assert len(_codes(demo_copy, "teacher")) == 2


def _coders_of_codes(root: Path) -> list[tuple[str, str]]:
    with connect(open_workspace(root)) as conn:
        return [tuple(row) for row in conn.execute("SELECT sha256, coder FROM codes")]


def test_double_coding_share_slider_saves_to_the_workspace(demo_copy: Path, open_app) -> None:
    from kayfabe_core.coding import read_double_coding_share

    at = open_app(demo_copy)
    open_tab(at, "Agreement")
    at.slider(key="double_share").set_value(20).run()
    assert not at.exception
    assert read_double_coding_share(open_workspace(demo_copy)) == 0.2


def test_most_uncertain_first_needs_a_model_then_uses_it(demo_copy: Path, open_app) -> None:
    from kayfabe_core.experiment import run_experiment
    from kayfabe_core.features import FeatureOptions, build_features
    from kayfabe_core.scoring import score_images
    from kayfabe_core.split import SplitOptions
    from kayfabe_core.train import TrainSettings

    at = open_app(demo_copy)
    at.session_state["coder"] = "ana"
    at.switch_page("pages/3_code.py").run()
    at.selectbox(key="coding_order").set_value("uncertain").run()
    assert not at.exception
    assert "needs a model trained on this workspace" in at.error[0].value

    workspace = open_workspace(demo_copy)
    run = run_experiment(workspace, build_features(workspace, FeatureOptions()), SplitOptions(),
                         TrainSettings.from_choices("quick"))
    at.run()
    assert not at.exception
    shown = at.session_state["coding_current"]
    scores = score_images(workspace, run.run_id, [shown, _any_image(demo_copy)])
    assert abs(scores["score"].iloc[0] - 0.5) <= abs(scores["score"].iloc[1] - 0.5)
    assert abs(scores["score"].iloc[0] - 0.5) < 0.05


def test_only_the_open_tab_runs(demo_copy: Path, open_app) -> None:
    """Coding reruns the page at every key press: the agreement (a bootstrap) must not run behind it."""
    at = open_app(demo_copy)
    at.session_state["coder"] = "ana"
    at.switch_page("pages/3_code.py").run()
    assert at.button(key="code_yes") and not [metric for metric in at.metric if "two or more" in metric.label]
    open_tab(at, "Agreement")
    assert [metric for metric in at.metric if "two or more" in metric.label]
    assert not [button for button in at.button if button.key == "code_yes"]


def test_the_coder_name_stays_across_pages(demo_copy: Path, open_app) -> None:
    """Streamlit drops a widget's value when another page runs; the coder must not type their name again."""
    at = open_app(demo_copy)
    at.switch_page("pages/3_code.py").run()
    at.text_input(key="coder").set_value("ana").run()
    at.switch_page("pages/4_train.py").run()
    at.switch_page("pages/3_code.py").run()
    assert at.text_input(key="coder").value == "ana"
    assert at.button(key="code_yes")


def test_each_codebook_save_stores_what_is_on_screen(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    open_tab(at, "Codebook")
    for definition in ("First wording", "Second wording", "Third wording"):
        next(field for field in at.text_area if field.label == "Definition, with examples").set_value(definition)
        next(button for button in at.button if button.label == "Save as a new version").click().run()
        assert not at.exception
        assert read_codebook(open_workspace(demo_copy)).definition == definition
    with connect(open_workspace(demo_copy)) as conn:
        stored = [row[0] for row in conn.execute("SELECT definition FROM codebooks ORDER BY version")]
    assert stored[-3:] == ["First wording", "Second wording", "Third wording"]


@pytest.mark.parametrize(("yes", "no", "phrase"), [("", "Not food", "The name of YES is empty"),
                                                   ("Food", "food", "YES and NO need different names")])
def test_a_codebook_without_two_distinct_names_is_refused(demo_copy: Path, open_app, yes: str, no: str,
                                                          phrase: str) -> None:
    at = open_app(demo_copy)
    open_tab(at, "Codebook")
    before = read_codebook(open_workspace(demo_copy))
    next(field for field in at.text_input if field.label == "Name of YES").set_value(yes)
    next(field for field in at.text_input if field.label == "Name of NO").set_value(no)
    next(button for button in at.button if button.label == "Save as a new version").click().run()
    assert not at.exception
    assert phrase in "\n".join(message.value for message in at.error)
    assert read_codebook(open_workspace(demo_copy)) == before


def test_the_coder_name_is_kept_in_the_address_for_a_reload(demo_copy: Path, open_app) -> None:
    at = open_app(demo_copy)
    at.switch_page("pages/3_code.py").run()
    next(field for field in at.sidebar.text_input if field.label == "Coder").set_value("ana ").run()
    assert at.query_params["coder"] == "ana"
    reloaded = open_app(demo_copy)  # a reload: a new session, the same address
    reloaded.query_params["coder"] = "ana"
    reloaded.switch_page("pages/3_code.py").run()
    assert next(field for field in reloaded.sidebar.text_input if field.label == "Coder").value == "ana"
    assert reloaded.session_state["coding_current"]  # coding goes on at once
