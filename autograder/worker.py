"""The child side of a probe: ``python -I -m autograder.worker REQUEST.json``.

Runs in the sandbox (its working folder), started by ``autograder.isolation``:

1. read the request; set the resource limits (before any student code runs);
2. seed Python's ``random``, NumPy and torch with the check's seed;
3. put the sandbox first on ``sys.path`` and call
   ``autograder.probes.<project>.<probe>(**args)``, which imports the student's
   modules and returns plain data (tensors, numbers, strings, lists, dicts);
4. save ``{"value": ...}`` -- or ``{"error": {"type", "message", "where"}}`` when the
   student's code raised -- with ``torch.save`` to the result path.

A request with ``"self_test"`` instead of a probe runs no student code: it imports
the probe modules and reports who and where the child is (``autograder.detection``
uses it to find out whether an isolation level works on this machine).

Nothing here is trusted by the parent: it re-checks every type and scores the
returned predictions itself.
"""
from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import traceback
from pathlib import Path


def _set_limits(limits: dict, use_cuda: bool) -> None:
    def cap(which: int, value: int) -> None:
        try:
            soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):  # e.g. macOS refuses RLIMIT_AS: run without that limit
            pass

    cap(resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) * 2**20)
    if int(limits["max_processes"]) > 0:
        cap(resource.RLIMIT_NPROC, int(limits["max_processes"]))
    cap(resource.RLIMIT_CORE, 0)
    if not use_cuda:
        cap(resource.RLIMIT_AS, int(limits["memory_mb"]) * 2**20)


def where(error: BaseException, sandbox: Path) -> str:
    """``"data_load.py, line 85, in __call__"``: the deepest frame in the student's files, if any."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve().is_relative_to(sandbox)]
    if not frames:
        return ""
    frame = frames[-1]
    return f"{Path(frame.filename).resolve().relative_to(sandbox)}, line {frame.lineno}, in {frame.name}"


def describe_error(error: BaseException, sandbox: Path) -> dict:
    """The error record the parent turns into feedback (one line of message)."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return {"type": type(error).__name__, "message": message[:500], "where": where(error, sandbox)}


def self_test(modules: list[str], hidden: list[str]) -> dict:
    """Import ``modules``; report this process's uid, gid and pid, how many processes it can see, and which
    of the paths ``hidden`` exist for it and which it can read."""
    for name in modules:
        importlib.import_module(name)
    try:
        processes = sum(entry.isdigit() for entry in os.listdir("/proc"))
    except OSError:
        processes = -1
    return {"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(), "processes": processes,
            "visible": [path for path in hidden if os.path.exists(path)],
            "readable": [path for path in hidden if os.access(path, os.R_OK)]}


def main(argv: list[str]) -> int:
    request = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    sandbox = Path(request["sandbox"]).resolve()
    import torch  # the grader's import, before any student code

    from cvdata.runtime import seed_everything

    _set_limits(request["limits"], torch.cuda.is_available())
    torch.set_num_threads(int(request["limits"]["threads"]))
    if "self_test" in request:
        torch.save({"value": self_test(**request["self_test"])}, request["result"])
        return 0
    seed_everything(int(request["seed"]))
    sys.path.insert(0, str(sandbox))
    probe = getattr(importlib.import_module(f"autograder.probes.{request['project']}"), request["probe"])
    try:
        record = {"value": probe(**request["args"])}
    except BaseException as error:  # noqa: BLE001 -- SystemExit and KeyboardInterrupt from student code too
        record = {"error": describe_error(error, sandbox)}
    try:
        torch.save(record, request["result"])
    except Exception as error:  # noqa: BLE001 -- e.g. the student's code returned an object of its own
        torch.save({"error": {"type": "ResultError", "message": f"the result could not be saved: {error}",
                              "where": ""}}, request["result"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
