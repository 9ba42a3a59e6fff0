"""The supervisor of one child: ``python -I -m autograder.reaper --timeout S --status-fd N [--user U:G] -- CMD``.

Started by ``autograder.isolation`` for every probe, as the grader's user, it

1. makes itself a *child subreaper* (Linux ``PR_SET_CHILD_SUBREAPER``): a process
   the child starts and then abandons -- a daemon, double-forked into its own
   session -- is re-parented to the reaper, not to init, so it cannot slip away;
2. runs ``CMD`` in a new session (as ``U:G`` when given), with a wall-clock timeout;
3. when ``CMD`` ends or its time is up, kills its process group, then every
   process re-parented to the reaper, and reaps them until none is left;
4. writes ``{"returncode", "timed_out", "leftovers"}`` as JSON to file descriptor ``N``.

So when the reaper exits, no process of the child is alive (under bubblewrap,
killing the sandbox's first process also ends its private PID namespace). Only
the standard library is imported. On systems without ``prctl`` (macOS) only the
process group is killed.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
GIVE_UP_SECONDS = 20.0
"""How long to keep killing and reaping (a process in uninterruptible sleep can take a while to die)."""


class Stop(Exception):
    """SIGTERM (from the grader, or because the grader died): clean up now."""


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(option, value, 0, 0, 0) == 0


def children() -> list[int]:
    """Pids whose parent is this process (read from ``/proc``; empty where there is none)."""
    me, found = os.getpid(), []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stream:
                fields = stream.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(entry))
    return found


def kill_everything(group: int) -> int:
    """SIGKILL the child's process group and every process left to this reaper; reap them all.

    Returns how many processes besides the group's leader were still there."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    leftovers, give_up = 0, time.monotonic() + GIVE_UP_SECONDS
    while True:
        for pid in children():
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return leftovers
        if pid == 0:  # some are still dying
            if time.monotonic() > give_up:
                return leftovers
            time.sleep(0.005)
            continue
        leftovers += pid != group


def _stop(signum, frame):
    raise Stop()


def run(command: list[str], timeout: float, user: tuple[int, int] | None) -> dict:
    """Run ``command`` under this reaper; returns the status record."""
    identity = {"user": user[0], "group": user[1], "extra_groups": []} if user else {}
    status = {"returncode": None, "timed_out": False, "leftovers": 0}
    child = None
    try:
        child = subprocess.Popen(command, start_new_session=True, **identity)
        deadline = time.monotonic() + timeout
        while status["returncode"] is None:
            try:
                status["returncode"] = child.wait(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    status["timed_out"] = True
                    break
    except Stop:
        status["stopped"] = True
    except OSError as err:  # the command could not start: the grader's problem, reported as such
        status["error"] = f"{type(err).__name__}: {err}"
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if child is not None:
            status["leftovers"] = kill_everything(child.pid)
            if status["returncode"] is None and child.returncode is not None and not status["timed_out"]:
                status["returncode"] = child.returncode
    return status


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.reaper")
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--status-fd", type=int, required=True)
    parser.add_argument("--user", help="UID:GID to run the command as")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    signal.signal(signal.SIGTERM, _stop)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # the grader died: clean up rather than linger
    if os.getppid() == 1:  # the grader was already gone before the line above
        return 1
    user = tuple(int(v) for v in args.user.split(":")) if args.user else None
    status = run(command, args.timeout, user)
    with os.fdopen(args.status_fd, "w") as stream:
        json.dump(status, stream)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
