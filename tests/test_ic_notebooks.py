"""The image-captioning notebooks run top to bottom, and their lessons stop at the first stub.

Solution notebooks run in quick mode (``COURSE_QUICK=1``) on the small shapes
world, in order, in one copy of the project: notebook 2 trains and saves
``models/``, then notebook 3 loads that checkpoint. (Without a checkpoint notebook 3
carries on with an untrained model; a second full run to test that costs about a
minute, so only the lesson run, which enters that branch, exercises it.) Lesson notebooks
run in a copy of ``lessons/image_captioning`` and must fail with
``NotImplementedError`` in exactly the cell the solution notebook tags
``first-stub``.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from notebook_exec import copy_project, first_stub_cell, run_notebook

from autograder.paths import LESSONS_DIR, SOLUTIONS_DIR

PROJECT = "image_captioning"
NOTEBOOKS = ("0_dataset.ipynb", "1_preliminaries.ipynb", "2_training.ipynb", "3_inference.ipynb", "4_attention.ipynb")
CHECKPOINT_FILES = {"encoder.pt", "decoder.pt", "model_config.json", "vocab.json"}
ATTENTION_FILES = {"encoder.pt", "decoder.pt", "attention_config.json", "vocab.json"}


def _files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix() for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts
    }


def _printed(run) -> str:
    """Everything the notebook printed (stream outputs)."""
    return "\n".join(
        out["text"] for cell in run.notebook.cells for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    )


def _assert_ran(run, name: str) -> None:
    assert run.failed_cell is None, (
        f"{name} failed in cell {run.failed_cell}: {run.error_name}: {run.error_value}"
    )


@pytest.fixture(scope="module")
def solution_runs(tmp_path_factory, backbone_root_small):
    """Run the four solution notebooks in order in one copy: (copy, {name: run}, files they added)."""
    copy = copy_project(SOLUTIONS_DIR / PROJECT, tmp_path_factory.mktemp("ic_solution"))
    before = _files(copy)
    runs = {name: run_notebook(copy / name, backbone_root_small) for name in NOTEBOOKS}
    return copy, runs, _files(copy) - before


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solution_notebook_is_committed_clean_and_tags_its_first_stub(name):
    nb = nbformat.read(SOLUTIONS_DIR / PROJECT / name, as_version=4)
    tagged = [i for i, cell in enumerate(nb.cells) if "first-stub" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{name}: expected exactly one cell tagged first-stub, found {tagged}"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{name}: needs the python3 kernelspec"
    dirty = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{name}: clear the outputs of cells {dirty} before committing"
    for cell in nb.cells:
        if "### BEGIN SOLUTION" in cell.source:
            meta = cell.metadata.get("nbgrader", {})
            assert meta.get("solution") is True and meta.get("grade_id"), \
                f"{name}: solution cell without nbgrader metadata"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solution_notebook_runs_in_quick_mode(solution_runs, name):
    _, runs, _ = solution_runs
    _assert_ran(runs[name], name)


def test_notebooks_write_only_their_vocabulary_and_checkpoint(solution_runs):
    copy, runs, added = solution_runs
    assert "vocab.json" in added, "notebook 1 saves vocab.json beside itself"
    assert {f"models/{name}" for name in CHECKPOINT_FILES} <= added, (
        f"notebook 2 saves its checkpoint in models/: added {sorted(added)}"
    )
    assert {f"models/attention/{name}" for name in ATTENTION_FILES} <= added, (
        f"notebook 4 saves its model in models/attention/: added {sorted(added)}"
    )
    unexpected = sorted(path for path in added if path != "vocab.json" and not path.startswith("models/"))
    assert not unexpected, f"the notebooks wrote files they shouldn't: {unexpected}"


def test_inference_notebook_uses_the_trained_checkpoint(solution_runs):
    _, runs, _ = solution_runs
    printed = _printed(runs["3_inference.ipynb"])
    assert "loaded the trained model" in printed
    assert "UNTRAINED" not in printed


def test_attention_notebook_compares_with_show_and_tell(solution_runs):
    _, runs, _ = solution_runs
    printed = _printed(runs["4_attention.ipynb"])
    assert "Attention: shapes, sums and the weighted sum are right" in printed
    assert "no Show and Tell checkpoint" not in printed  # notebook 2's model is there to compare with
    html = "\n".join(str(out.get("data", {}).get("text/html", "")) for cell in runs["4_attention.ipynb"].notebook.cells
                     for out in cell.get("outputs", []))
    assert "Show and Tell" in html and "attention" in html  # the side-by-side table


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_lesson_notebook_stops_at_its_first_stub(tmp_path, backbone_root_small, name):
    solution_nb = nbformat.read(SOLUTIONS_DIR / PROJECT / name, as_version=4)
    expected = first_stub_cell(solution_nb)
    copy = copy_project(LESSONS_DIR / PROJECT, tmp_path)
    run = run_notebook(copy / name, backbone_root_small)
    assert run.error_name == "NotImplementedError", (
        f"lesson {name}: expected NotImplementedError in cell {expected}, got "
        f"{run.error_name}: {run.error_value} in cell {run.failed_cell}"
    )
    assert run.failed_cell == expected, (
        f"lesson {name} first hit a stub in cell {run.failed_cell} ({run.error_value}), "
        f"but the solution tags cell {expected} (lesson numbering) first-stub"
    )
    assert "not implemented yet" in run.error_value
