"""The grader's command line, the batch command, the Gradescope bundle, and the self-check."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile

from autograder.paths import LESSONS_DIR, REPO_DIR
from autograder.report import validate_results

PROJECT = "facial_keypoints"


def _run(*args: str, cwd=REPO_DIR, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env=env)


def test_help_lists_every_command():
    done = _run("--help")
    assert done.returncode == 0
    for command in ("grade", "check", "batch", "gradescope", "scorecard", "lessons"):
        assert command in done.stdout


def test_grade_writes_a_report_and_exits_zero_whatever_the_score(tmp_path):
    results, page = tmp_path / "out" / "results.json", tmp_path / "out" / "report.html"
    done = _run("grade", PROJECT, str(LESSONS_DIR / PROJECT), "--results", str(results), "--html", str(page))
    assert done.returncode == 0, done.stderr
    data = json.loads(results.read_text())
    assert validate_results(data) == [] and data["score"] == 0
    assert "not implemented yet" in page.read_text() and "0 / 100" in page.read_text()
    assert "0 / 100 points" in done.stdout


def test_a_missing_submission_folder_still_gets_a_report(tmp_path):
    results = tmp_path / "results.json"
    done = _run("grade", PROJECT, str(tmp_path / "nowhere"), "--results", str(results))
    assert done.returncode == 0
    data = json.loads(results.read_text())
    assert validate_results(data) == [] and data["score"] == 0 and "not a folder" in data["output"]


def test_bad_arguments_exit_two():
    assert _run("grade", "no_such_project", ".", "--results", "x.json").returncode == 2
    assert _run("grade", PROJECT, ".").returncode == 2  # --results is required


def test_the_self_check_runs_only_visible_checks(tmp_path):
    done = _run("check", PROJECT, str(LESSONS_DIR / PROJECT), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "results.json").read_text())
    assert all(test["visibility"] == "visible" for test in data["tests"])
    assert "(instructor)" not in done.stdout
    assert "not implemented yet: Rescale.__call__" in done.stdout
    assert (tmp_path / "report.html").is_file()


def test_batch_grades_every_folder_and_writes_a_gradebook(tmp_path):
    submissions = tmp_path / "submissions"
    for name in ("alice", "bob"):
        shutil.copytree(LESSONS_DIR / PROJECT, submissions / name)
    (submissions / "bob" / "data_load.py").write_text("syntax error here(\n")
    done = _run("batch", PROJECT, str(submissions), "--out", str(tmp_path / "graded"), "--jobs", "2")
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "graded" / "gradebook.csv", newline="") as stream:
        rows = {row["submission"]: row for row in csv.DictReader(stream)}
    assert set(rows) == {"alice", "bob"} and all(row["status"] == "graded" for row in rows.values())
    assert float(rows["alice"]["score"]) == 0 and "Dataset: length and sample format" in rows["alice"]
    for name in rows:
        assert validate_results(json.loads((tmp_path / "graded" / name / "results.json").read_text())) == []
        assert (tmp_path / "graded" / name / "report.html").is_file()


def test_the_gradescope_bundle_runs_against_an_autograder_folder(tmp_path):
    bundle = tmp_path / "autograder.zip"
    assert _run("gradescope", PROJECT, "--out", str(bundle), "--seed", "99").returncode == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        assert {"setup.sh", "run_autograder", "source/pyproject.toml", "source/seed.txt",
                "source/autograder/worker.py", "source/datasets/cvdata/faces.py",
                f"source/solutions/{PROJECT}/training.py"} <= names
        archive.extractall(root)
    for script in ("setup.sh", "run_autograder"):
        (root / script).chmod(0o755)
        assert subprocess.run(["bash", "-n", str(root / script)]).returncode == 0
    shutil.copytree(LESSONS_DIR / PROJECT, root / "submission")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert validate_results(data) == [] and data["score"] == 0 and data["seed_source"] == "instructor"
