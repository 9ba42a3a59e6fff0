"""lessons/ is generated from solutions/: regenerating must change nothing."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from autograder.lessons import generate_lessons, lesson_py, project_folders, projects, source_files
from autograder.paths import LESSONS_DIR, SOLUTIONS_DIR


def _tree(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("project", projects())
def test_lessons_match_a_fresh_generation(tmp_path, project):
    generate_lessons(SOLUTIONS_DIR, tmp_path)
    fresh = _tree(tmp_path / project)
    lesson_dir = LESSONS_DIR / project
    committed = {rel: (lesson_dir / rel).read_bytes() for rel in source_files(lesson_dir)}
    assert sorted(map(str, committed)) == sorted(map(str, fresh)), "files differ: run python -m autograder lessons"
    stale = [str(rel) for rel in fresh if fresh[rel] != committed[rel]]
    assert not stale, f"out of date (run `python -m autograder lessons`): {stale}"


SOURCE = '''"""A module."""


class Box:
    def area(self, w, h):
        """(N,) x (N,) -> (N,)"""
        ### BEGIN SOLUTION
        return w * h
        ### END SOLUTION


def helper():
    return 1
'''


def test_py_stub_keeps_docstrings_and_names_the_function():
    out = lesson_py(SOURCE, Path("proj/box.py"))
    assert "GENERATED from solutions/proj/box.py" in out
    assert '"""(N,) x (N,) -> (N,)"""' in out
    assert "return w * h" not in out
    assert 'raise NotImplementedError("not implemented yet: Box.area")' in out
    namespace: dict = {}
    exec(compile(out, "box.py", "exec"), namespace)  # imports cleanly
    assert namespace["helper"]() == 1
    with pytest.raises(NotImplementedError, match="not implemented yet: Box.area"):
        namespace["Box"]().area(2, 3)


def test_a_region_in_a_class_body_becomes_pass_so_the_module_imports():
    """A config dataclass whose fields are the student's design: a raise there would fail at import."""
    source = (
        '"""A module."""\nfrom dataclasses import dataclass\n\n\n@dataclass\nclass Config:\n    """Sizes."""\n\n'
        "    kept: int = 1\n    ### BEGIN SOLUTION\n    width: int = 8\n    ### END SOLUTION\n\n\n"
        "def build(config):\n    ### BEGIN SOLUTION\n    return config.width\n    ### END SOLUTION\n"
    )
    out = lesson_py(source, Path("proj/config.py"))
    namespace: dict = {}
    exec(compile(out, "config.py", "exec"), namespace)
    assert vars(namespace["Config"]()) == {"kept": 1}, "the student's fields are gone, the given ones stay"
    with pytest.raises(NotImplementedError, match="not implemented yet: build"):
        namespace["build"](namespace["Config"]())


def test_py_without_solution_regions_is_copied_as_it_is():
    given = '"""Given helpers."""\n\n\ndef helper():\n    return 1\n'
    out = lesson_py(given, Path("proj/helpers.py"))
    assert out.endswith(given), "a file with nothing to write must not be stubbed"
    assert "nothing to write" in out and "NotImplementedError" not in out


def test_notebook_solution_cells_are_cleared(tmp_path):
    solution = tmp_path / "solutions" / "proj"
    solution.mkdir(parents=True)
    meta = {"nbgrader": {"solution": True, "grade": False, "locked": False,
                         "grade_id": "cell-a", "schema_version": 3}}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("x = 1\n### BEGIN SOLUTION\ny = x + 1\n### END SOLUTION", metadata=meta),
        nbformat.v4.new_code_cell("print(2)", outputs=[nbformat.v4.new_output("stream", text="2\n")]),
    ])
    nbformat.write(nb, solution / "nb.ipynb")
    (solution / "box.py").write_text(SOURCE)
    (solution / "saved_models").mkdir()
    (solution / "saved_models" / "m.pt").write_bytes(b"x")
    generate_lessons(tmp_path / "solutions", tmp_path / "lessons", names=["proj"])
    out = nbformat.read(tmp_path / "lessons" / "proj" / "nb.ipynb", as_version=4)
    assert "GENERATED from solutions/proj/nb.ipynb" in out.cells[0].source
    assert "y = x + 1" not in out.cells[2].source and "x = 1" in out.cells[2].source
    assert "NotImplementedError" in out.cells[2].source
    assert out.cells[3].outputs == []
    assert not (tmp_path / "lessons" / "proj" / "saved_models").exists()
    written = (tmp_path / "lessons" / "proj" / "box.py").read_text()
    assert written == lesson_py(SOURCE, Path("proj/box.py"))


def test_every_solutions_folder_is_a_registered_project():
    assert project_folders(SOLUTIONS_DIR) == projects()
    assert project_folders(LESSONS_DIR) == projects()


@pytest.mark.parametrize("project", projects())
def test_every_stub_is_announced_by_exactly_one_notebook(project):
    """Each notebook's introduction ends with "What you write here:"; together they name every stub of the
    project's files once (a stub added to a file without a notebook saying so fails here)."""
    stubs = {name for path in (LESSONS_DIR / project).glob("*.py")
             for name in re.findall(r"not implemented yet: ([\w.]+)", path.read_text())}
    assert stubs
    announced = []
    for path in sorted((SOLUTIONS_DIR / project).glob("*.ipynb")):
        intro = nbformat.read(path, as_version=4).cells[0].source
        assert "**What you write here:**" in intro, path.name
        said = intro.split("**What you write here:**", 1)[1]
        announced += [name for name in re.findall(r"`([\w.]+)`", said) if name in stubs]
    assert sorted(announced) == sorted(stubs)
