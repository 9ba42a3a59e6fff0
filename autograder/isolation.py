"""Run one probe of student code in a child process, with limits, and read back what it returned.

The grader's own process never imports student code. For each probe it starts
``python -I -m autograder.worker`` in the sandbox:

- a new session (process group), killed as a whole when the probe ends or times out;
- a wall-clock timeout; address-space, file-size and process-count limits, set by
  the worker before it imports anything of the student's (``Limits``);
- as the unprivileged user ``nobody`` when the grader runs as root, so the child can
  write only in its sandbox (never the grader's reports) and the process limit applies;
- a clean environment: no secret seed, ``-I`` (no ``PYTHONPATH``, no user site).

The child saves its result with ``torch.save``; the parent reads it with
``torch.load(weights_only=True)`` (plain tensors, numbers, strings, lists and
dicts only: no code runs on load). What the child prints goes to a log file that
is shown, never parsed.
"""
from __future__ import annotations

import functools
import json
import os
import pwd
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.sandbox import Sandbox

RESULT_FILE = "result.pt"
LOG_FILE = "output.log"
SANDBOX_USER = "nobody"


@dataclass
class Limits:
    """Resource limits for student code (per child process unless said otherwise)."""

    check_timeout: float = 120.0
    """Wall-clock seconds per probe."""
    slow_check_timeout: float = 240.0
    """Wall-clock seconds per probe of a slow check (short training runs, whole held-out sets)."""
    submission_timeout: float = 900.0
    """Wall-clock seconds for all the checks of one submission; later checks score 0 once it is spent."""
    memory_mb: int = 12_288
    """Address-space limit (RLIMIT_AS). Not applied when CUDA is in use (its driver reserves far more)."""
    file_size_mb: int = 256
    """Largest file the child may write (RLIMIT_FSIZE), its printed output included."""
    max_processes: int = 512
    """Processes and threads of the sandbox user (RLIMIT_NPROC; set only when the child runs as ``nobody``,
    since for any other user it would count all of that user's processes)."""
    threads: int = 2
    """torch / OpenMP threads in the child."""


@dataclass
class ProbeOutcome:
    """What came back from one probe."""

    result: dict | None = None
    """The probe's return value (or the worker's error record under ``"error"``)."""
    problem: str | None = None
    """Why there is no result: timed out, crashed, killed by a limit, unreadable result."""
    seconds: float = 0.0
    log_tail: str = ""
    """The last lines the child printed (for the student; never parsed)."""

    @property
    def error(self) -> dict | None:
        """The exception the probe raised, ``{"type", "message", "where"}``, if any."""
        return self.result.get("error") if isinstance(self.result, dict) else None


@functools.lru_cache(maxsize=1)
def sandbox_user() -> tuple[int, int] | None:
    """``(uid, gid)`` of ``nobody`` when running as root and it can run the worker, else None."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        return None
    try:
        done = subprocess.run([sys.executable, "-I", "-c", "import autograder.worker"], user=entry.pw_uid,
                              group=entry.pw_gid, extra_groups=[], cwd="/", env=_environment(Path("/tmp"), 1),
                              capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return (entry.pw_uid, entry.pw_gid) if done.returncode == 0 else None


def _environment(home: Path, threads: int) -> dict[str, str]:
    """The child's whole environment: nothing of the grader's (no seed), threads pinned."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TQDM_DISABLE": "1",
    }
    for key in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for path in root.rglob("*"):
        os.chown(path, uid, gid, follow_symlinks=False)


def _tail(path: Path, lines: int = 25, max_bytes: int = 8192) -> str:
    try:
        with open(path, "rb") as stream:
            stream.seek(max(0, path.stat().st_size - max_bytes))
            text = stream.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def run_probe(box: Sandbox, project: str, probe: str, args: dict, seed: int, limits: Limits,
              timeout: float) -> ProbeOutcome:
    """Run ``autograder.probes.<project>.<probe>(**args)`` on the sandbox in a child; never raises for
    anything the student's code does (``timeout``: wall-clock seconds)."""
    out_dir = box.root / ".grader_out"
    out_dir.mkdir(exist_ok=True)
    result_path = out_dir / RESULT_FILE
    result_path.unlink(missing_ok=True)
    log_path = out_dir / LOG_FILE
    user = sandbox_user()
    child_limits = asdict(limits)
    if user is None:  # RLIMIT_NPROC counts every process of the user: only meaningful for ``nobody``
        child_limits["max_processes"] = 0
    request = {"project": project, "probe": probe, "args": args, "seed": seed, "sandbox": str(box.root),
               "result": str(result_path), "limits": child_limits}
    request_path = out_dir / "request.json"
    request_path.write_text(json.dumps(request), encoding="utf-8")
    if user is not None:
        _chown_tree(box.root, *user)
    identity = {"user": user[0], "group": user[1], "extra_groups": []} if user else {}
    start = time.perf_counter()
    with open(log_path, "wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-I", "-m", "autograder.worker", str(request_path)], cwd=box.root,
            env=_environment(box.root, limits.threads), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, **identity,
        )
        try:
            code = child.wait(timeout=timeout)
            problem = None
        except subprocess.TimeoutExpired:
            code, problem = None, f"timed out after {timeout:.0f} s (stopped)"
        finally:
            try:
                os.killpg(child.pid, signal.SIGKILL)  # the whole group: threads, workers, grandchildren
            except (ProcessLookupError, PermissionError):
                pass
            child.wait()
    outcome = ProbeOutcome(seconds=time.perf_counter() - start, log_tail=_tail(log_path))
    if problem is None and result_path.is_file():
        import torch

        if result_path.stat().st_size > limits.file_size_mb * 2**20:
            outcome.problem = "returned a result larger than the file-size limit"
            return outcome
        try:
            outcome.result = torch.load(result_path, weights_only=True, map_location="cpu")
        except Exception as err:  # noqa: BLE001 -- any unreadable file is the child's fault
            outcome.problem = f"returned an unreadable result ({type(err).__name__})"
            return outcome
        if not isinstance(outcome.result, dict):
            outcome.result, outcome.problem = None, "returned something other than the grader's result record"
        return outcome
    if problem is None:
        if code is not None and code < 0:
            problem = f"the process was killed by {_signal_name(code)}"
            if -code == signal.SIGXFSZ:
                problem += f" (it wrote a file or printed more than {limits.file_size_mb} MB)"
        else:
            problem = f"the process ended (exit code {code}) before returning a result"
    outcome.problem = problem
    return outcome
