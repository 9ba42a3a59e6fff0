"""The student's self-check: the visible checks of a project, or of one notebook's parts, with a readable summary.

``python -m autograder check <project> [dir] [--notebook N]`` and the last cell of every lesson notebook
(``self_check("facial_keypoints", notebook="1")``) call ``self_check``: it grades the folder at the public
held-out seed in the sandbox, prints each check as it is scored and the summary, and writes
``selfcheck/results.json`` and ``selfcheck/report.html`` in that folder.
"""
from __future__ import annotations

import sys
from pathlib import Path

from autograder.errors import UsageError


def notebook_checks(project: str, notebook: str) -> list[str]:
    """Ids of the visible checks of the parts written in ``notebook`` (a lesson notebook's file name, its stem or
    just its number: "1", "1_load_and_visualize"); ``UsageError`` when no check belongs to it."""
    from autograder.grader import project_checks

    _, checks = project_checks(project)
    key = Path(str(notebook)).stem
    ids = [c.id for c in checks if c.visibility == "visible" and c.notebook
           and (c.notebook == key or c.notebook.split("_", 1)[0] == key)]
    if not ids:
        known = sorted({c.notebook for c in checks if c.notebook})
        raise UsageError(f"no check of {project} belongs to notebook {notebook!r}; the notebooks with checks: "
                         + ", ".join(known))
    return ids


def self_check(project: str, folder: str | Path | None = None, notebook: str | None = None,
               out: str | Path | None = None, limits=None, stream=sys.stdout):
    """Grade ``folder`` (default: the current folder) with the visible checks (only ``notebook``'s, if given),
    print the progress and the summary to ``stream``; returns the ``Report``."""
    from autograder.grader import grade_submission
    from autograder.heldout_seed import PUBLIC_SEED, Seed
    from autograder.html_report import write_html
    from autograder.summary import print_probe, print_progress, print_summary

    folder = Path(folder) if folder is not None else Path.cwd()
    out = Path(out) if out is not None else folder / "selfcheck"
    only = notebook_checks(project, notebook) if notebook is not None else None
    part = f", the parts of notebook {notebook}" if notebook is not None else ""
    print(f"self-check of {folder} ({project}{part}); visible checks only, public held-out seed", file=stream)
    report = grade_submission(project, folder, out / "results.json", seed=Seed(PUBLIC_SEED, "public"), limits=limits,
                              visible_only=True, only=only, on_check=lambda r: print_progress(r, stream),
                              on_probe=lambda *a: print_probe(*a, stream=stream))
    write_html(report, out / "report.html")
    print_summary(report.as_json(), stream)
    print(f"details: {out / 'report.html'}", file=stream)
    return report
