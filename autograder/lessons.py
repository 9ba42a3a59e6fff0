"""Generate ``lessons/`` (student versions) from ``solutions/`` (the single source).

One rule for both kinds of file, nbgrader's: whatever lies between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` is what students write.

- Notebooks go through nbgrader's own preprocessors: ``ClearSolutions``,
  ``ClearHiddenTests`` and ``ClearOutput``. A generated-file notice is put in the
  notebook's first cell.
- ``.py`` files go through the same ``ClearSolutions`` pass (the file is wrapped as
  one solution cell). Each solution region becomes
  ``raise NotImplementedError("not implemented yet: <function>")`` at the region's
  indentation, so docstrings with shapes stay, the module still imports, and only
  calling a stub fails. A region directly in a class body (a config dataclass's
  fields: the student's design) becomes ``pass`` instead, since a ``raise`` there
  would fail at import. A notice at the top says where to edit.
- Anything else (images, READMEs) is copied as it is; caches, checkpoints and
  other generated artefacts (``IGNORED``) are skipped.

``python -m autograder lessons`` rewrites ``lessons/`` from ``solutions/``;
``tests/test_lessons_sync.py`` regenerates into a temporary folder and fails on
any difference with the committed ``lessons/``.
"""
from __future__ import annotations

import ast
import fnmatch
import shutil
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

from autograder.paths import LESSONS_DIR, SOLUTIONS_DIR
from autograder.projects import SOLUTION_MARKER, project_names

IGNORED = (
    "__pycache__", "*.pyc", ".ipynb_checkpoints", "saved_models", "models", "selfcheck",
    "*.pt", "*.pth", ".pytest_cache", "lightning_logs", "runs", "*.egg-info",
)
"""Names never copied into lessons/ (fnmatch patterns on each path component)."""

_PLACEHOLDER = "__WHERE__"
_PY_STUB = f'# YOUR CODE HERE\nraise NotImplementedError("not implemented yet: {_PLACEHOLDER}")'
_CLASS_BODY_STUB = "pass  # your fields (with defaults) and methods"
_NB_STUB = '# YOUR CODE HERE\nraise NotImplementedError("not implemented yet: this cell")'


def _notice(relative: Path, has_stubs: bool = True) -> str:
    source = Path("solutions") / relative
    task = "fill in the parts marked YOUR CODE HERE." if has_stubs else "nothing to write in this file (given code)."
    return (
        f"GENERATED from {source.as_posix()} by `python -m autograder lessons`.\n"
        f"Students: {task}\n"
        f"Course maintainers: edit {source.as_posix()}, not this file, then regenerate."
    )


def _clear_solutions(source: str) -> str:
    """``source`` with every solution region replaced by the stub (nbgrader's pass)."""
    cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"solution": True}})
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = ClearSolutions(code_stub={"python": _PY_STUB}).preprocess(nb, {})
    return nb.cells[0].source


def _name_stubs(source: str, path: Path) -> str:
    """Replace each stub's placeholder with the qualified name of its enclosing function; a stub directly in a
    class body becomes ``_CLASS_BODY_STUB``."""
    tree = ast.parse(source, filename=str(path))
    names: dict[int, str] = {}
    in_class_body: set[int] = set()

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, scope + (child.name,))
            else:
                if isinstance(child, ast.Raise) and _PLACEHOLDER in ast.unparse(child):
                    names[child.lineno] = ".".join(scope) or path.stem
                    if isinstance(node, ast.ClassDef):
                        in_class_body.add(child.lineno)
                visit(child, scope)

    visit(tree, ())
    lines = source.split("\n")
    for lineno, name in names.items():
        line = lines[lineno - 1]
        if lineno in in_class_body:
            lines[lineno - 1] = line[:len(line) - len(line.lstrip())] + _CLASS_BODY_STUB
        else:
            lines[lineno - 1] = line.replace(_PLACEHOLDER, name)
    return "\n".join(lines)


def lesson_py(source: str, relative: Path) -> str:
    """The student version of one ``.py`` file of ``solutions/`` (``relative`` to it).

    A file without solution regions (given helpers) is copied as it is: nbgrader
    would otherwise replace a whole solution cell that has no markers by the stub.
    """
    has_regions = SOLUTION_MARKER in source
    stubbed = _name_stubs(_clear_solutions(source), relative) if has_regions else source
    header = "".join(f"# {line}\n" for line in _notice(relative, has_regions).split("\n"))
    return header + stubbed


def lesson_notebook(nb: nbformat.NotebookNode, relative: Path) -> nbformat.NotebookNode:
    """The student version of one notebook of ``solutions/`` (``relative`` to it)."""
    nb = nbformat.from_dict(nb)  # a copy
    resources: dict = {}
    for step in (ClearSolutions(code_stub={"python": _NB_STUB}), ClearHiddenTests(), ClearOutput()):
        nb, resources = step.preprocess(nb, resources)
    notice = "> " + "  \n> ".join(_notice(relative).split("\n"))
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(notice, metadata={"generated_notice": True}))
    for cell in nb.cells:  # ids would otherwise change on every run
        cell.pop("id", None)
    nb.nbformat, nb.nbformat_minor = 4, 4
    return nb


def _ignored(relative: Path) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in IGNORED)


def source_files(solutions_dir: Path = SOLUTIONS_DIR) -> list[Path]:
    """The files of ``solutions_dir`` that lessons are made from, relative to it, sorted."""
    return sorted(
        path.relative_to(solutions_dir)
        for path in solutions_dir.rglob("*")
        if path.is_file() and not _ignored(path.relative_to(solutions_dir))
    )


def projects() -> list[str]:
    """The registered projects (``autograder.projects.PROJECTS``), sorted: each has a lesson folder."""
    return list(project_names())


def project_folders(solutions_dir: Path = SOLUTIONS_DIR) -> list[str]:
    """The sub-folders of ``solutions_dir``, sorted (a test keeps them equal to ``projects()``)."""
    return sorted(p.name for p in Path(solutions_dir).iterdir() if p.is_dir() and not _ignored(Path(p.name)))


def generate_project(source_dir: Path, lesson_dir: Path, relative_to: Path) -> list[Path]:
    """Rewrite ``lesson_dir`` from ``source_dir``; returns the files written (relative).

    Files of ``lesson_dir`` with no source are removed, except ignored artefacts
    (a student's saved models survive a regeneration). ``relative_to`` is the
    ``solutions/`` folder, for the notices.
    """
    source_dir, lesson_dir = Path(source_dir), Path(lesson_dir)
    written = source_files(source_dir)
    wanted = set(written)
    if lesson_dir.exists():
        for path in sorted(lesson_dir.rglob("*"), reverse=True):
            relative = path.relative_to(lesson_dir)
            if path.is_file() and relative not in wanted and not _ignored(relative):
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    for relative in written:
        src, dst = source_dir / relative, lesson_dir / relative
        notice_path = src.relative_to(relative_to)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix == ".py":
            dst.write_text(lesson_py(src.read_text(encoding="utf-8"), notice_path), encoding="utf-8")
        elif src.suffix == ".ipynb":
            nb = lesson_notebook(nbformat.read(src, as_version=4), notice_path)
            dst.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        else:
            shutil.copyfile(src, dst)
    return written


def generate_lessons(solutions_dir: Path = SOLUTIONS_DIR, lessons_dir: Path = LESSONS_DIR,
                     names: list[str] | None = None) -> dict[str, list[Path]]:
    """Regenerate ``lessons_dir/<project>/`` from ``solutions_dir/<project>/`` for each of ``names`` (default:
    every registered project).

    Top-level files (the two READMEs) are each folder's own and left alone.
    Returns the files written per project.
    """
    return {
        name: generate_project(Path(solutions_dir) / name, Path(lessons_dir) / name, Path(solutions_dir))
        for name in (projects() if names is None else names)
    }
