"""Grade one submission of one project: the flow behind ``grade``, ``check``, ``batch`` and Gradescope.

1. Write a zero-score ``results.json`` before anything runs, so even a grader
   killed half-way leaves a report; rewrite it after every check.
2. Resolve the held-out seed (``autograder.heldout_seed``) and the student's variant
   of it (``autograder.variants``); find this machine's
   isolation level (``autograder.detection``, overlapped with the next step) and
   refuse a secret seed when the child would run unsandboxed, unless allowed.
3. Build the sandbox (only the project's expected files) and the checks' inputs;
   held-out labels and reference captions stay in this process.
4. Run the checks' probes in a child (``isolation.run_probes``: one child for all
   of them, torch imported once, each probe seeded and timed on its own, a fresh
   child after one that timed out or crashed; checks sharing a probe share the
   run), stop running probes once the submission's time budget is spent, then
   score each check here. Every report names the isolation level.

``grade_submission`` never raises for anything a submission does; an error of
the grader itself is recorded in the report and raised as ``GraderError``, and
settings it will not honour as ``UsageError``.
"""
from __future__ import annotations

import importlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder.answers import collect_answers, summary_line
from autograder.checks import CHECK_ID, Check, Context, Fail, Scored, describe_error, observed
from autograder.confinement import Confinement
from autograder.detection import detect, known
from autograder.errors import GraderError, UsageError
from autograder.heldout_seed import PUBLIC_SEED, SEED_ENV, Seed, resolve_seed
from autograder.isolation import Limits, ProbeOutcome, ProbeRequest, run_probes
from autograder.projects import get_project
from autograder.report import CheckResult, Report, write_json
from autograder.sandbox import make_sandbox, remove_sandbox
from autograder.variants import describe, for_student, student_from_metadata

__all__ = ["GraderError", "UsageError", "PUBLIC_SEED", "SEED_ENV", "grade_submission", "project_checks",
           "refusal"]


def project_checks(project: str):
    """``(prepare, CHECKS)`` of a project's check module (``Project.checks_module``); ``GraderError`` if a check
    names a probe that its probe module does not define, or two checks share an id (the grader's faults, found
    before any child runs)."""
    info = get_project(project)
    name = info.name
    module = importlib.import_module(info.checks_module)
    probes = importlib.import_module(info.probes_module)
    unknown = sorted({c.probe for c in module.CHECKS if not callable(getattr(probes, c.probe, None))})
    if unknown:
        raise GraderError(f"the grader's checks for {name} name probes that {info.probes_module} does not "
                          f"define: {', '.join(unknown)}")
    ids = [c.id for c in module.CHECKS]
    bad = sorted({i for i in ids if not CHECK_ID.fullmatch(i) or ids.count(i) > 1})
    if bad:
        raise GraderError(f"the grader's checks for {name} have ids that are malformed or not unique: {', '.join(bad)}")
    later = sorted({f"{c.id} uses {u}" for k, c in enumerate(module.CHECKS) for u in c.uses if u not in ids[:k]})
    if later:
        raise GraderError(f"the grader's checks for {name} use checks that do not come before them: {', '.join(later)}")
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
        return check.score(ctx, observed(outcome.result["value"]))
    except Fail as failed:
        return failed.scored
    except Exception as err:  # noqa: BLE001 -- whatever the submission returned, the report gets written
        return Scored(0.0, f"The grader could not make sense of what your code returned ({type(err).__name__}: {err}).")


def refusal(seed: Seed, confinement: Confinement, allow_unsandboxed: bool) -> str:
    """Why grading must not go ahead ("" if it may): a secret seed with an unsandboxed child, not allowed."""
    if seed.secret and confinement.unsandboxed and not allow_unsandboxed:
        return ("a secret held-out seed is set, but student code would run unsandboxed, as the grader's own user, "
                "where it could read the seed and the grader's files; install bubblewrap (apt-get install "
                "bubblewrap), or pass --allow-unsandboxed to accept the risk")
    return ""


def _stop(report: Report, results_path, started: float, output: str, why_not_run: str) -> None:
    report.output = output
    for result in report.results:
        result.output = why_not_run
    report.execution_time = time.perf_counter() - started
    write_json(results_path, report.as_json())


def grade_submission(project: str, submission_dir: str | Path, results_path: str | Path,
                     seed: int | Seed | None = None, limits: Limits | None = None, visible_only: bool = False,
                     on_check=None, on_probe=None, secret_file: str | Path | None = None,
                     allow_unsandboxed: bool = False, student: str | None = None,
                     submission_metadata: str | Path | None = None, only=None) -> Report:
    """Grade ``submission_dir`` and write ``results_path``; returns the report.

    ``seed`` (from a caller in this process) or ``secret_file``, else ``$AUTOGRADER_SEED``, else the
    public seed: see ``heldout_seed.resolve_seed``. ``student`` (or the users of Gradescope's
    ``submission_metadata``): the student whose variant of the held-out data to grade with
    (``variants.for_student``; a secret seed only). ``allow_unsandboxed``: grade with a secret seed even
    when the child cannot be sandboxed. ``visible_only``: run only the checks students see (the
    self-check); ``only``: only the checks with these ids (one notebook's, ``selfcheck.notebook_checks``).
    ``on_probe(done, total, probe, seconds)`` is called as each probe finishes in the child and
    ``on_check(result)`` after each check is scored (progress display).
    """
    started = time.perf_counter()
    limits = limits or Limits()
    info = get_project(project)
    try:
        prepare, checks = project_checks(project)
    except GraderError as err:
        write_json(results_path, Report(info.name, [], output=f"The grader failed: {err}",
                                        submission=str(submission_dir)).as_json())
        raise
    checks = [c for c in checks if (c.visibility == "visible" or not visible_only) and (only is None or c.id in only)]
    report = Report(info.name, [CheckResult(c.id, c.name, c.points, output="Not run: grading did not finish.",
                                            visibility=c.visibility) for c in checks],
                    output="Grading did not finish.", submission=str(submission_dir))
    write_json(results_path, report.as_json())
    try:
        resolved = resolve_seed(seed, secret_file)
        if submission_metadata is not None:
            student = student_from_metadata(submission_metadata)  # a bad file: refused, with a report
        heldout = for_student(resolved, student, info.name)
    except UsageError as err:
        _stop(report, results_path, started, f"Not graded: {err}.", "Not run: the grader's settings were refused.")
        raise
    report.seed_source = resolved.source
    report.student, report.variant, report.heldout = heldout.student, heldout.variant, describe(heldout)
    submission = Path(submission_dir)
    if not submission.is_dir():
        _stop(report, results_path, started, f"{submission}: not a folder; nothing was graded.",
              "Not run: the submission folder does not exist.")
        return report
    report.answers, report.answer_problems = collect_answers(submission)  # read as JSON here; nothing in them runs
    with ThreadPoolExecutor(max_workers=1) as pool:
        detection = pool.submit(detect)  # a few seconds the first time: overlapped with prepare()
        try:
            early = known()
            if early is not None and refusal(resolved, early, allow_unsandboxed):  # refuse before preparing
                report.isolation = early.as_report()
                raise UsageError(refusal(resolved, early, allow_unsandboxed))
            box = make_sandbox(info, submission)
            try:
                ctx = Context(info, box, heldout.value)
                prepare(ctx)
                confinement = detection.result()
                report.isolation = confinement.as_report()
                refused = refusal(resolved, confinement, allow_unsandboxed)
                if refused:
                    raise UsageError(refused)
                report.warnings = resolved.warnings() + (
                    ["A secret seed was used although student code ran unsandboxed (--allow-unsandboxed)."]
                    if resolved.secret and confinement.unsandboxed else [])
                _run_checks(ctx, checks, report, limits, results_path, started, on_check, on_probe, confinement)
            finally:
                remove_sandbox(box)
        except UsageError as err:
            isolation = report.isolation.get("summary", "")
            _stop(report, results_path, started, f"Not graded: {err}." + (f"\n{isolation}" if isolation else ""),
                  "Not run: the grader's settings were refused.")
            raise
        except Exception as err:  # a fault of the grader itself: the report says so, the caller hears of it
            report.output = f"The grader failed: {type(err).__name__}: {err}"
            report.execution_time = time.perf_counter() - started
            write_json(results_path, report.as_json())
            raise GraderError(report.output) from err
    report.execution_time = time.perf_counter() - started
    write_json(results_path, report.as_json())
    return report


def _run_checks(ctx: Context, checks: list[Check], report: Report, limits: Limits, results_path, started: float,
                on_check, on_probe, confinement: Confinement) -> None:
    """Run every check's probe (all of them in one child, see ``isolation.run_probes``), then score each check into
    ``report``, rewriting it after each (the child's last process is gone by then), and sum up."""
    keys, requests = _plan(ctx, checks, report, limits)
    done = iter(range(1, len(requests) + 1))
    progress = None if on_probe is None else (
        lambda request, seconds: on_probe(next(done), len(requests), request.probe, seconds))
    ran = run_probes(ctx.box, ctx.project.probes_module, list(requests.values()), limits, confinement,
                     started + limits.submission_timeout, progress)
    outcomes, timed, failed = dict(zip(requests, ran)), set(), {}
    for check, result, key in zip(checks, report.results, keys):
        if key is not None:
            _record(ctx, check, result, outcomes[key], key not in timed)
            timed.add(key)
        _name_the_cause(check, result, failed)
        if result.status != "passed":
            failed[check.id] = result.name
        report.execution_time = time.perf_counter() - started
        write_json(results_path, report.as_json())
        if on_check is not None:
            on_check(result)
    report.output = _summary(report, ctx.box)


def _plan(ctx: Context, checks: list[Check], report: Report, limits: Limits) -> tuple[list, dict]:
    """Each check's probe key (None, with the reason in its result, for a check missing a file it needs) and the
    distinct probes to run, in the checks' order: checks naming the same probe, arguments and seed share one run."""
    keys, requests = [], {}
    for check, result in zip(checks, report.results):
        missing = [name for name in check.needs if not ctx.box.has(name)]
        if missing:
            why = {name: ctx.box.refused.get(name, "missing from the submission") for name in missing}
            result.output = "Not run: " + "; ".join(f"{name} is {reason}" for name, reason in why.items()) + "."
            if any(name.endswith((".pt", ".json")) for name in missing):
                result.output += "\nHint: run the training notebook to the end; it saves the model the grader reads."
            keys.append(None)
            continue
        args = check.args(ctx)
        key = json.dumps([check.probe, args, check.seed], sort_keys=True)
        timeout = limits.slow_check_timeout if check.slow else limits.check_timeout
        if key not in requests:
            requests[key] = ProbeRequest(check.probe, args, check.seed, timeout)
        requests[key].timeout = max(requests[key].timeout, timeout)
        keys.append(key)
    return keys, requests


def _record(ctx: Context, check: Check, result: CheckResult, outcome: ProbeOutcome | None, first: bool) -> None:
    """Score ``check`` from its probe's ``outcome`` (None: not run, the submission's time was up) into ``result``."""
    if outcome is None:
        result.output = "Not run: the time limit for the whole submission was used up by earlier checks."
        return
    start = time.perf_counter()
    scored = _score(ctx, check, outcome)
    result.score = round(check.points * min(max(scored.fraction, 0.0), 1.0), 4)
    result.output = scored.output
    result.extras = scored.extras
    result.media = scored.media
    result.seconds = time.perf_counter() - start + (outcome.seconds if first else 0.0)


def _name_the_cause(check: Check, result: CheckResult, failed: dict[str, str]) -> None:
    """Put first in a failing check's feedback the earlier failed check it uses (``Check.uses``), if any: the held-out
    accuracy of a model trained on keypoints that Rescale left behind is low because of Rescale, not for want of
    training. Stubs and checks that did not run keep their own message."""
    causes = [failed[i] for i in check.uses if i in failed]
    if not causes or result.status == "passed" or "not implemented yet" in result.output \
            or result.output.startswith("Not run"):
        return
    result.output = (f'Probably caused by an earlier failure: "{causes[0]}" failed above, and this check uses that '
                     f"part; fix it first.\n{result.output}")


def _summary(report: Report, box) -> str:
    isolation = report.isolation.get("summary", "")
    lines = [isolation] if isolation.startswith("WARNING") else []
    lines.append(f"{report.project}: {report.score:g} / {report.max_score:g} points.")
    if box.missing:
        lines.append("Missing from the submission: " + ", ".join(box.missing) + ".")
    for name, reason in box.refused.items():
        lines.append(f"Not copied: {name} ({reason}).")
    if report.heldout:
        lines.append(report.heldout)
    if report.answers:
        lines.append(summary_line(report.answers))
    lines += report.warnings
    if isolation and not isolation.startswith("WARNING"):
        lines.append(isolation)
    return "\n".join(lines)
