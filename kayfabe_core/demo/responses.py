"""Fake Rekognition answers for one demo image, shaped exactly as boto3 returns them.

Labels come from the image's scene (each with its chance and confidence range),
plus now and then the labels of a confusable other scene and a few random
off-scene labels, so that labels predict the hand code only with noise.
Ancestors are returned as labels of their own, as Rekognition does.
"""

from __future__ import annotations

import random
import struct
from typing import Any

from kayfabe_core.demo.accounts import STRANGERS, Account, Celebrity
from kayfabe_core.demo.labels import LABEL_NAMES, LABELS, MODERATION, moderation_chain
from kayfabe_core.demo.scenes import SCENES, Scene

LABEL_MODEL_VERSION = "3.0"
MODERATION_MODEL_VERSION = "7.0"
P_CONFUSE = 0.08
"""Chance that an image also shows labels of another, random scene."""
MEAN_NOISE_LABELS = 1.2
"""Mean number of random off-scene labels per image."""
P_NOISE_MODERATION = 0.02
"""Chance of one random moderation label on any image."""

_PERSON_LABELS = frozenset(
    name for name, info in LABELS.items() if name == "Person" or "Person" in info.parents
)
_SCENE_WEIGHTS = [scene.weight for scene in SCENES]


def build_responses(scene: Scene, account: Account, seed: int) -> dict[str, dict[str, Any]]:
    """Return {operation name: response dict} for one image of ``scene``.

    The operations are DetectLabels, DetectModerationLabels and
    RecognizeCelebrities; the same (scene, account, seed) gives the same answer.
    """
    rng = random.Random(seed)
    n_people = rng.randint(*scene.people)
    return {
        "DetectLabels": detect_labels(scene, n_people, rng),
        "DetectModerationLabels": detect_moderation_labels(scene, rng),
        "RecognizeCelebrities": recognize_celebrities(scene, account, n_people, rng),
    }


def detect_labels(scene: Scene, n_people: int, rng: random.Random) -> dict[str, Any]:
    """Return a DetectLabels response for ``scene`` with ``n_people`` people in it."""
    found: dict[str, float] = {}
    _draw_scene_labels(found, scene, n_people, rng, strength=1.0)
    if rng.random() < P_CONFUSE:
        other = rng.choices(SCENES, weights=_SCENE_WEIGHTS)[0]
        _draw_scene_labels(found, other, n_people or 1, rng, strength=0.5)
    for _ in range(_poisson(rng, MEAN_NOISE_LABELS)):
        high = 92.0 if rng.random() < 0.25 else 75.0
        _keep_max(found, rng.choice(LABEL_NAMES), rng.uniform(50.0, high))
    _add_ancestors(found)
    ordered = sorted(found.items(), key=lambda item: (-item[1], item[0]))
    labels = [_label(name, conf, n_people, rng) for name, conf in ordered]
    return {"Labels": labels, "LabelModelVersion": LABEL_MODEL_VERSION}


def detect_moderation_labels(scene: Scene, rng: random.Random) -> dict[str, Any]:
    """Return a DetectModerationLabels response (model 7) for ``scene``."""
    found: dict[str, float] = {}
    for draw in scene.moderation:
        if rng.random() < draw.p:
            _add_moderation(found, draw.name, rng.uniform(draw.low, draw.high))
    if rng.random() < P_NOISE_MODERATION:
        leaves = [name for name, (_, level) in MODERATION.items() if level > 1]
        _add_moderation(found, rng.choice(leaves), rng.uniform(50.0, 70.0))
    ordered = sorted(found.items(), key=lambda item: (-item[1], MODERATION[item[0]][1]))
    labels = [
        {"Confidence": _f32(conf), "Name": name, "ParentName": MODERATION[name][0],
         "TaxonomyLevel": MODERATION[name][1]}
        for name, conf in ordered
    ]
    return {"ModerationLabels": labels, "ModerationModelVersion": MODERATION_MODEL_VERSION,
            "ContentTypes": []}


def recognize_celebrities(scene: Scene, account: Account, n_people: int,
                          rng: random.Random) -> dict[str, Any]:
    """Return a RecognizeCelebrities response: known faces, then the unrecognised ones."""
    known: list[Celebrity] = []
    if n_people and rng.random() < scene.p_self:
        known.append(account.person)
    if n_people > len(known) and rng.random() < scene.p_rival:
        known.append(rng.choice(account.rivals))
    if n_people > len(known) and rng.random() < scene.p_stranger:
        known.append(rng.choice(STRANGERS))
    faces = [_celebrity_face(celebrity, rng) for celebrity in known]
    unknown = [_face(rng) for _ in range(n_people - len(known)) if rng.random() < 0.7]
    return {"CelebrityFaces": faces, "UnrecognizedFaces": unknown}


def _draw_scene_labels(found: dict[str, float], scene: Scene, n_people: int,
                       rng: random.Random, strength: float) -> None:
    for draw in scene.labels:
        if n_people == 0 and draw.name in _PERSON_LABELS:
            continue
        if rng.random() < draw.p * strength:
            low, high = draw.low, draw.high
            if strength < 1.0:
                high = low + (high - low) * 0.6
            _keep_max(found, draw.name, rng.triangular(low, high, high))


def _add_ancestors(found: dict[str, float]) -> None:
    """Give every label's ancestors (transitively) at least the label's confidence."""
    pending = list(found)
    while pending:
        name = pending.pop()
        for parent in LABELS[name].parents:
            if found[name] > found.get(parent, 0.0):
                found[parent] = found[name]
                pending.append(parent)


def _add_moderation(found: dict[str, float], name: str, conf: float) -> None:
    for depth, link in enumerate(moderation_chain(name)):
        _keep_max(found, link, min(99.9, conf + 0.5 * depth))


def _keep_max(found: dict[str, float], name: str, conf: float) -> None:
    if conf > found.get(name, 0.0):
        found[name] = conf


def _label(name: str, conf: float, n_people: int, rng: random.Random) -> dict[str, Any]:
    info = LABELS[name]
    instances: list[dict[str, Any]] = []
    if info.instances:
        count = max(1, n_people) if name in _PERSON_LABELS else 1 + (rng.random() < 0.15)
        instances = [{"BoundingBox": _box(rng, 0.15, 0.9),
                      "Confidence": _f32(conf if i == 0 else rng.uniform(50.0, conf))}
                     for i in range(count)]
    return {"Name": name, "Confidence": _f32(conf), "Instances": instances,
            "Parents": [{"Name": parent} for parent in info.parents], "Aliases": [],
            "Categories": [{"Name": category} for category in info.categories]}


def _celebrity_face(celebrity: Celebrity, rng: random.Random) -> dict[str, Any]:
    match = rng.uniform(80.0, 99.9) if rng.random() < 0.8 else rng.uniform(55.0, 80.0)
    if celebrity in STRANGERS:
        match = rng.uniform(55.0, 92.0)
    return {"Urls": [], "Name": celebrity.name, "Id": celebrity.id, "Face": _face(rng),
            "MatchConfidence": _f32(match), "KnownGender": {"Type": celebrity.gender}}


def _face(rng: random.Random) -> dict[str, Any]:
    return {"BoundingBox": _box(rng, 0.06, 0.35), "Confidence": _f32(rng.uniform(97.0, 99.999))}


def _box(rng: random.Random, smallest: float, largest: float) -> dict[str, float]:
    width = rng.uniform(smallest, largest)
    height = min(1.0, width * rng.uniform(0.8, 1.6))
    return {"Width": _f32(width), "Height": _f32(height),
            "Left": _f32(rng.uniform(0.0, 1.0 - width)), "Top": _f32(rng.uniform(0.0, 1.0 - height))}


def _poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def _f32(value: float) -> float:
    """Round ``value`` through a 32-bit float, as Rekognition's JSON numbers are."""
    return struct.unpack("f", struct.pack("f", value))[0]
