"""Import a facial keypoints project folder's modules (solutions/ or lessons/) for the tests.

The modules import each other by bare name (``from data_load import ...``), so
a folder is put on ``sys.path`` while importing; the names are removed from
``sys.modules`` afterwards so that solutions and lessons never mix.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import SimpleNamespace

from autograder.paths import LESSONS_DIR, SOLUTIONS_DIR

PROJECT = "facial_keypoints"
SOLUTION_DIR = SOLUTIONS_DIR / PROJECT
LESSON_DIR = LESSONS_DIR / PROJECT
MODULES = ("data_load", "models", "training")


def import_project(folder: Path = SOLUTION_DIR, names: tuple[str, ...] = MODULES) -> SimpleNamespace:
    """Fresh imports of ``names`` from ``folder``, as attributes of the returned namespace."""
    saved = list(sys.path)
    for name in MODULES:
        sys.modules.pop(name, None)
    sys.path.insert(0, str(folder))
    try:
        return SimpleNamespace(**{name: importlib.import_module(name) for name in names})
    finally:
        sys.path[:] = saved
        for name in MODULES:
            sys.modules.pop(name, None)
