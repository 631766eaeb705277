"""The Images & labels page on the demo: gallery, filter, charts, detail dialog."""

from __future__ import annotations

from pathlib import Path

import pytest

from kayfabe_core.ingest import ingest_files
from kayfabe_core.workspace import open_workspace
from tests.conftest import make_csv, post_row
from tests.ui.conftest import texts


def test_gallery_filter_charts_and_detail(demo_root: Path, open_app) -> None:
    at = open_app(demo_root)
    at.switch_page("pages/2_images.py").run()
    assert not at.exception
    assert [metric.value for metric in at.metric][:3] == ["1,954", "1,954", "1,954"]
    assert at.segmented_control(key="images_section").value == "Gallery"  # labels exist: the gallery first
    assert not at.get("plotly_chart") and "Calls needed" not in {m.label for m in at.metric}  # one section only
    assert "1,954 images match · 24 per page" in texts(at)
    detail_buttons = [button for button in at.button if button.key and button.key.startswith("detail_")]
    assert len(detail_buttons) == 24
    at.multiselect(key="label_filter").set_value(["label/Wrestling"]).run()
    assert not at.exception
    matched = int(next(c.value for c in at.caption if "images match" in c.value).split()[0].replace(",", ""))
    assert 50 < matched < 1954
    at.slider(key="min_confidence").set_value(99).run()
    narrower = int(next(c.value for c in at.caption if "images match" in c.value).split()[0].replace(",", ""))
    assert narrower < matched
    at.slider(key="min_confidence").set_value(100).run()  # no label of the demo is that sure: say what to do
    assert "No image carries this label at 100 % confidence. Lower the confidence" in texts(at)
    assert not [button for button in at.button if button.key and button.key.startswith("detail_")]
    at.slider(key="min_confidence").set_value(80).run()
    first = [button for button in at.button if button.key and button.key.startswith("detail_")][0]
    first.click().run()
    assert not at.exception
    assert "Open the post" in texts(at)
    assert len(at.dataframe) == 1
    for section in ("Label frequency", "Labels and codes"):
        at.segmented_control(key="images_section").set_value(section).run()
        assert not at.exception and len(at.get("plotly_chart")) == 1
    at.slider(key="min_confidence").set_value(100).run()  # no label of the demo is that sure
    assert "No label is on 20 or more coded images at 100 % confidence or more yet (1,954 images coded so far)" \
        in texts(at)
    at.slider(key="min_confidence").set_value(80).run()
    at.segmented_control(key="images_section").set_value("Fetch & label").run()
    assert {m.label: m.value for m in at.metric}["Calls needed"] == "0"  # the demo's labels are all stored
    assert not at.get("plotly_chart")


def test_fetch_then_label_from_the_page(tmp_path: Path, open_app, monkeypatch: pytest.MonkeyPatch,
                                       moto_url: str, image_server: str) -> None:
    rows = [post_row(code, imgUrl=f"{image_server}/{code.lower()}.jpg?oe=7FFFFFFF") for code in ("A", "B")]
    ingest_files(open_workspace(tmp_path / "ws"), [("p.csv", make_csv(rows).encode())])
    monkeypatch.setenv("KAYFABE_ALLOW_PRIVATE_URLS", "1")
    for name, value in {"AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    at = open_app(tmp_path / "ws")
    at.switch_page("pages/2_images.py").run()
    assert at.segmented_control(key="images_section").value == "Fetch & label"  # nothing labelled: fetch first
    at.segmented_control(key="images_section").set_value("Gallery").run()
    assert "No image has labels yet" in texts(at)
    at.segmented_control(key="images_section").set_value("Fetch & label").run()
    assert "2 images are not fetched yet, so there is nothing to label" in texts(at)  # not a bare $0.00
    at.button(key="fetch").click().run()
    assert not at.exception
    assert "Fetched 2 of 2 images." in "\n".join(s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Calls needed"], metrics["Estimated cost"]) == ("6", "$0.01")
    assert "not fetched yet" not in texts(at)
    assert at.button(key="start_labeling").disabled  # nothing is spent before agreeing
    at.multiselect(key="operations").set_value(["DetectLabels"]).run()  # moto implements only this one
    assert {m.label: m.value for m in at.metric}["Calls needed"] == "2"
    at.checkbox(key="agree_cost").check().run()
    at.button(key="start_labeling").click().run()
    assert not at.exception
    assert "Stored 2 responses; 0 images could not be labelled" in "\n".join(s.value for s in at.success)
    at.run()
    assert {m.label: m.value for m in at.metric}["Calls needed"] == "0"
    at.segmented_control(key="images_section").set_value("Gallery").run()
    assert "2 images match" in texts(at)


def test_read_my_account_limits_sets_the_rate(tmp_path: Path, open_app, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from botocore.stub import Stubber

    from kayfabe_core import rekognition_quota
    from tests.test_rekognition_quota import stub_account

    ingest_files(open_workspace(tmp_path / "ws"), [("p.csv", make_csv([post_row("A")]).encode())])
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    client = boto3.session.Session().client("service-quotas", region_name="us-east-1")
    stubber = Stubber(client)
    stub_account(stubber)
    stubber.add_client_error("list_service_quotas", "AccessDeniedException", http_status_code=400)
    stubber.activate()
    monkeypatch.setattr(rekognition_quota, "make_quota_client", lambda *args: client)
    at = open_app(tmp_path / "ws")
    at.switch_page("pages/2_images.py").run()
    assert at.number_input(key="rate").value == 5.0  # nothing is asked before the click
    at.button(key="read_quota").click().run()
    assert not at.exception
    assert ("Your account allows 5 RecognizeCelebrities calls per second in us-east-1; the rate is set to 4."
            in texts(at))
    assert at.number_input(key="rate").value == 4.0
    assert not at.warning, [w.value for w in at.warning]
    at.multiselect(key="operations").set_value(["DetectLabels"]).run()
    at.button(key="read_quota").click().run()  # the same region: read from the cache, no AWS call
    assert "Your account allows 50 DetectLabels calls per second in us-east-1; the rate is set to 40." in texts(at)
    assert at.number_input(key="rate").value == 40.0
    at.text_input(key="region").set_value("eu-west-1").run()
    at.button(key="read_quota").click().run()  # a new region, and this one refuses
    assert at.number_input(key="rate").value == 5.0
    assert "servicequotas:ListServiceQuotas is missing" in texts(at)
    assert "5 calls per second is a safe default" in texts(at)
    stubber.assert_no_pending_responses()


def test_a_picture_too_small_to_label_is_not_called_waiting_to_be_fetched(demo_root: Path, tmp_path: Path,
                                                                          open_app) -> None:
    """Fetching is done with a too-small picture, as the Fetch button counts: the labelling section says nothing
    waits to be fetched (it used images minus fetched pictures, which also counted it)."""
    import sqlite3

    from tests.conftest import copy_workspace

    root = copy_workspace(demo_root, tmp_path / "ws")
    with sqlite3.connect(root / "kayfabe.sqlite") as conn:
        conn.execute("UPDATE images SET fetch_status = 'too_small' WHERE image_id = (SELECT MIN(image_id) FROM images)")
    at = open_app(root)
    at.switch_page("pages/2_images.py").run()
    at.segmented_control(key="images_section").set_value("Fetch & label").run()
    assert not at.exception and at.button(key="fetch").disabled
    assert "not fetched yet" not in texts(at)
