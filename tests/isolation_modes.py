"""The grader's two isolation modes, as pytest fixtures: the sandbox (bubblewrap) and the fallback below it.

Import the fixtures into a test module (``from isolation_modes import ...``).
``isolation_mode`` runs a test once in each mode, with ``AUTOGRADER_ISOLATION``
set for the in-process grader; the sandboxed run is skipped, with the reason,
where bubblewrap cannot run.
"""
from __future__ import annotations

import pytest

from autograder.confinement import ISOLATION_ENV
from autograder.detection import detect
from autograder.errors import UsageError


@pytest.fixture(scope="session")
def sandbox_level() -> str:
    """``bubblewrap``, or skip: the sandboxed mode needs it."""
    try:
        return detect("bubblewrap").level
    except UsageError as err:
        pytest.skip(f"the sandboxed mode cannot run here: {err}")


@pytest.fixture(scope="session")
def fallback_level() -> str:
    """The best isolation level below bubblewrap that this machine has (``nobody``, else ``same-user``)."""
    try:
        return detect("nobody").level
    except UsageError:
        return detect("same-user").level


@pytest.fixture(params=["sandbox", "fallback"])
def isolation_mode(request, monkeypatch) -> str:
    """Each mode in turn, set in the environment; returns the level's name."""
    level = request.getfixturevalue("sandbox_level" if request.param == "sandbox" else "fallback_level")
    monkeypatch.setenv(ISOLATION_ENV, level)
    return level
