"""Drawing primitives for the demo's cartoon pictures, in unit coordinates.

A :class:`Canvas` wraps a square Pillow image; every coordinate and line width
is a fraction of the side, so pictures look the same at any size.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Sequence

from PIL import Image, ImageDraw

RGB = tuple[int, int, int]
Point = tuple[float, float]

SKIN_TONES: tuple[RGB, ...] = ((241, 194, 160), (224, 172, 130), (198, 134, 96), (141, 85, 54),
                               (92, 58, 36), (255, 214, 182))
HAIR_COLOURS: tuple[RGB, ...] = ((30, 22, 18), (80, 50, 30), (150, 100, 50), (220, 190, 120),
                                 (120, 30, 30), (60, 60, 70))
BRIGHT: tuple[RGB, ...] = ((220, 40, 60), (40, 90, 200), (250, 180, 30), (40, 160, 90),
                           (150, 60, 190), (240, 110, 30), (30, 170, 190), (230, 80, 150))


def vary(rng: random.Random, colour: RGB, amount: int = 18) -> RGB:
    """Return ``colour`` with each channel moved by up to ``amount``, kept in 0..255."""
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in colour)  # type: ignore[return-value]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Return the colour a fraction ``t`` of the way from ``a`` to ``b``."""
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t),
            round(a[2] + (b[2] - a[2]) * t))


class Canvas:
    """A square RGB picture drawn in unit coordinates (0..1 on both axes)."""

    def __init__(self, size: int, rng: random.Random, background: RGB) -> None:
        self.size = size
        self.rng = rng
        self.image = Image.new("RGB", (size, size), background)
        self.draw = ImageDraw.Draw(self.image)

    def _p(self, x: float, y: float) -> tuple[float, float]:
        return (x * self.size, y * self.size)

    def _w(self, width: float) -> int:
        return max(1, round(width * self.size))

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: RGB | None,
             outline: RGB | None = None, width: float = 0.006, radius: float = 0.0) -> None:
        """Draw a (rounded) rectangle."""
        box = (*self._p(x0, y0), *self._p(x1, y1))
        w = self._w(width) if outline else 0
        if radius:
            self.draw.rounded_rectangle(box, radius=radius * self.size, fill=fill, outline=outline, width=w)
        else:
            self.draw.rectangle(box, fill=fill, outline=outline, width=w)

    def ellipse(self, x0: float, y0: float, x1: float, y1: float, fill: RGB | None,
                outline: RGB | None = None, width: float = 0.006) -> None:
        """Draw an ellipse inside the box."""
        box = (*self._p(x0, y0), *self._p(x1, y1))
        self.draw.ellipse(box, fill=fill, outline=outline, width=self._w(width) if outline else 0)

    def circle(self, cx: float, cy: float, r: float, fill: RGB | None,
               outline: RGB | None = None, width: float = 0.006) -> None:
        """Draw a circle of radius ``r`` around (cx, cy)."""
        self.ellipse(cx - r, cy - r, cx + r, cy + r, fill, outline, width)

    def poly(self, points: Sequence[Point], fill: RGB | None, outline: RGB | None = None) -> None:
        """Draw a filled polygon."""
        self.draw.polygon([self._p(x, y) for x, y in points], fill=fill, outline=outline)

    def line(self, points: Sequence[Point], fill: RGB, width: float = 0.01) -> None:
        """Draw a polyline with rounded joints."""
        self.draw.line([self._p(x, y) for x, y in points], fill=fill, width=self._w(width), joint="curve")

    def arc(self, x0: float, y0: float, x1: float, y1: float, start: float, end: float,
            fill: RGB, width: float = 0.01) -> None:
        """Draw an arc of the ellipse in the box, from ``start`` to ``end`` degrees."""
        self.draw.arc((*self._p(x0, y0), *self._p(x1, y1)), start, end, fill=fill, width=self._w(width))

    def pieslice(self, x0: float, y0: float, x1: float, y1: float, start: float, end: float,
                 fill: RGB) -> None:
        """Draw a filled pie slice of the ellipse in the box."""
        self.draw.pieslice((*self._p(x0, y0), *self._p(x1, y1)), start, end, fill=fill)

    def gradient(self, y0: float, y1: float, top: RGB, bottom: RGB) -> None:
        """Fill the band between ``y0`` and ``y1`` with a vertical gradient."""
        first, last = round(y0 * self.size), round(y1 * self.size)
        for row in range(first, last):
            t = (row - first) / max(1, last - first - 1)
            self.draw.line([(0, row), (self.size, row)], fill=mix(top, bottom, t))

    def star(self, cx: float, cy: float, r: float, fill: RGB, points: int = 5) -> None:
        """Draw a star with ``points`` tips."""
        pts = []
        for i in range(points * 2):
            radius = r if i % 2 == 0 else r * 0.45
            angle = math.pi * i / points - math.pi / 2
            pts.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
        self.poly(pts, fill)

    def jpeg(self, quality: int = 80) -> bytes:
        """Return the picture as JPEG bytes."""
        out = io.BytesIO()
        self.image.save(out, format="JPEG", quality=quality)
        return out.getvalue()


def figure(c: Canvas, x: float, feet: float, h: float, top: RGB, legs: RGB, skin: RGB,
           hair: RGB, pose: str = "stand") -> None:
    """Draw a chunky standing person of height ``h`` whose feet are at (x, feet).

    ``pose`` is one of stand, arms_up, hips, reach_left, reach_right, wave.
    """
    head_r = 0.085 * h
    shoulder_y, hip_y = feet - 0.76 * h, feet - 0.42 * h
    limb = 0.075 * h
    c.line([(x - 0.06 * h, hip_y), (x - 0.09 * h, feet)], legs, limb)
    c.line([(x + 0.06 * h, hip_y), (x + 0.09 * h, feet)], legs, limb)
    _arms(c, x, shoulder_y, h, skin, pose, limb * 0.8)
    c.poly([(x - 0.14 * h, shoulder_y), (x + 0.14 * h, shoulder_y),
            (x + 0.11 * h, hip_y + 0.02 * h), (x - 0.11 * h, hip_y + 0.02 * h)], top)
    _head(c, x, shoulder_y - head_r * 1.05, head_r, skin, hair)


def bust(c: Canvas, x: float, bottom: float, h: float, top: RGB, skin: RGB, hair: RGB,
         pose: str = "stand") -> None:
    """Draw a person from the waist up (height ``h`` from waist to crown), e.g. behind a table."""
    head_r = 0.2 * h
    shoulder_y = bottom - 0.55 * h
    _arms(c, x, shoulder_y, h * 1.4, skin, pose, 0.1 * h)
    c.poly([(x - 0.3 * h, shoulder_y), (x + 0.3 * h, shoulder_y),
            (x + 0.26 * h, bottom), (x - 0.26 * h, bottom)], top)
    _head(c, x, shoulder_y - head_r * 1.05, head_r, skin, hair)


def _arms(c: Canvas, x: float, sy: float, h: float, skin: RGB, pose: str, width: float) -> None:
    sx = 0.13 * h
    hands = {
        "stand": ((-0.2, 0.33), (0.2, 0.33)),
        "arms_up": ((-0.3, -0.28), (0.3, -0.28)),
        "hips": ((-0.1, 0.28), (0.1, 0.28)),
        "reach_left": ((-0.42, 0.04), (-0.36, 0.12)),
        "reach_right": ((0.36, 0.12), (0.42, 0.04)),
        "wave": ((-0.2, 0.33), (0.32, -0.25)),
        "mic": ((-0.2, 0.33), (0.03, -0.04)),
    }[pose]
    elbows = {"hips": ((-0.26, 0.14), (0.26, 0.14)), "mic": ((-0.22, 0.17), (0.2, 0.18))}
    for side, (hx, hy) in zip((-1, 1), hands, strict=True):
        start = (x + side * sx, sy + 0.02 * h)
        if pose in elbows:
            ex, ey = elbows[pose][0 if side < 0 else 1]
            c.line([start, (x + ex * h, sy + ey * h), (x + hx * h, sy + hy * h)], skin, width)
        else:
            c.line([start, (x + hx * h, sy + hy * h)], skin, width)


def _head(c: Canvas, x: float, y: float, r: float, skin: RGB, hair: RGB) -> None:
    c.circle(x, y - r * 0.12, r * 1.08, hair)
    c.circle(x, y + r * 0.05, r, skin)
    c.pieslice(x - r * 1.08, y - r * 1.2, x + r * 1.08, y + r * 0.6, 180, 360, hair)


def crowd(c: Canvas, x0: float, y0: float, x1: float, y1: float, n: int, dim: float = 0.55) -> None:
    """Draw ``n`` small heads-and-shoulders in the box, dimmed towards black by ``dim``."""
    rng = c.rng
    for _ in range(n):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        r = 0.008 + 0.012 * (y - y0) / max(1e-6, y1 - y0)
        body = mix(rng.choice(BRIGHT), (0, 0, 0), dim)
        c.ellipse(x - 1.8 * r, y + 0.6 * r, x + 1.8 * r, y + 3.2 * r, body)
        c.circle(x, y, r, mix(rng.choice(SKIN_TONES), (0, 0, 0), dim))
