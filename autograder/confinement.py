"""How a child is confined: three levels, best first, and the command that starts a child at each.

- ``bubblewrap``: a bubblewrap sandbox (``autograder.bubblewrap``): another uid,
  a private PID namespace, no network, and nothing of the machine visible but
  the Python installation, the course packages and its own folder.
- ``nobody``: the grader runs as root but bubblewrap cannot run here: the child
  runs as the system's ``nobody`` user, so it cannot read the grader's
  environment, signal its processes or write its reports -- but it sees every
  world-readable file and the machine's process list.
- ``same-user``: neither works: the child runs as the grader's own user. **Not
  sandboxed**: it can read every file, environment and process of that user. The
  grader says so on the terminal and in every report, and refuses a secret seed
  unless the instructor accepts the risk (``--allow-unsandboxed``).

At every level the child has the resource limits of ``Limits`` and runs under
``autograder.reaper``, which kills every process it started. Which level a
machine gets is found by trying it (``autograder.detection``); the environment
variable ``AUTOGRADER_ISOLATION`` asks for one (``auto``, the default, takes the
best that works; a level's name requires that level).
"""
from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from autograder.bubblewrap import SANDBOX_UID, bwrap_command

LEVELS = ("bubblewrap", "nobody", "same-user")
ISOLATION_ENV = "AUTOGRADER_ISOLATION"
NOBODY = "nobody"


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


@dataclass(frozen=True)
class Confinement:
    """One isolation level, ready to start children."""

    level: str
    uid: int
    """The child's uid as the rest of the system sees it."""
    gid: int
    bwrap: str = ""
    setpriv: str = ""
    unavailable: tuple[tuple[str, str], ...] = ()
    """``(level, why)`` for each better level this machine could not use."""
    exposed: tuple[str, ...] = ()
    """Folders the grader keeps from the child that it could read anyway (``solutions/`` at the ``nobody`` level)."""

    @property
    def unsandboxed(self) -> bool:
        """The child runs as the grader's own user, outside any sandbox."""
        return self.level == "same-user"

    @property
    def separate_user(self) -> bool:
        """The child's processes belong to another uid than the grader's (process limits apply to it alone)."""
        return self.uid != os.geteuid()

    def owner(self) -> tuple[int, int] | None:
        """``(uid, gid)`` the sandbox folder must belong to so that the child can write it (None: as it is)."""
        return (self.uid, self.gid) if self.separate_user else None

    def command(self, worker: list[str], box: Path, hidden: tuple[Path, ...]) -> list[str]:
        """The command that runs ``worker`` at this level in ``box``, never showing the folders ``hidden``."""
        if self.level == "bubblewrap":
            return bwrap_command(self.bwrap, self.setpriv, box, worker, hidden)
        return list(worker)

    def reaper_user(self) -> list[str]:
        """The reaper's ``--user`` option: only the ``nobody`` level switches user outside a sandbox."""
        return ["--user", f"{self.uid}:{self.gid}"] if self.level == "nobody" else []

    def summary(self) -> str:
        """One line for the report: the level and what it means."""
        if self.level == "bubblewrap":
            who = (f"uid {SANDBOX_UID} (no groups, no capabilities)" if self.separate_user
                   else f"your uid, mapped to {SANDBOX_UID} in a user namespace")
            return (f"Isolation: bubblewrap sandbox -- student code ran as {who}, with a private process table, "
                    "no network, and only the Python installation, the course packages (read-only) and its own "
                    "folder visible.")
        if self.level == "nobody":
            exposed = (f" WARNING: it could read {', '.join(self.exposed)} (make it readable by its owner only)."
                       if self.exposed else "")
            return (f"Isolation: user nobody (uid {self.uid}), no sandbox -- student code could not read the "
                    "grader's environment or write its reports, but could read every world-readable file." + exposed)
        return (f"WARNING: NOT SANDBOXED -- student code ran as the grader's own user ({_user_name(self.uid)}, "
                f"uid {self.uid}) and could read every file, environment and process of that user.")

    def reasons(self) -> str:
        """Why the better levels were not used ("" if none was better)."""
        return "; ".join(f"{level}: {why}" for level, why in self.unavailable)

    def as_report(self) -> dict:
        """The report's ``extra_data.isolation`` record."""
        return {"level": self.level, "child_uid": self.uid, "sandboxed": not self.unsandboxed,
                "summary": self.summary(), "unavailable": dict(self.unavailable), "exposed": list(self.exposed)}

    def terminal_warning(self) -> str:
        """The banner printed on stderr when the child is not sandboxed."""
        lines = ["", "!" * 78, "!!  AUTOGRADER: STUDENT CODE IS NOT SANDBOXED ON THIS MACHINE", "!" * 78,
                 self.summary(), f"Why: {self.reasons() or 'isolation was turned off'}.",
                 "Fine for checking your own code. To grade other people's code, install bubblewrap "
                 "(apt-get install bubblewrap); a secret held-out seed is refused without --allow-unsandboxed.",
                 "!" * 78, ""]
        return "\n".join(lines)


def nobody_ids() -> tuple[int, int] | None:
    """``(uid, gid)`` of the ``nobody`` user, if the system has one."""
    try:
        entry = pwd.getpwnam(NOBODY)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid
