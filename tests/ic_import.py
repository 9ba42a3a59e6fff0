"""Import the image-captioning project's flat modules (``model``, ``training``, ...) for tests.

The project's files import each other by bare name, as they do when a notebook
runs in the project folder. Tests import them through ``import_ic`` so that the
names never linger in ``sys.modules`` (another project may have a ``model.py``
too) and so that ``solutions/`` and ``lessons/`` can both be imported in one session.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import SimpleNamespace

REPO_DIR = Path(__file__).resolve().parent.parent
IC_SOLUTION = REPO_DIR / "solutions" / "image_captioning"
IC_LESSON = REPO_DIR / "lessons" / "image_captioning"
MODULES = ("vocabulary", "checkpoints", "backbones", "model", "attention", "features", "data_loader", "evaluation",
           "training", "train")

_loaded: dict[Path, SimpleNamespace] = {}


def import_ic(project_dir: Path = IC_SOLUTION) -> SimpleNamespace:
    """The project's modules as attributes (``ic.model.EncoderCNN``), imported once per folder."""
    project_dir = Path(project_dir).resolve()
    if project_dir not in _loaded:
        saved_path, saved_modules = list(sys.path), {n: sys.modules.pop(n) for n in MODULES if n in sys.modules}
        sys.path.insert(0, str(project_dir))
        try:
            modules = {n: importlib.import_module(n) for n in MODULES if (project_dir / f"{n}.py").exists()}
        finally:
            sys.path[:] = saved_path
            for name in MODULES:
                sys.modules.pop(name, None)
            sys.modules.update(saved_modules)
        _loaded[project_dir] = SimpleNamespace(**modules)
    return _loaded[project_dir]
