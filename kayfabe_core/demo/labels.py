"""The label vocabularies the demo's fake Rekognition answers draw from.

:data:`LABELS` is a slice of DetectLabels' v3 label list: each name with its
parents (ancestors, which Rekognition also returns as labels of their own), its
categories, and whether it comes with bounding-box instances.
:data:`MODERATION` is a slice of the moderation model 7 taxonomy: each name with
its parent ("" at the top) and its level.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelInfo:
    """What Rekognition says about one DetectLabels label besides its confidence."""

    parents: tuple[str, ...]
    categories: tuple[str, ...]
    instances: bool


_PD = ("Person Description",)
_AP = ("Apparel and Accessories",)
_SP = ("Sports",)
_FB = ("Food and Beverage",)
_HI = ("Home and Indoors",)
_HS = ("Household Supplies",)
_NO = ("Nature and Outdoors",)
_EV = ("Events and Attractions",)
_TD = ("Text and Documents",)
_TC = ("Technology and Computing",)
_VA = ("Vehicles and Automotive",)
_TA = ("Travel and Adventure",)
_BA = ("Buildings and Architecture",)
_AN = ("Animals and Pets",)
_PA = ("Performing Arts",)
_PL = ("Plants and Flowers",)
_HB = ("Hobbies and Interests",)
_CV = ("Colors and Visual Composition",)

# name: (parents, categories, has instances)
_RAW: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    # people
    "Person": ((), _PD, True),
    "Adult": (("Person",), _PD, True),
    "Female": (("Person",), _PD, True),
    "Male": (("Person",), _PD, True),
    "Woman": (("Adult", "Female", "Person"), _PD, True),
    "Man": (("Adult", "Male", "Person"), _PD, True),
    "Child": (("Person",), _PD, True),
    "Girl": (("Child", "Female", "Person"), _PD, True),
    "Boy": (("Child", "Male", "Person"), _PD, True),
    "Head": (("Person",), _PD, False),
    "Face": (("Head", "Person"), _PD, False),
    "Smile": (("Face", "Head", "Person"), _PD, False),
    "Happy": (("Face", "Head", "Person"), _PD, False),
    "Body Part": ((), _PD, False),
    "Hand": (("Body Part", "Person"), _PD, False),
    "Finger": (("Body Part", "Hand", "Person"), _PD, False),
    "Skin": (("Body Part", "Person"), _PD, False),
    "Tattoo": (("Body Part", "Person", "Skin"), _PD, False),
    "Hair": (("Person",), _PD, False),
    "Crowd": (("Person",), _PD, False),
    "Audience": (("Crowd", "Person"), _EV, False),
    "Performer": (("Person",), _PA, False),
    "Selfie": (("Face", "Head", "Person", "Photography", "Portrait"), _HB, False),
    "Portrait": (("Face", "Head", "Person", "Photography"), _HB, False),
    "Photography": ((), _HB, False),
    "Family": (("Person",), _PD, False),
    # apparel
    "Clothing": ((), _AP, False),
    "Costume": (("Clothing",), _AP, False),
    "Accessories": ((), _AP, False),
    "Belt": (("Accessories",), _AP, True),
    "Buckle": (("Accessories",), _AP, True),
    "Jewelry": (("Accessories",), _AP, True),
    "Glasses": (("Accessories",), _AP, True),
    "Sunglasses": (("Accessories", "Glasses"), _AP, True),
    "Coat": (("Clothing",), _AP, True),
    "Jacket": (("Clothing", "Coat"), _AP, True),
    "T-Shirt": (("Clothing",), _AP, True),
    "Shorts": (("Clothing",), _AP, True),
    "Formal Wear": (("Clothing",), _AP, False),
    "Dress": (("Clothing", "Formal Wear"), _AP, True),
    "Suit": (("Clothing", "Formal Wear"), _AP, True),
    "Hat": (("Clothing",), _AP, True),
    "Cap": (("Clothing", "Hat"), _AP, True),
    "Swimwear": (("Clothing",), _AP, True),
    "Bikini": (("Clothing", "Swimwear"), _AP, True),
    "Footwear": (("Clothing",), _AP, False),
    "Shoe": (("Clothing", "Footwear"), _AP, True),
    "Fashion": (("Clothing",), _AP, False),
    "Bag": (("Accessories",), _AP, True),
    "Backpack": (("Accessories", "Bag"), _AP, True),
    "Cosmetics": ((), ("Beauty and Personal Care",), False),
    "Lipstick": (("Cosmetics",), ("Beauty and Personal Care",), False),
    # sport and show
    "Sport": ((), _SP, False),
    "Wrestling": (("Sport",), _SP, False),
    "Martial Arts": (("Sport",), _SP, False),
    "Boxing Ring": (("Sport",), _SP, True),
    "Fitness": (("Sport",), _SP, False),
    "Working Out": (("Fitness", "Person", "Sport"), _SP, False),
    "Gym": (("Fitness", "Sport", "Working Out"), _SP, False),
    "Sports Equipment": ((), _SP, False),
    "Dumbbell": (("Fitness", "Sport", "Sports Equipment", "Working Out"), _SP, True),
    "Weightlifting": (("Fitness", "Sport"), _SP, False),
    "Trophy": ((), _EV, True),
    "Gold": ((), ("Materials",), False),
    "Stage": ((), _PA, False),
    "Concert": (("Crowd", "Person"), _PA, False),
    "Lighting": ((), _CV, False),
    "Spotlight": (("Lighting",), _CV, False),
    "Smoke": ((), _NO, False),
    "Fireworks": (("Night", "Outdoors"), _EV, False),
    "Night": (("Outdoors",), _NO, False),
    "Arena": (("Architecture", "Building"), _BA, False),
    "Architecture": ((), _BA, False),
    "Building": (("Architecture",), _BA, False),
    "Indoors": ((), _HI, False),
    "Corridor": (("Architecture", "Building", "Indoors"), _BA, False),
    "Microphone": (("Electrical Device",), _TC, True),
    "Electrical Device": ((), _TC, False),
    "Electronics": ((), _TC, False),
    "Phone": (("Electronics",), _TC, True),
    "Camera": (("Electronics",), _TC, True),
    "Text": ((), _TD, False),
    "Poster": (("Advertisement", "Text"), _TD, False),
    "Advertisement": ((), _TD, False),
    "Logo": ((), _TD, False),
    "Speech": (("Audience", "Crowd", "Person"), _EV, False),
    "Press Conference": (("Audience", "Crowd", "Person", "Speech"), _EV, False),
    "Party": ((), _EV, False),
    "Balloon": ((), _EV, True),
    "Toy": ((), _HB, False),
    "Teddy Bear": (("Toy",), _HB, True),
    "Handshake": (("Body Part", "Hand", "Person"), _PD, False),
    # home and food
    "Furniture": ((), _HI, False),
    "Table": (("Furniture",), _HI, True),
    "Dining Table": (("Furniture", "Table"), _HI, True),
    "Chair": (("Furniture",), _HI, True),
    "Couch": (("Furniture",), _HI, True),
    "Living Room": (("Architecture", "Building", "Indoors"), _HI, False),
    "Food": ((), _FB, False),
    "Meal": (("Food",), _FB, False),
    "Breakfast": (("Food", "Meal"), _FB, False),
    "Brunch": (("Food", "Meal"), _FB, False),
    "Dinner": (("Food", "Meal"), _FB, False),
    "Dish": (("Food", "Meal"), _FB, False),
    "Plate": (("Dish", "Food", "Meal"), _FB, True),
    "Pancake": (("Bread", "Food"), _FB, False),
    "Bread": (("Food",), _FB, False),
    "Egg": (("Food",), _FB, False),
    "Fruit": (("Food", "Plant"), _FB, False),
    "Dessert": (("Food",), _FB, False),
    "Cake": (("Dessert", "Food"), _FB, False),
    "Beverage": ((), _FB, False),
    "Coffee": (("Beverage",), _FB, False),
    "Cup": ((), _HS, True),
    "Coffee Cup": (("Cup",), _HS, True),
    "Glass": ((), _HS, True),
    "Goblet": (("Glass",), _HS, True),
    "Alcohol": (("Beverage",), _FB, False),
    "Wine": (("Alcohol", "Beverage"), _FB, False),
    "Cutlery": ((), _HS, False),
    "Fork": (("Cutlery",), _HS, True),
    "Candle": ((), _HS, True),
    "Lamp": (("Furniture",), _HI, True),
    "Mirror": ((), _HI, True),
    "Window": (("Architecture", "Building"), _BA, False),
    # outdoors and animals
    "Nature": ((), _NO, False),
    "Outdoors": ((), _NO, False),
    "Sky": (("Nature", "Outdoors"), _NO, False),
    "Sun": (("Nature", "Outdoors", "Sky"), _NO, False),
    "Water": ((), _NO, False),
    "Sea": (("Nature", "Outdoors", "Water"), _NO, False),
    "Shoreline": (("Nature", "Outdoors", "Water"), _NO, False),
    "Coast": (("Nature", "Outdoors", "Sea", "Water"), _NO, False),
    "Beach": (("Coast", "Nature", "Outdoors", "Sea", "Shoreline", "Water"), _NO, False),
    "Sand": (("Nature", "Outdoors"), _NO, False),
    "Summer": ((), _NO, False),
    "Plant": ((), _PL, False),
    "Tree": (("Plant",), _PL, False),
    "Palm Tree": (("Plant", "Tree"), _PL, True),
    "Grass": (("Plant",), _PL, False),
    "Park": (("Grass", "Nature", "Outdoors", "Plant"), _NO, False),
    "Umbrella": ((), _HS, True),
    "Animal": ((), _AN, False),
    "Mammal": (("Animal",), _AN, False),
    "Pet": (("Animal",), _AN, False),
    "Canine": (("Animal", "Mammal"), _AN, False),
    "Dog": (("Animal", "Canine", "Mammal", "Pet"), _AN, True),
    "Puppy": (("Animal", "Canine", "Dog", "Mammal", "Pet"), _AN, True),
    "Ball": (("Sports Equipment",), _SP, True),
    # travel and vehicles
    "Transportation": ((), _VA, False),
    "Vehicle": (("Transportation",), _VA, False),
    "Car": (("Transportation", "Vehicle"), _VA, True),
    "Steering Wheel": (("Transportation", "Vehicle"), _VA, True),
    "Seat Belt": (("Accessories",), _VA, False),
    "Aircraft": (("Transportation", "Vehicle"), _VA, True),
    "Airplane": (("Aircraft", "Transportation", "Vehicle"), _VA, True),
    "Airport": ((), _TA, False),
    "Terminal": ((), _TA, False),
    "Airport Terminal": (("Airport", "Terminal"), _TA, False),
    "Baggage": ((), _TA, True),
    "Suitcase": (("Baggage",), _TA, True),
    "Road": ((), _TA, False),
    "City": ((), _BA, False),
}

LABELS: dict[str, LabelInfo] = {
    name: LabelInfo(parents, categories, instances)
    for name, (parents, categories, instances) in _RAW.items()
}
"""DetectLabels names the demo may return, with their parents and categories."""

LABEL_NAMES: tuple[str, ...] = tuple(LABELS)
"""All names in :data:`LABELS`, in a fixed order."""

MODERATION: dict[str, tuple[str, int]] = {
    "Violence": ("", 1),
    "Graphic Violence": ("Violence", 2),
    "Physical Violence": ("Graphic Violence", 3),
    "Blood & Gore": ("Graphic Violence", 3),
    "Weapons": ("Violence", 2),
    "Swimwear or Underwear": ("", 1),
    "Female Swimwear or Underwear": ("Swimwear or Underwear", 2),
    "Male Swimwear or Underwear": ("Swimwear or Underwear", 2),
    "Non-Explicit Nudity of Intimate parts and Kissing": ("", 1),
    "Non-Explicit Nudity": ("Non-Explicit Nudity of Intimate parts and Kissing", 2),
    "Bare Back": ("Non-Explicit Nudity", 3),
    "Exposed Male Nipple": ("Non-Explicit Nudity", 3),
    "Kissing on the Lips": ("Non-Explicit Nudity of Intimate parts and Kissing", 2),
    "Alcohol": ("", 1),
    "Alcoholic Beverages": ("Alcohol", 2),
    "Rude Gestures": ("", 1),
    "Middle Finger": ("Rude Gestures", 2),
    "Drugs & Tobacco": ("", 1),
    "Drugs & Tobacco Paraphernalia & Use": ("Drugs & Tobacco", 2),
    "Smoking": ("Drugs & Tobacco Paraphernalia & Use", 3),
}
"""Moderation model 7 names: name -> (ParentName, TaxonomyLevel)."""


def label_ancestors(name: str) -> tuple[str, ...]:
    """Return the parents of DetectLabels label ``name`` (empty when it has none)."""
    return LABELS[name].parents


def moderation_chain(name: str) -> tuple[str, ...]:
    """Return ``name`` followed by its moderation ancestors up to the top level."""
    chain = [name]
    parent = MODERATION[name][0]
    while parent:
        chain.append(parent)
        parent = MODERATION[parent][0]
    return tuple(chain)
