"""How long does grading take, and how much memory? (A benchmark, not a test.)

Grades the reference solution of each project (its trained model must exist:
``make grade`` trains it; ``--references DIR`` reads ``DIR/<project>`` instead),
each in a fresh process, and prints the time of every check, the total, the
isolation level, and the peak memory: of the grader's own process and of its
largest child (children run one at a time, so a container needs about their sum).
Then it grades ``--copies`` copies of one project with ``batch --jobs N`` and
prints the throughput.

    python benchmarks/grader.py [--copies 8] [--jobs 2] [--batch-project facial_keypoints] [--references DIR]
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.paths import SOLUTIONS_DIR
from autograder.projects import get_project, project_names


def _grade_one(project: str, folder: Path, results: Path) -> None:
    """In this (fresh) process: grade ``folder``; print one JSON line with times, score and peak memory."""
    from autograder.grader import grade_submission

    started = time.perf_counter()
    report = grade_submission(project, folder, results)
    mine, children = (resource.getrusage(who).ru_maxrss / 1024 for who in (resource.RUSAGE_SELF,
                                                                             resource.RUSAGE_CHILDREN))
    print("RESULT " + json.dumps({
        "seconds": time.perf_counter() - started, "score": report.score, "max_score": report.max_score,
        "checks": [(r.name, r.seconds) for r in report.results], "isolation": report.isolation.get("level"),
        "parent_mb": mine, "child_mb": children}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--batch-project", default="facial_keypoints", choices=project_names())
    parser.add_argument("--references", type=Path, default=SOLUTIONS_DIR,
                        help="folder with a trained copy of each project (default: solutions/)")
    parser.add_argument("--project", action="append", choices=project_names(), help="only this project (repeatable)")
    parser.add_argument("--no-batch", action="store_true", help="skip the batch throughput run")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        _grade_one(args.one[0], Path(args.one[1]), Path(args.one[2]))
        return 0
    totals = {}
    with tempfile.TemporaryDirectory() as temp:
        for project in args.project or project_names():
            folder = args.references / project
            missing = get_project(project).missing_artefacts(folder)
            if missing:
                raise SystemExit(f"{project}: train the reference first (make grade); missing {missing} in {folder}")
            done = subprocess.run([sys.executable, __file__, "--one", project, str(folder),
                                   str(Path(temp) / project / "results.json")], capture_output=True, text=True)
            line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
            if line is None:
                raise SystemExit(f"{project}: grading failed:\n{done.stderr[-3000:]}")
            run = json.loads(line[len("RESULT "):])
            totals[project] = run["seconds"]
            print(f"\n{project}: {run['score']:g} / {run['max_score']:g} in {run['seconds']:.1f} s "
                  f"(isolation: {run['isolation']}); peak memory: grader {run['parent_mb']:.0f} MB, "
                  f"largest child {run['child_mb']:.0f} MB, together {run['parent_mb'] + run['child_mb']:.0f} MB")
            for name, seconds in run["checks"]:
                print(f"  {seconds:6.1f} s  {name}")
        print(f"\nboth projects: {sum(totals.values()):.1f} s (targets: under 120 s each, 240 s together)")
        if args.no_batch:
            return 0
        submissions = Path(temp) / "submissions"
        for k in range(args.copies):
            shutil.copytree(args.references / args.batch_project, submissions / f"copy{k}",
                            ignore=shutil.ignore_patterns("__pycache__"))
        from autograder.batch import grade_folder

        started = time.perf_counter()
        grade_folder(args.batch_project, submissions, Path(temp) / "graded", jobs=args.jobs)
        seconds = time.perf_counter() - started
        print(f"\nbatch: {args.copies} copies of {args.batch_project} with --jobs {args.jobs}: {seconds:.0f} s, "
              f"{args.copies / seconds * 60:.1f} submissions per minute")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
