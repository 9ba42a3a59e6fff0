"""The main job: grade the reference solutions and the stubbed lessons of both projects, print a scorecard.

    python -m autograder scorecard [--out reports] [--no-train]

For each project: train the reference model first when its saved weights are
missing (they are git-ignored; minutes on a CPU, with progress bars), then grade
``solutions/<project>`` and ``lessons/<project>`` on the default data into
``reports/<project>/<solutions|lessons>/`` (``results.json`` and ``report.html``).
Expected: full marks for the solutions; zero for every stubbed part of the
lessons, each saying "not implemented yet".
"""
from __future__ import annotations

import time
from pathlib import Path

from autograder.grader import grade_submission
from autograder.html_report import write_html
from autograder.isolation import Limits
from autograder.paths import LESSONS_DIR, SOLUTIONS_DIR
from autograder.projects import project_names
from autograder.references import ensure_reference, references_dir
from autograder.summary import print_probe, print_progress
from cvdata.paths import data_root


def train_reference(project: str, folder: Path = SOLUTIONS_DIR) -> str:
    """Make ``folder/<project>`` hold ``project``'s current trained reference (``references.ensure_reference``):
    trained with the commands of its registration (``Registration.training``) unless the folder already has it or
    the cache does (``references.references_dir``: the tests share it); retrained after any change to its code or
    recipe. Returns "current", "cached" or "trained"; raises ``RuntimeError`` if training fails."""
    how = ensure_reference(project, Path(folder) / project)
    if how == "cached":
        print(f"{project}: the trained reference comes from the cache ({references_dir(data_root())})", flush=True)
    return how


def run_scorecard(out: Path, train: bool = True, limits: Limits | None = None) -> int:
    """Grade solutions/ and lessons/ of every project into ``out``; print the scorecard. Returns 0."""
    rows = []
    for project in project_names():
        if train:
            train_reference(project)
        for which, root in (("solutions", SOLUTIONS_DIR), ("lessons", LESSONS_DIR)):
            target = Path(out) / project / which
            print(f"\ngrading {which}/{project}", flush=True)
            started = time.perf_counter()
            report = grade_submission(project, root / project, target / "results.json", limits=limits,
                                      on_check=print_progress, on_probe=print_probe)
            write_html(report, target / "report.html")
            stubs = sum("not implemented yet" in r.output for r in report.results)
            rows.append((project, which, report.score, report.max_score, time.perf_counter() - started, stubs,
                         target))
    print("\nScorecard (default data, public held-out seed)")
    print(f"{'project':18} {'submission':11} {'score':>13} {'time':>7}  notes")
    for project, which, score, max_score, seconds, stubs, _ in rows:
        note = f"{stubs} check(s) 'not implemented yet'" if stubs else ""
        if which == "solutions" and score < max_score:
            note = "below full marks: see the report"
        print(f"{project:18} {which:11} {score:>6g} / {max_score:<4g} {seconds:>5.0f} s  {note}")
    print("\nreports:")
    for *_, target in rows:
        print(f"  {target / 'results.json'}  {target / 'report.html'}")
    return 0
