"""The grader's command line, the batch command, the Gradescope bundle, and the self-check."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

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


def test_a_seed_on_the_command_line_is_refused_with_the_ways_that_work():
    for command in (["grade", PROJECT, ".", "--results", "x.json"], ["batch", PROJECT, ".", "--out", "x"],
                    ["gradescope", PROJECT, "--out", "x.zip"]):
        done = _run(*command, "--seed", "1234")
        assert done.returncode == 2 and "--seed was removed" in done.stderr, done.stderr
        assert "AUTOGRADER_SEED" in done.stderr and "--secret-file" in done.stderr


def test_a_secret_file_others_can_read_is_refused_with_a_report(tmp_path):
    secret, results = tmp_path / "seed.txt", tmp_path / "results.json"
    secret.write_text("2718281828459045\n")
    secret.chmod(0o644)
    done = _run("grade", PROJECT, str(LESSONS_DIR / PROJECT), "--results", str(results), "--secret-file", str(secret))
    assert done.returncode == 2 and "chmod 600" in done.stderr, done.stderr
    data = json.loads(results.read_text())
    assert validate_results(data) == [] and data["score"] == 0 and data["output"].startswith("Not graded")
    assert "2718281828459045" not in done.stderr + results.read_text()
