"""The autograder's command line.

``python -m autograder lessons``  regenerate lessons/ from solutions/ (nbgrader markers).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def _lessons(args: argparse.Namespace) -> int:
    from autograder.lessons import generate_lessons

    written = generate_lessons(Path(args.solutions), Path(args.lessons))
    for project, files in written.items():
        print(f"{project}: {len(files)} files -> {Path(args.lessons) / project}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from autograder.lessons import LESSONS_DIR, SOLUTIONS_DIR

    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    lessons = commands.add_parser("lessons", help="regenerate lessons/ from solutions/")
    lessons.add_argument("--solutions", default=str(SOLUTIONS_DIR), help="source folder (default: solutions/)")
    lessons.add_argument("--lessons", default=str(LESSONS_DIR), help="output folder (default: lessons/)")
    lessons.set_defaults(run=_lessons)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)
