"""Grade one submission of one project: the flow behind ``grade``, ``check``, ``batch`` and Gradescope.

1. Write a zero-score ``results.json`` before anything runs, so even a grader
   killed half-way leaves a report; rewrite it after every check.
2. Build the sandbox (only the project's expected files) and the checks' inputs;
   held-out labels and reference captions stay in this process.
3. Run each check's probe in a child (``isolation.run_probe``; checks sharing a
   probe share the run), score it here, and stop running probes once the
   submission's time budget is spent.

``grade_submission`` never raises for anything a submission does; an error of
the grader itself is recorded in the report and raised as ``GraderError``.
"""
from __future__ import annotations

import importlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.checks import Check, Context, Fail, Scored, describe_error
from autograder.isolation import Limits, ProbeOutcome, run_probe
from autograder.projects import get_project
from autograder.report import CheckResult, Report, write_json
from autograder.sandbox import make_sandbox, remove_sandbox

SEED_ENV = "AUTOGRADER_SEED"
"""Environment variable with the instructor's secret seed for held-out data."""
PUBLIC_SEED = 7
"""Held-out seed when the instructor sets none (what the self-check uses): known to everyone."""


class GraderError(RuntimeError):
    """The grader itself failed (not the submission); the report says so too."""


@dataclass(frozen=True)
class Seed:
    value: int
    source: str
    """"instructor" or "public": reported, never the value itself."""


def resolve_seed(seed: int | None = None) -> Seed:
    """The held-out seed: ``seed`` if given, else ``$AUTOGRADER_SEED``, else the public default."""
    if seed is not None:
        return Seed(int(seed), "instructor")
    text = os.environ.get(SEED_ENV, "").strip()
    if text:
        try:
            return Seed(int(text), "instructor")
        except ValueError:
            raise GraderError(f"{SEED_ENV} must be an integer, got {text!r}") from None
    return Seed(PUBLIC_SEED, "public")


def project_checks(project: str):
    """``(prepare, CHECKS)`` of a project's check module."""
    module = importlib.import_module(f"autograder.checks.{get_project(project).name}")
    return module.prepare, module.CHECKS


_HINTS = {
    "timed out": "look for an endless loop, or code far slower than it needs to be",
    "ended": "does your code call exit(), sys.exit() or os._exit(), or crash Python?",
    "killed": "your code used more memory, processes or output than allowed",
}


def _score(ctx: Context, check: Check, outcome: ProbeOutcome) -> Scored:
    """Turn a probe's outcome into this check's score; never raises."""
    log = {"log": outcome.log_tail} if outcome.log_tail.strip() else {}
    if outcome.problem:
        hint = next((h for key, h in _HINTS.items() if key in outcome.problem), "")
        return Scored(0.0, f"Your code {outcome.problem}." + (f"\nHint: {hint}" if hint else ""), log)
    if outcome.error:
        return Scored(0.0, describe_error(outcome.error), log)
    try:
        return check.score(ctx, outcome.result["value"])
    except Fail as failed:
        return failed.scored
    except Exception as err:  # noqa: BLE001 -- whatever the submission returned, the report gets written
        return Scored(0.0, f"The grader could not make sense of what your code returned ({type(err).__name__}: {err}).")


def grade_submission(project: str, submission_dir: str | Path, results_path: str | Path,
                     seed: int | None = None, limits: Limits | None = None, visible_only: bool = False,
                     on_check=None) -> Report:
    """Grade ``submission_dir`` and write ``results_path``; returns the report.

    ``visible_only``: run only the checks students see (the self-check).
    ``on_check(result)`` is called after each check (progress display).
    """
    started = time.perf_counter()
    limits = limits or Limits()
    info = get_project(project)
    prepare, checks = project_checks(project)
    checks = [c for c in checks if c.visibility == "visible" or not visible_only]
    resolved = resolve_seed(seed)
    report = Report(info.name, [CheckResult(c.name, c.points, output="Not run: grading did not finish.",
                                            visibility=c.visibility) for c in checks],
                    output="Grading did not finish.", seed_source=resolved.source, submission=str(submission_dir))
    write_json(results_path, report.as_json())
    submission = Path(submission_dir)
    if not submission.is_dir():
        report.output = f"{submission}: not a folder; nothing was graded."
        for result in report.results:
            result.output = "Not run: the submission folder does not exist."
        report.execution_time = time.perf_counter() - started
        write_json(results_path, report.as_json())
        return report
    try:
        box = make_sandbox(info, submission)
        try:
            ctx = Context(info, box, resolved.value)
            prepare(ctx)
            _run_checks(ctx, checks, report, limits, results_path, started, on_check)
        finally:
            remove_sandbox(box)
    except Exception as err:  # a fault of the grader itself: the report says so, the caller hears of it
        report.output = f"The grader failed: {type(err).__name__}: {err}"
        report.execution_time = time.perf_counter() - started
        write_json(results_path, report.as_json())
        raise GraderError(report.output) from err
    report.execution_time = time.perf_counter() - started
    write_json(results_path, report.as_json())
    return report


def _run_checks(ctx: Context, checks: list[Check], report: Report, limits: Limits, results_path, started: float,
                on_check) -> None:
    """Run every check into ``report`` (rewritten after each), then sum up."""
    outcomes: dict[str, ProbeOutcome] = {}
    deadline = started + limits.submission_timeout
    for check, result in zip(checks, report.results):
        _run_check(ctx, check, result, outcomes, deadline, limits)
        report.execution_time = time.perf_counter() - started
        write_json(results_path, report.as_json())
        if on_check is not None:
            on_check(result)
    report.output = _summary(report, ctx.box)


def _run_check(ctx: Context, check: Check, result: CheckResult, outcomes: dict, deadline: float,
               limits: Limits) -> None:
    missing = [name for name in check.needs if not ctx.box.has(name)]
    if missing:
        why = {name: ctx.box.refused.get(name, "missing from the submission") for name in missing}
        result.output = "Not run: " + "; ".join(f"{name} is {reason}" for name, reason in why.items()) + "."
        if any(name.endswith((".pt", ".json")) for name in missing):
            result.output += "\nHint: run the training notebook to the end; it saves the model the grader reads."
        return
    remaining = deadline - time.perf_counter()
    if remaining <= 1:
        result.output = "Not run: the time limit for the whole submission was used up by earlier checks."
        return
    start = time.perf_counter()
    args = check.args(ctx)
    key = json.dumps([check.probe, args, check.seed], sort_keys=True)
    if key not in outcomes:
        timeout = min(limits.slow_check_timeout if check.slow else limits.check_timeout, remaining)
        outcomes[key] = run_probe(ctx.box, ctx.project.name, check.probe, args, check.seed, limits, timeout)
    scored = _score(ctx, check, outcomes[key])
    result.score = round(check.points * min(max(scored.fraction, 0.0), 1.0), 4)
    result.output = scored.output
    result.extras = scored.extras
    result.media = scored.media
    result.seconds = time.perf_counter() - start


def _summary(report: Report, box) -> str:
    lines = [f"{report.project}: {report.score:g} / {report.max_score:g} points."]
    if box.missing:
        lines.append("Missing from the submission: " + ", ".join(box.missing) + ".")
    for name, reason in box.refused.items():
        lines.append(f"Not copied: {name} ({reason}).")
    if report.seed_source == "public":
        lines.append("Held-out data: the public default seed (an instructor grades with a secret one).")
    return "\n".join(lines)
