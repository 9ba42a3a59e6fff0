"""Attention weights over an image's grid cells: where the objects are, how much a word looked there, pictures.

Shared by notebook 4 and the grader (which knows the objects; the model only
returns its weights). A grid of ``rows x columns`` cells covers the whole image,
cells in row-major order (``GridEncoder.head``'s order), so weights ``(P,)`` reshape
to ``(rows, columns)``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from .shapes_captions import PLURALS, SHAPES

SHAPE_WORDS = frozenset(SHAPES) | frozenset(PLURALS.values())


def grid_of(cells: int) -> tuple[int, int]:
    """``(rows, columns)`` of a square grid of ``cells`` cells; ``ValueError`` if ``cells`` is not a square."""
    side = math.isqrt(int(cells))
    if side * side != cells or side == 0:
        raise ValueError(f"{cells} attention weights per step: not a square grid")
    return side, side


def object_cells(bbox: Sequence[float], image_size: float, grid: tuple[int, int]) -> np.ndarray:
    """Boolean ``(rows * columns,)``: the cells that the box ``[x, y, w, h]`` (pixels of a square image of side
    ``image_size``) overlaps."""
    rows, columns = grid
    x, y, w, h = (float(v) / image_size for v in bbox)
    col_lo, col_hi = int(math.floor(x * columns)), int(math.ceil((x + w) * columns))
    row_lo, row_hi = int(math.floor(y * rows)), int(math.ceil((y + h) * rows))
    mask = np.zeros((rows, columns), dtype=bool)
    mask[max(row_lo, 0):min(row_hi, rows), max(col_lo, 0):min(col_hi, columns)] = True
    return mask.ravel()


def first_shape_word(words: Sequence[str]) -> int | None:
    """Position of the first word in ``words`` that names a shape ("circle", "stars", ...), else None."""
    return next((t for t, word in enumerate(words) if word in SHAPE_WORDS), None)


def mass_on_object(alpha: Sequence[float], obj: Mapping, image_size: float) -> tuple[float, float]:
    """``(attention mass on the object's cells, the cells' share of the grid)`` for one step's weights ``(P,)``;
    the share is what uniform attention would put there (chance)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    cells = object_cells(obj["bbox"], image_size, grid_of(alpha.size))
    return float(alpha[cells].sum()), float(cells.mean())


def spatial_figure(objects: Sequence[Sequence[Mapping]], captions: Sequence[Sequence[str]],
                   alphas: Sequence, image_size: float) -> dict:
    """How spatial a captioner's attention is, over the one-object images whose caption names a shape.

    objects: per image, its objects (each with a ``bbox``); captions: per image, the generated words, one per
    decoding step; alphas: per image, the weights ``(T, P)`` of those steps (None: skipped); image_size: the
    images' side in pixels. Returns ``{"images": how many counted, "mass": the mean attention mass of the first
    shape word on the object's cells, "chance": what uniform attention would put there, "examples": the counted
    images' positions}``.
    """
    masses, chances, examples = [], [], []
    for k, (found, words, weights) in enumerate(zip(objects, captions, alphas)):
        t = first_shape_word(words)
        if len(found) != 1 or t is None or weights is None or t >= len(weights):
            continue
        mass, chance = mass_on_object(weights[t], found[0], image_size)
        masses.append(mass)
        chances.append(chance)
        examples.append(k)
    return {"images": len(masses), "mass": float(np.mean(masses)) if masses else 0.0,
            "chance": float(np.mean(chances)) if chances else 0.0, "examples": examples}


def overlay(image: np.ndarray, alpha: Sequence[float], strength: float = 0.75) -> np.ndarray:
    """The image ``(H, W, 3)`` uint8 dimmed where one step's weights ``(P,)`` are low: ``(H, W, 3)`` uint8.

    The weights are reshaped to the grid, scaled to a maximum of 1 and smoothly
    upsampled to the image (bicubic), as in the paper's figures.
    """
    alpha = np.asarray(alpha, dtype=np.float32)
    grid = alpha.reshape(grid_of(alpha.size))
    heat = cv2.resize(grid / max(float(grid.max()), 1e-8), (image.shape[1], image.shape[0]),
                      interpolation=cv2.INTER_CUBIC).clip(0, 1)
    shaded = image.astype(np.float32) * ((1 - strength) + strength * heat[..., None])
    return shaded.clip(0, 255).astype(np.uint8)


def plot_words(image: np.ndarray, words: Sequence[str], alphas: Sequence[Sequence[float]], title: str = "",
               width: float = 1.6, max_words: int = 12):
    """One row: the image, then each word over the image shaded by where the model looked for it.

    ``alphas``: one ``(P,)`` row per word (the same length as ``words``). Returns the ``Figure``.
    """
    import matplotlib.pyplot as plt

    count = min(len(words), max_words)
    fig, axes = plt.subplots(1, count + 1, figsize=(width * (count + 1), width * 1.2), squeeze=False)
    draw_words(axes[0], image, words, alphas, title or "image")
    fig.tight_layout()
    return fig


def draw_words(axes, image: np.ndarray, words: Sequence[str], alphas: Sequence[Sequence[float]],
               title: str = "image") -> None:
    """Into a row of matplotlib ``axes``: the image, then each word over it shaded by its weights ``(P,)``, as many
    words as there are axes after the first (``plot_words`` and the grader's HTML page both draw with this)."""
    for ax in axes:
        ax.axis("off")
    axes[0].imshow(image)
    axes[0].set_title(title, fontsize=8)
    for ax, word, alpha in zip(axes[1:], words, alphas):
        ax.imshow(overlay(image, alpha))
        ax.set_title(word, fontsize=10)
