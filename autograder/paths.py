"""Where the repository's course folders are (one definition for the grader and the lesson generator)."""
from __future__ import annotations

from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_DIR / "solutions"
LESSONS_DIR = REPO_DIR / "lessons"
