"""A picture of the faces data: sample images with their 68 points drawn."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .faces import csv_name
from .images import read_image
from .keypoints_table import read_keypoints_csv

REGIONS = [(range(0, 17), "jaw", "tab:orange"), (range(17, 27), "brows", "tab:purple"),
           (range(27, 36), "nose", "tab:cyan"), (range(36, 48), "eyes", "lime"),
           (range(48, 68), "mouth", "magenta")]
"""Point index ranges of the iBUG layout with a colour each, for plots."""


def write_faces_grid(faces_dir: Path, out_png: Path, n: int = 12, split: str = "training", cols: int = 4) -> Path:
    """Save a grid of ``n`` images of a split with their keypoints coloured by region."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    faces_dir = Path(faces_dir)
    names, keypoints = read_keypoints_csv(faces_dir / csv_name(split))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.5 * rows))
    for ax, name, kp in zip(axes.flat, names, keypoints):
        img = read_image(faces_dir / split / name)
        ax.imshow(img)
        for idx, label, colour in REGIONS:
            ax.scatter(kp[list(idx), 0], kp[list(idx), 1], s=6, c=colour, label=label)
        ax.set_title(f"{name}\n{img.shape[1]}x{img.shape[0]} px", fontsize=7)
        ax.axis("off")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(REGIONS), fontsize=7, markerscale=2, frameon=False)
    fig.suptitle("Synthetic faces with their 68 keypoints (iBUG layout)", fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=72)
    plt.close(fig)
    return out_png
