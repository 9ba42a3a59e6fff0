"""The child side of the probes: ``python -I -m autograder.worker REQUEST.json``.

Runs in the sandbox (its working folder), started by ``autograder.isolation``,
once per submission for all its probes (torch is imported once, not per probe):

1. read the request; set the resource limits (before any student code runs);
2. import the probe module, then put the sandbox first on ``sys.path``;
3. for each probe of the request, in order: seed Python's ``random``, NumPy and
   torch with its check's seed, call ``autograder.probes.<project>.<probe>(**args)``,
   which imports the student's modules and returns plain data (tensors,
   numbers, strings, lists, dicts), and save ``{"value": ...}`` -- or
   ``{"error": {"type", "message", "where"}}`` when the student's code raised --
   with ``torch.save`` to that probe's result path (written whole, through a
   temp file: the parent times each probe by when its result appears, and stops
   the child when one overruns its own timeout).

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


def _log_offset() -> int | None:
    """Where this process's output (the parent's log file) has got to, everything printed so far flushed."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 -- the student's code may have replaced or closed them
            pass
    try:
        return os.lseek(1, 0, os.SEEK_CUR)
    except OSError:
        return None


def _save(record: dict, path: str) -> None:
    """``torch.save`` ``record`` to ``path`` through a temp file, so that the file appears whole or not at all."""
    import torch

    temp = f"{path}.partial"
    try:
        torch.save(record, temp)
    except Exception as error:  # noqa: BLE001 -- e.g. the student's code returned an object of its own
        torch.save({"error": {"type": "ResultError", "message": f"the result could not be saved: {error}",
                              "where": ""}, "log": record.get("log")}, temp)
    os.replace(temp, path)


def run_probes(probes_module: str, probes: list[dict], results: list[str], sandbox: Path) -> None:
    """Run each probe of ``probes`` (``{"probe", "args", "seed"}``) in turn, saving its record to its path in
    ``results``: ``{"value": ...}`` or ``{"error": ...}``, and ``"log"``, the ``[start, end]`` of its output in the
    log. Python's ``random``, NumPy and torch are seeded with the probe's seed before each."""
    from cvdata.runtime import seed_everything

    module = importlib.import_module(probes_module)  # the grader's code (the project's), before the sandbox's
    sys.path.insert(0, str(sandbox))
    for spec, path in zip(probes, results):
        start = _log_offset()
        seed_everything(int(spec["seed"]))
        try:
            record = {"value": getattr(module, spec["probe"])(**spec["args"])}
        except BaseException as error:  # noqa: BLE001 -- SystemExit and KeyboardInterrupt from student code too
            record = {"error": describe_error(error, sandbox)}
        record["log"] = [start, _log_offset()]
        _save(record, path)


def main(argv: list[str]) -> int:
    request = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    sandbox = Path(request["sandbox"]).resolve()
    import torch  # the grader's import, before any student code

    _set_limits(request["limits"], torch.cuda.is_available())
    torch.set_num_threads(int(request["limits"]["threads"]))
    if "self_test" in request:
        _save({"value": self_test(**request["self_test"])}, request["results"][0])
        return 0
    run_probes(request["probes_module"], request["probes"], request["results"], sandbox)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
