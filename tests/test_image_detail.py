"""One image's detail: labels, posts, and bounding boxes drawn on it."""

import io
import json

import pytest
from PIL import Image

from kayfabe_core.image_detail import Box, draw_boxes, read_image_detail
from kayfabe_core.labels import store_response
from kayfabe_core.workspace import Workspace, transaction
from tests.test_gallery import labelled_workspace, picture


def test_detail_has_labels_posts_and_boxes(workspace: Workspace) -> None:
    hashes = labelled_workspace(workspace)
    box = {"Left": 0.1, "Top": 0.2, "Width": 0.3, "Height": 0.4}
    celebrities = {"CelebrityFaces": [{"Name": "Ada Example", "Id": "x1", "MatchConfidence": 97.0, "Urls": [],
                                       "Face": {"BoundingBox": box}}], "UnrecognizedFaces": []}
    with transaction(workspace) as conn:
        store_response(conn, hashes["A"], "RecognizeCelebrities", celebrities, origin="test", called_at="t")
    detail = read_image_detail(workspace, hashes["A"])
    assert set(detail.labels["name"]) == {"Wrestling", "Person", "Ada Example"}
    assert list(detail.posts["post_url"]) == ["https://www.instagram.com/p/A/"]
    assert detail.boxes == (Box("Ada Example", "celebrity", 97.0, 0.1, 0.2, 0.3, 0.4),)
    with pytest.raises(KeyError):
        read_image_detail(workspace, "0" * 64)
    with transaction(workspace) as conn:  # a workspace from before responses were compressed: JSON text
        stored = conn.execute("SELECT response FROM responses WHERE operation = 'RecognizeCelebrities'").fetchone()[0]
        assert isinstance(stored, bytes)
        conn.execute("UPDATE stored_responses SET response = ? WHERE operation = 'RecognizeCelebrities'",
                      (json.dumps(celebrities),))
    assert read_image_detail(workspace, hashes["A"]).boxes == detail.boxes


def test_boxes_are_drawn_where_they_say_and_low_ones_skipped() -> None:
    box = Box("Thing", "label", 90.0, 0.5, 0.5, 0.25, 0.25)
    drawn = Image.open(io.BytesIO(draw_boxes(picture("white"), (box,), 80))).convert("RGB")
    assert drawn.getpixel((50, 62)) != (255, 255, 255)      # on the left edge of the box
    assert drawn.getpixel((20, 20))[0] > 240                  # outside: untouched
    plain = Image.open(io.BytesIO(draw_boxes(picture("white"), (box,), 95))).convert("RGB")
    assert plain.getpixel((50, 62))[2] > 240                  # below the threshold: no box


def test_names_of_boxes_sharing_a_corner_are_stacked_not_overlaid() -> None:
    from PIL import ImageDraw

    from kayfabe_core.image_detail import _name_tag, _overlap

    draw = ImageDraw.Draw(Image.new("RGB", (400, 400), "white"))
    taken: list[tuple[float, float, float, float]] = []
    for name in ("Woman", "Adult", "Person"):
        taken.append(_name_tag(draw, Box(name, "label", 92.0, 0.1, 0.1, 0.5, 0.5), (43.0, 42.0), taken))
    assert not any(_overlap(a, b) for i, a in enumerate(taken) for b in taken[i + 1:])
    assert taken[0][1] < taken[1][1] < taken[2][1] and taken[0][0] == taken[1][0] == taken[2][0]  # one column
