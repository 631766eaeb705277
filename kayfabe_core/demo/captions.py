"""Invented text for the demo export: captions, alt text, places and tags.

Captions follow the scene only loosely (about half are generic), as real ones
do; none contain emoji. Some contain newlines and double quotes, so the CSV
needs proper quoting.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from kayfabe_core.demo.accounts import Account

_SCENE_LINES: dict[str, tuple[str, ...]] = {
    "ring_match": ("What a war tonight. Every bump was worth it.",
                   "Main event. Sold out. Nothing else to say.",
                   "They told me I couldn't go the distance. Look again.", "Left it all in the ring",
                   "Another one for the highlight reel"),
    "entrance": ("When the music hits, the whole building knows.", "Walk like you own the place.",
                 "Storm's coming. Hear the thunder?", "Lights down, volume up"),
    "title_belt": ("Still champion. Get used to it.", "Gold looks better on me",
                   "Defended it again. Who's next?", "The crown stays home"),
    "backstage_promo": ("I said what I said.", "Mark my words: Sunday, she falls.",
                        "You want the smoke? Come get it.", "Tune in Friday. I'm not done talking."),
    "photo_shoot": ("New look, same attitude.", "Shot by the best in the business",
                    "Magazine day", "Behind the lens today"),
    "press_event": ("Big announcement coming.", "Media day done. Questions answered. Mostly.",
                    "Face to face with the challenger", "Signed, sealed, scheduled."),
    "fan_meetup": ("You all showed up and I can't thank you enough.", "Best fans in the world, no contest",
                   "Signed until my hand gave out", "Meet and greet was a blast"),
    "charity_event": ("The real champions are these kids.", "Thank you for having us today",
                      "Proud to support this cause", "Days like this matter most"),
    "gym_training": ("No days off.", "Leg day. Send help.", "Early session done", "Trust the process"),
    "travel_airport": ("Another city, another flight.", "Gate B12, see you soon", "On the road again",
                       "Airport coffee and no sleep"),
    "car_selfie": ("Drive-thru philosophy hour.", "Road trip mood", "Car karaoke was loud today",
                   "On my way"),
    "beach": ("Off duty.", "Salt water cures everything", "Sun's out", "Recharge mode"),
    "family_dinner": ("Sunday dinner with my favourite people.", "Mom's recipe, nobody beats it",
                      "Family first. Always.", "Full table, full heart"),
    "breakfast": ("Breakfast of champions.", "Pancake Sunday", "Fuel first", "Coffee before conversation"),
    "pet_dog": ("My training partner is a good boy.", "Who's a good boy? This one.",
                "Walk time is non-negotiable", "Nap champion of the house"),
}

_GENERIC_LINES: tuple[str, ...] = (
    "Grateful for every single day.", "Thank you for the love.", "Good vibes only.",
    "Weekend mode.", "Throwback to a good one.", "Can't stop, won't stop.", "Mood.",
    "Keep going.", "Tell me what you think below", "Say less.",
    'Someone asked me "are you ever off?" Never.', "New week, new goals.",
)

_SCENE_TAGS: dict[str, tuple[str, ...]] = {
    "ring_match": ("slamnight", "clashofcrowns", "mainevent"),
    "entrance": ("slamnight", "entrance", "thunderstrikes"),
    "title_belt": ("champion", "andstill", "gold"),
    "backstage_promo": ("promo", "slamnight"),
    "press_event": ("mediaday", "clashofcrowns"),
    "fan_meetup": ("fanfest", "meetandgreet"),
    "charity_event": ("givingback", "heartsinthering"),
    "gym_training": ("legday", "gymlife", "strong"),
    "travel_airport": ("roadlife", "travel"),
    "beach": ("beachday", "offduty"),
    "family_dinner": ("familytime", "sundaydinner"),
    "breakfast": ("breakfast", "pancakes"),
    "pet_dog": ("dogsofinstagram", "boxerdog"),
}

_ALT_EXTRAS: dict[str, tuple[str, ...]] = {
    "ring_match": ("people standing", "crowd", "indoor", "night"),
    "entrance": ("stage", "night", "crowd", "concert"),
    "title_belt": ("people standing", "closeup", "indoor"),
    "backstage_promo": ("people standing", "indoor", "text"),
    "photo_shoot": ("closeup", "people standing", "indoor"),
    "press_event": ("people sitting", "table", "indoor", "suit"),
    "fan_meetup": ("people smiling", "people standing", "indoor"),
    "charity_event": ("people smiling", "child", "indoor"),
    "gym_training": ("people standing", "indoor", "shoes"),
    "travel_airport": ("people standing", "indoor", "airplane"),
    "car_selfie": ("closeup", "sunglasses", "car"),
    "beach": ("ocean", "sky", "beach", "outdoor", "water"),
    "family_dinner": ("people sitting", "food", "table", "indoor"),
    "breakfast": ("food", "table", "indoor"),
    "pet_dog": ("dog", "outdoor", "grass"),
}

_PLACES: dict[str, tuple[str, ...]] = {
    "show": ("Harborview Coliseum", "Crown Hall Arena", "Orlando, Florida", "Las Vegas, Nevada",
             "Riverside Event Center", "Chicago, Illinois"),
    "home": ("Tampa, Florida", "St. Petersburg, Florida", "Home Sweet Home", "Coastline Kitchen"),
    "away": ("Tampa International Airport", "Atlanta, Georgia", "Ironworks Barbell Club",
             "Clearwater Beach, Florida", "San Diego, California"),
}
_SHOW_SCENES = frozenset({"ring_match", "entrance", "title_belt", "backstage_promo", "press_event",
                          "fan_meetup", "photo_shoot"})
_HOME_SCENES = frozenset({"family_dinner", "breakfast", "pet_dog"})


def description(rng: random.Random, scene: str, account: Account) -> str:
    """Return an invented caption: a line (scene-related about half the time) and hashtags."""
    pool = _SCENE_LINES[scene] if rng.random() < 0.5 else _GENERIC_LINES
    text = rng.choice(pool)
    tags = list(_SCENE_TAGS.get(scene, ())) + list(account.hashtags)
    chosen = rng.sample(tags, k=min(len(tags), rng.choice((0, 0, 1, 2, 3, 5))))
    if not chosen:
        return text
    hashtags = " ".join(f"#{tag}" for tag in chosen)
    separator = rng.choice((" ", " ", "\n", "\n.\n.\n"))
    return f"{text}{separator}{hashtags}"


def alt_text(rng: random.Random, scene: str, n_people: int, pub_date: datetime,
             full_name: str) -> str:
    """Return Instagram's automatic alt text for a post, or "" (about a quarter of posts)."""
    if rng.random() < 0.25:
        return ""
    people = {0: "", 1: "1 person"}.get(n_people, f"{n_people} people")
    if n_people > 4:
        people = "one or more people"
    extras = rng.sample(_ALT_EXTRAS[scene], k=rng.randint(1, 2))
    parts = [p for p in [people, *extras] if p]
    if pub_date < datetime(2020, 7, 1, tzinfo=UTC):
        return "Image may contain: " + ", ".join(parts)
    body = " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)
    when = f"{pub_date:%B} {pub_date.day:02d}, {pub_date.year}"
    return f"Photo by {full_name} on {when}. May be an image of {body}."


def place(rng: random.Random, scene: str) -> tuple[str, str]:
    """Return (location, locationId) for a post, or ("", "") for most posts."""
    if rng.random() > 0.3:
        return "", ""
    group = "show" if scene in _SHOW_SCENES else "home" if scene in _HOME_SCENES else "away"
    name = rng.choice(_PLACES[group])
    number = sum(ord(ch) * (i + 1) for i, ch in enumerate(name))
    return name, str(210_000_000 + number * 7_919)


def tags(rng: random.Random, scene: str, account: Account) -> list[tuple[str, str]]:
    """Return the (full name, username) pairs tagged in a post, in tag order (up to 13)."""
    roll = rng.random()
    count = 0 if roll < 0.55 else rng.randint(1, 3) if roll < 0.93 else rng.randint(4, 6)
    if roll > 0.99:
        count = rng.randint(7, 13)
    pool = list(account.rival_usernames()) + list(account.friends)
    if scene in _HOME_SCENES:
        pool = list(account.friends)
    return rng.sample(pool, k=min(count, len(pool)))
