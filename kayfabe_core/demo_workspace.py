"""Build the demo workspace: a fictional wrestler's account, drawn pictures,
Rekognition-shaped responses and two coders' hand codes — all from a seed.

Nothing is downloaded; the same seed always gives the same workspace.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kayfabe_core.codes import append_codes, write_codebook
from kayfabe_core.demo import DemoData, DemoImage, draw_picture, generate_demo
from kayfabe_core.errors import WorkspaceError
from kayfabe_core.images import StoredImage, mark_fetched, save_image_bytes
from kayfabe_core.ingest import IngestReport, read_export, write_export
from kayfabe_core.labels import store_response
from kayfabe_core.wording import counted
from kayfabe_core.workspace import Workspace, connect, folder_kind, open_workspace, read_meta, transaction, write_meta

DEMO_SEED = 2021
DEMO_FILE_NAME = "thunderquill_official.csv"
DEMO_CALLED_AT = "2022-02-01T12:00:00Z"


@dataclass(frozen=True)
class DemoSummary:
    """What building the demo produced."""

    workspace: Path
    import_report: IngestReport
    pictures: int
    responses: int
    codes: int
    already_there: bool = False


def build_demo_workspace(path: str | Path, seed: int = DEMO_SEED) -> DemoSummary:
    """Create the demo in the workspace at ``path`` (made if missing).

    Returns a :class:`DemoSummary`; when the demo is already there, returns at
    once with ``already_there``. Raises :class:`WorkspaceError` when the
    workspace already holds other posts (the demo never mixes with real data),
    when ``path`` is blank, or when it is a folder of other files.
    """
    if not str(path).strip():
        raise WorkspaceError("No folder was given for the demo workspace.",
                             "Name a new folder, e.g. python -m kayfabe_core demo demo-workspace.")
    if folder_kind(path) == "other":  # a user's folder of other files: the demo would spread its own among them
        raise WorkspaceError(f"{Path(path).expanduser()} holds other files and no workspace, so the demo was not "
                             "built there.", "Build the demo into a new or empty folder, e.g. demo-workspace.")
    workspace = open_workspace(path)
    if read_meta(workspace, "demo_seed") == str(seed):
        return DemoSummary(workspace.root, _empty_report(), 0, 0, 0, already_there=True)
    with connect(workspace) as conn:
        existing = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
    if existing:
        raise WorkspaceError(
            f"The workspace {workspace.root} already holds {counted(existing, 'post')} of your own, "
            "so the demo was not added to it.",
            "Build the demo into a new folder (e.g. demo-workspace) and switch to it.",
        )
    demo = generate_demo(seed)
    stored = _draw_all(workspace, demo.images)
    with transaction(workspace) as conn:
        report = write_export(conn, read_export([(DEMO_FILE_NAME, demo.export_csv.encode())]))
        responses = _write_images_and_labels(conn, demo.images, stored)
        codes = _write_codes(conn, demo)
        write_meta(conn, "demo_seed", str(seed))
    return DemoSummary(workspace.root, report, len(stored), responses, codes)


def _draw_all(workspace: Workspace, images: tuple[DemoImage, ...]) -> list[StoredImage]:
    def draw(image: DemoImage) -> StoredImage:
        return save_image_bytes(workspace, draw_picture(image.scene, image.picture_seed))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(draw, images))


def _write_images_and_labels(conn, images, stored) -> int:  # type: ignore[no-untyped-def]
    ids = dict(conn.execute("SELECT source_url, image_id FROM images").fetchall())
    count = 0
    for image, picture in zip(images, stored, strict=True):
        mark_fetched(conn, ids[image.source_url], picture)
        for operation, response in image.responses.items():
            store_response(conn, picture.sha256, operation, response, origin="demo",
                           called_at=DEMO_CALLED_AT, region="us-east-1")
            count += 1
    return count


def _write_codes(conn, demo: DemoData) -> int:  # type: ignore[no-untyped-def]
    version = write_codebook(conn, demo.codebook)
    hashes = dict(conn.execute("SELECT source_url, sha256 FROM images").fetchall())
    first, second = demo.coders
    codes = [(hashes[image.source_url], first, image.code) for image in demo.images]
    codes += [(hashes[image.source_url], second, image.second_code)
              for image in demo.images if image.second_code]
    return append_codes(conn, codes, version)


def _empty_report() -> IngestReport:
    return IngestReport((), 0, 0, 0, 0, 0, 0, 0, 0, ())
