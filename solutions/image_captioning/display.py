"""Plotting helpers for the captioning notebooks: images with their captions, training curves.

Nothing here is graded and nothing runs at import; each function returns its
matplotlib ``Figure`` so a notebook shows it by leaving it as a cell's last value.
"""
from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np


def show_captioned_images(
    images: Sequence[np.ndarray],
    captions: Sequence[str | Sequence[str]],
    titles: Sequence[str] | None = None,
    columns: int = 4,
    width: float = 3.2,
    wrap: int = 38,
):
    """A grid of images, each with its caption (or lines of captions) written under it.

    Args:
        images: RGB ``(H, W, 3)`` uint8 arrays (or ``(H, W)`` grey).
        captions: per image one string, or a list of strings (one line each).
        titles: optional short title above each image (e.g. its id, or "ok"/"wrong").
        columns: images per row.
        width: inches per column.
        wrap: characters per caption line before wrapping.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    if len(images) != len(captions):
        raise ValueError(f"got {len(images)} images but {len(captions)} captions")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles")
    if not images:
        raise ValueError("no images to show")
    columns = max(1, min(columns, len(images)))
    rows = math.ceil(len(images) / columns)
    texts = [_caption_text(c, wrap) for c in captions]
    text_lines = max(t.count("\n") + 1 for t in texts)
    text_height = 0.2 * text_lines + 0.1
    fig, axes = plt.subplots(
        rows, columns, figsize=(width * columns, (width + text_height) * rows), squeeze=False,
        layout="constrained",
    )
    for k, ax in enumerate(axes.flat):
        if k >= len(images):
            ax.axis("off")
            continue
        image = np.asarray(images[k])
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[k], fontsize=10)
        ax.set_xlabel(texts[k], fontsize=8.5, loc="left")
    plt.close(fig)  # returned, not auto-shown: Jupyter draws it once, as the cell's value
    return fig


def _caption_text(caption: str | Sequence[str], wrap: int) -> str:
    lines = [caption] if isinstance(caption, str) else list(caption)
    return "\n".join(textwrap.fill(line, wrap, subsequent_indent="  ") for line in lines)


def plot_curves(
    history: Sequence[Mapping[str, float]],
    keys: Sequence[str],
    x: str | None = None,
    titles: Mapping[str, str] | None = None,
):
    """One small plot per ``key`` of ``history`` (a list of dicts, e.g. one per epoch).

    Entries without a key (or with ``None``) are skipped in that plot, so a
    validation score recorded less often than the loss still draws.

    Args:
        history: the records, in order.
        keys: which values to plot, one panel each.
        x: the record key for the horizontal axis (default: the record's position).
        titles: optional panel title per key.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    if not history:
        raise ValueError("the history is empty: nothing to plot")
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        points = [
            (record.get(x, i) if x else i, record[key])
            for i, record in enumerate(history)
            if record.get(key) is not None
        ]
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o" if len(points) < 30 else None)
        ax.set_title((titles or {}).get(key, key))
        ax.set_xlabel(x or "record")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.close(fig)  # returned, not auto-shown: Jupyter draws it once, as the cell's value
    return fig
