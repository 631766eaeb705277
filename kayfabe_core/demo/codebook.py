"""The demo's codebook: what "in kayfabe" means for the coders."""

from __future__ import annotations

from kayfabe_core.codes import Codebook

DEMO_CODEBOOK = Codebook(
    category="Kayfabe",
    yes_name="In kayfabe",
    no_name="Not in kayfabe",
    definition=(
        "Code YES (in kayfabe) when the picture shows the wrestler in character: presenting "
        "the persona the promotion sells rather than the private person. Examples: wrestling "
        "in the ring, walking to the ring in entrance gear, posing with the title belt, "
        "cutting a promo with a microphone, facing a rival at a press event in character. "
        "Code NO (not in kayfabe) when she is shown out of character, as herself: breakfast "
        "or dinner with family, a gym selfie, her dog, travelling, a day at the beach, a "
        "selfie in the car. Fan meet-ups, photo shoots and charity visits can go either way: "
        "decide by gear, pose and attitude, not by the place. Code the picture, not the "
        "caption."
    ),
)
"""The codebook the demo's coders used."""

DEMO_CODERS: tuple[str, str] = ("coder_a", "coder_b")
"""The demo's coders: the main coder first, then the second coder of a sample."""
