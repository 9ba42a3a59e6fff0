"""The folder student code runs in: only the files a project expects, nothing else.

``make_sandbox(project, submission_dir)`` copies the project's student files and
artefacts out of the submission (when present; symlinks and oversized files are
refused) and the given helper files from ``solutions/``. The folder is made
with ``tempfile.mkdtemp`` outside the submission and outside the grader's
report folder; the child process may write only there (``isolation``).

Everything in the folder may have been changed by the child, so the grader reads
back only what the child was asked to write, with ``read_child_file`` (no
symbolic links, no FIFOs, bounded size), and scores against its own copies of
the inputs, never the ones in the folder.
"""
from __future__ import annotations

import os
import shutil
import stat
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


def copy_expected_file(source: Path, target: Path, relative: str, box: Sandbox) -> None:
    """Copy one expected file of a submission to ``target``, noted in ``box``: refused if it is a symbolic link
    or larger than ``MAX_FILE_MB``, noted missing if it is not a file."""
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
        copy_expected_file(submission_dir / relative, root / relative, relative, box)
    for relative in project.given_files:
        shutil.copyfile(project.solution_dir / relative, root / relative)
    box.inputs.mkdir()
    return box


def read_child_file(path: str | Path, max_bytes: int) -> bytes | None:
    """The bytes of ``path``, a file the child wrote: None if it is missing, a symbolic link, not a regular
    file (a FIFO would block) or larger than ``max_bytes``."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(handle, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        return stream.read(max_bytes + 1)[:max_bytes]


def give_to(root: Path, uid: int, gid: int) -> None:
    """Make ``root`` and everything in it belong to ``uid:gid`` (links themselves, never what they point to;
    a file with several hard links is left alone, as it may not be the sandbox's own)."""
    os.chown(root, uid, gid)
    for path in root.rglob("*"):
        info = path.lstat()
        if stat.S_ISDIR(info.st_mode) or info.st_nlink == 1:
            os.chown(path, uid, gid, follow_symlinks=False)


def remove_sandbox(box: Sandbox) -> None:
    """Delete the sandbox folder (whatever the child left in it)."""
    shutil.rmtree(box.root, ignore_errors=True)
