"""Hostile submissions against ``grade`` and ``batch``, in the sandbox and in the fallback: nothing unearned.

The hostile facial keypoints submission (``tests/hostile.py``) is the lessons'
stubs plus every attack at once: it snoops for the secret seed and the
solutions, leaves a report forger and a ``sleep`` process behind, and has a
network that cannot learn with patched losses. Its ``Net`` does have the right
output shape, so that check -- and only that one -- is earned.

- In the sandbox (bubblewrap; skipped, with the reason, where it cannot run)
  it gets nothing else, from ``grade`` (seed in the environment or a secret
  file) and from ``batch``.
- In the fallback (``AUTOGRADER_ISOLATION`` set to the best level below
  bubblewrap), a secret seed is refused with a report, and the fallback is
  announced; with the public seed the snooping works -- which shows the attacks
  are real -- but the forger and the fake losses still get nothing; in a ``batch``
  the forged report of a submission graded earlier is written again from memory.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from grading import THREADS, by_id, copy_solution, grade
from hostile import FORGED, daemon, snooper, unlearning_decoder, unlearning_net
from isolation_modes import fallback_level, sandbox_level  # noqa: F401 -- fixtures

from autograder.checks.facial_keypoints import CHECKS
from autograder.confinement import ISOLATION_ENV
from autograder.heldout_seed import SEED_ENV
from autograder.paths import LESSONS_DIR, REPO_DIR
from autograder.report import check_id, validate_results

PROJECT = "facial_keypoints"
SECRET = 2718281828459045
"""The instructor's secret seed: large enough that trying seeds cannot find it."""
EARNED = {"net-shape": next(check.points for check in CHECKS if check.id == "net-shape")}
ACCURACY = "heldout-nme"
TRAINING = "training"
FAST = ["--check-timeout", "40", "--submission-timeout", "400", "--threads", str(THREADS)]
FORGE_SECONDS = 600


def _marker() -> str:
    return f"{4000 + os.getpid() % 1000}.{time.time_ns() % 10**6:06d}"


def _alive(marker: str) -> list[int]:
    """Pids of the ``sleep marker`` processes still running."""
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes() == f"sleep\0{marker}\0".encode():
                found.append(int(pid))
        except OSError:
            pass
    return found


@pytest.fixture
def marker():
    """A unique ``sleep`` argument; any process left with it is killed after the test."""
    value = _marker()
    yield value
    for pid in _alive(value):
        os.kill(pid, 9)


def hostile_submission(folder: Path, results_paths: list[Path], marker: str, secret_files=()) -> Path:
    """The lessons' stubs with every attack (see the module's docstring), and a saved-model file."""
    shutil.copytree(LESSONS_DIR / PROJECT, folder)
    data_load = folder / "data_load.py"
    data_load.write_text(data_load.read_text() + snooper([str(p) for p in secret_files])
                         + daemon([str(p) for p in results_paths], marker, FORGE_SECONDS))
    models = folder / "models.py"
    models.write_text(models.read_text() + unlearning_net())
    (folder / "saved_models").mkdir()
    torch.save({}, folder / "saved_models" / "keypoints_model.pt")
    return folder


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=REPO_DIR, capture_output=True, text=True,
                          timeout=900, env={**os.environ, **env})


def _assert_only_earned(data: dict) -> None:
    assert validate_results(data) == [], validate_results(data)
    scores = {check_id(test): test["score"] for test in data["tests"]}
    assert scores == {name: EARNED.get(name, 0) for name in scores}, {n: s for n, s in scores.items() if s}
    tests = by_id(data)
    assert "NME" in tests[ACCURACY]["output"], "the cheat ran (an oracle replaced the model) ..."
    assert "not implemented yet" in tests["dataset"]["output"], "... the theft did not"
    assert "loss" in tests[TRAINING]["output"] and data["extras"][TRAINING]["losses"][0] > 0


def _assert_not_forged(paths: list[Path], marker: str) -> None:
    """After the last probe: no forged report, now or a moment later, and no process left behind."""
    before = [p.read_text() for p in paths]
    time.sleep(2.0)
    assert [p.read_text() for p in paths] == before
    assert not any(_forged(p) for p in paths)
    assert _alive(marker) == []


def _forged(path: Path) -> bool:
    try:
        return json.loads(path.read_text()).get("output") == FORGED["output"]
    except ValueError:  # caught half-written
        return False


def test_the_forger_works_when_nothing_stops_it(tmp_path, marker):
    """The control: run outside the grader, the daemon attack does forge a report and outlive its parent."""
    target = tmp_path / "results.json"
    target.write_text("{}")
    done = subprocess.run([sys.executable, "-c", daemon([str(target)], marker, 3.0)], timeout=60)
    assert done.returncode == 0
    deadline = time.time() + 20
    while not (_alive(marker) and _forged(target)) and time.time() < deadline:
        time.sleep(0.1)
    assert _forged(target), "the forger outlived its parent and rewrote the report"
    assert _alive(marker), "the sleep process outlived its parent"


def test_grade_in_the_sandbox_gives_a_hostile_submission_nothing(tmp_path, sandbox_level, marker):
    """With the secret in a file (and, for the snooper to find, on the command line as its path); ``batch``
    below has it in the environment."""
    how = "secret file"
    results, page = tmp_path / "graded" / "results.json", tmp_path / "graded" / "report.html"
    secret = tmp_path / "secret" / "seed.txt"
    secret.parent.mkdir()
    secret.write_text(f"{SECRET}\n")
    secret.chmod(0o600)
    folder = hostile_submission(tmp_path / "hostile", [results], marker, secret_files=[secret])
    options = ["--secret-file", str(secret)] if how == "secret file" else []
    env = {ISOLATION_ENV: sandbox_level, **({SEED_ENV: str(SECRET)} if how == "environment" else {})}
    done = _cli("grade", PROJECT, str(folder), "--results", str(results), "--html", str(page), *options, *FAST, env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(results.read_text())
    _assert_only_earned(data)
    _assert_not_forged([results], marker)
    assert data["seed_source"] == "instructor" and data["extra_data"]["isolation"]["level"] == "bubblewrap"
    assert str(SECRET) not in results.read_text() + page.read_text()
    assert "NOT SANDBOXED" not in done.stderr + data["output"]


def test_batch_in_the_sandbox_gives_a_hostile_submission_nothing(tmp_path, sandbox_level, marker):
    submissions, out = tmp_path / "submissions", tmp_path / "graded"
    reports = [out / name / "results.json" for name in ("hostile", "stubs")]
    hostile_submission(submissions / "hostile", reports, marker)
    shutil.copytree(LESSONS_DIR / PROJECT, submissions / "stubs")
    done = _cli("batch", PROJECT, str(submissions), "--out", str(out), "--jobs", "2", *FAST,
                env={ISOLATION_ENV: sandbox_level, SEED_ENV: str(SECRET)})
    assert done.returncode == 0, done.stderr
    _assert_only_earned(json.loads(reports[0].read_text()))
    assert json.loads(reports[1].read_text())["score"] == 0
    _assert_not_forged(reports, marker)
    with open(out / "gradebook.csv", newline="") as stream:
        rows = {row["submission"]: row for row in csv.DictReader(stream)}
    assert float(rows["hostile"]["score"]) == sum(EARNED.values()) and float(rows["stubs"]["score"]) == 0


@pytest.mark.parametrize("command", ["grade", "batch"])
def test_the_fallback_refuses_a_secret_seed_with_a_report(tmp_path, fallback_level, command):
    if fallback_level != "same-user":
        pytest.skip(f"this machine's fallback is {fallback_level}, which may grade with a secret seed")
    submissions = tmp_path / "submissions"
    shutil.copytree(LESSONS_DIR / PROJECT, submissions / "stubs")
    if command == "grade":
        results = tmp_path / "results.json"
        args = ["grade", PROJECT, str(submissions / "stubs"), "--results", str(results)]
    else:
        results = tmp_path / "graded" / "stubs" / "results.json"
        args = ["batch", PROJECT, str(submissions), "--out", str(tmp_path / "graded")]
    done = _cli(*args, env={ISOLATION_ENV: fallback_level, SEED_ENV: str(SECRET)})
    assert done.returncode == 2, done.stderr
    assert "NOT SANDBOXED" in done.stderr and "--allow-unsandboxed" in done.stderr
    data = json.loads(results.read_text())
    assert validate_results(data) == [] and data["score"] == 0
    assert data["output"].startswith("Not graded: a secret held-out seed") and "NOT SANDBOXED" in data["output"]
    assert all(test["output"].startswith("Not run") for test in data["tests"])


def test_the_fallback_is_announced_and_the_attacks_that_need_no_sandbox_still_fail(tmp_path, fallback_level, marker):
    """With the public seed in the fallback, the snooper gets the solutions and the held-out answers (the
    attack is real), yet the forger and the fake losses get nothing, and every output says how it ran."""
    results, page = tmp_path / "graded" / "results.json", tmp_path / "graded" / "report.html"
    folder = hostile_submission(tmp_path / "hostile", [results], marker)
    done = _cli("grade", PROJECT, str(folder), "--results", str(results), "--html", str(page), *FAST,
                env={ISOLATION_ENV: fallback_level})
    assert done.returncode == 0, done.stderr
    data = json.loads(results.read_text())
    isolation = data["extra_data"]["isolation"]
    assert isolation["level"] == fallback_level and isolation["unavailable"]["bubblewrap"]
    tests = by_id(data)
    assert tests[TRAINING]["score"] == 0
    _assert_not_forged([results], marker)
    if fallback_level == "same-user":
        assert "NOT SANDBOXED" in done.stderr and data["output"].startswith("WARNING: NOT SANDBOXED")
        assert not isolation["sandboxed"] and "isolation unsandboxed" in page.read_text()
        assert tests[ACCURACY]["score"] == 15 and "NME 0.0000" in tests[ACCURACY]["output"]
        assert tests["dataset"]["status"] == "passed", "it read solutions/"


def test_a_batch_in_the_fallback_rewrites_the_reports_a_later_submission_forged(tmp_path, fallback_level, marker):
    """Same user, public seed, one at a time: graded after the stubs, the hostile submission forges their report
    while it runs (a same-user child can write it); the batch writes every report again from memory once the last
    child is gone, so the file and the gradebook say what the stubs earned."""
    if fallback_level != "same-user":
        pytest.skip(f"this machine's fallback is {fallback_level}, whose child cannot write the grader's files")
    submissions, out = tmp_path / "submissions", tmp_path / "graded"
    victim = out / "a-stubs" / "results.json"
    shutil.copytree(LESSONS_DIR / PROJECT, submissions / "a-stubs")
    hostile_submission(submissions / "b-hostile", [victim], marker)
    done = _cli("batch", PROJECT, str(submissions), "--out", str(out), "--jobs", "1", *FAST,
                env={ISOLATION_ENV: fallback_level})
    assert done.returncode == 0, done.stderr
    _assert_not_forged([victim], marker)
    data = json.loads(victim.read_text())
    assert validate_results(data) == [] and data["score"] == 0 and data["submission"].endswith("a-stubs")
    with open(out / "gradebook.csv", newline="") as stream:
        assert float(next(row for row in csv.DictReader(stream) if row["submission"] == "a-stubs")["score"]) == 0


def test_a_captioner_that_cannot_learn_gets_no_training_points_from_patched_losses(tmp_path):
    folder = copy_solution("image_captioning", tmp_path / "submission")
    (folder / "model.py").write_text((folder / "model.py").read_text() + unlearning_decoder())
    data = grade("image_captioning", folder, tmp_path / "results.json")
    tests = by_id(data)
    assert tests["vocabulary"]["status"] == "passed"
    for name in ("training", "uses-image"):
        assert tests[name]["score"] == 0, (name, tests[name]["output"])
    losses = data["extras"]["training"]["losses"]
    assert max(losses) - min(losses) < 1e-6, "the decoder's scores never changed"
