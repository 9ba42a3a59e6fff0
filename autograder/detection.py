"""Which isolation level this machine gives the child: found by trying each, once per process.

``detect()`` takes the levels of ``autograder.confinement`` best first and really
starts the worker at each -- through the reaper, exactly as a probe runs, with a
self-test request that runs no student code: it imports the probe modules (torch
and all) and reports its uid, how many processes it can see, and whether it
can see and read ``solutions/`` (a ``nobody`` child that can read it is used,
with a warning in every report). The first level whose child starts and looks as it
should is used; each better level that failed is kept with its reason, for the
report. The answer is cached in this process only (nothing on disk that a
child could change), and the first call takes a few seconds, which ``grade``
overlaps with preparing the inputs. When the answer is ``same-user`` the banner
of ``Confinement.terminal_warning`` goes to stderr, once.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

from autograder.bubblewrap import SANDBOX_UID
from autograder.confinement import ISOLATION_ENV, LEVELS, Confinement, nobody_ids
from autograder.errors import UsageError
from autograder.isolation import Limits, run_worker
from autograder.projects import solutions_root

SELF_TEST_MODULES = ("autograder.probes.facial_keypoints",)
"""What the self-test imports: torch, NumPy, OpenCV and the course packages (the native libraries a probe needs)."""
SELF_TEST_TIMEOUT = 180.0
MAX_SANDBOX_PROCESSES = 5
"""A child in a private PID namespace sees only bwrap's init, itself and little else."""

_lock = threading.Lock()
_cache: dict[str, Confinement] = {}
_announced: set[str] = set()


def requested_level() -> str:
    """``$AUTOGRADER_ISOLATION``: ``auto`` (the default) or one of ``LEVELS``."""
    value = os.environ.get(ISOLATION_ENV, "").strip() or "auto"
    if value not in ("auto", *LEVELS):
        raise UsageError(f"{ISOLATION_ENV}={value!r}: choose auto, {', '.join(LEVELS)}")
    return value


def detect(requested: str | None = None) -> Confinement:
    """The confinement for children of this process (``requested``: default ``requested_level()``).

    ``UsageError`` if a level was asked for by name and cannot be used here."""
    requested = requested or requested_level()
    with _lock:
        if requested not in _cache:
            _cache[requested] = _detect(requested)
        confinement = _cache[requested]
        if confinement.unsandboxed and requested not in _announced:
            _announced.add(requested)
            print(confinement.terminal_warning(), file=sys.stderr, flush=True)
    return confinement


def known(requested: str | None = None) -> Confinement | None:
    """``detect()``'s answer if this process already has it, else None (without detecting)."""
    with _lock:
        return _cache.get(requested or requested_level())


def _candidate(level: str) -> tuple[Confinement | None, str]:
    """The confinement a level would use here, or ``(None, why not)``."""
    if level == "bubblewrap":
        if not sys.platform.startswith("linux"):
            return None, "bubblewrap runs on Linux only"
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            return None, "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
        if os.geteuid() != 0:
            return Confinement(level, os.geteuid(), os.getegid(), bwrap=bwrap), ""
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            return None, "setpriv (util-linux) is not installed: it drops root inside the sandbox"
        return Confinement(level, SANDBOX_UID, SANDBOX_UID, bwrap=bwrap, setpriv=setpriv), ""
    if level == "nobody":
        if os.geteuid() != 0:
            return None, "the grader does not run as root, so it cannot switch to another user"
        ids = nobody_ids()
        if ids is None:
            return None, "this system has no user nobody"
        return Confinement(level, *ids), ""
    return Confinement(level, os.geteuid(), os.getegid()), ""


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def self_test(candidate: Confinement) -> tuple[str, tuple[str, ...]]:
    """Run the worker's self-test at ``candidate``: ``(what went wrong or "", the hidden folders it could read)``."""
    root = Path(tempfile.mkdtemp(prefix="autograder-selftest-"))
    hidden = str(solutions_root())
    request = {"self_test": {"modules": list(SELF_TEST_MODULES), "hidden": [hidden]}, "limits": vars(Limits())}
    try:
        run = run_worker(candidate, root, request, Limits(), SELF_TEST_TIMEOUT)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if run.failure:
        return run.failure, ()
    if run.timed_out:
        return f"the child's self-test did not finish in {SELF_TEST_TIMEOUT:.0f} s", ()
    if run.records[0] is None:
        return f"the child did not start (exit code {run.returncode}): {_first_line(run.log_tail)}", ()
    seen = run.records[0]["value"]
    expected = SANDBOX_UID if candidate.level == "bubblewrap" else candidate.uid
    if seen["uid"] != expected:
        return f"the child ran as uid {seen['uid']}, not {expected}", ()
    if candidate.level == "bubblewrap" and (seen["visible"] or seen["processes"] > MAX_SANDBOX_PROCESSES):
        return f"the sandbox showed {seen['visible'] or str(seen['processes']) + ' processes'}", ()
    return "", tuple(seen["readable"])


def _detect(requested: str) -> Confinement:
    unavailable: list[tuple[str, str]] = []
    for level in LEVELS:
        if requested not in ("auto", level):
            if LEVELS.index(level) < LEVELS.index(requested):
                unavailable.append((level, f"not tried ({ISOLATION_ENV}={requested})"))
            continue
        candidate, why = _candidate(level)
        exposed: tuple[str, ...] = ()
        if candidate is not None and level != "same-user":
            why, exposed = self_test(candidate)
        if candidate is not None and not why:
            return replace(candidate, unavailable=tuple(unavailable), exposed=exposed)
        if requested == level:
            raise UsageError(f"{ISOLATION_ENV}={level} was asked for, but it cannot be used here: {why}")
        unavailable.append((level, why))
    raise AssertionError("same-user is always available")
