"""Terminal output: one line per probe and per check while grading, and the summary the self-check prints."""
from __future__ import annotations

import sys
from typing import TextIO

from autograder.report import CheckResult, outcome

_MARKS = {"passed": "PASS", "partial": "PART", "failed": "FAIL"}


def _mark(score: float, max_score: float) -> str:
    return _MARKS[outcome(score, max_score)]


def print_progress(result: CheckResult, stream: TextIO = sys.stdout) -> None:
    """``  PASS  10/10  Dataset: length and sample format  (1.2 s)``."""
    print(f"  {_mark(result.score, result.max_score)}  {result.score:>5g}/{result.max_score:<4g} {result.name}"
          f"  ({result.seconds:.1f} s)", file=stream, flush=True)


def print_probe(done: int, total: int, probe: str, seconds: float, stream: TextIO = sys.stdout) -> None:
    """``  [3/9] ran short_training in the sandbox (12.3 s)``: the child's progress, before the checks are scored."""
    print(f"  [{done}/{total}] ran {probe} in the sandbox ({seconds:.1f} s)", file=stream, flush=True)


def print_summary(results: dict, stream: TextIO = sys.stdout, brief: bool = False) -> None:
    """The score and, unless ``brief``, every check with its feedback (indented), from a results.json dict."""
    print(f"{results.get('project', '')}: {results['score']:g} / {results['max_score']:g} points "
          f"in {results['execution_time']:.0f} s", file=stream)
    isolation = results.get("extra_data", {}).get("isolation")
    if isolation:
        print(f"  {isolation['summary']}", file=stream)
    for test in results["tests"]:
        print(f"  {_mark(test['score'], test['max_score'])}  {test['score']:>5g}/{test['max_score']:<4g} "
              f"{test['name']}", file=stream)
        if not brief and test["status"] != "passed":
            for line in test["output"].splitlines():
                print(f"        {line}", file=stream)
