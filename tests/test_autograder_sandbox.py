"""The child's confinement: the bubblewrap command, what the sandboxed child sees, the reaper, detection, and the
grader's own reading of what comes back."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from isolation_modes import fallback_level, sandbox_level  # noqa: F401 -- fixtures

import autograder.detection as detection
from autograder.bubblewrap import SANDBOX_UID, bwrap_command
from autograder.checks import observed
from autograder.checks.losses import cross_entropy, smooth_l1
from autograder.confinement import ISOLATION_ENV, Confinement
from autograder.errors import UsageError
from autograder.grader import grade_submission
from autograder.html_report import render_html
from autograder.isolation import Limits, run_worker
from autograder.paths import REPO_DIR, SOLUTIONS_DIR
from autograder.report import validate_results

HIDDEN = [str(SOLUTIONS_DIR), str(REPO_DIR / "tests"), str(REPO_DIR / "README.md"), "/etc/shadow", "/home"]


def test_the_bubblewrap_command_shows_neither_the_repository_nor_solutions(tmp_path):
    command = bwrap_command("bwrap", "setpriv", tmp_path, ["python", "-I", "-m", "autograder.worker"],
                            hidden=(SOLUTIONS_DIR,))
    shown = {command[i + 1] for i, arg in enumerate(command) if arg in ("--ro-bind", "--bind", "--ro-bind-try")}
    assert str(REPO_DIR) not in shown and not any(SOLUTIONS_DIR.is_relative_to(p) for p in map(Path, shown))
    assert {str(REPO_DIR / "autograder"), str(tmp_path)} <= shown, shown
    for option in ("--unshare-pid", "--unshare-net", "--die-with-parent", "--new-session", "--proc"):
        assert option in command
    assert command[-4:] == ["python", "-I", "-m", "autograder.worker"]
    if os.geteuid() == 0:
        assert f"--reuid={SANDBOX_UID}" in command and "--bounding-set=-all" in command


def _self_test(confinement: Confinement, hidden: list[str]) -> dict:
    root = Path(tempfile.mkdtemp(prefix="autograder-test-"))
    request = {"self_test": {"modules": ["autograder.probes.facial_keypoints"], "hidden": hidden},
               "limits": vars(Limits())}
    try:
        run = run_worker(confinement, root, request, Limits(), 120)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert run.records[0] is not None, run.log_tail
    return run.records[0]["value"]


def test_the_sandboxed_child_runs_as_another_user_and_sees_almost_nothing(sandbox_level):
    seen = _self_test(detection.detect(sandbox_level), HIDDEN)
    assert seen["uid"] == SANDBOX_UID and seen["gid"] == SANDBOX_UID
    assert seen["visible"] == seen["readable"] == [] and seen["processes"] <= detection.MAX_SANDBOX_PROCESSES
    assert seen["pid"] < 10, "a private PID namespace"


def test_outside_the_sandbox_the_same_probe_sees_the_machine(fallback_level):
    """The control for the test above: the self-test does report what a child can see."""
    seen = _self_test(detection.detect(fallback_level), HIDDEN[:3])
    assert seen["processes"] > detection.MAX_SANDBOX_PROCESSES
    if fallback_level == "same-user":
        assert seen["visible"] == seen["readable"] == HIDDEN[:3] and seen["uid"] == os.geteuid()


def _reap(command: list[str], timeout: float) -> dict:
    read, write = os.pipe()
    subprocess.run([sys.executable, "-I", "-m", "autograder.reaper", "--timeout", str(timeout), "--status-fd",
                    str(write), "--", *command], pass_fds=(write,), timeout=120, check=True)
    os.close(write)
    with os.fdopen(read) as stream:
        return json.loads(stream.read())


def _sleeping(marker: str) -> bool:
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes() == f"sleep\0{marker}\0".encode():
                return True
        except OSError:
            pass
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the reaper finds orphans through /proc (Linux)")
def test_the_reaper_kills_a_daemon_the_child_left_behind():
    marker = f"3600.{time.time_ns() % 10**6:06d}"
    daemon = ("import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
              f"        os.execv('/bin/sleep', ['sleep', {marker!r}])\n    os._exit(0)\n")
    status = _reap([sys.executable, "-c", daemon], timeout=30)
    assert status["returncode"] == 0 and not status["timed_out"] and status["leftovers"] >= 1
    assert not _sleeping(marker)


def test_the_reaper_stops_a_child_at_its_timeout():
    started = time.monotonic()
    status = _reap(["sleep", "60"], timeout=1.0)
    assert status["timed_out"] and status["returncode"] is None and time.monotonic() - started < 20


def test_a_level_asked_for_by_name_that_cannot_run_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(detection.shutil, "which", lambda name: None)
    with pytest.raises(UsageError, match="bwrap is not installed"):
        detection._detect("bubblewrap")
    fallback = detection._detect("auto")
    assert fallback.level in ("nobody", "same-user") and "bwrap is not installed" in fallback.reasons()
    with pytest.raises(UsageError, match=ISOLATION_ENV):
        monkeypatch.setenv(ISOLATION_ENV, "chroot")
        detection.requested_level()


def test_the_fallback_is_announced_in_the_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ISOLATION_ENV, "same-user")
    (tmp_path / "empty").mkdir()
    report = grade_submission("facial_keypoints", tmp_path / "empty", tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    assert validate_results(data) == [] and data["score"] == 0
    isolation = data["extra_data"]["isolation"]
    assert isolation["level"] == "same-user" and not isolation["sandboxed"]
    assert data["output"].startswith("WARNING: NOT SANDBOXED") and "NOT SANDBOXED" in render_html(report)
    assert "not tried" in isolation["unavailable"]["bubblewrap"]
    detection._announced.discard("same-user")  # the banner is printed once per process: print it again
    detection.detect("same-user")
    assert "STUDENT CODE IS NOT SANDBOXED" in capsys.readouterr().err


def test_a_secret_seed_is_refused_unsandboxed_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.setenv(ISOLATION_ENV, "same-user")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="--allow-unsandboxed"):
        grade_submission("facial_keypoints", tmp_path / "empty", tmp_path / "refused.json", seed=2718281828459045)
    assert json.loads((tmp_path / "refused.json").read_text())["output"].startswith("Not graded")
    report = grade_submission("facial_keypoints", tmp_path / "empty", tmp_path / "allowed.json", seed=2718281828459045,
                              allow_unsandboxed=True)
    assert any("--allow-unsandboxed" in warning for warning in report.warnings)


def test_shapes_and_dtypes_are_read_off_the_data_not_the_child():
    lie = {"type": "torch.Tensor", "dtype": "float32", "shape": [5, 136], "value": torch.zeros(2, 3, dtype=torch.int64)}
    empty = {"type": "torch.Tensor", "dtype": "float32", "shape": [5, 136], "value": None}
    seen = observed({"outputs": [{"value": lie}, {"value": empty}]})["outputs"]
    assert seen[0]["value"]["shape"] == [2, 3] and seen[0]["value"]["dtype"] == "int64"
    assert seen[1]["value"]["shape"] is None and seen[1]["value"]["dtype"] is None


def test_the_graders_losses_are_torchs():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(16, 136, generator=generator) * 2, torch.randn(16, 136, generator=generator)
    assert np.isclose(smooth_l1(a.numpy(), b.numpy()), float(F.smooth_l1_loss(a, b)), rtol=1e-5)
    scores, targets = torch.randn(4, 5, 30, generator=generator), torch.randint(0, 30, (4, 5), generator=generator)
    expected = float(F.cross_entropy(scores.reshape(-1, 30), targets.reshape(-1)))
    assert np.isclose(cross_entropy(scores.numpy(), targets.numpy()), expected, rtol=1e-5)
