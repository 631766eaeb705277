"""One table of every knob a user can turn: its range, default and help in plain words.

The Train page draws its sliders from these tables and the core validates with
them, so a range is written down exactly once. :data:`BOOSTER_KNOBS` are
XGBoost's settings, :data:`SPLIT_KNOBS` the split's, :data:`FEATURE_KNOBS` the
feature builder's. :data:`PRESETS` are named sets of booster settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kayfabe_core.errors import SettingError
from kayfabe_core.wording import join_words


@dataclass(frozen=True)
class Knob:
    """One setting: ``key`` as XGBoost (or the split) names it, and how a person sees it."""

    key: str
    title: str
    kind: type  # int or float
    low: float
    high: float
    default: float
    step: float
    does: str  # what it does, in plain words
    raising: str  # what raising it tends to do
    shown_as: str = ""  # how a slider shows it (printf style, or a name: "percent"), when not as its kind usually is

    def check(self, value: object) -> int | float:
        """Return ``value`` as this knob's type; raise :class:`SettingError` if it is not one or out of range."""
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise SettingError(f"The setting “{self.title}” ({self.key}) must be a number; got {value!r}.",
                               f"Give a number between {_show(self.low)} and {_show(self.high)}.") from None
        if self.kind is int and not number.is_integer():
            raise SettingError(f"The setting “{self.title}” ({self.key}) must be a whole number; got {value!r}.",
                               f"Give a whole number between {_show(self.low)} and {_show(self.high)}.")
        if not self.low <= number <= self.high:
            raise SettingError(
                f"The setting “{self.title}” ({self.key}) must be between {_show(self.low)} and "
                f"{_show(self.high)}; got {_show(number)}.",
                f"Choose a value in that range (the usual choice is {_show(self.default)})"
                f"{', or pick a preset' if self in BOOSTER_KNOBS else ''}.")
        return int(number) if self.kind is int else number


def _show(number: float) -> str:
    """A number as people write it: 2,147,483,647 and 100,000,000, not 2.14748e+09 and 1e+08; 0.05 stays."""
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:g}"


BOOSTER_KNOBS: tuple[Knob, ...] = (
    Knob("num_boost_round", "Rounds (trees)", int, 1, 2000, 100, 1,
         "How many small trees are added one after the other, each fixing the mistakes of the ones before.",
         "More rounds fit the training images more closely; past a point the test score stops improving "
         "or gets worse (early stopping finds that point for you)."),
    Knob("eta", "Learning rate (eta)", float, 0.01, 1.0, 0.3, 0.01,
         "How much each new tree is allowed to change the prediction.",
         "A higher rate learns faster but more roughly; a lower rate needs more rounds and usually "
         "generalises a little better."),
    Knob("max_depth", "Tree depth (max_depth)", int, 1, 12, 6, 1,
         "How many questions one tree may ask in a row (e.g. “wrestling ring?” then “crowd?”).",
         "Deeper trees capture combinations of labels but memorise the training images more easily."),
    Knob("min_child_weight", "Smallest leaf (min_child_weight)", float, 0.0, 20.0, 1.0, 0.5,
         "How much evidence a tree's final group must hold before the tree may split off one: each image counts "
         "for at most 0.25 (less once the model is sure of it), so 1 means at least about 4 images.",
         "Higher values make the model cautious about patterns seen on only a few images."),
    Knob("gamma", "Split penalty (gamma)", float, 0.0, 20.0, 0.0, 0.5,
         "How much a split must improve the fit before a tree is allowed to make it.",
         "Higher values give smaller, more conservative trees."),
    Knob("subsample", "Images per tree (subsample)", float, 0.1, 1.0, 1.0, 0.05,
         "The share of training images each tree sees, drawn at random.",
         "Lower shares add randomness that can reduce over-fitting; too low and each tree learns little."),
    Knob("colsample_bytree", "Features per tree (colsample_bytree)", float, 0.1, 1.0, 1.0, 0.05,
         "The share of features (labels, post facts, caption words) each tree may use, drawn at random.",
         "Lower shares stop the model leaning on one label; too low and useful labels get missed."),
    Knob("lambda", "Weight shrinkage, L2 (lambda)", float, 0.0, 20.0, 1.0, 0.5,
         "Pulls the trees' outputs towards zero.",
         "Higher values make every tree's vote smaller and the model smoother."),
    Knob("alpha", "Weight pruning, L1 (alpha)", float, 0.0, 20.0, 0.0, 0.5,
         "Pushes small tree outputs to exactly zero.",
         "Higher values switch off weak patterns entirely."),
    Knob("scale_pos_weight", "Weight of YES images (scale_pos_weight)", float, 0.1, 20.0, 1.0, 0.1,
         "How much a YES image counts compared with a NO image while training.",
         "Raise it when YES images are rare and you would rather find them all than avoid false alarms "
         "(a common choice is the number of NO images divided by the number of YES images)."),
    Knob("early_stopping_rounds", "Early stopping (rounds without improvement; 0 = off)", int, 0, 200, 0, 1,
         "Stops adding trees once the score on a validation set (15 % of the training images, never the "
         "test images) has not improved for this many rounds, and keeps the best round.",
         "A larger patience lets training go on through a bumpy stretch; 0 trains every round."),
)

SPLIT_KNOBS: tuple[Knob, ...] = (
    Knob("test_size", "Test share", float, 0.1, 0.5, 0.3, 0.05,
         "The share of coded images held back to test the model; it never sees them while training.",
         "A bigger test set measures more precisely but leaves fewer images to learn from.",
         shown_as="percent"),  # 0.3 shown as 30%, as the other shares on the page
    Knob("folds", "Folds (0 = one split)", int, 0, 10, 0, 1,  # short: one line in its quarter of the page
         "Cross-validation: cuts the images into this many parts, and each part is the test set once (0: one "
         "split with the test share instead; 1 is not a split).",
         "More folds use more images for training each time and take longer."),
    Knob("repeats", "Repeats", int, 1, 20, 1, 1,
         "Does the whole split again with a different random draw, to see how much the score moves.",
         "More repeats give a steadier average and an honest spread; each repeat trains again."),
    Knob("seed", "Random seed", int, 0, 2**31 - 1, 2021, 1,
         "The starting point of every random draw: the same seed gives the same split and the same model.",
         "Changing it shows how much the result depends on luck."),
)

FEATURE_KNOBS: tuple[Knob, ...] = (
    Knob("label_threshold", "Object / scene labels: minimum confidence", float, 50.0, 100.0, 80.0, 1.0,
         "A label counts as present on an image when Rekognition's confidence is at least this.",
         "Higher cuts keep only labels Rekognition is sure of: fewer, cleaner features.", "%.0f %%"),
    Knob("moderation_threshold", "Moderation labels: minimum confidence", float, 50.0, 100.0, 80.0, 1.0,
         "The same cut for moderation labels (e.g. Suggestive, Violence).",
         "Higher cuts keep only clear cases.", "%.0f %%"),
    Knob("celebrity_threshold", "Celebrities: minimum match confidence", float, 50.0, 100.0, 80.0, 1.0,
         "The same cut for recognised people.",
         "Higher cuts keep only confident matches.", "%.0f %%"),
    Knob("min_images", "Drop labels seen on fewer images than", int, 1, 500, 5, 1,
         "A label found on fewer coded images than this is left out.",
         "Higher values remove rare labels the model could only memorise."),
)

BOOSTER_DEFAULTS: dict[str, int | float] = {knob.key: knob.kind(knob.default) for knob in BOOSTER_KNOBS}

# the settings' names where space is short (table headers, chart axes): "Tree depth", not "max_depth"
SHORT_TITLES: dict[str, str] = {knob.key: knob.title.split(" (")[0] for knob in BOOSTER_KNOBS}

# the options without a slider, in the Train page's words: the features' switches, the split's method and grouping,
# and an uploaded table's file, code column, YES value and columns left out (as a run's record names them)
OPTION_TITLES: dict[str, str] = {
    "sources": "Label sources", "include_parents": "Keep parent labels (Person as well as Face)",
    "metadata": "Add post facts (likes, type, time)", "caption": "Add caption words and hashtags",
    "method": "How to split", "group_by": "Columns that together identify a post", "file": "File",
    "label": "Column holding the code", "positive": "Value meaning YES", "drop": "Columns to leave out",
}
# every setting and option of a run by its key: the one name the report and the Compare view give each
SETTING_TITLES: dict[str, str] = {knob.key: knob.title for knob in (*BOOSTER_KNOBS, *SPLIT_KNOBS, *FEATURE_KNOBS)} \
    | OPTION_TITLES

PRESETS: dict[str, dict[str, int | float]] = {
    "XGBoost defaults": dict(BOOSTER_DEFAULTS),
    "Original study (2021)": {**BOOSTER_DEFAULTS, "max_depth": 5, "eta": 0.2, "gamma": 4.0,
                              "min_child_weight": 6.0, "subsample": 0.8, "num_boost_round": 100},
    "Quick look": {**BOOSTER_DEFAULTS, "max_depth": 3, "eta": 0.3, "num_boost_round": 30},
    "Careful (slow learning, early stopping)": {**BOOSTER_DEFAULTS, "max_depth": 4, "eta": 0.05,
                                                "subsample": 0.8, "colsample_bytree": 0.8,
                                                "min_child_weight": 2.0, "num_boost_round": 1000,
                                                "early_stopping_rounds": 30},
}
# what each preset is for, in plain words; :data:`PRESET_NOTES` adds the values it sets
PRESET_PURPOSES: dict[str, str] = {
    "XGBoost defaults": "XGBoost's own defaults",
    "Original study (2021)": "What the 2021 kayfabe study ran on SageMaker",
    "Quick look": "Small, shallow and fast, good for a classroom demo",
    "Careful (slow learning, early stopping)": "Learns slowly and stops when the validation score stops improving",
}


def setting_words(key: str, value: float) -> str:
    """A setting and its value where space is short, as people write them: "tree depth 5", "rounds 1,000"."""
    return f"{SHORT_TITLES.get(key, key).lower()} {_show(value)}"


def preset_note(purpose: str, values: Mapping[str, int | float]) -> str:
    """``purpose``, then the rounds and every setting ``values`` change from the booster defaults ("Small, shallow
    and fast: rounds 30 and tree depth 3."): written from the values, so a changed preset is described as it is."""
    stated = [key for key in BOOSTER_DEFAULTS if key == "num_boost_round" or values[key] != BOOSTER_DEFAULTS[key]]
    return f"{purpose}: {join_words([setting_words(key, values[key]) for key in stated])}."


PRESET_NOTES: dict[str, str] = {name: preset_note(PRESET_PURPOSES[name], values) for name, values in PRESETS.items()}
DEFAULT_PRESET = "Original study (2021)"


def knob_table(knobs: tuple[Knob, ...]) -> dict[str, Knob]:
    """Return ``knobs`` by key."""
    return {knob.key: knob for knob in knobs}


def check_settings(knobs: tuple[Knob, ...], values: Mapping[str, object]) -> dict[str, int | float]:
    """Return ``values`` converted and checked against ``knobs``.

    Raises :class:`SettingError` naming the first unknown or out-of-range setting.
    """
    table = knob_table(knobs)
    checked: dict[str, int | float] = {}
    for key, value in values.items():
        if key not in table:
            raise SettingError(f"There is no setting called “{key}”.",
                               "The settings are: " + ", ".join(table) + ".")
        checked[key] = table[key].check(value)
    return checked


PRESET_SLUGS: dict[str, str] = {
    "defaults": "XGBoost defaults",
    "original-2021": "Original study (2021)",
    "quick": "Quick look",
    "careful": "Careful (slow learning, early stopping)",
}


def find_preset(name: str) -> dict[str, int | float]:
    """Return the preset called ``name``: its full name or its short name (e.g. ``original-2021``).

    Raises :class:`SettingError` when no preset has that name.
    """
    full_name = PRESET_SLUGS.get(name.strip().lower(), name)
    for preset, values in PRESETS.items():
        if preset.lower() == full_name.strip().lower():
            return dict(values)
    raise SettingError(f"There is no preset called “{name}”.",
                       "The presets are: " + ", ".join(PRESET_SLUGS) + " (or their full names: "
                       + "; ".join(PRESETS) + ").")


def parse_param(text: str) -> tuple[str, str]:
    """Split a ``KEY=VALUE`` setting from the command line; raise :class:`SettingError` otherwise."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise SettingError(f"A setting must look like KEY=VALUE; got “{text}”.",
                           "For example: --param max_depth=4 --param eta=0.1")
    return key.strip(), value.strip()
