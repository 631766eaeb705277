"""Image bytes are stored once under their content hash."""

import hashlib
import io

import pytest
from PIL import Image

from kayfabe_core.images import save_image_bytes
from kayfabe_core.workspace import Workspace


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (100, 90), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_bytes_are_saved_under_their_hash(workspace: Workspace) -> None:
    data = _png()
    stored = save_image_bytes(workspace, data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert (stored.ext, stored.width, stored.height, stored.n_bytes) == ("png", 100, 90, len(data))
    assert workspace.image_path(stored.sha256, "png").read_bytes() == data
    assert save_image_bytes(workspace, data) == stored
    assert len(list(workspace.images_dir.iterdir())) == 1


def test_other_formats_are_refused(workspace: Workspace) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="GIF")
    with pytest.raises(KeyError):
        save_image_bytes(workspace, buffer.getvalue())
