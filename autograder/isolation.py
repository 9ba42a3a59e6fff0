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
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.confinement import Confinement
from autograder.projects import solutions_root
from autograder.sandbox import Sandbox, give_to, read_child_file

RESULT_FILE = "result.pt"
LOG_FILE = "output.log"
REAPER_GRACE = 30.0
"""Seconds the reaper may take beyond the timeout to kill and reap everything before the grader gives up on it."""
POLL_SECONDS = 0.1
"""How often the grader looks for a finished probe's result while a child runs."""


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
    """How one child run ended, before its results are interpreted."""

    returncode: int | None
    """The worker's exit code, negative for a signal; None when it timed out, was stopped or could not start."""
    timed_out: bool
    seconds: float
    log_tail: str
    """The last lines of everything the child printed."""
    records: list[dict | None]
    """Per request, what the child saved (read with ``torch.load(weights_only=True)``), or None."""
    unreadable: list[str]
    """Per request, why its result could not be read ("" if it could, or if there was none)."""
    logs: list[str]
    """Per request, the last lines the child printed while it ran (for the student; never parsed)."""
    stopped: int | None = None
    """The request the parent stopped the child at, because it overran its own timeout."""
    probe_seconds: list[float] = field(default_factory=list)
    """Per finished request, about how long it took (the parent's clock)."""
    failure: str = ""
    """A failure of the grader's own machinery (the reaper or the sandbox could not run)."""

    @property
    def finished(self) -> int:
        """How many requests, from the first, left a result."""
        return next((i for i, record in enumerate(self.records) if record is None and not self.unreadable[i]),
                    len(self.records))


@dataclass
class ProbeRequest:
    """One probe to run: ``<the project's probe module>.<probe>(**args)``, seeded, within ``timeout`` seconds."""

    probe: str
    args: dict
    seed: int
    timeout: float


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


def _tail(stream, lines: int = 25, max_bytes: int = 8192, start: int = 0, end: int | None = None) -> str:
    """The last lines of bytes ``start`` to ``end`` (default: the end) of the open log ``stream`` (the parent's
    own handle: the child may rename the file)."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    end = size if end is None else max(0, min(end, size))
    begin = max(0, min(start, end), end - max_bytes)
    stream.seek(begin)
    text = stream.read(end - begin).decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def _load_record(data: bytes | None) -> tuple[dict | None, str]:
    """A result file's record, read with ``torch.load(weights_only=True)`` (no code runs), or why not."""
    if data is None:
        return None, ""
    import torch

    try:
        record = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 -- any unreadable file is the child's fault
        return None, f"returned an unreadable result ({type(err).__name__})"
    if not isinstance(record, dict):
        return None, "returned something other than the grader's result record"
    return record, ""


def _log_span(record: dict | None, previous: int) -> tuple[int, int | None]:
    """The bytes of the log a probe printed: the span its record names (the worker's flushed offsets, used only
    to show the student their own output), else from where the previous probe's ended to the end."""
    span = record.get("log") if isinstance(record, dict) else None
    if isinstance(span, list) and len(span) == 2 and all(type(v) is int and v >= 0 for v in span):
        return span[0], span[1]
    return previous, None


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


def _exists(path: Path) -> bool:
    try:
        os.lstat(path)
        return True
    except OSError:
        return False


def _supervise(process: subprocess.Popen, results: list[Path], timeouts: list[float], budget: float,
               on_probe=None):
    """Wait for the reaper ``process``, stopping it (SIGTERM: it kills the child's processes and reports) when the
    probe now running -- the first whose result has not appeared -- overruns its timeout. ``on_probe(index,
    seconds)`` is called as each probe's result appears (progress display). Returns ``(index stopped at or None,
    seconds per finished probe, failure)``."""
    start = time.perf_counter()
    current, since, seconds = 0, start, []
    while True:
        try:
            process.wait(timeout=POLL_SECONDS)
            return None, seconds, ""
        except subprocess.TimeoutExpired:
            pass
        now = time.perf_counter()
        while current < len(results) and _exists(results[current]):
            seconds.append(now - since)
            if on_probe is not None:
                on_probe(current, now - since)
            current, since = current + 1, now
        if current < len(results) and now - since > timeouts[current]:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=REAPER_GRACE)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return current, seconds, "the grader's process supervisor did not stop"
            return current, seconds, ""
        if now - start > budget + REAPER_GRACE:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return None, seconds, "the grader's process supervisor did not finish"


def run_worker(confinement: Confinement, box_root: Path, request: dict, limits: Limits,
               timeouts: float | list[float], budget: float | None = None, count: int = 1,
               on_probe=None) -> WorkerRun:
    """Run ``python -I -m autograder.worker`` on ``request`` (``count`` probes, or a self-test) in ``box_root`` at
    ``confinement``; every process it started is gone when this returns. ``timeouts``: seconds for each probe (a
    number: the same for all), stopped when one overruns; ``budget``: seconds for them all (default their sum).
    ``request`` gets its ``results`` and ``sandbox`` paths here; ``on_probe``: see ``_supervise``."""
    box_root = Path(box_root)
    timeouts = [float(timeouts)] * count if isinstance(timeouts, (int, float)) else [float(t) for t in timeouts]
    budget = min(sum(timeouts), budget) if budget is not None else sum(timeouts)
    out_dir = Path(tempfile.mkdtemp(prefix=".grader_out-", dir=box_root))
    result_paths = [out_dir / f"{i}-{RESULT_FILE}" for i in range(len(timeouts))]
    owner = confinement.owner()
    if owner is not None:
        give_to(box_root, *owner)
    request = {**request, "sandbox": str(box_root), "results": [str(p) for p in result_paths]}
    request_path = out_dir / "request.json"  # the grader's: readable, not writable, by the child
    request_path.write_text(json.dumps(request), encoding="utf-8")
    worker = [sys.executable, "-I", "-m", "autograder.worker", str(request_path)]
    command = confinement.command(worker, box_root, hidden=(solutions_root(),))
    status_read, status_write = os.pipe()
    reaper = [sys.executable, "-I", "-m", "autograder.reaper", "--timeout", f"{budget:.3f}",
              "--status-fd", str(status_write), *confinement.reaper_user(), "--", *command]
    start = time.perf_counter()
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
            stopped, probe_seconds, failure = _supervise(process, result_paths, timeouts, budget, on_probe)
            status = _read_status(status_read)
            if process.returncode != 0 or "error" in status:
                failure = failure or ("the grader's process supervisor failed: "
                                      f"{status.get('error') or _tail(log)[-500:]}")
            loaded = [_load_record(read_child_file(p, limits.file_size_mb * 2**20)) for p in result_paths]
            logs, previous = [], 0
            for record, _ in loaded:
                begin, end = _log_span(record, previous)
                logs.append(_tail(log, start=begin, end=end))
                previous = end if end is not None else previous
            log_tail = _tail(log)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return WorkerRun(status.get("returncode"), bool(status.get("timed_out")), time.perf_counter() - start, log_tail,
                     [record for record, _ in loaded], [why for _, why in loaded], logs, stopped, probe_seconds,
                     failure)


def _problem(run: WorkerRun, confinement: Confinement, limits: Limits, timeout: float, timed_out: bool) -> str:
    """Why a probe left no result, in the student's terms."""
    if timed_out:
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


def run_probes(box: Sandbox, probes_module: str, requests: list[ProbeRequest], limits: Limits,
               confinement: Confinement, deadline: float, on_probe=None) -> list[ProbeOutcome | None]:
    """Run each of ``requests`` on the sandbox, in order, in as few children as it takes: one, unless a probe
    times out or ends its child, when the ones after it run in a fresh child. None for a probe not run because
    the submission's time ran out (``deadline``, on ``time.perf_counter``'s clock). Never raises for anything
    the student's code does; ``GraderError`` if the grader's own machinery failed. ``on_probe(request, seconds)``
    is called as each probe finishes (progress display)."""
    from autograder.errors import GraderError

    child_limits = asdict(limits)
    if not confinement.separate_user:  # RLIMIT_NPROC would count every process of the grader's user
        child_limits["max_processes"] = 0
    outcomes: list[ProbeOutcome | None] = [None] * len(requests)
    first = 0
    while first < len(requests):
        remaining = deadline - time.perf_counter()
        if remaining <= 1:
            break
        batch = requests[first:]
        request = {"probes_module": probes_module, "limits": child_limits,
                   "probes": [{"probe": r.probe, "args": r.args, "seed": r.seed} for r in batch]}
        timeouts = [min(r.timeout, remaining) for r in batch]
        report = None if on_probe is None else (lambda i, seconds, batch=batch: on_probe(batch[i], seconds))
        run = run_worker(confinement, box.root, request, limits, timeouts, budget=remaining, on_probe=report)
        if run.failure:
            raise GraderError(run.failure)
        done = run.finished
        for i in range(min(done + 1, len(batch))):
            outcome = ProbeOutcome(seconds=run.probe_seconds[i] if i < len(run.probe_seconds) else run.seconds,
                                   log_tail=run.logs[i])
            if run.records[i] is not None:
                outcome.result = run.records[i]
            elif run.unreadable[i]:
                outcome.problem = run.unreadable[i]
            else:  # the probe the child stopped at: timed out, killed, or ended
                timed_out = run.timed_out or run.stopped == i
                outcome.problem = _problem(run, confinement, limits, timeouts[i], timed_out)
            outcomes[first + i] = outcome
        first += done + 1
    return outcomes

