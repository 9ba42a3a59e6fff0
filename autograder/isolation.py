"""Run one probe of student code in a child process, with limits, and read back what it returned.

The grader's own process never imports student code. For each probe it starts
``python -I -m autograder.reaper ... -- <confined> python -I -m autograder.worker``:

- the reaper (``autograder.reaper``) enforces the wall-clock timeout and, when the
  probe ends, kills every process the child started, daemons included, before
  the grader reads anything back or writes a report;
- the child is confined at the machine's isolation level (``autograder.confinement``:
  a bubblewrap sandbox, the user ``nobody``, or -- announced loudly -- the
  grader's own user); the worker sets address-space, file-size and process limits
  (``Limits``) before it imports anything of the student's;
- its environment is built from scratch (no secret seed), with ``-I`` (no
  ``PYTHONPATH``, no user site); it never sees ``solutions/``.

Each probe gets a fresh, unguessable output folder in the sandbox. The child
saves its result there with ``torch.save``; the parent reads the bytes back
with ``read_child_file`` (no links, no FIFOs) and ``torch.load(weights_only=True)``
(plain tensors, numbers, strings, lists and dicts only: no code runs on load).
What the child prints goes to a log file opened by the parent and shown, never parsed.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.confinement import Confinement
from autograder.projects import solutions_root
from autograder.sandbox import Sandbox, give_to, read_child_file

RESULT_FILE = "result.pt"
LOG_FILE = "output.log"
REAPER_GRACE = 30.0
"""Seconds the reaper may take beyond the timeout to kill and reap everything before the grader gives up on it."""


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
    """Processes and threads of the sandbox user (RLIMIT_NPROC; set only when the child runs as a user of its
    own, since for the grader's user it would count all of that user's processes)."""
    threads: int = 2
    """torch / OpenMP threads in the child."""


@dataclass
class WorkerRun:
    """How one child run ended, before its result is interpreted."""

    returncode: int | None
    """The worker's exit code, negative for a signal; None when it timed out or could not start."""
    timed_out: bool
    seconds: float
    log_tail: str
    result: bytes | None
    """The bytes of the result file, if the child left a readable one."""
    failure: str = ""
    """A failure of the grader's own machinery (the reaper or the sandbox could not run)."""


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


def child_environment(home: Path, threads: int) -> dict[str, str]:
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


def _tail(stream, lines: int = 25, max_bytes: int = 8192) -> str:
    """The last lines of the open log ``stream`` (the parent's own handle: the child may rename the file)."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(max(0, size - max_bytes))
    text = stream.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _read_status(handle: int) -> dict:
    with os.fdopen(handle, "rb") as stream:
        data = stream.read(65536)
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError:
        return {}


def run_worker(confinement: Confinement, box_root: Path, request: dict, limits: Limits, timeout: float) -> WorkerRun:
    """Run ``python -I -m autograder.worker`` on ``request`` in ``box_root`` at ``confinement``; every process
    it started is gone when this returns. ``request`` gets its ``result`` and ``sandbox`` paths here."""
    box_root = Path(box_root)
    out_dir = Path(tempfile.mkdtemp(prefix=".grader_out-", dir=box_root))
    result_path = out_dir / RESULT_FILE
    owner = confinement.owner()
    if owner is not None:
        give_to(box_root, *owner)
    request = {**request, "sandbox": str(box_root), "result": str(result_path)}
    request_path = out_dir / "request.json"  # the grader's: readable, not writable, by the child
    request_path.write_text(json.dumps(request), encoding="utf-8")
    worker = [sys.executable, "-I", "-m", "autograder.worker", str(request_path)]
    command = confinement.command(worker, box_root, hidden=(solutions_root(),))
    status_read, status_write = os.pipe()
    reaper = [sys.executable, "-I", "-m", "autograder.reaper", "--timeout", f"{timeout:.3f}",
              "--status-fd", str(status_write), *confinement.reaper_user(), "--", *command]
    start = time.perf_counter()
    failure = ""
    try:
        with open(os.open(out_dir / LOG_FILE, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644), "w+b") as log:
            try:
                process = subprocess.Popen(reaper, cwd=box_root, env=child_environment(box_root, limits.threads),
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                           pass_fds=(status_write,), start_new_session=True)
            except OSError:
                os.close(status_read)
                raise
            finally:
                os.close(status_write)
            try:
                process.wait(timeout=timeout + REAPER_GRACE)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                failure = "the grader's process supervisor did not finish"
            status = _read_status(status_read)
            log_tail = _tail(log)
        if process.returncode != 0 or "error" in status:
            failure = failure or f"the grader's process supervisor failed: {status.get('error') or log_tail[-500:]}"
        result = read_child_file(result_path, limits.file_size_mb * 2**20)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return WorkerRun(status.get("returncode"), bool(status.get("timed_out")), time.perf_counter() - start,
                     log_tail, result, failure)


def _problem(run: WorkerRun, confinement: Confinement, limits: Limits, timeout: float) -> str:
    """Why a run left no result, in the student's terms."""
    if run.timed_out:
        return f"timed out after {timeout:.0f} s (stopped)"
    code = run.returncode
    if code is not None and confinement.level == "bubblewrap" and code > 128:
        code = 128 - code  # bwrap reports a signal as 128 + its number
    if code is not None and code < 0:
        problem = f"the process was killed by {_signal_name(code)}"
        if -code == signal.SIGXFSZ:
            problem += f" (it wrote a file or printed more than {limits.file_size_mb} MB)"
        return problem
    return f"the process ended (exit code {code}) before returning a result"


def run_probe(box: Sandbox, project: str, probe: str, args: dict, seed: int, limits: Limits, timeout: float,
              confinement: Confinement) -> ProbeOutcome:
    """Run ``autograder.probes.<project>.<probe>(**args)`` on the sandbox in a child; never raises for
    anything the student's code does (``timeout``: wall-clock seconds). ``GraderError`` if the grader's own
    machinery failed."""
    from autograder.errors import GraderError

    child_limits = asdict(limits)
    if not confinement.separate_user:  # RLIMIT_NPROC would count every process of the grader's user
        child_limits["max_processes"] = 0
    request = {"project": project, "probe": probe, "args": args, "seed": seed, "limits": child_limits}
    run = run_worker(confinement, box.root, request, limits, timeout)
    if run.failure:
        raise GraderError(run.failure)
    outcome = ProbeOutcome(seconds=run.seconds, log_tail=run.log_tail)
    if run.timed_out or run.result is None:
        outcome.problem = _problem(run, confinement, limits, timeout)
        return outcome
    import torch

    try:
        outcome.result = torch.load(io.BytesIO(run.result), weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 -- any unreadable file is the child's fault
        outcome.problem = f"returned an unreadable result ({type(err).__name__})"
        return outcome
    if not isinstance(outcome.result, dict):
        outcome.result, outcome.problem = None, "returned something other than the grader's result record"
    return outcome
