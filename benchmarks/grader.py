"""How long does grading take? (A benchmark, not a test.)

Grades the reference solution of each project (its trained model must exist:
``make grade`` trains it) and prints the time of every check and the total,
then grades ``--copies`` copies of one project with ``batch --jobs N`` and prints
the throughput.

    python benchmarks/grader.py [--copies 8] [--jobs 2] [--batch-project facial_keypoints]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from autograder.batch import grade_folder
from autograder.grader import grade_submission
from autograder.paths import SOLUTIONS_DIR
from autograder.projects import get_project, project_names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--batch-project", default="facial_keypoints", choices=project_names())
    args = parser.parse_args(argv)
    totals = {}
    with tempfile.TemporaryDirectory() as temp:
        for project in project_names():
            missing = get_project(project).missing_artefacts(SOLUTIONS_DIR / project)
            if missing:
                raise SystemExit(f"{project}: train the reference first (make grade); missing {missing}")
            started = time.perf_counter()
            report = grade_submission(project, SOLUTIONS_DIR / project, Path(temp) / project / "results.json")
            totals[project] = time.perf_counter() - started
            print(f"\n{project}: {report.score:g} / {report.max_score:g} in {totals[project]:.1f} s")
            for result in report.results:
                print(f"  {result.seconds:6.1f} s  {result.name}")
        print(f"\nboth projects: {sum(totals.values()):.1f} s (targets: under 120 s each, 240 s together)")

        submissions = Path(temp) / "submissions"
        for k in range(args.copies):
            shutil.copytree(SOLUTIONS_DIR / args.batch_project, submissions / f"copy{k}",
                            ignore=shutil.ignore_patterns("__pycache__"))
        started = time.perf_counter()
        grade_folder(args.batch_project, submissions, Path(temp) / "graded", jobs=args.jobs)
        seconds = time.perf_counter() - started
        print(f"\nbatch: {args.copies} copies of {args.batch_project} with --jobs {args.jobs}: {seconds:.0f} s, "
              f"{args.copies / seconds * 60:.1f} submissions per minute")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
