"""The course's projects: registered once (``PROJECTS``), their files read off ``solutions/`` (the single source).

``PROJECTS`` says what a project is beyond its files -- its title, the artefacts its
notebooks save, how its reference is trained, the data set it reads, its check and
probe modules -- and everything else (the CLI's choices, the grader, the main job, the
lessons, the tests) reads it. Adding a project is one entry here plus its own files:
``solutions/<name>/``, ``autograder/checks/<name>.py`` and ``autograder/probes/<name>.py``.

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
from functools import cache
from pathlib import Path

from autograder.paths import SOLUTIONS_DIR

SHOW_AND_TELL_ARTEFACTS = ("models/encoder.pt", "models/decoder.pt", "models/model_config.json", "models/vocab.json")
"""What captioning notebook 2 saves (``training.save_checkpoint``)."""
ATTENTION_ARTEFACTS = ("models/attention/encoder.pt", "models/attention/decoder.pt",
                       "models/attention/attention_config.json", "models/attention/vocab.json")
"""What captioning notebook 4 saves (``attention.save_attention``; a test keeps the two in sync)."""


@dataclass(frozen=True)
class Registration:
    """What a project is, beyond the files of its solutions folder."""

    title: str
    """Its name for people (page titles, the Canvas gradebook column)."""
    artefacts: tuple[str, ...]
    """The files its notebooks save that the grader reads (relative paths)."""
    training: tuple[tuple[str, ...], ...]
    """How the main job (and the tests) train its reference when an artefact is missing: commands run in turn in
    the project folder, counted in epochs and steps, never seconds, so the reference is the same model on a fast,
    slow or busy machine."""
    data: str
    """The synthetic data set (``cvdata`` kind) its notebooks and grader read."""
    checks: str = ""
    """Module with its ``CHECKS`` and ``prepare`` (default ``autograder.checks.<name>``)."""
    probes: str = ""
    """Module with its probes, imported in the child (default ``autograder.probes.<name>``)."""


PROJECTS: dict[str, Registration] = {
    "facial_keypoints": Registration("Facial keypoints", ("saved_models/keypoints_model.pt",),
                                     (("train.py", "--epochs", "12"),), data="faces"),
    "image_captioning": Registration("Image captioning", SHOW_AND_TELL_ARTEFACTS + ATTENTION_ARTEFACTS,
                                     (("train.py", "--max-steps", "1400", "--out", "models"),
                                      ("train.py", "--attention", "--max-steps", "800", "--out", "models/attention")),
                                     data="shapes"),
}
"""The registry (captioning trains Show and Tell, then Show, Attend and Tell)."""

SOLUTION_MARKER = "### BEGIN SOLUTION"
SOLUTIONS_ENV = "COURSE_SOLUTIONS_DIR"
"""Environment variable: where ``solutions/`` is when the grader runs from an installed copy (Gradescope)."""


@dataclass(frozen=True)
class Project:
    """One project: its registration and the files of its solutions folder (relative paths)."""

    name: str
    solution_dir: Path
    student_files: tuple[str, ...]
    given_files: tuple[str, ...]
    registration: Registration

    @property
    def artefacts(self) -> tuple[str, ...]:
        return self.registration.artefacts

    @property
    def title(self) -> str:
        return self.registration.title

    @property
    def checks_module(self) -> str:
        return self.registration.checks or f"autograder.checks.{self.name}"

    @property
    def probes_module(self) -> str:
        return self.registration.probes or f"autograder.probes.{self.name}"

    def missing_artefacts(self, folder: Path) -> list[str]:
        """The artefacts (saved model files) not in ``folder``, a copy of this project's folder."""
        return [name for name in self.artefacts if not (Path(folder) / name).is_file()]


def project_names() -> tuple[str, ...]:
    """The gradable projects, sorted."""
    return tuple(sorted(PROJECTS))


def solutions_root() -> Path:
    """``$COURSE_SOLUTIONS_DIR`` if set, else the repository's ``solutions/``."""
    return Path(os.environ.get(SOLUTIONS_ENV) or SOLUTIONS_DIR)


def get_project(name: str) -> Project:
    """The ``Project`` called ``name``; ``ValueError`` listing the choices for an unknown one."""
    if name not in PROJECTS:
        raise ValueError(f"unknown project {name!r}; choose one of: {', '.join(project_names())}")
    return _read_project(name, PROJECTS[name], solutions_root())


@cache
def _read_project(name: str, registration: Registration, root: Path) -> Project:
    folder = root / name
    student, given = [], []
    for path in sorted(folder.glob("*.py")):
        (student if SOLUTION_MARKER in path.read_text(encoding="utf-8") else given).append(path.name)
    return Project(name, folder, tuple(student), tuple(given), registration)
