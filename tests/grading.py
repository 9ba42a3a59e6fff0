"""Helpers for the grader's tests: copies of the reference with trained models, and grading calls."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from autograder.grader import grade_submission
from autograder.isolation import Limits
from autograder.paths import LESSONS_DIR, SOLUTIONS_DIR
from autograder.references import ensure_reference
from autograder.report import check_id, validate_results


def copy_solution(project: str, target: Path) -> Path:
    """A copy of ``solutions/<project>`` without any saved model."""
    return Path(shutil.copytree(SOLUTIONS_DIR / project, Path(target) / project,
                                ignore=shutil.ignore_patterns("__pycache__", "saved_models", "models", "*.json")))


THREADS = max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
"""CPU threads for a reference training or a grading's child: the cores shared among pytest-xdist's workers
(``make test`` runs one per core; two 2-thread runs side by side on 2 cores crawl, their threads spinning)."""
LIMITS = Limits(threads=THREADS)
"""The grader's default limits, with ``THREADS`` threads in the child."""


def plant(folder: Path, name: str, line: str, mistake: str) -> None:
    """Replace ``line``, which must occur exactly once in ``folder / name``, with ``mistake`` (a planted bug)."""
    path = Path(folder) / name
    source = path.read_text()
    assert source.count(line) == 1, f"{name}: {line!r} occurs {source.count(line)} times"
    path.write_text(source.replace(line, mistake))


def train_copy(project: str, folder: Path, data_root: Path) -> Path:
    """``folder`` (a solution copy) with the reference model trained by the main job's commands
    (``Registration.training``, counted in epochs and steps) on ``data_root``: trained there, or copied from the
    cache of references that the main job shares (``autograder.references.references_dir``: under ``data_root``
    unless ``$COURSE_REFERENCES_DIR`` moves it; only while the code, recipe, data and libraries are unchanged).
    Returns ``folder``."""
    ensure_reference(project, folder, data_root, env={"OMP_NUM_THREADS": str(THREADS)}, quiet=True)
    return folder


def grade(project: str, folder: Path, results: Path, **kwargs) -> dict:
    """Grade ``folder``; returns the parsed results.json after checking it against the schema."""
    grade_submission(project, folder, results, limits=kwargs.pop("limits", LIMITS), **kwargs)
    data = json.loads(Path(results).read_text())
    assert validate_results(data) == [], validate_results(data)
    return data


def by_id(data: dict) -> dict[str, dict]:
    """The tests of a results.json, by check id (``Check.id``)."""
    return {check_id(test): test for test in data["tests"]}


def grade_lessons(project: str, results: Path, *missing_models: str) -> dict[str, dict]:
    """Grade ``lessons/<project>``: zero points, and every check either "not implemented yet" or
    "Not run" for want of a saved model (one of ``missing_models``, relative paths). Returns the tests by id."""
    data = grade(project, LESSONS_DIR / project, results)
    assert data["score"] == 0
    tests = by_id(data)
    stubbed = [name for name in tests if "not implemented yet" in tests[name]["output"]]
    no_model = [name for name in tests if name not in stubbed
                and any(f"{model} is missing" in tests[name]["output"] for model in missing_models)]
    assert sorted(stubbed + no_model) == sorted(tests), {n: t["output"] for n, t in tests.items()}
    return tests
