"""The self-check of one notebook's parts: every notebook's last cell asks for its own checks, and they run alone."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import nbformat
import pytest
from grading import LIMITS, by_id, copy_solution

from autograder.errors import UsageError
from autograder.grader import project_checks
from autograder.paths import LESSONS_DIR, SOLUTIONS_DIR
from autograder.projects import project_names
from autograder.selfcheck import notebook_checks, self_check

PROJECT = "facial_keypoints"
DATA_CHECKS = ["dataset", "rescale", "random-crop", "center-crop", "random-rotate", "flip", "color-jitter", "normalize"]


@pytest.mark.parametrize("project", project_names())
def test_every_visible_check_belongs_to_a_notebook_whose_last_cell_runs_it(project):
    _, checks = project_checks(project)
    visible = {c.id for c in checks if c.visibility == "visible"}
    covered = set()
    for path in sorted((SOLUTIONS_DIR / project).glob("*.ipynb")):
        last = nbformat.read(path, as_version=4).cells[-1]
        if last.cell_type != "code":  # a notebook without graded parts says so in its last cell
            assert "graded by the machine" in last.source, path.name
            continue
        assert f'self_check("{project}", notebook="{path.stem}")' in last.source, path.name
        ids = notebook_checks(project, path.stem)
        assert ids == notebook_checks(project, path.stem.split("_")[0]), "the number alone names the notebook"
        covered |= set(ids)
    assert covered == visible, sorted(visible ^ covered)


def test_one_notebooks_self_check_runs_only_its_checks(tmp_path):
    folder = copy_solution(PROJECT, tmp_path)
    out = io.StringIO()
    report = self_check(PROJECT, folder, notebook="1", limits=LIMITS, stream=out)
    assert [r.id for r in report.results] == DATA_CHECKS
    assert all(r.status == "passed" for r in report.results), [r.output for r in report.results]
    printed = out.getvalue()
    assert "the parts of notebook 1" in printed and "details:" in printed
    assert (folder / "selfcheck" / "report.html").is_file() and (folder / "selfcheck" / "results.json").is_file()
    with pytest.raises(UsageError, match="no check of facial_keypoints belongs to notebook '9'"):
        self_check(PROJECT, folder, notebook="9", limits=LIMITS, stream=out)


def test_the_command_line_checks_one_notebook_of_a_lesson(tmp_path):
    run = [sys.executable, "-m", "autograder", "check", PROJECT, str(LESSONS_DIR / PROJECT), "--notebook",
           "4_fun_filters", "--out", str(tmp_path / "out")]
    done = subprocess.run(run, capture_output=True, text=True, timeout=300, env={**os.environ})
    assert done.returncode == 0, done.stderr
    assert "the parts of notebook 4_fun_filters" in done.stdout
    assert "not implemented yet: apply_sunglasses" in done.stdout
    tests = by_id(json.loads((tmp_path / "out" / "results.json").read_text()))
    assert list(tests) == ["sunglasses"]
    unknown = subprocess.run(run[:-4] + ["--notebook", "7"], capture_output=True, text=True, timeout=300)
    assert unknown.returncode == 2 and "notebooks with checks" in unknown.stderr, unknown.stderr
