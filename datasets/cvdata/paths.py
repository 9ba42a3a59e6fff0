"""Where the course's data lives by default.

Generated (synthetic) data goes to ``datasets/generated/`` and fetched real data
to ``datasets/real/``; both are git-ignored. Every command takes ``--root`` to
put them elsewhere.
"""
from __future__ import annotations

import os
from pathlib import Path

DATASETS_DIR = Path(__file__).resolve().parent.parent
"""The repository's ``datasets/`` folder (this package's parent)."""

GENERATED_DIR = DATASETS_DIR / "generated"
REAL_DIR = DATASETS_DIR / "real"
SAMPLES_DIR = DATASETS_DIR / "samples"

FACES_SUBDIR = "facial_keypoints"
"""Sub-folder for facial keypoints data, under both generated/ and real/."""

SHAPES_SUBDIR = "shapes"
"""Sub-folder of generated/ for the shapes-world captioning data."""

DATA_ROOT_ENV = "CVDATA_ROOT"
"""Environment variable: a folder to use instead of ``datasets/generated/`` (tests, notebooks)."""

COCO_SUBDIR = "coco"
"""Sub-folder of real/ for MS COCO 2014."""


def faces_dir(root: Path = GENERATED_DIR) -> Path:
    """Folder holding the Udacity-format CSVs and ``training/``, ``test/``."""
    return Path(root) / FACES_SUBDIR


def shapes_dir(root: Path = GENERATED_DIR) -> Path:
    """Folder holding ``annotations/captions_<split>.json`` and ``images/<split>/``."""
    return Path(root) / SHAPES_SUBDIR


def coco_dir(root: Path = REAL_DIR) -> Path:
    """Folder holding MS COCO 2014's ``annotations/`` and ``images/<split>2014/``."""
    return Path(root) / COCO_SUBDIR


def data_root() -> Path:
    """The generated-data root notebooks read: ``$CVDATA_ROOT`` if set, else ``GENERATED_DIR``."""
    override = os.environ.get(DATA_ROOT_ENV, "").strip()
    return Path(override) if override else GENERATED_DIR
