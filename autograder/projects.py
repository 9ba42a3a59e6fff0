"""What each project's submission consists of, read off ``solutions/`` (the single source).

- **student files**: the project's ``.py`` files with solution regions
  (``### BEGIN SOLUTION``): copied from the submission when present.
- **given files**: the other ``.py`` files (helpers students don't write): always
  taken from ``solutions/``, so a submission can't change the code that trains
  or loads its own model.
- **artefacts**: what the notebooks save (trained weights, vocabulary), copied
  from the submission when present.

Nothing else is ever copied out of a submission (no ``conftest.py``, no module
that would shadow the grader's or a library's).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from autograder.paths import SOLUTIONS_DIR

SHOW_AND_TELL_ARTEFACTS = ("models/encoder.pt", "models/decoder.pt", "models/model_config.json", "models/vocab.json")
"""What captioning notebook 2 saves (``training.save_checkpoint``)."""
ATTENTION_ARTEFACTS = ("models/attention/encoder.pt", "models/attention/decoder.pt",
                       "models/attention/attention_config.json", "models/attention/vocab.json")
"""What captioning notebook 4 saves (``attention.save_attention``; a test keeps the two in sync)."""
ARTEFACTS = {
    "facial_keypoints": ("saved_models/keypoints_model.pt",),
    "image_captioning": SHOW_AND_TELL_ARTEFACTS + ATTENTION_ARTEFACTS,
}
"""Per project, the files its notebooks save that the grader reads (relative paths)."""

SOLUTION_MARKER = "### BEGIN SOLUTION"
SOLUTIONS_ENV = "COURSE_SOLUTIONS_DIR"
"""Environment variable: where ``solutions/`` is when the grader runs from an installed copy (Gradescope)."""


@dataclass(frozen=True)
class Project:
    """The files of one project (relative paths) and where its reference lives."""

    name: str
    solution_dir: Path
    student_files: tuple[str, ...]
    given_files: tuple[str, ...]
    artefacts: tuple[str, ...]

    def missing_artefacts(self, folder: Path) -> list[str]:
        """The artefacts (saved model files) not in ``folder``, a copy of this project's folder."""
        return [name for name in self.artefacts if not (Path(folder) / name).is_file()]


def project_names() -> tuple[str, ...]:
    """The gradable projects, sorted."""
    return tuple(sorted(ARTEFACTS))


def solutions_root() -> Path:
    """``$COURSE_SOLUTIONS_DIR`` if set, else the repository's ``solutions/``."""
    return Path(os.environ.get(SOLUTIONS_ENV) or SOLUTIONS_DIR)


def get_project(name: str) -> Project:
    """The ``Project`` called ``name``; ``ValueError`` listing the choices for an unknown one."""
    if name not in ARTEFACTS:
        raise ValueError(f"unknown project {name!r}; choose one of: {', '.join(project_names())}")
    return _read_project(name, solutions_root())


@lru_cache(maxsize=None)
def _read_project(name: str, root: Path) -> Project:
    folder = root / name
    student, given = [], []
    for path in sorted(folder.glob("*.py")):
        (student if SOLUTION_MARKER in path.read_text(encoding="utf-8") else given).append(path.name)
    return Project(name, folder, tuple(student), tuple(given), ARTEFACTS[name])
