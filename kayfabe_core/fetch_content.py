"""Check downloaded bytes are a real image and turn them into what Rekognition takes.

Rekognition takes JPEG and PNG only, at least 80 px on each side. JPEG and PNG
bytes are kept exactly as downloaded; WebP, GIF, BMP and TIFF are transcoded to
JPEG (quality 90, RGB; transparency on white; the first frame of an animation).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from kayfabe_core.fetch_http import FetchFailure

MIN_SIDE = 80
JPEG_QUALITY = 90
KEPT_FORMATS = {"JPEG", "PNG"}
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


@dataclass(frozen=True)
class PreparedImage:
    """Bytes ready to store, and what was done to them."""

    data: bytes
    width: int
    height: int
    source_format: str
    transcoded: bool

    @property
    def too_small(self) -> bool:
        """True when a side is under Rekognition's minimum of 80 px."""
        return min(self.width, self.height) < MIN_SIDE


def sniff_format(data: bytes) -> str | None:
    """Return the image format named by the first bytes of ``data``, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return next((name for magic, name in MAGIC if data.startswith(magic)), None)


def prepare_image(data: bytes, max_pixels: int, max_bytes: int) -> PreparedImage:
    """Check ``data`` is an image and return it as JPEG or PNG bytes.

    Raises :class:`FetchFailure` 'not_an_image' (unknown magic bytes, or Pillow
    cannot read it) or 'too_large' (more than ``max_pixels`` pixels, or a
    transcoded JPEG over ``max_bytes``).
    """
    if sniff_format(data) is None:
        raise FetchFailure("not_an_image", _not_an_image_message(data))
    try:
        return _decode(data, max_pixels, max_bytes)
    except FetchFailure:
        raise
    except Image.DecompressionBombError as exc:
        raise FetchFailure("too_large", f"The image has too many pixels to open safely ({exc}).") from exc
    except Exception as exc:  # Pillow raises many kinds (OSError, SyntaxError, struct.error...)
        raise FetchFailure("not_an_image", f"The file could not be read as an image ({exc}).") from exc


def _not_an_image_message(data: bytes) -> str:
    start = data[:512].lstrip().lower()
    if start.startswith(b"<") or b"<html" in start:
        return "The link gave a web page instead of an image."
    if not data:
        return "The link gave an empty file instead of an image."
    return "The link gave a file that is not a JPEG, PNG, WebP, GIF, BMP or TIFF image."


def _decode(data: bytes, max_pixels: int, max_bytes: int) -> PreparedImage:
    with Image.open(io.BytesIO(data)) as picture:
        width, height = picture.size
        if width * height > max_pixels:
            raise FetchFailure(
                "too_large", f"The image is {width:,} × {height:,} pixels, more than the {max_pixels:,} allowed.")
        picture.verify()
    with Image.open(io.BytesIO(data)) as picture:
        source_format = picture.format or ""
        picture.load()
        if source_format in KEPT_FORMATS:
            return PreparedImage(data, width, height, source_format, transcoded=False)
        jpeg = _to_jpeg(picture)
    if len(jpeg) > max_bytes:
        raise FetchFailure(
            "too_large", f"The image converted to JPEG is larger than the {max_bytes:,} bytes allowed.")
    return PreparedImage(jpeg, width, height, source_format, transcoded=True)


def _to_jpeg(picture: Image.Image) -> bytes:
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        rgb = Image.new("RGB", rgba.size, "white")
        rgb.paste(rgba, mask=rgba.getchannel("A"))
    else:
        rgb = picture.convert("RGB")
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()
