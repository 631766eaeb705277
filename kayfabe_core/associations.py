"""Which labels go with YES and which with NO, once images are coded.

Uses each image's resolved code: the latest code of every coder, then the
majority (ties and Unsure left out). This is description, not a model: a label
common on YES images may still be useless to a classifier.
"""

from __future__ import annotations

import pandas as pd

from kayfabe_core.workspace import Workspace, connect

ADJUDICATOR = "adjudicated"  # the coder name under which the team's decisions on disagreements are kept

LATEST_CODES = (  # each coder's latest code per image (one pass over the codes_sha256 index)
    "SELECT sha256, coder, value FROM codes WHERE code_id IN "
    "(SELECT MAX(code_id) FROM codes GROUP BY sha256, coder)"
)


def read_resolved_codes(workspace: Workspace) -> pd.DataFrame:
    """Return one YES/NO per coded image: columns sha256, value.

    An adjudicated code (coder :data:`ADJUDICATOR`) decides; otherwise the majority of
    the coders' latest codes (ties and Unsure left out).
    """
    with connect(workspace) as conn:
        latest = pd.read_sql_query(LATEST_CODES, conn)
    decided = latest[latest["value"].isin(["YES", "NO"])]
    adjudicated = decided[decided["coder"] == ADJUDICATOR].set_index("sha256")["value"]
    coders = decided[(decided["coder"] != ADJUDICATOR) & ~decided["sha256"].isin(adjudicated.index)]
    votes = coders.assign(yes=coders["value"] == "YES").groupby("sha256")["yes"].agg(["sum", "count"])
    votes = votes[votes["sum"] * 2 != votes["count"]]
    majority = (votes["sum"] * 2 > votes["count"]).map({True: "YES", False: "NO"})
    resolved = pd.concat([adjudicated, majority]).sort_index()
    return pd.DataFrame({"sha256": resolved.index, "value": resolved.to_numpy()}).reset_index(drop=True)


def label_code_association(workspace: Workspace, min_confidence: float, min_images: int = 20) -> pd.DataFrame:
    """Return, per label seen on at least ``min_images`` coded images, how often it goes with YES.

    Columns: source, name, images, yes_share (share of those images coded YES), lift
    (yes_share minus the share of YES among all coded images). Sorted by lift.
    """
    codes = read_resolved_codes(workspace)
    if codes.empty:
        return pd.DataFrame(columns=["source", "name", "images", "yes_share", "lift"])
    with connect(workspace) as conn:
        labels = pd.read_sql_query(
            "SELECT DISTINCT sha256, source, key, name FROM labels WHERE confidence >= ?", conn,
            params=[min_confidence])
    joined = labels.merge(codes, on="sha256")
    joined["yes"] = joined["value"] == "YES"
    grouped = joined.groupby(["source", "key"]).agg(name=("name", "first"), images=("sha256", "nunique"),
                                                    yes_share=("yes", "mean")).reset_index()
    grouped = grouped[grouped["images"] >= min_images]
    base_rate = float((codes["value"] == "YES").mean())
    grouped["lift"] = grouped["yes_share"] - base_rate
    return grouped.sort_values("lift", ascending=False)[["source", "name", "images", "yes_share", "lift"]]
