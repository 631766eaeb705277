"""Resolved codes (latest per coder, then majority) and label–code associations."""

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kayfabe_core.associations import ADJUDICATOR, label_code_association, read_latest_codes, read_resolved_codes
from kayfabe_core.codes import append_codes
from kayfabe_core.workspace import Workspace, connect, transaction
from tests.test_gallery import labelled_workspace


def test_latest_code_per_coder_then_majority(workspace: Workspace) -> None:
    with transaction(workspace) as conn:
        append_codes(conn, [("h1", "ann", "NO"), ("h1", "ann", "YES"), ("h1", "bob", "YES"),  # YES
                            ("h2", "ann", "YES"), ("h2", "bob", "NO"),                         # tie: left out
                            ("h3", "ann", "UNSURE"), ("h4", "ann", "NO")], None)
    resolved = dict(zip(read_resolved_codes(workspace)["sha256"], read_resolved_codes(workspace)["value"], strict=True))
    assert resolved == {"h1": "YES", "h4": "NO"}


def test_association_is_yes_share_minus_base_rate(workspace: Workspace) -> None:
    hashes = labelled_workspace(workspace)
    with transaction(workspace) as conn:
        append_codes(conn, [(hashes["A"], "ann", "YES"), (hashes["B"], "ann", "YES"),
                            (hashes["C"], "ann", "NO"), (hashes["D"], "ann", "NO")], None)
    table = label_code_association(workspace, 50, min_images=1).set_index("name")
    assert table.loc["Wrestling", "yes_share"] == 1.0
    assert table.loc["Wrestling", "lift"] == pytest.approx(0.5)
    assert table.loc["Person", "yes_share"] == pytest.approx(2 / 3)
    assert table.loc["Breakfast", "lift"] == pytest.approx(-0.5)
    assert list(table.index) == ["Wrestling", "Person", "Breakfast"]


def test_an_adjudicated_code_overrides_the_coders(workspace: Workspace) -> None:
    with transaction(workspace) as conn:
        append_codes(conn, [("h1", "ann", "YES"), ("h1", "bob", "NO"), ("h1", ADJUDICATOR, "NO"),
                            ("h2", "ann", "YES"), ("h2", "bob", "YES"), ("h2", ADJUDICATOR, "NO")], None)
    resolved = read_resolved_codes(workspace)
    assert dict(zip(resolved["sha256"], resolved["value"], strict=True)) == {"h1": "NO", "h2": "NO"}


def test_association_equals_the_obvious_pandas_of_the_label_view(demo_root: Path) -> None:
    """Counted from integer label rows, the table equals a pandas merge of the ``labels`` view and the codes."""
    from kayfabe_core.workspace import open_workspace

    demo = open_workspace(demo_root, create=False)
    codes = read_resolved_codes(demo)
    with connect(demo) as conn:
        labels = pd.read_sql_query("SELECT DISTINCT sha256, source, key, name FROM labels WHERE confidence >= 70",
                                   conn)
    joined = labels.merge(codes, on="sha256").assign(yes=lambda frame: frame["value"] == "YES")
    expected = joined.groupby(["source", "name"]).agg(images=("sha256", "nunique"), yes_share=("yes", "mean"))
    expected = expected[expected["images"] >= 20]
    got = label_code_association(demo, 70, min_images=20).set_index(["source", "name"]).sort_index()
    assert len(expected) > 10
    assert got["images"].tolist() == expected["images"].tolist()
    assert np.allclose(got["yes_share"], expected["yes_share"])
    assert np.allclose(got["lift"], got["yes_share"] - (codes["value"] == "YES").mean())


def _reference_latest(conn: sqlite3.Connection) -> pd.DataFrame:
    """The obvious pandas: read the codes in order, keep the last per (image, coder)."""
    codes = pd.read_sql_query("SELECT sha256, coder, value FROM codes ORDER BY code_id", conn)
    return codes.drop_duplicates(["sha256", "coder"], keep="last").reset_index(drop=True)


def _reference_resolved(latest: pd.DataFrame) -> pd.DataFrame:
    """The obvious pandas: the adjudicated code where there is one, else the coders' majority without ties."""
    decided = latest[latest["value"].isin(["YES", "NO"])]
    adjudicated = decided[decided["coder"] == ADJUDICATOR].set_index("sha256")["value"]
    coders = decided[(decided["coder"] != ADJUDICATOR) & ~decided["sha256"].isin(adjudicated.index)]
    votes = coders.assign(yes=coders["value"] == "YES").groupby("sha256")["yes"].agg(["sum", "count"])
    votes = votes[votes["sum"] * 2 != votes["count"]]
    majority = (votes["sum"] * 2 > votes["count"]).map({True: "YES", False: "NO"})
    resolved = pd.concat([adjudicated, majority]).sort_index()
    return pd.DataFrame({"sha256": resolved.index, "value": resolved.to_numpy()}).reset_index(drop=True)


@pytest.mark.parametrize("seed", range(5))
def test_latest_and_resolved_codes_equal_the_obvious_pandas(workspace: Workspace, seed: int) -> None:
    """Random codes (repeats, Unsure, adjudications, ties): the same frames as plain pandas, dtypes and order too."""
    rng = np.random.default_rng(seed)
    images = [f"h{number}" for number in range(60)] + ["H1", "a", "é", "h1 ", ""]  # odd texts sort as pandas does
    coders = ["ann", "bob", "cy", "dee", ADJUDICATOR]
    for _ in range(3):  # codes written in several transactions, as coders work
        size = int(rng.integers(100, 300))
        codes = list(zip(rng.choice(images, size).tolist(), rng.choice(coders, size, p=[.3, .3, .2, .1, .1]).tolist(),
                         rng.choice(["YES", "NO", "UNSURE"], size, p=[.45, .4, .15]).tolist(), strict=True))
        with transaction(workspace) as conn:
            append_codes(conn, codes, None)
        with connect(workspace) as conn:
            latest, expected_latest = read_latest_codes(conn), _reference_latest(conn)
        pd.testing.assert_frame_equal(latest, expected_latest)
        resolved, expected = read_resolved_codes(workspace), _reference_resolved(expected_latest)
        pd.testing.assert_frame_equal(resolved, expected)
        assert 0 < len(resolved) < len(set(latest["sha256"]))  # some images left out (ties, Unsure only)


def test_no_codes_give_empty_frames(workspace: Workspace) -> None:
    with connect(workspace) as conn:
        assert list(read_latest_codes(conn).columns) == ["sha256", "coder", "value"]
        assert read_latest_codes(conn).empty
    assert list(read_resolved_codes(workspace).columns) == ["sha256", "value"]
    assert read_resolved_codes(workspace).empty


def test_a_separator_inside_a_text_is_read_row_by_row(workspace: Workspace) -> None:
    with transaction(workspace) as conn:
        conn.executemany("INSERT INTO codes (sha256, coder, value, coded_at) VALUES (?, ?, ?, 't')",
                         [("a", "odd\x1fname", "YES"), ("a", "other", "NO"), ("b", "other", "YES")])
    with connect(workspace) as conn:
        latest = read_latest_codes(conn)
    assert latest.values.tolist() == [["a", "odd\x1fname", "YES"], ["a", "other", "NO"], ["b", "other", "YES"]]
    assert read_resolved_codes(workspace).values.tolist() == [["b", "YES"]]
