"""The hidden truth behind the demo: each image's scene and its hand codes.

A post gets a latent scene; the slides of a carousel mostly share it. Coder 1's
code is Bernoulli(P(YES | scene)), and slides of one post showing the same
scene mostly share the cover's code. Coder 2 codes a sample and disagrees more
often on the ambiguous scenes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kayfabe_core.demo.scenes import SCENES

P_SAME_SCENE = 0.8
"""Chance that a carousel slide shows the same scene as the cover."""
P_COPY_CODE = 0.85
"""Chance that a same-scene slide simply gets the cover's code."""
SECOND_CODER_SHARE = 0.15
"""Share of images the second coder also codes."""


@dataclass(frozen=True)
class Truth:
    """Per-image arrays (all the same length, images in export order)."""

    post_index: np.ndarray
    position: np.ndarray
    scene: np.ndarray
    code_yes: np.ndarray
    second_yes: np.ndarray
    has_second: np.ndarray


def scene_weights() -> np.ndarray:
    """Return the posting probability of each scene, in catalogue order (sums to 1)."""
    weights = np.array([scene.weight for scene in SCENES], dtype=float)
    return weights / weights.sum()


def p_yes_by_scene() -> np.ndarray:
    """Return P(coded YES | scene) for each scene, in catalogue order."""
    return np.array([scene.p_yes for scene in SCENES], dtype=float)


def sample_truth(rng: np.random.Generator, post_scene: np.ndarray, n_images: np.ndarray) -> Truth:
    """Return the :class:`Truth` for posts with covers ``post_scene`` and ``n_images`` slides each."""
    post_index = np.repeat(np.arange(len(n_images)), n_images)
    starts = np.cumsum(n_images) - n_images
    position = np.arange(len(post_index)) - np.repeat(starts, n_images)
    scene = _slide_scenes(rng, post_scene[post_index], position)
    code_yes = _codes(rng, scene, post_index, position, starts)
    has_second, second_yes = _second_codes(rng, scene, code_yes)
    return Truth(post_index, position, scene, code_yes, second_yes, has_second)


def _slide_scenes(rng: np.random.Generator, cover_scene: np.ndarray, position: np.ndarray) -> np.ndarray:
    other = rng.choice(len(SCENES), size=len(position), p=scene_weights())
    keep = (position == 0) | (rng.random(len(position)) < P_SAME_SCENE)
    return np.where(keep, cover_scene, other)


def _codes(rng: np.random.Generator, scene: np.ndarray, post_index: np.ndarray,
           position: np.ndarray, starts: np.ndarray) -> np.ndarray:
    own = rng.random(len(scene)) < p_yes_by_scene()[scene]
    cover = own[starts[post_index]]
    same_scene = scene == scene[starts[post_index]]
    copy = (position > 0) & same_scene & (rng.random(len(scene)) < P_COPY_CODE)
    return np.where(copy, cover, own)


def _second_codes(rng: np.random.Generator, scene: np.ndarray,
                  code_yes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = p_yes_by_scene()[scene]
    p_disagree = 0.09 + 0.5 * p * (1.0 - p)
    flip = rng.random(len(scene)) < p_disagree
    has_second = rng.random(len(scene)) < SECOND_CODER_SHARE
    return has_second, np.where(flip, ~code_yes, code_yes)
