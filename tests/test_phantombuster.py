"""Matching export columns to fields by name, with aliases."""

from kayfabe_core.phantombuster import map_columns


def test_aliases_map_to_one_field_each() -> None:
    mapping, unknown = map_columns(["postURL", "displayUrl", "id", "postType", "ownerUsername"])
    assert mapping == {"postURL": "post_url", "displayUrl": "image_url", "id": "media_id",
                       "postType": "media_type", "ownerUsername": "owner"}
    assert unknown == []


def test_preferred_alias_wins_and_the_other_is_not_unknown() -> None:
    mapping, unknown = map_columns(["postUrl", "id", "postId"])
    assert mapping["postId"] == "media_id"
    assert "id" not in mapping
    assert unknown == []


def test_names_match_case_insensitively_and_unknown_are_listed_in_order() -> None:
    mapping, unknown = map_columns(["POSTURL", "zebra", "imgurl", "apple", "taggedUsername14"])
    assert mapping == {"POSTURL": "post_url", "imgurl": "image_url", "taggedUsername14": "taggedUsername14"}
    assert unknown == ["zebra", "apple"]


def test_known_columns_the_app_ignores_are_not_reported() -> None:
    _, unknown = map_columns(["postUrl", "likedByViewer", "videoUrl", "sidePostUrl", "locationId"])
    assert unknown == []
