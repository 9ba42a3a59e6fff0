"""Plotting helpers shared by the four notebooks (given code, nothing to write here).

Images are (H, W, 3) uint8 RGB or (H, W) grayscale arrays (or (1, H, W)
tensors); keypoints are (68, 2) pixel arrays or tensors.
"""
from __future__ import annotations

import cv2
import numpy as np

from cvdata.faces_grid import REGIONS

PART_COLOURS = {label: (colour, list(points)) for points, label, colour in REGIONS}
"""Face part -> (matplotlib colour, point indices), as in the data set's sample grid."""


def as_image(image) -> np.ndarray:
    """A displayable NumPy image: tensors to arrays, (1, H, W) to (H, W)."""
    array = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    return array[0] if array.ndim == 3 and array.shape[0] == 1 else array


def show_keypoints(ax, image, keypoints=None, title: str | None = None, truth=None, size: float = 12) -> None:
    """Draw ``image`` on a matplotlib axis with its (68, 2) pixel ``keypoints`` coloured by face part.

    ``truth`` (optional, (68, 2) pixels) is drawn as small white dots underneath,
    to compare a prediction with the labels.
    """
    array = as_image(image)
    ax.imshow(array, cmap="gray" if array.ndim == 2 else None)
    if truth is not None:
        t = as_image(truth).reshape(-1, 2)
        ax.scatter(t[:, 0], t[:, 1], s=size * 0.8, c="white", edgecolors="black", linewidths=0.3)
    if keypoints is not None:
        k = as_image(keypoints).reshape(-1, 2)
        for colour, idx in PART_COLOURS.values():
            ax.scatter(k[idx, 0], k[idx, 1], s=size, c=colour, marker=".")
    if title:
        ax.set_title(title, fontsize=9)
    ax.axis("off")


def show_grid(items, ncols: int = 4, size: float = 3.0):
    """Show a list of ``(image, keypoints, title)`` triples in a grid; returns the figure."""
    import matplotlib.pyplot as plt

    nrows = max(1, -(-len(items) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (image, keypoints, title) in zip(axes.flat, items):
        show_keypoints(ax, image, keypoints, title)
    fig.tight_layout()
    return fig


def draw_boxes(image_rgb: np.ndarray, boxes, colour=(255, 0, 0), thickness: int = 2) -> np.ndarray:
    """A copy of ``image_rgb`` with each ``(x, y, w, h)`` box drawn as a rectangle."""
    out = image_rgb.copy()
    for x, y, w, h in boxes:
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), colour, thickness)
    return out
