"""The autograder's command line (``python -m autograder --help``).

    grade <project> <submission_dir> --results results.json [--html report.html] [--student ID]
    check <project> [dir] [--notebook N]        the student's self-check (visible checks; one notebook's)
    batch <project> <submissions_dir> --out DIR [--jobs N]   also graded/index.html, the cohort page
    gradescope <project> --out autograder.zip   a Gradescope autograder bundle
    scorecard                                   grade solutions/ and lessons/ of both projects
    lessons                                     regenerate lessons/ from solutions/

``grade`` exits 0 whenever it wrote a report, whatever the score; 2 for bad
arguments or settings it refuses (after writing a report that says why), 1 when
the grader itself failed (after writing what it could).

The instructor's secret held-out seed comes from ``$AUTOGRADER_SEED`` or
``--secret-file FILE`` (readable by its owner only), never from the command
line, which every user of the machine can read. With it, each student gets a
variant of the held-out data of their own (``autograder.variants``): the student
id comes from ``--student``, ``--submission-metadata`` (Gradescope's
``submission_metadata.json``) or, in ``batch``, the submission folder's name.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.isolation import Limits

SEED_REMOVED = ("--seed was removed: a seed on the command line is visible to every user of the machine "
                "(ps, /proc/<pid>/cmdline), student code included. Set AUTOGRADER_SEED in the environment, or pass "
                "--secret-file FILE (a file readable by you only: chmod 600 FILE)")


class _RemovedSeed(argparse.Action):
    """``--seed N``: refused with the message above (exit code 2)."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(SEED_REMOVED)


def _limits(args: argparse.Namespace) -> Limits:
    limits = Limits()
    for name in ("check_timeout", "submission_timeout", "memory_mb", "threads"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(limits, name, value)
    if getattr(args, "check_timeout", None) is not None:
        limits.slow_check_timeout = 2 * args.check_timeout
    return limits


def _grade(args: argparse.Namespace) -> int:
    from autograder.grader import grade_submission
    from autograder.html_report import write_html
    from autograder.summary import print_summary

    report = grade_submission(args.project, args.submission, args.results, limits=_limits(args),
                              secret_file=args.secret_file, allow_unsandboxed=args.allow_unsandboxed,
                              student=args.student, submission_metadata=args.submission_metadata)
    if args.html:
        write_html(report, args.html)
    print_summary(report.as_json(), sys.stdout, brief=True)
    print(f"results: {args.results}" + (f" | html: {args.html}" if args.html else ""))
    return 0


def _check(args: argparse.Namespace) -> int:
    from autograder.paths import LESSONS_DIR
    from autograder.selfcheck import self_check

    folder = Path(args.dir) if args.dir else (Path.cwd() if Path.cwd().name == args.project
                                              else LESSONS_DIR / args.project)
    self_check(args.project, folder, notebook=args.notebook, out=Path(args.out), limits=_limits(args))
    return 0


def _batch(args: argparse.Namespace) -> int:
    from autograder.batch import grade_folder

    grade_folder(args.project, Path(args.submissions), Path(args.out), jobs=args.jobs, limits=_limits(args),
                 secret_file=args.secret_file, allow_unsandboxed=args.allow_unsandboxed, assignment=args.assignment)
    return 0


def _gradescope(args: argparse.Namespace) -> int:
    from autograder.gradescope import build_bundle

    path, secret = build_bundle(args.project, Path(args.out), secret_file=args.secret_file,
                                allow_unsandboxed=args.allow_unsandboxed)
    print(f"Gradescope autograder bundle: {path}" + ("" if secret else
          " (no secret seed: it grades with the public one; set AUTOGRADER_SEED or pass --secret-file)"))
    return 0


def _scorecard(args: argparse.Namespace) -> int:
    from autograder.scorecard import run_scorecard

    return run_scorecard(Path(args.out), train=not args.no_train, limits=_limits(args))


def _lessons(args: argparse.Namespace) -> int:
    from autograder.lessons import generate_lessons

    written = generate_lessons(Path(args.solutions), Path(args.lessons))
    for project, files in written.items():
        print(f"{project}: {len(files)} files -> {Path(args.lessons) / project}")
    return 0


def _add_limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check-timeout", type=float,
                        help=f"seconds per check (default {Limits.check_timeout:g}; twice that for training checks)")
    parser.add_argument("--submission-timeout", type=float,
                        help=f"seconds per submission (default {Limits.submission_timeout:g})")
    parser.add_argument("--memory-mb", type=int,
                        help=f"address-space limit of student code (default {Limits.memory_mb})")
    parser.add_argument("--threads", type=int, help=f"torch threads of student code (default {Limits.threads})")


def _add_secret(parser: argparse.ArgumentParser, bundle: bool = False) -> None:
    what = ("baked into the bundle (root-only on Gradescope)" if bundle
            else "default: $AUTOGRADER_SEED, else the public seed")
    parser.add_argument("--secret-file", metavar="FILE",
                        help=f"file holding the secret held-out seed, readable by you only ({what})")
    parser.add_argument("--allow-unsandboxed", action="store_true",
                        help="grade with a secret seed even where student code cannot be sandboxed (it could read it)")
    parser.add_argument("--seed", nargs="?", action=_RemovedSeed, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    from autograder.paths import LESSONS_DIR, SOLUTIONS_DIR
    from autograder.projects import project_names

    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade one submission; writes results.json (Gradescope schema)")
    grade.add_argument("project", choices=project_names())
    grade.add_argument("submission", help="the submission folder (like lessons/<project>/)")
    grade.add_argument("--results", required=True, help="where to write results.json")
    grade.add_argument("--html", help="also write an HTML feedback page here")
    who = grade.add_mutually_exclusive_group()
    who.add_argument("--student", metavar="ID", help="the student id whose variant of the held-out data to grade "
                                                     "with (with a secret seed; batch uses the folder's name)")
    who.add_argument("--submission-metadata", metavar="FILE",
                     help="Gradescope's submission_metadata.json: the student id is its users' e-mail addresses")
    _add_secret(grade)
    _add_limits(grade)
    grade.set_defaults(run=_grade)

    check = commands.add_parser("check", help="self-check: the visible checks, a readable summary")
    check.add_argument("project", choices=project_names())
    check.add_argument("dir", nargs="?", help="your project folder (default: the current folder if it is the "
                                              "project's, else lessons/<project>)")
    check.add_argument("--notebook", default=None,
                       help="only the checks of one notebook's parts: its number or name (e.g. 1 or "
                            "1_load_and_visualize)")
    check.add_argument("--out", default="selfcheck",
                       help="folder for results.json and report.html (default selfcheck/)")
    _add_limits(check)
    check.set_defaults(run=_check)

    batch = commands.add_parser("batch", help="grade every sub-folder of a folder in parallel: reports, a cohort page "
                                              "(index.html), similarity, gradebook.csv and canvas.csv")
    batch.add_argument("project", choices=project_names())
    batch.add_argument("submissions", help="folder with one sub-folder per submission")
    batch.add_argument("--out", required=True, help="results folder")
    batch.add_argument("--jobs", type=int, default=None,
                       help="submissions graded at once (default: by cores and memory)")
    batch.add_argument("--assignment", help="the assignment's column name in canvas.csv (default: the project's name)")
    _add_secret(batch)
    _add_limits(batch)
    batch.set_defaults(run=_batch)

    gradescope = commands.add_parser("gradescope", help="build a Gradescope autograder bundle (zip)")
    gradescope.add_argument("project", choices=project_names())
    gradescope.add_argument("--out", required=True, help="path of the zip to write")
    _add_secret(gradescope, bundle=True)
    gradescope.set_defaults(run=_gradescope)

    scorecard = commands.add_parser("scorecard", help="grade solutions/ and lessons/ of both projects (the main job)")
    scorecard.add_argument("--out", default="reports", help="reports folder (default reports/)")
    scorecard.add_argument("--no-train", action="store_true", help="don't train missing reference models")
    _add_limits(scorecard)
    scorecard.set_defaults(run=_scorecard)

    lessons = commands.add_parser("lessons", help="regenerate lessons/ from solutions/")
    lessons.add_argument("--solutions", default=str(SOLUTIONS_DIR), help="source folder (default: solutions/)")
    lessons.add_argument("--lessons", default=str(LESSONS_DIR), help="output folder (default: lessons/)")
    lessons.set_defaults(run=_lessons)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from autograder.errors import GraderError, UsageError

    try:
        return args.run(args)
    except UsageError as err:
        print(f"autograder: {err}", file=sys.stderr)
        return 2
    except GraderError as err:
        print(f"autograder: {err}", file=sys.stderr)
        return 1
