"""Painters for the everyday scenes (gym, airport, car, beach, dinner, breakfast, dog)."""

from __future__ import annotations

from kayfabe_core.demo.drawing import BRIGHT, HAIR_COLOURS, SKIN_TONES, Canvas, bust, figure, mix, vary

IRON = (55, 55, 60)
WHITE = (248, 248, 246)


def _dumbbell(c: Canvas, x: float, y: float, length: float, colour: tuple[int, int, int]) -> None:
    c.line([(x - length / 2, y), (x + length / 2, y)], (150, 150, 155), length * 0.12)
    for side in (-1, 1):
        end = x + side * length / 2
        c.rect(end - length * 0.14, y - length * 0.28, end + length * 0.14, y + length * 0.28,
               colour, radius=length * 0.05)


def gym_training(c: Canvas) -> None:
    """A gym: mirror, dumbbell rack, a barbell and a person lifting dumbbells."""
    rng = c.rng
    c.rect(0.0, 0.0, 1.0, 0.7, vary(rng, (190, 195, 200)))
    c.rect(0.0, 0.7, 1.0, 1.0, (40, 40, 45))
    c.rect(0.04, 0.06, 0.62, 0.6, (175, 205, 220), (120, 120, 120), 0.01)
    c.line([(0.12, 0.1), (0.3, 0.5)], (215, 235, 245), 0.02)
    c.rect(0.66, 0.42, 0.98, 0.46, IRON)
    c.rect(0.66, 0.58, 0.98, 0.62, IRON)
    colour = vary(rng, rng.choice(((30, 30, 30), (180, 30, 30), (30, 60, 160))))
    for k in range(4):
        _dumbbell(c, 0.7 + 0.08 * k, 0.4, 0.06, colour)
        _dumbbell(c, 0.7 + 0.08 * k, 0.56, 0.07, colour)
    outfit, skin, hair = vary(rng, rng.choice(BRIGHT)), rng.choice(SKIN_TONES), rng.choice(HAIR_COLOURS)
    x = rng.uniform(0.3, 0.42)
    figure(c, x, 0.93, 0.62, outfit, (30, 30, 35), skin, hair, "arms_up")
    hand_y = 0.93 - 0.76 * 0.62 - 0.28 * 0.62
    _dumbbell(c, x - 0.186, hand_y, 0.11, colour)
    _dumbbell(c, x + 0.186, hand_y, 0.11, colour)
    c.line([(0.5, 0.9), (0.98, 0.9)], (170, 170, 175), 0.014)
    for end in (0.56, 0.92):
        c.rect(end - 0.025, 0.78, end + 0.025, 1.0, (20, 20, 20), radius=0.01)
        c.rect(end - 0.045, 0.82, end - 0.025, 0.98, (70, 70, 75), radius=0.005)


def travel_airport(c: Canvas) -> None:
    """An airport window with a plane, a departures board, a suitcase and a traveller."""
    rng = c.rng
    c.rect(0.0, 0.0, 1.0, 1.0, vary(rng, (215, 215, 210)))
    c.gradient(0.05, 0.5, vary(rng, (90, 150, 220)), (200, 225, 245))
    c.rect(0.0, 0.42, 1.0, 0.5, (150, 150, 140))
    x, y = rng.uniform(0.3, 0.6), rng.uniform(0.22, 0.3)
    c.ellipse(x - 0.2, y - 0.035, x + 0.2, y + 0.035, WHITE)
    c.poly([(x - 0.03, y), (x + 0.06, y), (x - 0.05, y + 0.13)], (225, 225, 230))
    c.poly([(x - 0.2, y), (x - 0.15, y), (x - 0.22, y - 0.09)], vary(rng, rng.choice(BRIGHT)))
    for k in range(5):
        c.rect(0.0 + 0.2 * k, 0.05, 0.02 + 0.2 * k, 0.5, (70, 70, 75))
    c.rect(0.0, 0.5, 1.0, 0.53, (70, 70, 75))
    c.rect(0.62, 0.56, 0.96, 0.7, (20, 22, 30))
    for k in range(4):
        c.line([(0.64, 0.58 + 0.03 * k), (0.64 + rng.uniform(0.15, 0.3), 0.58 + 0.03 * k)],
               (250, 200, 40), 0.01)
    c.rect(0.0, 0.74, 1.0, 1.0, (170, 165, 155))
    bag = vary(rng, rng.choice(BRIGHT))
    c.rect(0.56, 0.68, 0.74, 0.94, bag, mix(bag, (0, 0, 0), 0.5), 0.006, radius=0.02)
    c.line([(0.6, 0.68), (0.6, 0.6), (0.7, 0.6), (0.7, 0.68)], (60, 60, 60), 0.01)
    for wx in (0.59, 0.71):
        c.circle(wx, 0.955, 0.015, (20, 20, 20))
    outfit, skin, hair = vary(rng, rng.choice(BRIGHT)), rng.choice(SKIN_TONES), rng.choice(HAIR_COLOURS)
    figure(c, rng.uniform(0.3, 0.4), 0.96, 0.56, outfit, (40, 50, 90), skin, hair, "stand")


def car_selfie(c: Canvas) -> None:
    """A selfie from the driver's seat: windshield, steering wheel, seat belt, sunglasses."""
    rng = c.rng
    c.rect(0.0, 0.0, 1.0, 1.0, (45, 45, 50))
    c.gradient(0.04, 0.4, vary(rng, (120, 170, 230)), (220, 235, 245))
    c.poly([(0.0, 0.4), (1.0, 0.4), (1.0, 0.3), (0.0, 0.3)], vary(rng, (90, 140, 80)))
    c.poly([(0.35, 0.4), (0.45, 0.3), (0.5, 0.3), (0.7, 0.4)], (90, 90, 95))
    c.rect(0.0, 0.4, 1.0, 0.6, (30, 30, 34))
    c.ellipse(-0.1, 0.5, 0.5, 1.1, None, (15, 15, 15), 0.04)
    c.line([(0.2, 0.8), (0.06, 0.75)], (15, 15, 15), 0.03)
    c.rect(0.5, 0.1, 0.95, 0.7, (25, 25, 28), radius=0.05)
    skin, hair = rng.choice(SKIN_TONES), rng.choice(HAIR_COLOURS)
    outfit = vary(rng, rng.choice(BRIGHT))
    x = rng.uniform(0.66, 0.72)
    c.ellipse(x - 0.3, 0.62, x + 0.3, 1.15, outfit)
    c.circle(x, 0.42, 0.2, hair)
    c.circle(x, 0.46, 0.17, skin)
    c.pieslice(x - 0.2, 0.22, x + 0.2, 0.55, 180, 360, hair)
    c.rect(x - 0.15, 0.42, x - 0.02, 0.49, (10, 10, 10), radius=0.02)
    c.rect(x + 0.02, 0.42, x + 0.15, 0.49, (10, 10, 10), radius=0.02)
    c.line([(x - 0.02, 0.45), (x + 0.02, 0.45)], (10, 10, 10), 0.008)
    c.arc(x - 0.08, 0.46, x + 0.08, 0.58, 20, 160, (150, 40, 50), 0.012)
    c.line([(0.42, 0.62), (0.98, 1.0)], (25, 25, 25), 0.05)


def beach(c: Canvas) -> None:
    """Sky, sun, sea with waves, sand, a striped umbrella, a towel and a palm tree."""
    rng = c.rng
    horizon = rng.uniform(0.42, 0.5)
    c.gradient(0.0, horizon, vary(rng, (70, 150, 230)), (190, 225, 250))
    c.circle(rng.uniform(0.15, 0.85), rng.uniform(0.1, 0.2), 0.07, (255, 225, 80))
    c.gradient(horizon, 0.7, vary(rng, (20, 110, 170)), (60, 180, 200))
    for k in range(4):
        y = horizon + 0.05 + 0.05 * k
        c.arc(0.1 + 0.2 * (k % 2), y - 0.02, 0.5 + 0.2 * (k % 2), y + 0.02, 200, 340, (220, 240, 250), 0.006)
    c.gradient(0.68, 1.0, vary(rng, (240, 220, 170)), (225, 195, 140))
    ux = rng.uniform(0.55, 0.7)
    c.line([(ux, 0.58), (ux + 0.03, 0.9)], (90, 70, 50), 0.012)
    stripe = vary(rng, rng.choice(BRIGHT))
    for k in range(6):
        c.pieslice(ux - 0.2, 0.48, ux + 0.2, 0.7, 180 + 30 * k, 210 + 30 * k, stripe if k % 2 else WHITE)
    towel = vary(rng, rng.choice(BRIGHT))
    c.poly([(0.2, 0.82), (0.45, 0.8), (0.5, 0.92), (0.24, 0.95)], towel)
    c.line([(0.21, 0.86), (0.47, 0.84)], WHITE, 0.01)
    px = rng.uniform(0.05, 0.15)
    c.line([(px, 0.98), (px + 0.04, 0.6), (px + 0.1, 0.35)], (120, 85, 50), 0.025)
    for dx, dy in ((-0.14, 0.06), (0.14, 0.08), (-0.08, -0.06), (0.12, -0.05), (0.0, 0.1)):
        c.poly([(px + 0.1, 0.35), (px + 0.1 + dx, 0.35 + dy), (px + 0.1 + dx * 0.6, 0.37 + dy)],
               (40, 140, 60))


def family_dinner(c: Canvas) -> None:
    """A lamp over a dinner table, family members behind it, plates, glasses and candles."""
    rng = c.rng
    c.gradient(0.0, 1.0, vary(rng, (150, 100, 70)), (80, 50, 35))
    c.line([(0.5, 0.0), (0.5, 0.08)], (30, 30, 30), 0.006)
    c.poly([(0.4, 0.16), (0.6, 0.16), (0.54, 0.08), (0.46, 0.08)], (240, 200, 110))
    c.ellipse(0.36, 0.15, 0.64, 0.2, (255, 240, 180))
    n = rng.randint(3, 5)
    for k in range(n):
        x = 0.12 + 0.76 * (k + 0.5) / n
        outfit, skin, hair = vary(rng, rng.choice(BRIGHT)), rng.choice(SKIN_TONES), rng.choice(HAIR_COLOURS)
        bust(c, x, 0.66, rng.uniform(0.26, 0.36), outfit, skin, hair)
    c.rect(0.0, 0.62, 1.0, 1.0, (245, 240, 230))
    c.rect(0.0, 0.92, 1.0, 1.0, vary(rng, (110, 70, 40)))
    for k in range(n):
        x = 0.12 + 0.76 * (k + 0.5) / n
        c.ellipse(x - 0.08, 0.7, x + 0.08, 0.78, WHITE, (190, 190, 190), 0.004)
        c.ellipse(x - 0.045, 0.72, x + 0.045, 0.76, vary(rng, (170, 90, 50), 30))
        c.poly([(x + 0.08, 0.62), (x + 0.12, 0.62), (x + 0.1, 0.67)], (160, 20, 50))
        c.line([(x + 0.1, 0.67), (x + 0.1, 0.71)], (200, 200, 210), 0.005)
    for x in (0.33, 0.67):
        c.rect(x - 0.012, 0.56, x + 0.012, 0.66, (250, 245, 225))
        c.ellipse(x - 0.01, 0.52, x + 0.01, 0.56, (255, 190, 40))


def breakfast(c: Canvas) -> None:
    """A table seen from above: eggs, pancakes, coffee, orange juice, cutlery, berries."""
    rng = c.rng
    wood = vary(rng, (160, 110, 65))
    c.rect(0.0, 0.0, 1.0, 1.0, wood)
    for k in range(1, 5):
        c.line([(0.0, 0.2 * k), (1.0, 0.2 * k)], mix(wood, (0, 0, 0), 0.25), 0.004)
    ex, ey = rng.uniform(0.28, 0.34), rng.uniform(0.34, 0.4)
    c.circle(ex, ey, 0.22, WHITE, (200, 200, 200), 0.004)
    c.ellipse(ex - 0.14, ey - 0.1, ex + 0.04, ey + 0.06, (252, 252, 245))
    c.circle(ex - 0.05, ey - 0.02, 0.04, (250, 180, 20))
    c.ellipse(ex - 0.02, ey + 0.0, ex + 0.14, ey + 0.14, (252, 252, 245))
    c.circle(ex + 0.06, ey + 0.07, 0.035, (250, 180, 20))
    c.line([(ex - 0.12, ey + 0.12), (ex - 0.02, ey + 0.16)], (170, 50, 40), 0.02)
    px, py = rng.uniform(0.68, 0.74), rng.uniform(0.66, 0.72)
    c.circle(px, py, 0.2, WHITE, (200, 200, 200), 0.004)
    for k, r in enumerate((0.15, 0.13, 0.11)):
        c.circle(px, py, r, mix((200, 140, 70), (150, 90, 40), k / 2), (120, 70, 30), 0.004)
    c.rect(px - 0.03, py - 0.03, px + 0.03, py + 0.02, (255, 235, 130))
    cx, cy = rng.uniform(0.74, 0.8), rng.uniform(0.2, 0.26)
    c.circle(cx, cy, 0.1, WHITE, (190, 190, 190), 0.005)
    c.circle(cx, cy, 0.075, (90, 50, 25))
    c.rect(cx + 0.09, cy - 0.025, cx + 0.15, cy + 0.025, WHITE, (190, 190, 190), 0.005, radius=0.02)
    c.circle(0.2, 0.78, 0.08, (255, 160, 30), (230, 230, 230), 0.01)
    c.line([(0.42, 0.66), (0.42, 0.98)], (190, 190, 195), 0.014)
    c.line([(0.48, 0.66), (0.48, 0.98)], (190, 190, 195), 0.014)
    for _ in range(rng.randint(3, 6)):
        c.circle(rng.uniform(0.05, 0.3), rng.uniform(0.9, 0.98), 0.02, (210, 30, 50))


def pet_dog(c: Canvas) -> None:
    """A dog with a collar and a ball, on grass or in front of a couch."""
    rng = c.rng
    if rng.random() < 0.5:
        c.gradient(0.0, 0.45, vary(rng, (120, 180, 235)), (210, 230, 245))
        c.gradient(0.45, 1.0, vary(rng, (90, 170, 70)), (50, 120, 40))
    else:
        c.rect(0.0, 0.0, 1.0, 0.7, vary(rng, (225, 215, 195)))
        couch = vary(rng, rng.choice(((120, 130, 160), (140, 80, 70), (90, 120, 90))))
        c.rect(0.0, 0.22, 1.0, 0.62, couch, radius=0.05)
        c.rect(0.0, 0.7, 1.0, 1.0, vary(rng, (150, 110, 80)))
    fur = vary(rng, rng.choice(((180, 120, 60), (60, 45, 35), (230, 210, 170), (140, 90, 50))))
    dark = mix(fur, (0, 0, 0), 0.4)
    x, y = rng.uniform(0.42, 0.5), rng.uniform(0.58, 0.64)
    c.line([(x + 0.22, y - 0.02), (x + 0.32, y - 0.14)], fur, 0.035)
    for lx in (-0.16, -0.08, 0.12, 0.2):
        c.rect(x + lx - 0.025, y + 0.02, x + lx + 0.025, y + 0.22, fur, radius=0.01)
    c.ellipse(x - 0.22, y - 0.1, x + 0.26, y + 0.1, fur)
    hx, hy = x - 0.24, y - 0.14
    c.circle(hx, hy, 0.1, fur)
    c.ellipse(hx - 0.17, hy - 0.01, hx - 0.03, hy + 0.08, fur)
    c.circle(hx - 0.16, hy + 0.02, 0.022, (20, 20, 20))
    c.circle(hx - 0.01, hy - 0.04, 0.014, (20, 20, 20))
    c.ellipse(hx + 0.02, hy - 0.1, hx + 0.09, hy + 0.06, dark)
    c.line([(hx + 0.06, hy + 0.05), (hx - 0.02, hy + 0.1)], (200, 30, 40), 0.022)
    c.circle(rng.uniform(0.72, 0.85), 0.86, 0.045, (200, 230, 60))
