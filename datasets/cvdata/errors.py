"""Errors raised for bad input data and failed fetches.

Every message names the file (or URL) and the problem in one line, so that a
student sees what to fix instead of a traceback from deep inside pandas or cv2.
"""
from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """A data file is missing, malformed or unreadable.

    ``str(err)`` is ``"<path>: <problem>"``.
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class FetchError(RuntimeError):
    """A download could not be completed (offline, HTTP error, bad archive).

    ``str(err)`` is one line meant to be printed as is.
    """
