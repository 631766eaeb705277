"""Numbers in words: the noun and the verb agree with the number."""

from kayfabe_core.wording import counted, counted_are


def test_nouns_and_verbs_agree_with_the_number() -> None:
    assert [counted(n, "image") for n in (0, 1, 2_000)] == ["0 images", "1 image", "2,000 images"]
    assert counted_are(1, "image") == "1 image is"
    assert counted_are(3, "image") == "3 images are"


def test_words_are_joined_as_a_person_writes_them() -> None:
    from kayfabe_core.wording import join_words

    assert [join_words(words) for words in ([], ["a"], ["a", "b"], ["a", "b", "c"])] == \
        ["", "a", "a and b", "a, b and c"]


def test_a_stored_time_to_the_minute() -> None:
    from kayfabe_core.wording import minute_text

    assert minute_text("2026-12-03T19:05:32Z") == "2026-12-03 19:05"
    assert minute_text("2026-12-03T19:05:32.123456+00:00") == "2026-12-03 19:05"
