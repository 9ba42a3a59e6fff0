"""Execute course notebooks with nbclient, for the notebook tests of both projects.

A notebook runs in a copy of its project folder (so nothing it saves lands in
the repository), in quick mode (``COURSE_QUICK=1``), reading generated data from
``data_root`` (``CVDATA_ROOT``).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from cvdata.paths import DATA_ROOT_ENV
from cvdata.runtime import QUICK_ENV


@dataclass
class NotebookRun:
    """What happened: the executed notebook, and where it stopped if it failed."""

    notebook: nbformat.NotebookNode
    failed_cell: int | None = None
    """Index of the cell that raised, or None if every cell ran."""
    error_name: str | None = None
    """The exception's class name (e.g. ``NotImplementedError``)."""
    error_value: str | None = None


def copy_project(project_dir: Path, workdir: Path) -> Path:
    """Copy a project folder (without caches or saved models) into ``workdir``; returns the copy."""
    target = Path(workdir) / Path(project_dir).name
    shutil.copytree(
        project_dir, target,
        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "saved_models", "models"),
    )
    return target


def run_notebook(path: Path, data_root: Path, timeout: int = 300) -> NotebookRun:
    """Execute the notebook at ``path`` in its own folder; never raises on a cell error."""
    nb = nbformat.read(path, as_version=4)
    env = {DATA_ROOT_ENV: str(data_root), QUICK_ENV: "1", "MPLBACKEND": "Agg"}
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the kernel inherits the environment at start
    try:
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3",
            resources={"metadata": {"path": str(Path(path).parent)}},
        )
        try:
            client.execute()
        except CellExecutionError as error:
            index = next(
                (i for i, cell in enumerate(nb.cells)
                 if any(out.get("output_type") == "error" for out in cell.get("outputs", []))),
                None,
            )
            return NotebookRun(nb, index, error.ename, error.evalue)
        return NotebookRun(nb)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def first_stub_cell(solution_nb: nbformat.NotebookNode) -> int | None:
    """Index, in the lesson notebook, of the cell expected to fail first.

    Solution notebooks tag that cell ``first-stub`` (the first cell that calls
    or contains code students write); the lesson has one extra cell on top, the
    generated-file notice.
    """
    for index, cell in enumerate(solution_nb.cells):
        if "first-stub" in cell.get("metadata", {}).get("tags", []):
            return index + 1
    return None
