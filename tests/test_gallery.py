"""Browsing labelled images: filters, pages, frequencies (on a small hand-made workspace)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from kayfabe_core.gallery import (
    LabelChoice,
    count_images,
    label_frequencies,
    list_labels,
    read_image_page,
    read_top_labels,
)
from kayfabe_core.images import mark_fetched, save_image_bytes
from kayfabe_core.ingest import ingest_files
from kayfabe_core.labels import store_response
from kayfabe_core.workspace import Workspace, connect, transaction
from tests.conftest import make_csv, post_row

LABELS_BY_POST = {
    "A": [("Wrestling", 95.0), ("Person", 99.0)],
    "B": [("Wrestling", 70.0), ("Person", 98.0)],
    "C": [("Breakfast", 90.0), ("Person", 60.0)],
    "D": [],
}


def picture(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def labelled_workspace(workspace: Workspace) -> dict[str, str]:
    """Posts A–D, one image each, with DetectLabels responses from LABELS_BY_POST; returns post -> sha."""
    rows = [post_row(code, pubDate=f"2020-01-0{i + 1}T00:00:00.000Z") for i, code in enumerate(LABELS_BY_POST)]
    ingest_files(workspace, [("g.csv", make_csv(rows).encode())])
    hashes = {}
    colours = ["red", "green", "blue", "yellow"]
    with transaction(workspace) as conn:
        ids = dict(conn.execute("SELECT post_url, image_id FROM images").fetchall())
        for colour, (code, labels) in zip(colours, LABELS_BY_POST.items(), strict=True):
            stored = save_image_bytes(workspace, picture(colour))
            mark_fetched(conn, ids[f"https://www.instagram.com/p/{code}/"], stored)
            response = {"Labels": [{"Name": n, "Confidence": c, "Parents": [], "Categories": [], "Instances": []}
                                   for n, c in labels], "LabelModelVersion": "3.0"}
            store_response(conn, stored.sha256, "DetectLabels", response, origin="test", called_at="t")
            hashes[code] = stored.sha256
    return hashes


@pytest.fixture
def hashes(workspace: Workspace) -> dict[str, str]:
    return labelled_workspace(workspace)


def test_labels_are_listed_at_a_threshold(workspace: Workspace, hashes: dict[str, str]) -> None:
    at_80 = list_labels(workspace, 80)
    assert list(zip(at_80["key"], at_80["images"], strict=True)) == [("Person", 2), ("Breakfast", 1), ("Wrestling", 1)]
    assert dict(zip(list_labels(workspace, 50)["key"], list_labels(workspace, 50)["images"], strict=True)) == {
        "Person": 3, "Wrestling": 2, "Breakfast": 1}


def test_filters_need_every_chosen_label(workspace: Workspace, hashes: dict[str, str]) -> None:
    wrestling, person = LabelChoice("label", "Wrestling"), LabelChoice("label", "Person")
    assert count_images(workspace, [], 80) == 4
    assert count_images(workspace, [wrestling], 50) == 2
    assert count_images(workspace, [wrestling, person], 80) == 1
    page = read_image_page(workspace, [wrestling], 50, 0, 10)
    assert list(page["sha256"]) == [hashes["B"], hashes["A"]]  # newest post first
    assert list(read_image_page(workspace, [], 0, 1, 2)["sha256"]) == [hashes["C"], hashes["B"]]


def test_top_labels_and_frequencies(workspace: Workspace, hashes: dict[str, str]) -> None:
    assert read_top_labels(workspace, [hashes["A"], hashes["D"]], 50, 1) == {hashes["A"]: ["Person"], hashes["D"]: []}
    frequencies = label_frequencies(workspace, 80, 2)
    assert list(frequencies["name"]) == ["Person", "Breakfast"]
    assert frequencies["share"].iloc[0] == pytest.approx(2 / 4)
    with connect(workspace) as conn:
        assert conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 6


def test_the_labels_version_moves_with_new_labels_and_not_with_codes(workspace: Workspace,
                                                                      hashes: dict[str, str]) -> None:
    from kayfabe_core.coding import code_image
    from kayfabe_core.gallery import labels_version

    before = labels_version(workspace)
    assert before > 0
    code_image(workspace, hashes["A"], "ann", "YES")
    assert labels_version(workspace) == before
    with transaction(workspace) as conn:
        store_response(conn, hashes["A"], "DetectModerationLabels",
                       {"ModerationLabels": [{"Name": "Violence", "ParentName": "", "Confidence": 91.0}],
                        "ModerationModelVersion": "7.0"}, origin="test", called_at="t")
    assert labels_version(workspace) > before


def test_frequencies_from_a_label_list_already_read_are_the_same(workspace: Workspace,
                                                                 hashes: dict[str, str]) -> None:
    import pandas as pd

    from kayfabe_core.gallery import label_frequencies

    fresh = label_frequencies(workspace, 80, 2)
    pd.testing.assert_frame_equal(label_frequencies(workspace, 80, 2, list_labels(workspace, 80)), fresh)
    assert len(fresh) == 2 and fresh["share"].between(0, 1).all()


@pytest.mark.parametrize("confidence", [50.0, 80.0, 97.5])
def test_label_list_equals_the_obvious_query_of_the_label_view(demo_root: Path, confidence: float) -> None:
    """Counted from the integer label rows in numpy, the list equals SQL's grouping of the ``labels`` view."""
    from kayfabe_core.workspace import open_workspace

    demo = open_workspace(demo_root, create=False)
    with connect(demo) as conn:
        expected = [tuple(row) for row in conn.execute(
            "SELECT source, key, MAX(name), COUNT(DISTINCT sha256) AS images FROM labels WHERE confidence >= ? "
            "GROUP BY source, key ORDER BY images DESC, MAX(name)", [confidence])]
    got = list_labels(demo, confidence)
    assert len(expected) > 20
    assert list(got.itertuples(index=False, name=None)) == expected


def test_an_image_labelled_by_two_model_versions_counts_once(workspace: Workspace) -> None:
    from kayfabe_core.label_store import store_label_rows

    with transaction(workspace) as conn:
        store_label_rows(conn, [("a" * 64, "label", "Person", "Person", 90.0, "[]", "[]", "2.0"),
                                ("a" * 64, "label", "Person", "Person", 95.0, "[]", "[]", "3.0"),
                                ("b" * 64, "label", "Person", "Person", 85.0, "[]", "[]", "3.0"),
                                ("b" * 64, "label", "Car", "Car", 60.0, "[]", "[]", "3.0")])
    assert list(list_labels(workspace, 80.0).itertuples(index=False, name=None)) == [
        ("label", "Person", "Person", 2)]
    assert list(list_labels(workspace, 50.0)["images"]) == [2, 1]


def test_filters_read_the_packs_like_the_label_view(workspace: Workspace) -> None:
    """Label numbers that are prefixes of others (1 and 12), a label under two model versions, several packs of
    one image, a label nobody has: the filter counts what the plain query of the ``labels`` view counts."""
    from kayfabe_core.label_store import store_label_rows

    keys = [f"K{i}" for i in range(14)]
    with transaction(workspace) as conn:  # numbers 1..14 in this order: K0 is 1, K11 is 12
        store_label_rows(conn, [("0" * 64, "label", key, key, 99.0, "[]", "[]", "3.0") for key in keys])
    rows = [("a" * 64, "label", "K0", 90.0, "3.0"), ("b" * 64, "label", "K11", 90.0, "3.0"),
            ("c" * 64, "label", "K0", 70.0, "2.0"), ("c" * 64, "moderation", "K11", 95.0, "7.0"),
            ("d" * 64, "label", "K11", 85.0, "3.0")]
    for sha, source, key, confidence, version in rows:  # one write each: several packs per image
        with transaction(workspace) as conn:
            store_label_rows(conn, [(sha, source, key, key, confidence, "[]", "[]", version)])

    def expected(choices: list[LabelChoice], cut: float) -> int:
        with connect(workspace) as conn:
            found = [{sha for (sha,) in conn.execute("SELECT sha256 FROM labels WHERE source = ? AND key = ? AND "
                                                     "confidence >= ?", (choice.source, choice.key, cut))}
                     for choice in choices]
        return len(set.intersection(*found))

    k0, k11, k11_moderation = LabelChoice("label", "K0"), LabelChoice("label", "K11"), LabelChoice("moderation", "K11")
    for choices in ([k0], [k11], [k0, k11], [k0, k11_moderation], [k11_moderation], [LabelChoice("label", "none")]):
        for cut in (50.0, 80.0, 99.0):
            assert count_images(workspace, choices, cut) == expected(choices, cut), (choices, cut)
    assert count_images(workspace, [k0], 50.0) == 3  # 0…0, a and c (under version 2.0)


def test_every_image_in_gallery_order_as_sql_would_give(workspace: Workspace, hashes: dict[str, str]) -> None:
    """Shared images (two posts, one undated), undated posts and ties: the same rows and order as one SQL query."""
    rows = [post_row("E", pubDate=""), post_row("F", pubDate="2020-01-02T00:00:00.000Z", description="zz"),
            post_row("G", pubDate="2020-01-09T00:00:00.000Z", description="aa"), post_row("H", pubDate="")]
    ingest_files(workspace, [("more.csv", make_csv(rows).encode())])
    with transaction(workspace) as conn:
        ids = dict(conn.execute("SELECT post_url, image_id FROM images").fetchall())
        for post, colour in (("E", "red"), ("F", "red"), ("G", "blue"), ("H", "white")):  # E, F share A's picture
            stored = save_image_bytes(workspace, picture(colour))
            mark_fetched(conn, ids[f"https://www.instagram.com/p/{post}/"], stored)
    reference = ("SELECT i.sha256, MIN(i.ext) AS ext, MIN(p.post_url) AS post_url, MIN(p.description) AS description, "
                 "MAX(p.pub_date) AS pub_date FROM images i JOIN posts p ON p.post_url = i.post_url "
                 "WHERE i.fetch_status = 'ok' AND i.sha256 IS NOT NULL GROUP BY i.sha256 "
                 "ORDER BY pub_date DESC, i.sha256")
    with connect(workspace) as conn:
        expected = [tuple(row) for row in conn.execute(reference)]
    every = read_image_page(workspace, [], 80, 0, -1)
    assert [tuple(None if value != value else value for value in row) for row in every.itertuples(index=False)] \
        == expected
    by_hash = {row[0]: row for row in expected}
    assert len(expected) == 5 and expected[0][0] == hashes["C"]  # also in post G, the newest
    assert by_hash[hashes["A"]][2:] == ("https://www.instagram.com/p/A/", "caption of A", "2020-01-02T00:00:00Z")
    assert read_image_page(workspace, [], 80, 2, 2)["sha256"].tolist() == [row[0] for row in expected[2:4]]


def test_label_keys_are_every_label_stored_whatever_its_confidence(workspace: Workspace,
                                                                   hashes: dict[str, str]) -> None:
    from kayfabe_core.gallery import list_label_keys

    keys = list_label_keys(workspace)
    every = list_labels(workspace, 0)
    assert set(zip(keys["source"], keys["key"], keys["name"], strict=True)) == set(
        zip(every["source"], every["key"], every["name"], strict=True))
    assert keys["name"].tolist() == ["Breakfast", "Person", "Wrestling"]
    assert "Wrestling" not in set(list_labels(workspace, 96)["key"])  # still offered above its confidence
