"""Resolved codes (latest per coder, then majority) and label–code associations."""

from pathlib import Path

import numpy as np
import pytest

from kayfabe_core.associations import label_code_association, read_resolved_codes
from kayfabe_core.codes import append_codes
from kayfabe_core.workspace import Workspace, transaction
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
    from kayfabe_core.associations import ADJUDICATOR

    with transaction(workspace) as conn:
        append_codes(conn, [("h1", "ann", "YES"), ("h1", "bob", "NO"), ("h1", ADJUDICATOR, "NO"),
                            ("h2", "ann", "YES"), ("h2", "bob", "YES"), ("h2", ADJUDICATOR, "NO")], None)
    resolved = read_resolved_codes(workspace)
    assert dict(zip(resolved["sha256"], resolved["value"], strict=True)) == {"h1": "NO", "h2": "NO"}


def test_association_equals_the_obvious_pandas_of_the_label_view(demo_root: Path) -> None:
    """Counted from integer label rows, the table equals a pandas merge of the ``labels`` view and the codes."""
    import pandas as pd

    from kayfabe_core.workspace import connect, open_workspace

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
