"""Written questions: every notebook asks some; the grader copies the answers into its reports, for no points."""
from __future__ import annotations

import json
import shutil

import nbformat
import pytest
from grading import LIMITS

from autograder.answers import UNANSWERED, collect_answers, is_answer_cell
from autograder.grader import grade_submission
from autograder.html_report import render_html
from autograder.paths import LESSONS_DIR, SOLUTIONS_DIR
from autograder.projects import project_names
from autograder.report import validate_results

PROJECT = "facial_keypoints"


@pytest.mark.parametrize("project", project_names())
def test_every_notebook_asks_questions_that_the_lessons_leave_open(project):
    solved, problems = collect_answers(SOLUTIONS_DIR / project)
    assert problems == []
    notebooks = sorted(p.name for p in (SOLUTIONS_DIR / project).glob("*.ipynb"))
    assert sorted({a.notebook for a in solved}) == notebooks, "every notebook asks at least one question"
    assert len({a.id for a in solved}) == len(solved), "answer ids (nbgrader grade_id) are unique in a project"
    for answer in solved:
        assert answer.answered and answer.points > 0 and answer.question, answer
        # the cell above an answer is its question alone (the report shows it as the question)
        assert answer.question.startswith("**Q"), (answer.notebook, answer.id, answer.question[:80])
    open_answers, _ = collect_answers(LESSONS_DIR / project)
    assert [a.id for a in open_answers] == [a.id for a in solved]
    assert not any(a.answered for a in open_answers), "the lessons hold nbgrader's stub, not the model answers"
    lesson = nbformat.read(LESSONS_DIR / project / notebooks[0], as_version=4)
    assert all(c.source == UNANSWERED for c in lesson.cells if is_answer_cell(c))


def test_answers_reach_the_report_without_points_and_bad_notebooks_are_named(tmp_path):
    folder = shutil.copytree(LESSONS_DIR / PROJECT, tmp_path / "submission")
    first = folder / "1_load_and_visualize.ipynb"
    nb = nbformat.read(first, as_version=4)
    cell = next(c for c in nb.cells if is_answer_cell(c))
    cell.source = "Rescale must scale the keypoints **too** <b>x</b> [a](javascript:alert(1))."
    nbformat.write(nb, first)
    (folder / "4_fun_filters.ipynb").write_text("{ not json")
    secret = tmp_path / "secret.ipynb"
    secret.write_text(json.dumps({"cells": [], "note": "outside the submission"}))
    (folder / "3_haar_and_keypoints.ipynb").unlink()
    (folder / "3_haar_and_keypoints.ipynb").symlink_to(secret)

    report = grade_submission(PROJECT, folder, tmp_path / "results.json", limits=LIMITS)
    data = json.loads((tmp_path / "results.json").read_text())
    assert validate_results(data) == []
    assert data["score"] == 0, "answers earn nothing from the machine"
    written = data["extra_data"]["written_answers"]
    assert written["answered"] == 1 and written["graded_by"].startswith("instructor")
    answered = [a for a in written["answers"] if a["answered"]]
    assert [(a["notebook"], a["answer"]) for a in answered] == [(first.name, cell.source)]
    assert "Written answers: 1 of" in data["output"]
    problems = " ".join(written["problems"])
    assert "4_fun_filters.ipynb: not a readable notebook" in problems
    assert "3_haar_and_keypoints.ipynb: not a regular file" in problems

    page = render_html(report)
    assert "graded by your instructor" in page and "no points from this grader" in page
    assert "keypoints <strong>too</strong> &lt;b&gt;x&lt;/b&gt;" in page, "answers are rendered Markdown, HTML escaped"
    assert "javascript:" not in page
    assert "<strong>Q1.</strong>" in page, "the questions too"
    assert "not answered" in page and "not a readable notebook" in page
