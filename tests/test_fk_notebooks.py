"""Facial keypoints notebooks: solutions run top to bottom; lessons stop at their first stub.

Everything runs in quick mode on the small generated data set, in copies of
the project folders. The four solution notebooks share one copy and run in
order, so notebooks 3 and 4 load the model notebook 2 saved there.
"""
from __future__ import annotations

import nbformat
import pytest
from fk_project import LESSON_DIR, SOLUTION_DIR
from notebook_exec import copy_project, first_stub_cell, run_notebook

NOTEBOOKS = [
    "1_load_and_visualize.ipynb",
    "2_define_and_train.ipynb",
    "3_haar_and_keypoints.ipynb",
    "4_fun_filters.ipynb",
]


def _where(run) -> str:
    return f"cell {run.failed_cell}: {run.error_name}: {(run.error_value or '')[:500]}"


@pytest.fixture(scope="module")
def solution_copy(tmp_path_factory):
    return copy_project(SOLUTION_DIR, tmp_path_factory.mktemp("fk_solutions"))


@pytest.fixture(scope="module")
def lesson_copy(tmp_path_factory):
    return copy_project(LESSON_DIR, tmp_path_factory.mktemp("fk_lessons"))


def test_the_notebooks_exist():
    assert sorted(p.name for p in SOLUTION_DIR.glob("*.ipynb")) == NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solution_notebook_runs(name, solution_copy, data_root_small):
    run = run_notebook(solution_copy / name, data_root_small)
    assert run.failed_cell is None, f"{name} failed at {_where(run)}"
    if name == "2_define_and_train.ipynb":
        assert (solution_copy / "saved_models" / "keypoints_model.pt").is_file()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_lesson_notebook_stops_at_its_first_stub(name, lesson_copy, data_root_small):
    expected = first_stub_cell(nbformat.read(SOLUTION_DIR / name, as_version=4))
    assert expected is not None, f"{name}: no cell tagged first-stub in the solution"
    run = run_notebook(lesson_copy / name, data_root_small)
    assert run.error_name == "NotImplementedError", f"{name} should stop at a stub, got {_where(run)}"
    assert run.failed_cell == expected, f"{name}: expected the first stub at cell {expected}, got {_where(run)}"
    assert "not implemented yet" in run.error_value
