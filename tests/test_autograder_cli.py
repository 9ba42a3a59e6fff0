"""The grader's command line, the batch command, the Gradescope bundle, and the self-check."""
from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.heldout_seed import SEED_ENV
from autograder.paths import LESSONS_DIR, REPO_DIR, SOLUTIONS_DIR
from autograder.report import check_id, validate_results

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
    probes = re.findall(r"\[(\d+)/(\d+)\] ran \w+ in the sandbox", done.stdout)  # progress while the child runs
    assert probes and [int(i) for i, _ in probes] == list(range(1, int(probes[0][1]) + 1))
    assert done.stdout.index("[1/") < done.stdout.index("  FAIL")


SECRET = "2718281828459045"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """``batch`` with a secret seed on four submissions: the stubs (alice), a syntax error (bob), the reference
    ``data_load.py`` (carol) and a copy of carol's (dave). Returns the results folder."""
    root = tmp_path_factory.mktemp("cohort")
    submissions = root / "submissions"
    for name in ("alice", "bob", "carol", "dave"):
        shutil.copytree(LESSONS_DIR / PROJECT, submissions / name)
    (submissions / "bob" / "data_load.py").write_text("syntax error here(\n")
    for name in ("carol", "dave"):
        shutil.copy(SOLUTIONS_DIR / PROJECT / "data_load.py", submissions / name / "data_load.py")
    done = _run("batch", PROJECT, str(submissions), "--out", str(root / "graded"), "--jobs", "2",
                "--allow-unsandboxed", "--check-timeout", "60", env={**os.environ, SEED_ENV: SECRET})
    assert done.returncode == 0, done.stderr
    assert "submissions/min" in done.stderr, "the progress bar shows the rate"
    return root / "graded"


def _results(graded: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(graded.glob("*/results.json"))}


def test_batch_grades_every_folder_and_writes_the_gradebooks(cohort):
    with open(cohort / "gradebook.csv", newline="") as stream:
        rows = {row["submission"]: row for row in csv.DictReader(stream)}
    assert set(rows) == {"alice", "bob", "carol", "dave"} and all(row["status"] == "graded" for row in rows.values())
    assert float(rows["alice"]["score"]) == 0 and "dataset" in rows["alice"]
    results = _results(cohort)
    for name in rows:
        assert validate_results(results[name]) == []
        assert (cohort / name / "report.html").is_file()
    with open(cohort / "canvas.csv", newline="") as stream:
        canvas = list(csv.reader(stream))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Facial keypoints"]
    assert canvas[1][0] == "Points Possible" and canvas[1][-1] == "100"
    assert {row[3]: float(row[-1]) for row in canvas[2:]} == {n: float(r["score"]) for n, r in rows.items()}


def test_each_student_gets_a_variant_and_a_regrade_reproduces_it(cohort, tmp_path):
    results = _results(cohort)
    variants = {name: data["extra_data"]["variant"] for name, data in results.items()}
    assert len(set(variants.values())) == 4 and all(data["extra_data"]["student"] == name
                                                    for name, data in results.items())
    assert SECRET not in json.dumps(results)
    again = tmp_path / "results.json"
    done = _run("grade", PROJECT, str(LESSONS_DIR / PROJECT), "--results", str(again), "--student", "alice",
                "--allow-unsandboxed", "--check-timeout", "60", env={**os.environ, SEED_ENV: SECRET})
    assert done.returncode == 0, done.stderr
    regraded = json.loads(again.read_text())
    assert regraded["extra_data"]["variant"] == variants["alice"] \
        and "variant " + variants["alice"] in regraded["output"]
    assert [t["score"] for t in regraded["tests"]] == [t["score"] for t in results["alice"]["tests"]]


def test_the_cohort_page_matches_the_individual_reports(cohort):
    results = _results(cohort)
    summary = json.loads((cohort / "cohort.json").read_text())
    page = (cohort / "index.html").read_text()
    for check in summary["checks"]:
        tests = [t for data in results.values() for t in data["tests"] if check_id(t) == check["id"]]
        full = sum(t["score"] == t["max_score"] for t in tests)
        some = sum(0 < t["score"] < t["max_score"] for t in tests)
        assert (check["passed"], check["partial"], check["failed"]) == (full, some, len(tests) - full - some)
        assert f"{full / len(tests):.0%}</td>" in page and html.escape(check["name"]) in page
    assert summary["checks"][0]["passed"] == 2, "carol's and dave's dataset passes, alice's stub and bob's error not"
    worst = min(summary["checks"], key=lambda c: c["passed"] / 4)
    assert summary["most_failed"] == worst["id"] and html.escape(worst["feedback"]) in page
    for name in results:
        assert f"href='{name}/report.html'" in page
    flagged = {frozenset((p["first"], p["second"])) for p in summary["similar"] if p["first_share"] >= 0.6}
    assert flagged == {frozenset(("carol", "dave"))}, summary["similar"]
    assert "carol &amp; dave" in page and "side by side" in page
    assert "highlight-red" in (cohort / "similarity.html").read_text()


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
