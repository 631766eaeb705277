"""Cartoon pictures for the demo's images, drawn with Pillow (no fonts, no files).

:func:`draw_picture` gives JPEG bytes of a simple but recognisable drawing of a
scene; the seed varies colours and positions, and the same (scene, seed, size)
always gives the same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from kayfabe_core.demo import painters_life, painters_show
from kayfabe_core.demo.drawing import Canvas

MIN_SIZE = 80
"""Rekognition's smallest accepted side, in pixels."""

PAINTERS: dict[str, Callable[[Canvas], None]] = {
    "ring_match": painters_show.ring_match,
    "entrance": painters_show.entrance,
    "title_belt": painters_show.title_belt,
    "backstage_promo": painters_show.backstage_promo,
    "photo_shoot": painters_show.photo_shoot,
    "press_event": painters_show.press_event,
    "fan_meetup": painters_show.fan_meetup,
    "charity_event": painters_show.charity_event,
    "gym_training": painters_life.gym_training,
    "travel_airport": painters_life.travel_airport,
    "car_selfie": painters_life.car_selfie,
    "beach": painters_life.beach,
    "family_dinner": painters_life.family_dinner,
    "breakfast": painters_life.breakfast,
    "pet_dog": painters_life.pet_dog,
}
"""Scene name -> the function that paints it."""


def draw_picture(scene: str, seed: int, size: int = 320) -> bytes:
    """Return JPEG bytes (quality 80) of a ``size`` x ``size`` cartoon of ``scene``.

    Raises KeyError for an unknown scene and ValueError when ``size`` is under 80.
    """
    if size < MIN_SIZE:
        raise ValueError(f"size must be at least {MIN_SIZE} px, got {size}")
    painter = PAINTERS[scene]
    canvas = Canvas(size, random.Random(seed), (0, 0, 0))
    painter(canvas)
    return canvas.jpeg(quality=80)
