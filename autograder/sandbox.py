"""The folder student code runs in: only the files a project expects, nothing else.

``make_sandbox(project, submission_dir)`` copies the project's student files and
artefacts out of the submission (when present; symlinks and oversized files are
refused) and the given helper files from ``solutions/``. The folder is made
with ``tempfile.mkdtemp`` outside the submission and outside the grader's
report folder; the child process may write only there (``isolation``).
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.projects import Project

MAX_FILE_MB = 512
"""Largest submission file copied (a model checkpoint is tens of MB at most)."""

INPUTS = "grader_inputs"
"""Sub-folder of the sandbox where the grader puts the data a check needs (images, arrays)."""


@dataclass
class Sandbox:
    """A prepared sandbox folder and what went into it."""

    root: Path
    copied: list[str] = field(default_factory=list)
    """Student files and artefacts taken from the submission (relative paths)."""
    missing: list[str] = field(default_factory=list)
    """Expected files the submission does not have."""
    refused: dict[str, str] = field(default_factory=dict)
    """Files not copied, with the reason (a symlink, too large)."""

    @property
    def inputs(self) -> Path:
        return self.root / INPUTS

    def has(self, relative: str) -> bool:
        return relative in self.copied


def _copy_one(source: Path, target: Path, relative: str, box: Sandbox) -> None:
    if source.is_symlink():
        box.refused[relative] = "a symbolic link (submit the file itself)"
    elif not source.is_file():
        box.missing.append(relative)
    elif source.stat().st_size > MAX_FILE_MB * 2**20:
        box.refused[relative] = f"larger than {MAX_FILE_MB} MB"
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        box.copied.append(relative)


def make_sandbox(project: Project, submission_dir: Path, parent: Path | None = None) -> Sandbox:
    """A fresh sandbox for ``submission_dir`` (in ``parent``, default the system temp folder)."""
    root = Path(tempfile.mkdtemp(prefix=f"autograder-{project.name}-", dir=parent))
    box = Sandbox(root)
    submission_dir = Path(submission_dir)
    for relative in project.student_files + project.artefacts:
        _copy_one(submission_dir / relative, root / relative, relative, box)
    for relative in project.given_files:
        shutil.copyfile(project.solution_dir / relative, root / relative)
    box.inputs.mkdir()
    return box


def remove_sandbox(box: Sandbox) -> None:
    """Delete the sandbox folder (whatever the child left in it)."""
    shutil.rmtree(box.root, ignore_errors=True)
