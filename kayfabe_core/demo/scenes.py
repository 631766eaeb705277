"""The scene catalogue: what kinds of pictures the demo account posts.

Each :class:`Scene` says how often it is posted, how likely a coder is to call
it "in kayfabe" (the wrestler shown in character), which DetectLabels and
moderation labels Rekognition tends to return for it (each with a chance and a
confidence range), and who RecognizeCelebrities may find in it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelDraw:
    """A label a scene produces with chance ``p`` at a confidence in [low, high]."""

    name: str
    p: float
    low: float
    high: float


@dataclass(frozen=True)
class Scene:
    """One kind of picture and the distributions the fake responses are drawn from."""

    name: str
    description: str
    p_yes: float
    weight: float
    people: tuple[int, int]
    labels: tuple[LabelDraw, ...]
    moderation: tuple[LabelDraw, ...]
    p_self: float
    p_rival: float
    p_stranger: float
    like_factor: float


def _draws(rows: tuple[tuple[str, float, float, float], ...]) -> tuple[LabelDraw, ...]:
    return tuple(LabelDraw(*row) for row in rows)


_PEOPLE = (("Person", 0.97, 88, 99.9), ("Adult", 0.8, 75, 99), ("Woman", 0.7, 70, 98),
           ("Female", 0.7, 70, 98), ("Face", 0.6, 60, 97), ("Head", 0.5, 60, 97))


def _scene(name: str, description: str, p_yes: float, weight: float, people: tuple[int, int],
           labels: tuple[tuple[str, float, float, float], ...],
           moderation: tuple[tuple[str, float, float, float], ...] = (),
           celebs: tuple[float, float, float] = (0.5, 0.0, 0.03),
           like_factor: float = 1.0) -> Scene:
    people_rows = _PEOPLE if people[1] > 0 else ()
    return Scene(name, description, p_yes, weight, people, _draws(people_rows + labels),
                 _draws(moderation), celebs[0], celebs[1], celebs[2], like_factor)


SCENES: tuple[Scene, ...] = (
    _scene("ring_match", "a match in the ring: ropes, corner posts, crowd under spotlights",
           0.97, 0.15, (2, 3), (
               ("Wrestling", 0.75, 62, 98), ("Sport", 0.8, 65, 99), ("Martial Arts", 0.35, 55, 90),
               ("Boxing Ring", 0.55, 55, 95), ("Crowd", 0.6, 55, 95), ("Audience", 0.45, 52, 92),
               ("Arena", 0.35, 52, 90), ("Lighting", 0.4, 55, 90), ("Spotlight", 0.2, 52, 85),
               ("Man", 0.25, 60, 95), ("Costume", 0.3, 52, 85), ("Shorts", 0.25, 52, 88)),
           (("Physical Violence", 0.35, 52, 92),), (0.35, 0.45, 0.02), 1.3),
    _scene("entrance", "a ring entrance on the stage ramp, with pyro and a big screen",
           0.94, 0.07, (1, 1), (
               ("Stage", 0.6, 55, 96), ("Lighting", 0.7, 60, 98), ("Spotlight", 0.4, 55, 92),
               ("Concert", 0.4, 52, 90), ("Crowd", 0.55, 55, 93), ("Audience", 0.35, 52, 90),
               ("Performer", 0.45, 52, 90), ("Smoke", 0.3, 52, 88), ("Fireworks", 0.2, 52, 90),
               ("Costume", 0.35, 52, 88), ("Jacket", 0.3, 52, 90), ("Night", 0.2, 52, 80)),
           (("Rude Gestures", 0.05, 52, 80),), (0.4, 0.05, 0.02), 1.2),
    _scene("title_belt", "posing with the championship title belt",
           0.92, 0.07, (1, 2), (
               ("Belt", 0.7, 55, 96), ("Buckle", 0.4, 52, 90), ("Gold", 0.55, 55, 95),
               ("Trophy", 0.45, 52, 92), ("Accessories", 0.6, 55, 96), ("Jewelry", 0.3, 52, 85),
               ("Smile", 0.4, 55, 95), ("Costume", 0.25, 52, 85), ("Tattoo", 0.2, 52, 85)),
           (), (0.6, 0.15, 0.02), 1.6),
    _scene("backstage_promo", "cutting a promo backstage with a microphone in front of a logo",
           0.85, 0.07, (1, 2), (
               ("Microphone", 0.55, 55, 95), ("Electrical Device", 0.45, 55, 95),
               ("Indoors", 0.35, 52, 90), ("Poster", 0.35, 52, 90), ("Logo", 0.35, 52, 90),
               ("Text", 0.4, 55, 95), ("Jacket", 0.35, 52, 92), ("Sunglasses", 0.3, 55, 95),
               ("Corridor", 0.2, 52, 85), ("Costume", 0.2, 52, 85), ("Man", 0.3, 60, 95)),
           (), (0.55, 0.3, 0.02), 1.0),
    _scene("photo_shoot", "a studio photo shoot against a paper backdrop",
           0.7, 0.05, (1, 1), (
               ("Portrait", 0.55, 55, 95), ("Photography", 0.5, 55, 95), ("Fashion", 0.4, 52, 90),
               ("Dress", 0.25, 52, 90), ("Costume", 0.25, 52, 88), ("Cosmetics", 0.3, 52, 85),
               ("Lipstick", 0.2, 52, 85), ("Hair", 0.45, 55, 92), ("Lighting", 0.3, 52, 85)),
           (("Bare Back", 0.12, 52, 85),), (0.6, 0.02, 0.03), 1.5),
    _scene("press_event", "a press conference: a long table, microphones, a logo wall",
           0.6, 0.06, (2, 4), (
               ("Press Conference", 0.35, 52, 90), ("Speech", 0.35, 52, 90),
               ("Microphone", 0.45, 52, 92), ("Electrical Device", 0.35, 52, 92),
               ("Table", 0.45, 52, 90), ("Suit", 0.35, 52, 92), ("Man", 0.5, 60, 97),
               ("Text", 0.35, 52, 92), ("Logo", 0.3, 52, 90), ("Belt", 0.2, 52, 88),
               ("Crowd", 0.3, 52, 88), ("Indoors", 0.3, 52, 88)),
           (), (0.45, 0.35, 0.04), 0.9),
    _scene("fan_meetup", "meeting fans at a signing table with photos and posters",
           0.35, 0.07, (2, 5), (
               ("Crowd", 0.45, 52, 90), ("Smile", 0.55, 55, 96), ("Selfie", 0.35, 52, 92),
               ("Poster", 0.4, 52, 90), ("Text", 0.35, 52, 92), ("Table", 0.35, 52, 88),
               ("T-Shirt", 0.4, 52, 92), ("Man", 0.45, 60, 97), ("Girl", 0.2, 52, 90),
               ("Happy", 0.35, 52, 90), ("Indoors", 0.25, 52, 88)),
           (), (0.45, 0.08, 0.12), 0.9),
    _scene("charity_event", "a charity visit with children, balloons and a big cheque",
           0.2, 0.04, (2, 5), (
               ("Child", 0.55, 55, 96), ("Girl", 0.35, 52, 92), ("Boy", 0.35, 52, 92),
               ("Balloon", 0.5, 55, 97), ("Party", 0.3, 52, 88), ("Smile", 0.5, 55, 95),
               ("Teddy Bear", 0.25, 52, 92), ("Text", 0.35, 52, 90), ("Toy", 0.25, 52, 88),
               ("Indoors", 0.3, 52, 88), ("Happy", 0.3, 52, 90)),
           (), (0.5, 0.05, 0.06), 1.1),
    _scene("gym_training", "training at the gym: dumbbells, barbell, mirror",
           0.12, 0.09, (1, 2), (
               ("Gym", 0.55, 55, 96), ("Fitness", 0.6, 55, 97), ("Working Out", 0.55, 55, 96),
               ("Sport", 0.5, 55, 96), ("Dumbbell", 0.45, 55, 96), ("Sports Equipment", 0.4, 52, 92),
               ("Weightlifting", 0.3, 52, 90), ("Mirror", 0.2, 52, 85), ("Shorts", 0.3, 52, 90),
               ("Skin", 0.3, 52, 85), ("Tattoo", 0.2, 52, 85), ("Indoors", 0.3, 52, 88)),
           (("Female Swimwear or Underwear", 0.08, 52, 80),), (0.4, 0.04, 0.02), 1.1),
    _scene("travel_airport", "at the airport with a suitcase, a plane behind the window",
           0.1, 0.06, (1, 2), (
               ("Airport", 0.45, 55, 96), ("Airport Terminal", 0.35, 52, 92),
               ("Airplane", 0.35, 55, 97), ("Suitcase", 0.4, 55, 95), ("Baggage", 0.4, 52, 92),
               ("Window", 0.3, 52, 90), ("Backpack", 0.2, 52, 90), ("Cap", 0.25, 52, 90),
               ("Sunglasses", 0.25, 52, 92), ("Indoors", 0.3, 52, 88), ("Building", 0.25, 52, 85)),
           (), (0.4, 0.05, 0.03), 0.8),
    _scene("car_selfie", "a selfie in the driver's seat",
           0.08, 0.05, (1, 1), (
               ("Selfie", 0.55, 55, 97), ("Car", 0.45, 55, 95), ("Vehicle", 0.4, 55, 95),
               ("Transportation", 0.4, 55, 95), ("Steering Wheel", 0.3, 52, 92),
               ("Seat Belt", 0.35, 52, 92), ("Sunglasses", 0.35, 55, 96), ("Smile", 0.4, 55, 95),
               ("Portrait", 0.25, 52, 88), ("Window", 0.2, 52, 85)),
           (), (0.7, 0.0, 0.03), 1.0),
    _scene("beach", "a day at the beach: sea, sand, sun and an umbrella",
           0.06, 0.05, (0, 2), (
               ("Beach", 0.6, 60, 99), ("Sea", 0.6, 60, 99), ("Water", 0.6, 60, 99),
               ("Sky", 0.6, 60, 99), ("Sand", 0.45, 55, 97), ("Shoreline", 0.4, 55, 97),
               ("Summer", 0.35, 52, 92), ("Sun", 0.25, 52, 92), ("Umbrella", 0.25, 52, 92),
               ("Palm Tree", 0.2, 52, 92), ("Swimwear", 0.35, 52, 95), ("Bikini", 0.25, 52, 92)),
           (("Female Swimwear or Underwear", 0.45, 55, 97),), (0.3, 0.02, 0.02), 1.8),
    _scene("family_dinner", "dinner with the family: a table, candles, glasses",
           0.05, 0.05, (3, 6), (
               ("Dinner", 0.4, 52, 92), ("Food", 0.55, 55, 97), ("Meal", 0.5, 55, 96),
               ("Dining Table", 0.45, 55, 95), ("Table", 0.45, 55, 95), ("Plate", 0.35, 52, 92),
               ("Glass", 0.3, 52, 92), ("Goblet", 0.2, 52, 90), ("Wine", 0.2, 52, 90),
               ("Candle", 0.2, 52, 88), ("Man", 0.5, 60, 97), ("Child", 0.3, 55, 95),
               ("Family", 0.3, 52, 88), ("Smile", 0.4, 55, 95), ("Indoors", 0.3, 52, 88)),
           (("Alcoholic Beverages", 0.2, 52, 90),), (0.3, 0.02, 0.05), 0.8),
    _scene("breakfast", "breakfast on the table: plates, eggs, pancakes, coffee",
           0.03, 0.06, (0, 1), (
               ("Food", 0.9, 70, 99.5), ("Breakfast", 0.55, 55, 97), ("Brunch", 0.35, 52, 92),
               ("Meal", 0.6, 55, 97), ("Dish", 0.5, 55, 96), ("Plate", 0.45, 55, 96),
               ("Egg", 0.35, 52, 95), ("Pancake", 0.3, 52, 95), ("Bread", 0.3, 52, 92),
               ("Coffee Cup", 0.4, 55, 96), ("Cup", 0.45, 55, 96), ("Beverage", 0.4, 52, 92),
               ("Coffee", 0.3, 52, 90), ("Fork", 0.25, 52, 90), ("Fruit", 0.25, 52, 92),
               ("Dining Table", 0.3, 52, 90)),
           (), (0.15, 0.0, 0.01), 0.7),
    _scene("pet_dog", "her dog on the grass or the couch, with a ball",
           0.03, 0.06, (0, 1), (
               ("Dog", 0.85, 70, 99.5), ("Animal", 0.85, 70, 99.5), ("Pet", 0.8, 70, 99.5),
               ("Mammal", 0.8, 70, 99.5), ("Canine", 0.75, 65, 99), ("Puppy", 0.35, 52, 95),
               ("Grass", 0.3, 52, 95), ("Park", 0.2, 52, 90), ("Ball", 0.2, 52, 92),
               ("Couch", 0.2, 52, 90), ("Furniture", 0.2, 52, 90), ("Outdoors", 0.25, 52, 92)),
           (), (0.15, 0.0, 0.01), 1.4),
)
"""All scenes, in a fixed order (indices into this tuple are scene numbers)."""

SCENE_BY_NAME: dict[str, Scene] = {scene.name: scene for scene in SCENES}
"""Scenes keyed by name."""

SCENE_NAMES: tuple[str, ...] = tuple(scene.name for scene in SCENES)
"""Scene names in catalogue order."""


def get_scene(name: str) -> Scene:
    """Return the scene called ``name``; raises KeyError for an unknown name."""
    return SCENE_BY_NAME[name]
