"""How long does grading take, and how much memory? (A benchmark, not a test.)

Grades the reference solution of each project (its trained model must exist:
``make grade`` trains it; ``--references DIR`` reads ``DIR/<project>`` instead),
each in a fresh process, and prints the time of every check, the total, the
isolation level, and the peak memory: of the grader's own process and of its
largest child (children run one at a time, so a container needs about their sum).
Then it grades a cohort of ``--copies`` submissions of one project with ``batch
--jobs N`` -- copies of the reference, every ``--mistake-every``-th one with a
planted mistake (facial keypoints: a crop that leaves the keypoints behind, a
flip that does not renumber, a Rescale that does not scale, no saved model) --
and prints the throughput, cohort page and similarity report included.

    python benchmarks/grader.py [--copies 40] [--jobs 2] [--batch-project facial_keypoints] [--references DIR]
    python benchmarks/grader.py --batch-only --copies 40 --jobs 2 --keep /tmp/graded   # the batch run only
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


PLANTED = {
    "facial_keypoints": [
        ("data_load.py", "keypoints - np.array([left, top], dtype=np.float32)}", "keypoints}"),
        ("data_load.py", "mirrored[list(MIRRORED_INDEX)]}", "mirrored}"),
        ("data_load.py", "keypoints * scale}", "keypoints}"),
        ("saved_models/keypoints_model.pt", None, None),
    ],
}
"""Per project, the planted mistakes: ``(file, text, replacement)`` (the first occurrence is replaced), or
``(file, None, None)``: the file is deleted."""


def make_cohort(project: str, reference: Path, folder: Path, count: int, mistake_every: int) -> Path:
    """``count`` submission folders in ``folder``: copies of ``reference``, every ``mistake_every``-th one
    with the next of ``PLANTED[project]`` (none for a project without planted mistakes)."""
    mistakes = PLANTED.get(project, [])
    for k in range(count):
        target = folder / f"student{k:03d}"
        shutil.copytree(reference, target, ignore=shutil.ignore_patterns("__pycache__", "*.ipynb"))
        if mistakes and mistake_every and k % mistake_every == mistake_every - 1:
            name, text, replacement = mistakes[(k // mistake_every) % len(mistakes)]
            path = target / name
            if text is None:
                path.unlink()
                continue
            source = path.read_text(encoding="utf-8")
            if text not in source:
                raise SystemExit(f"planting a mistake: {text!r} is not in {reference / name}")
            path.write_text(source.replace(text, replacement, 1), encoding="utf-8")
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=40, help="submissions in the batch run (default 40)")
    parser.add_argument("--mistake-every", type=int, default=4,
                        help="every N-th submission has a planted mistake (default 4; 0: none)")
    parser.add_argument("--batch-only", action="store_true", help="skip the single gradings")
    parser.add_argument("--keep", type=Path, help="copy the batch's results folder (cohort page and all) here")
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
        for project in [] if args.batch_only else args.project or project_names():
            folder = args.references / project
            missing = get_project(project).missing_artefacts(folder)
            if missing:
                raise SystemExit(f"{project}: train the reference first (make grade); missing {missing} in {folder}")
            done = subprocess.run([sys.executable, __file__, "--one", project, str(folder),
                                   str(Path(temp) / project / "results.json")], capture_output=True, text=True)
            line = next((text for text in done.stdout.splitlines() if text.startswith("RESULT ")), None)
            if line is None:
                raise SystemExit(f"{project}: grading failed:\n{done.stderr[-3000:]}")
            run = json.loads(line[len("RESULT "):])
            totals[project] = run["seconds"]
            print(f"\n{project}: {run['score']:g} / {run['max_score']:g} in {run['seconds']:.1f} s "
                  f"(isolation: {run['isolation']}); peak memory: grader {run['parent_mb']:.0f} MB, "
                  f"largest child {run['child_mb']:.0f} MB, together {run['parent_mb'] + run['child_mb']:.0f} MB")
            for name, seconds in run["checks"]:
                print(f"  {seconds:6.1f} s  {name}")
        if totals:
            print(f"\nall projects: {sum(totals.values()):.1f} s (targets: under 120 s each, 240 s together)")
        if args.no_batch:
            return 0
        submissions = make_cohort(args.batch_project, args.references / args.batch_project,
                                  Path(temp) / "submissions", args.copies, args.mistake_every)
        from autograder.batch import grade_folder

        started = time.perf_counter()
        grade_folder(args.batch_project, submissions, Path(temp) / "graded", jobs=args.jobs)
        seconds = time.perf_counter() - started
        if args.keep:
            shutil.copytree(Path(temp) / "graded", args.keep, dirs_exist_ok=True)
        print(f"\nbatch: {args.copies} submissions of {args.batch_project} (every {args.mistake_every}-th with a "
              f"planted mistake) with --jobs {args.jobs}: {seconds:.0f} s, "
              f"{args.copies / seconds * 60:.1f} submissions per minute")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
