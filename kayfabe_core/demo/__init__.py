"""Deterministic demo data: an invented wrestler's Instagram export, cartoon pictures,
Rekognition-shaped responses and two coders' hand codes, all from a seed.

Public API::

    generate_demo(seed=2021) -> DemoData
    make_sample_export(n_posts=40, seed=7) -> str
    make_export(n_posts, seed, *, account=None, start=..., end=..., error_rows=5,
                duplicate_rows=12) -> DemoExport
    draw_picture(scene, seed, size=320) -> bytes
    build_responses(scene, account, seed) -> dict[str, dict]

Every person, account and celebrity Id in the demo is fictional.
"""

from kayfabe_core.demo.accounts import LANTERN, STRANGERS, THUNDERQUILL, Account, Celebrity
from kayfabe_core.demo.codebook import DEMO_CODEBOOK, DEMO_CODERS, Codebook
from kayfabe_core.demo.export import COLUMNS, DemoExport, ExportImage, make_export
from kayfabe_core.demo.generator import DemoData, DemoImage, generate_demo, make_sample_export
from kayfabe_core.demo.pictures import PAINTERS, draw_picture
from kayfabe_core.demo.responses import build_responses
from kayfabe_core.demo.scenes import SCENE_NAMES, SCENES, LabelDraw, Scene, get_scene

__all__ = [
    "COLUMNS", "DEMO_CODEBOOK", "DEMO_CODERS", "LANTERN", "PAINTERS", "SCENES", "SCENE_NAMES",
    "STRANGERS", "THUNDERQUILL", "Account", "Celebrity", "Codebook", "DemoData", "DemoExport",
    "DemoImage", "ExportImage", "LabelDraw", "Scene", "build_responses", "draw_picture",
    "generate_demo", "get_scene", "make_export", "make_sample_export",
]
