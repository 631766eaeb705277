"""The invented Instagram accounts and the invented "celebrities" of the demo.

Every person here is fictional: names, ring names, usernames and celebrity Ids
were made up for the demo and belong to no real wrestler or public figure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Celebrity:
    """A face RecognizeCelebrities can name: its Name, Id and KnownGender Type."""

    name: str
    id: str
    gender: str = "Female"


@dataclass(frozen=True)
class Account:
    """An invented wrestler's Instagram account, and the people around her."""

    username: str
    full_name: str
    person: Celebrity
    rivals: tuple[Celebrity, ...]
    friends: tuple[tuple[str, str], ...]
    """(full name, username) of people and brands she tags besides her rivals."""
    hashtags: tuple[str, ...]
    base_likes: float
    """Typical likes of a post at the start of the period."""
    seed_salt: int = 0

    @property
    def profile_url(self) -> str:
        """Return the profile URL, which is also the export's ``query``."""
        return f"https://www.instagram.com/{self.username}/"

    def rival_usernames(self) -> tuple[tuple[str, str], ...]:
        """Return (full name, username) for each rival, for tagging."""
        return tuple((c.name, c.name.lower().replace(" ", "_").replace("-", "")) for c in self.rivals)


STRANGERS: tuple[Celebrity, ...] = (
    Celebrity("Anselm Quarrington", "7Hd2Kw9P", "Male"),
    Celebrity("Lorelai Fenwhistle", "3Vb8Nq4T", "Female"),
    Celebrity("Tobiah Marchetti-Lund", "9Pz1Xc6R", "Male"),
)
"""Invented public figures that RecognizeCelebrities now and then mistakes a fan for."""

THUNDERQUILL = Account(
    username="thunderquill_official",
    full_name='Marisol "Thunderquill" Vance',
    person=Celebrity("Marisol Vance", "2Zx9Qa1L"),
    rivals=(
        Celebrity("Dagny Ironvale", "5Kt3Rm8W"),
        Celebrity("Brisa Kettleworth", "8Qf6Ly2D"),
        Celebrity("Juniper Slatewood", "4Nw7Hs1C"),
        Celebrity("Ottilie Ravensgarde", "6Jp2Vg9E"),
    ),
    friends=(
        ("Apex Crown Wrestling", "apexcrownwrestling"),
        ("Rosa Vance", "rosa.vance.bakes"),
        ("Teo Vance", "teovance_"),
        ("Ironworks Barbell Club", "ironworks_barbell"),
        ("Lens by Kit Amberley", "kitamberley_photo"),
        ("Pebble the Dog", "pebble_the_boxer"),
        ("Hearts in the Ring Foundation", "heartsinthering"),
        ("Coastline Kitchen", "coastline_kitchen_co"),
        ("Nadia Oyelaran", "nadia_oyelaran"),
    ),
    hashtags=(
        "wrestling", "prowrestling", "thunderquill", "apexcrown", "womenswrestling",
        "wrestler", "championship", "fitness", "gymlife", "family", "dogsofinstagram",
        "travel", "roadlife", "grateful",
    ),
    base_likes=9000.0,
)
"""The demo account (fictional)."""

LANTERN = Account(
    username="corvina_thelantern",
    full_name='Corvina "The Lantern" Ashgrove',
    person=Celebrity("Corvina Ashgrove", "1Rm5Tz8K"),
    rivals=(
        Celebrity("Hollis Brackenridge", "3Xe9Pw2M"),
        Celebrity("Wren Mazarin-Tull", "7Ga4Dk6S"),
        Celebrity("Saffi Quillon", "2Uc8Jh5B"),
    ),
    friends=(
        ("Northstar Pro Wrestling", "northstarprowrestling"),
        ("Maren Ashgrove", "maren.ashgrove"),
        ("Foundry Strength", "foundrystrength"),
        ("Biscuit", "biscuit_the_lurcher"),
    ),
    hashtags=(
        "wrestling", "thelantern", "northstarpro", "wrestlinglife", "girlswhowrestle",
        "training", "coffee", "family", "travel",
    ),
    base_likes=2500.0,
    seed_salt=1,
)
"""A second fictional account, used for the small sample export."""
