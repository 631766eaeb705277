"""The PhantomBuster Instagram export's columns: which names mean what.

Columns are matched by name, never by position. Several names that scrapers
have used for the same thing are accepted (the alias map); names that match
none of these are reported as unknown and ignored.
"""

from __future__ import annotations

import re

# canonical field -> accepted column names, in order of preference
ALIASES: dict[str, tuple[str, ...]] = {
    "post_url": ("postUrl", "postURL", "post_url", "url"),
    "image_url": ("imgUrl", "imageUrl", "displayUrl", "image_url"),
    "media_id": ("postId", "id", "mediaId"),
    "media_type": ("type", "postType"),
    "owner": ("username", "ownerUsername"),
    "full_name": ("fullName", "ownerFullName"),
    "profile_url": ("profileUrl",),
    "description": ("description",),
    "alt_text": ("caption",),
    "like_count": ("likeCount",),
    "comment_count": ("commentCount",),
    "view_count": ("viewCount", "videoViewCount"),
    "pub_date": ("pubDate",),
    "location": ("location",),
    "is_carousel": ("isSidecar",),
    "query": ("query",),
    "scraped_at": ("timestamp",),
    "error": ("error",),
}

# columns of real exports that the app reads past on purpose
IGNORED = frozenset(
    {"locationId", "likedByViewer", "sidePostUrl", "videoUrl", "ownerId", "imgUrls", "childPosts"}
)
TAGGED = re.compile(r"^tagged(FullName|Username)(\d+)$")

EXPECTED_HINT = (
    "A PhantomBuster Instagram export has a column postUrl (or postURL / post_url / url), "
    "and usually imgUrl, description, pubDate, type, likeCount and commentCount."
)


def map_columns(columns: list[str]) -> tuple[dict[str, str], list[str]]:
    """Match the file's column names to canonical fields.

    Returns (column name -> canonical field, names that matched nothing). The
    tagged-user columns map to themselves; where two columns could fill one
    field, the preferred alias wins and the other is ignored.
    """
    by_lower: dict[str, str] = {}
    for column in columns:
        by_lower.setdefault(column.lower(), column)
    mapping: dict[str, str] = {}
    claimed: set[str] = set()
    for field, names in ALIASES.items():
        matches = [by_lower[name.lower()] for name in names if name.lower() in by_lower]
        if matches:
            mapping[matches[0]] = field
        claimed.update(matches)
    unknown = []
    for column in columns:
        if column in claimed or column in IGNORED or not column:
            continue
        if TAGGED.match(column):
            mapping[column] = column
        else:
            unknown.append(column)
    return mapping, unknown
