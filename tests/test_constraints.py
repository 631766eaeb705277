"""The table of knobs: ranges, whole numbers, unknown settings, presets and KEY=VALUE parsing."""

from __future__ import annotations

import pytest

from kayfabe_core.constraints import (
    BOOSTER_DEFAULTS,
    BOOSTER_KNOBS,
    DEFAULT_PRESET,
    FEATURE_KNOBS,
    PRESET_NOTES,
    PRESET_PURPOSES,
    PRESET_SLUGS,
    PRESETS,
    SPLIT_KNOBS,
    Knob,
    check_settings,
    find_preset,
    knob_table,
    parse_param,
    preset_note,
    setting_words,
)
from kayfabe_core.errors import KayfabeError, SettingError

DEPTH = knob_table(BOOSTER_KNOBS)["max_depth"]
ETA = knob_table(BOOSTER_KNOBS)["eta"]


def test_check_converts_to_the_knobs_type() -> None:
    assert DEPTH.check(4) == 4 and type(DEPTH.check(4)) is int
    assert DEPTH.check("7") == 7 and type(DEPTH.check("7")) is int
    assert DEPTH.check(5.0) == 5 and type(DEPTH.check(5.0)) is int
    assert ETA.check("0.25") == pytest.approx(0.25) and type(ETA.check("0.25")) is float
    assert type(ETA.check(1)) is float


@pytest.mark.parametrize("value", [1, 12])
def test_check_accepts_both_ends_of_the_range(value: int) -> None:
    assert DEPTH.check(value) == value


@pytest.mark.parametrize("value", [0, 13, -1, 40])
def test_check_refuses_a_value_out_of_range(value: int) -> None:
    with pytest.raises(SettingError) as caught:
        DEPTH.check(value)
    message = caught.value.message
    assert "must be between 1 and 12" in message
    assert f"got {value}" in message
    assert "max_depth" in message and "Tree depth" in message
    assert "the usual choice is 6" in caught.value.hint


def test_check_refuses_a_fraction_for_a_whole_number_knob() -> None:
    with pytest.raises(SettingError, match="must be a whole number; got 4.5") as caught:
        DEPTH.check(4.5)
    assert "between 1 and 12" in caught.value.hint


@pytest.mark.parametrize("value", ["deep", None, "", [3], object()])
def test_check_refuses_what_is_not_a_number(value: object) -> None:
    with pytest.raises(SettingError, match="must be a number; got") as caught:
        DEPTH.check(value)
    assert repr(value) in caught.value.message
    assert "Give a number between 1 and 12" in caught.value.hint


@pytest.mark.parametrize("value", [0.0099, 1.01, float("nan"), float("inf")])
def test_float_knob_range(value: float) -> None:
    with pytest.raises(SettingError, match="must be between 0.01 and 1"):
        ETA.check(value)


def test_a_made_up_knob_checks_its_own_range() -> None:
    knob = Knob("k", "Kay", float, -1.5, 2.5, 0.0, 0.5, "does", "raising")
    assert knob.check(-1.5) == -1.5
    with pytest.raises(SettingError, match=r"“Kay” \(k\) must be between -1.5 and 2.5; got 3"):
        knob.check(3)


def test_every_knobs_default_is_inside_its_range_and_of_its_kind() -> None:
    for knob in BOOSTER_KNOBS + SPLIT_KNOBS + FEATURE_KNOBS:
        assert knob.low <= knob.default <= knob.high, knob.key
        assert knob.kind in (int, float)
        assert knob.check(knob.default) == knob.default
        assert knob.does and knob.raising


def test_check_settings_converts_every_value() -> None:
    checked = check_settings(BOOSTER_KNOBS, {"max_depth": "3", "eta": "0.5", "num_boost_round": 10.0})
    assert checked == {"max_depth": 3, "eta": 0.5, "num_boost_round": 10}
    assert type(checked["num_boost_round"]) is int
    assert check_settings(BOOSTER_KNOBS, {}) == {}


def test_check_settings_names_an_unknown_setting_and_lists_the_known_ones() -> None:
    with pytest.raises(SettingError, match="There is no setting called “depth”") as caught:
        check_settings(BOOSTER_KNOBS, {"max_depth": 3, "depth": 4})
    assert caught.value.hint.startswith("The settings are: num_boost_round, eta, max_depth")
    # a split setting is unknown to the booster table
    with pytest.raises(SettingError, match="“test_size”"):
        check_settings(BOOSTER_KNOBS, {"test_size": 0.3})


def test_check_settings_reports_the_bad_value() -> None:
    with pytest.raises(SettingError, match="Test share.*between 0.1 and 0.5; got 0.9"):
        check_settings(SPLIT_KNOBS, {"folds": 5, "test_size": 0.9})


def test_original_study_preset_values() -> None:
    preset = PRESETS["Original study (2021)"]
    assert preset["max_depth"] == 5
    assert preset["eta"] == pytest.approx(0.2)
    assert preset["gamma"] == pytest.approx(4)
    assert preset["min_child_weight"] == pytest.approx(6)
    assert preset["subsample"] == pytest.approx(0.8)
    assert preset["num_boost_round"] == 100
    # everything else is XGBoost's default
    for key in ("colsample_bytree", "lambda", "alpha", "scale_pos_weight", "early_stopping_rounds"):
        assert preset[key] == BOOSTER_DEFAULTS[key]
    assert DEFAULT_PRESET == "Original study (2021)"


def test_every_preset_is_complete_valid_and_explained() -> None:
    keys = set(knob_table(BOOSTER_KNOBS))
    for name, values in PRESETS.items():
        assert set(values) == keys, name
        assert check_settings(BOOSTER_KNOBS, values) == values
        assert PRESET_NOTES[name]
    assert set(PRESET_SLUGS.values()) == set(PRESETS)


def test_the_preset_notes_are_written_from_the_presets_values() -> None:
    for name, values in PRESETS.items():
        note = PRESET_NOTES[name]
        assert note.startswith(PRESET_PURPOSES[name] + ": "), name  # the plain words kept
        for key, value in values.items():
            said = setting_words(key, value) in note
            assert said == (key == "num_boost_round" or value != BOOSTER_DEFAULTS[key]), (name, key)
    assert PRESET_NOTES["Quick look"] == ("Small, shallow and fast, good for a classroom demo: rounds 30 and tree "
                                          "depth 3.")
    assert "rounds 1,000" in PRESET_NOTES["Careful (slow learning, early stopping)"]
    changed = preset_note(PRESET_PURPOSES["Quick look"], {**PRESETS["Quick look"], "max_depth": 4, "eta": 0.1})
    assert changed.endswith(": rounds 30, learning rate 0.1 and tree depth 4.")  # a changed preset, said as it is


@pytest.mark.parametrize("name", ["original-2021", "Original study (2021)", "  ORIGINAL-2021 ",
                                  "original study (2021)"])
def test_find_preset_by_slug_or_full_name(name: str) -> None:
    assert find_preset(name) == PRESETS["Original study (2021)"]


def test_find_preset_returns_a_copy() -> None:
    found = find_preset("quick")
    found["max_depth"] = 11
    assert PRESETS["Quick look"]["max_depth"] == 3


def test_find_preset_unknown_lists_the_presets() -> None:
    with pytest.raises(SettingError, match="There is no preset called “fast”") as caught:
        find_preset("fast")
    assert "defaults, original-2021, quick, careful" in caught.value.hint
    assert "Original study (2021)" in caught.value.hint


@pytest.mark.parametrize(("text", "expected"), [
    ("max_depth=4", ("max_depth", "4")),
    (" eta = 0.1 ", ("eta", "0.1")),
    ("name=a=b", ("name", "a=b")),
    ("gamma=", ("gamma", "")),
])
def test_parse_param(text: str, expected: tuple[str, str]) -> None:
    assert parse_param(text) == expected


@pytest.mark.parametrize("text", ["max_depth", "=4", "  =4", ""])
def test_parse_param_refuses_what_is_not_key_value(text: str) -> None:
    with pytest.raises(SettingError, match="must look like KEY=VALUE") as caught:
        parse_param(text)
    assert "--param max_depth=4" in caught.value.hint


def test_setting_error_is_a_kayfabe_error_with_message_and_hint() -> None:
    with pytest.raises(KayfabeError) as caught:
        DEPTH.check(99)
    assert str(caught.value) == f"{caught.value.message} {caught.value.hint}"


def test_numbers_in_messages_are_written_as_people_write_them() -> None:
    from kayfabe_core.constraints import SPLIT_KNOBS
    from kayfabe_core.errors import SettingError

    seed = next(knob for knob in SPLIT_KNOBS if knob.key == "seed")
    with pytest.raises(SettingError) as caught:
        seed.check(-1)
    assert "must be between 0 and 2,147,483,647; got -1" in caught.value.message
    assert "preset" not in caught.value.hint  # presets set XGBoost's knobs, not the split's


def test_short_titles_are_the_titles_without_xgboosts_names() -> None:
    from kayfabe_core.constraints import SHORT_TITLES

    assert (SHORT_TITLES["max_depth"], SHORT_TITLES["eta"], SHORT_TITLES["min_child_weight"]) == (
        "Tree depth", "Learning rate", "Smallest leaf")
