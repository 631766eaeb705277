"""Everything known about one image: its labels, its posts, and its boxes drawn on it."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pandas as pd
from PIL import Image, ImageDraw

from kayfabe_core.response_store import unpacked
from kayfabe_core.workspace import Workspace, connect

BOX_COLOURS = {"label": "#ffb000", "celebrity": "#00c2ff"}


@dataclass(frozen=True)
class Box:
    """A bounding box as Rekognition gives it: ratios of the image's width and height."""

    name: str
    source: str
    confidence: float
    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class ImageDetail:
    """One image: where its bytes are, its labels (all confidences), boxes and posts."""

    sha256: str
    ext: str
    labels: pd.DataFrame
    boxes: tuple[Box, ...]
    posts: pd.DataFrame


def read_image_detail(workspace: Workspace, sha256: str) -> ImageDetail:
    """Return the :class:`ImageDetail` of the image with hash ``sha256``.

    Raises ``KeyError`` when no fetched image has that hash.
    """
    with connect(workspace) as conn:
        row = conn.execute("SELECT ext FROM images WHERE sha256 = ? AND fetch_status = 'ok' LIMIT 1",
                           (sha256,)).fetchone()
        if row is None:
            raise KeyError(sha256)
        labels = pd.read_sql_query(
            "SELECT source, name, confidence, parents, model_version FROM labels WHERE sha256 = ? "
            "ORDER BY source, confidence DESC", conn, params=[sha256])
        posts = pd.read_sql_query(
            "SELECT p.post_url, p.pub_date, p.media_type, p.description FROM images i "
            "JOIN posts p ON p.post_url = i.post_url WHERE i.sha256 = ? ORDER BY p.pub_date", conn,
            params=[sha256])
        responses = conn.execute(
            "SELECT operation, response FROM responses WHERE sha256 = ? AND response IS NOT NULL", (sha256,)
        ).fetchall()
    labels["parents"] = labels["parents"].map(lambda text: ", ".join(json.loads(text or "[]")))
    boxes = tuple(box for operation, stored in responses for box in _boxes(operation, unpacked(stored)))
    return ImageDetail(sha256, str(row[0]), labels, boxes, posts)


def _boxes(operation: str, response: dict) -> list[Box]:  # type: ignore[type-arg]
    if operation == "DetectLabels":
        return [_box(label["Name"], "label", instance.get("Confidence", label["Confidence"]),
                     instance["BoundingBox"])
                for label in response.get("Labels", []) for instance in label.get("Instances", [])
                if instance.get("BoundingBox")]
    if operation == "RecognizeCelebrities":
        return [_box(face["Name"], "celebrity", face["MatchConfidence"], face["Face"]["BoundingBox"])
                for face in response.get("CelebrityFaces", []) if face.get("Face", {}).get("BoundingBox")]
    return []


def _box(name: str, source: str, confidence: float, box: dict) -> Box:  # type: ignore[type-arg]
    return Box(name, source, float(confidence), float(box["Left"]), float(box["Top"]),
               float(box["Width"]), float(box["Height"]))


def draw_boxes(image_bytes: bytes, boxes: tuple[Box, ...], min_confidence: float) -> bytes:
    """Return a PNG of the image with the boxes at ``min_confidence`` or more drawn and named."""
    with Image.open(io.BytesIO(image_bytes)) as opened:
        picture = opened.convert("RGB")
    draw = ImageDraw.Draw(picture)
    width, height = picture.size
    shown = [box for box in boxes if box.confidence >= min_confidence]
    taken: list[tuple[float, float, float, float]] = []  # the name tags drawn so far
    for box in shown:
        corners = (box.left * width, box.top * height,
                   (box.left + box.width) * width, (box.top + box.height) * height)
        draw.rectangle(corners, outline=BOX_COLOURS.get(box.source, "#ffffff"), width=max(2, width // 160))
    for box in shown:  # the names after every outline: no outline crosses a name
        taken.append(_name_tag(draw, box, (box.left * width + 3, box.top * height + 2), taken))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _name_tag(draw: ImageDraw.ImageDraw, box: Box, corner: tuple[float, float],
              taken: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    """Write the box's name and confidence on a dark tag at ``corner``, moved down below any tag it would cover
    (boxes of one person, say Woman and Adult, share a corner); return the tag's rectangle."""
    text = f"{box.name} {box.confidence:.0f}"
    left, top, right, bottom = draw.textbbox(corner, text)
    tag = (left - 2, top - 1, right + 2, bottom + 1)
    while any(_overlap(tag, other) for other in taken):
        shift = tag[3] - tag[1] + 1
        tag = (tag[0], tag[1] + shift, tag[2], tag[3] + shift)
    draw.rectangle(tag, fill="#000000")
    draw.text((tag[0] + 2, tag[1] + 1 + (corner[1] - top)), text, fill=BOX_COLOURS.get(box.source, "#ffffff"))
    return tag


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
