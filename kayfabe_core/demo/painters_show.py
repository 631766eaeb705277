"""Painters for the wrestling-show scenes (ring, entrance, belt, promo, press, fans, shoot, charity)."""

from __future__ import annotations

from kayfabe_core.demo.drawing import BRIGHT, HAIR_COLOURS, SKIN_TONES, Canvas, bust, crowd, figure, mix, vary

GOLD = (224, 178, 52)
DARK_GOLD = (160, 118, 24)


def _person(c: Canvas) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    """Return (outfit, skin, hair) colours for one person."""
    rng = c.rng
    return vary(rng, rng.choice(BRIGHT)), rng.choice(SKIN_TONES), rng.choice(HAIR_COLOURS)


def _spotlights(c: Canvas, count: int, colour: tuple[int, int, int]) -> None:
    rng = c.rng
    for _ in range(count):
        top = rng.uniform(0.1, 0.9)
        base = rng.uniform(0.25, 0.75)
        c.poly([(top - 0.02, 0.0), (top + 0.02, 0.0), (base + 0.14, 0.72), (base - 0.14, 0.72)], colour)


def ring_match(c: Canvas) -> None:
    """A wrestling ring with ropes and corner posts, two wrestlers, a crowd under spotlights."""
    rng = c.rng
    c.gradient(0.0, 1.0, vary(rng, (12, 14, 40)), vary(rng, (40, 30, 60)))
    _spotlights(c, rng.randint(2, 3), vary(rng, (60, 62, 100), 10))
    crowd(c, 0.0, 0.3, 1.0, 0.58, 160)
    mat = vary(rng, (225, 225, 232), 10)
    c.poly([(0.14, 0.6), (0.86, 0.6), (0.97, 0.84), (0.03, 0.84)], mat)
    c.rect(0.03, 0.84, 0.97, 0.97, vary(rng, rng.choice(BRIGHT)))
    rope = vary(rng, rng.choice(((220, 30, 40), (240, 240, 240), (30, 60, 200))), 10)
    post = (40, 40, 48)
    for x in (0.14, 0.86):
        c.rect(x - 0.012, 0.44, x + 0.012, 0.61, post)
    for k in range(3):
        c.line([(0.14, 0.47 + 0.045 * k), (0.86, 0.47 + 0.045 * k)], rope, 0.008)
    a, b = _person(c), _person(c)
    mid = rng.uniform(0.42, 0.58)
    figure(c, mid - 0.09, 0.76, 0.34, a[0], (20, 20, 20), a[1], a[2], "reach_right")
    figure(c, mid + 0.09, 0.77, 0.33, b[0], (20, 20, 20), b[1], b[2], "reach_left")
    for x in (0.03, 0.97):
        c.rect(x - 0.018, 0.5, x + 0.018, 0.86, post)
    for k in range(3):
        y = 0.55 + 0.07 * k
        c.line([(0.03, y), (0.97, y)], rope, 0.011)
        c.line([(0.03, y), (0.14, y - 0.07)], rope, 0.008)
        c.line([(0.97, y), (0.86, y - 0.07)], rope, 0.008)


def entrance(c: Canvas) -> None:
    """An entrance ramp with a big screen, pyro and a wrestler with arms raised."""
    rng = c.rng
    c.gradient(0.0, 1.0, (8, 8, 20), vary(rng, (30, 20, 50)))
    screen = vary(rng, rng.choice(BRIGHT))
    c.rect(0.18, 0.04, 0.82, 0.34, mix(screen, (0, 0, 0), 0.3), (200, 200, 220), 0.008)
    c.poly([(0.52, 0.07), (0.4, 0.2), (0.49, 0.2), (0.44, 0.32), (0.6, 0.16), (0.51, 0.16), (0.58, 0.07)],
           (255, 235, 120))
    crowd(c, 0.0, 0.45, 0.2, 0.98, 50)
    crowd(c, 0.8, 0.45, 1.0, 0.98, 50)
    c.poly([(0.34, 0.4), (0.66, 0.4), (0.86, 1.0), (0.14, 1.0)], (45, 45, 55))
    c.line([(0.34, 0.4), (0.14, 1.0)], (120, 160, 255), 0.008)
    c.line([(0.66, 0.4), (0.86, 1.0)], (120, 160, 255), 0.008)
    for x in (0.27, 0.73):
        h = rng.uniform(0.12, 0.22)
        c.poly([(x - 0.04, 0.45), (x + 0.04, 0.45), (x, 0.45 - h)], (255, 140, 20))
        c.poly([(x - 0.02, 0.45), (x + 0.02, 0.45), (x, 0.45 - h * 0.6)], (255, 230, 90))
    outfit, skin, hair = _person(c)
    figure(c, 0.5 + rng.uniform(-0.05, 0.05), 0.9, 0.42, outfit, (25, 25, 30), skin, hair, "arms_up")


def title_belt(c: Canvas) -> None:
    """A championship belt: leather strap, side plates and a big gold centre plate."""
    rng = c.rng
    c.gradient(0.0, 1.0, vary(rng, (40, 70, 110)), vary(rng, (15, 20, 40)))
    strap = vary(rng, (30, 24, 22), 8)
    y0 = rng.uniform(0.42, 0.47)
    c.rect(0.0, y0, 1.0, y0 + 0.16, strap, radius=0.02)
    c.line([(0.0, y0 + 0.02), (1.0, y0 + 0.02)], (90, 80, 70), 0.003)
    c.line([(0.0, y0 + 0.14), (1.0, y0 + 0.14)], (90, 80, 70), 0.003)
    for x in (0.1, 0.82):
        c.rect(x, y0 - 0.02, x + 0.1, y0 + 0.18, GOLD, DARK_GOLD, 0.006, radius=0.015)
        c.circle(x + 0.05, y0 + 0.08, 0.02, vary(rng, (200, 20, 40)))
    c.ellipse(0.26, y0 - 0.2, 0.74, y0 + 0.36, GOLD, DARK_GOLD, 0.012)
    c.ellipse(0.32, y0 - 0.13, 0.68, y0 + 0.29, (240, 205, 90), DARK_GOLD, 0.006)
    c.star(0.5, y0 + 0.06, 0.11, DARK_GOLD)
    c.circle(0.5, y0 + 0.06, 0.035, vary(rng, rng.choice(((200, 20, 40), (30, 60, 200), (30, 150, 70)))))
    c.rect(0.36, y0 + 0.2, 0.64, y0 + 0.25, (40, 30, 25), radius=0.01)


def backstage_promo(c: Canvas) -> None:
    """A wrestler in a jacket and sunglasses with a microphone, in front of a logo banner."""
    rng = c.rng
    c.gradient(0.0, 1.0, vary(rng, (90, 90, 100)), vary(rng, (50, 50, 60)))
    banner = vary(rng, rng.choice(BRIGHT))
    c.rect(0.05, 0.05, 0.95, 0.55, mix(banner, (0, 0, 0), 0.5))
    for i in range(3):
        for j in range(2):
            c.star(0.2 + 0.3 * i, 0.17 + 0.24 * j, 0.07, vary(rng, (250, 210, 60)))
    outfit, skin, hair = _person(c)
    x = rng.uniform(0.45, 0.6)
    bust(c, x, 1.05, 0.75, (20, 20, 25), skin, hair, "mic")
    c.rect(x - 0.1, 0.48, x + 0.1, 0.52, (10, 10, 10), radius=0.02)
    c.line([(x - 0.04, 0.64), (x + 0.08, 0.58)], (60, 60, 60), 0.018)
    c.circle(x + 0.09, 0.565, 0.035, (35, 35, 35))
    c.poly([(x - 0.05, 0.65), (x + 0.05, 0.65), (x, 0.8)], outfit)


def press_event(c: Canvas) -> None:
    """A press table with three people, microphones and a logo wall behind."""
    rng = c.rng
    c.rect(0.0, 0.0, 1.0, 1.0, vary(rng, (235, 235, 240), 6))
    logo = vary(rng, rng.choice(BRIGHT))
    for i in range(6):
        for j in range(4):
            c.star(0.08 + 0.17 * i + 0.08 * (j % 2), 0.08 + 0.14 * j, 0.03, logo)
    for x in (0.22, 0.5, 0.78):
        outfit, skin, hair = _person(c)
        bust(c, x, 0.68, 0.36, rng.choice((outfit, (30, 30, 40))), skin, hair)
    cloth = vary(rng, rng.choice(((20, 20, 30), (120, 20, 30), (20, 40, 110))))
    c.rect(0.0, 0.66, 1.0, 1.0, cloth)
    c.rect(0.0, 0.64, 1.0, 0.68, mix(cloth, (255, 255, 255), 0.3))
    for x in (0.22, 0.5, 0.78):
        c.line([(x, 0.64), (x + 0.02, 0.55)], (30, 30, 30), 0.008)
        c.circle(x + 0.022, 0.545, 0.014, (50, 50, 50))
        c.rect(x - 0.07, 0.6, x - 0.02, 0.645, (250, 250, 250))
    c.ellipse(0.42, 0.58, 0.58, 0.66, GOLD, DARK_GOLD)


def fan_meetup(c: Canvas) -> None:
    """A signing table with posters on the wall and a queue of fans."""
    rng = c.rng
    c.gradient(0.0, 0.7, vary(rng, (200, 190, 175)), vary(rng, (170, 160, 150)))
    c.rect(0.0, 0.7, 1.0, 1.0, vary(rng, (110, 90, 70)))
    for x in (0.06, 0.38, 0.7):
        c.rect(x, 0.06, x + 0.24, 0.36, vary(rng, rng.choice(BRIGHT)), (30, 30, 30), 0.005)
        c.circle(x + 0.12, 0.15, 0.04, (250, 230, 200))
        c.rect(x + 0.07, 0.2, x + 0.17, 0.32, (30, 30, 30))
    outfit, skin, hair = _person(c)
    bust(c, 0.5, 0.6, 0.3, outfit, skin, hair, "wave")
    c.rect(0.1, 0.56, 0.9, 0.72, (245, 245, 245))
    for k in range(4):
        c.rect(0.2 + 0.15 * k, 0.58, 0.3 + 0.15 * k, 0.66, vary(rng, (120, 120, 140), 40))
    for k in range(rng.randint(3, 5)):
        o, s, h = _person(c)
        figure(c, 0.12 + 0.2 * k + rng.uniform(-0.03, 0.03), 1.08, 0.4, o, (40, 50, 90), s, h)


def photo_shoot(c: Canvas) -> None:
    """A studio backdrop with two softboxes and a posing model."""
    rng = c.rng
    paper = vary(rng, rng.choice(((230, 200, 210), (190, 210, 230), (220, 220, 200), (60, 60, 70))))
    c.gradient(0.0, 1.0, paper, mix(paper, (0, 0, 0), 0.35))
    c.ellipse(-0.2, 0.75, 1.2, 1.15, mix(paper, (255, 255, 255), 0.2))
    for x in (0.1, 0.9):
        c.line([(x, 0.45), (x, 0.95)], (30, 30, 30), 0.01)
        c.line([(x, 0.95), (x - 0.06, 1.0)], (30, 30, 30), 0.008)
        c.line([(x, 0.95), (x + 0.06, 1.0)], (30, 30, 30), 0.008)
        c.rect(x - 0.08, 0.18, x + 0.08, 0.45, (250, 250, 245), (40, 40, 40), 0.008)
    outfit, skin, hair = _person(c)
    figure(c, rng.uniform(0.45, 0.55), 0.92, 0.68, outfit, outfit, skin, hair, "hips")


def charity_event(c: Canvas) -> None:
    """A banner with hearts, balloons, children and an adult holding a big cheque."""
    rng = c.rng
    c.gradient(0.0, 1.0, vary(rng, (250, 235, 210)), vary(rng, (230, 200, 170)))
    c.rect(0.1, 0.04, 0.9, 0.16, vary(rng, (250, 250, 250), 5), (200, 60, 80), 0.006)
    for k in range(5):
        x = 0.2 + 0.15 * k
        c.circle(x - 0.015, 0.09, 0.018, (220, 40, 70))
        c.circle(x + 0.015, 0.09, 0.018, (220, 40, 70))
        c.poly([(x - 0.033, 0.095), (x + 0.033, 0.095), (x, 0.135)], (220, 40, 70))
    for _ in range(rng.randint(4, 7)):
        x, y = rng.uniform(0.05, 0.95), rng.uniform(0.2, 0.4)
        c.line([(x, y + 0.05), (x + rng.uniform(-0.03, 0.03), y + 0.3)], (120, 120, 120), 0.003)
        c.ellipse(x - 0.04, y - 0.05, x + 0.04, y + 0.05, vary(rng, rng.choice(BRIGHT)))
    outfit, skin, hair = _person(c)
    figure(c, 0.72, 0.95, 0.6, outfit, (40, 40, 60), skin, hair, "wave")
    for x in (0.2, 0.36, 0.52):
        o, s, h = _person(c)
        figure(c, x + rng.uniform(-0.03, 0.03), 0.97, rng.uniform(0.3, 0.38), o, (60, 60, 100), s, h, "stand")
    c.rect(0.08, 0.7, 0.62, 0.86, (250, 250, 250), (60, 120, 60), 0.006)
    c.rect(0.08, 0.7, 0.62, 0.73, (60, 150, 80))
    c.line([(0.14, 0.79), (0.4, 0.79)], (80, 80, 80), 0.006)
    c.line([(0.46, 0.82), (0.58, 0.82)], (80, 80, 80), 0.006)
