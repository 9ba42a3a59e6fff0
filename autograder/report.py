"""Grading reports in Gradescope's ``results.json`` schema.

One ``CheckResult`` per check; ``Report`` adds them up. The JSON written is
Gradescope's (https://gradescope-autograders.readthedocs.io/en/latest/specs/)::

    {"score", "max_score", "execution_time", "output", "visibility", "stdout_visibility",
     "tests": [{"name", "score", "max_score", "status", "output", "visibility", "extra_data": {"id"}}, ...]}

plus Gradescope's optional ``extra_data`` object, here ``{"isolation": {...}}`` (how the
student's code was confined: level, the child's uid, why better levels were not
available) and, with a variant per student, ``"student"`` and ``"variant"`` (the
held-out data's non-secret id, ``autograder.variants``), and a few keys Gradescope ignores (``project``,
``seed_source``, ``extras``: per check id), which the HTML page and the gradebook read. Each test's
``extra_data`` (optional in Gradescope's schema) holds the check's stable ``id``: the key to use, since
names are free text (``check_id``). ``validate_results``
checks a parsed file against the schema (the tests use it on every report they make).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
"""Gradescope's visibility values: ``visible`` checks are the ones the self-check runs."""

STATUSES = ("passed", "failed")


def outcome(score: float, max_score: float) -> str:
    """``"passed"`` (full points), ``"partial"`` (some) or ``"failed"`` (none): the one rule every output uses."""
    if score >= max_score - 1e-9:
        return "passed"
    return "partial" if score > 0 else "failed"


@dataclass
class CheckResult:
    """The outcome of one check, as a student reads it."""

    id: str
    """The check's stable id (``Check.id``)."""
    name: str
    max_score: float
    score: float = 0.0
    output: str = ""
    visibility: str = "visible"
    seconds: float = 0.0
    extras: dict = field(default_factory=dict)
    """Data for the HTML page (predicted points, captions, loss curves); not shown by Gradescope."""
    media: dict = field(default_factory=dict)
    """Pictures for the HTML page, kept out of results.json."""

    @property
    def status(self) -> str:
        """Gradescope's status: partial credit counts as failed."""
        return "passed" if outcome(self.score, self.max_score) == "passed" else "failed"

    def as_test(self) -> dict:
        return {"name": self.name, "score": round(self.score, 4), "max_score": self.max_score,
                "status": self.status, "output": self.output, "visibility": self.visibility,
                "extra_data": {"id": self.id}}


@dataclass
class Report:
    """All checks of one submission of one project."""

    project: str
    results: list[CheckResult] = field(default_factory=list)
    output: str = ""
    execution_time: float = 0.0
    seed_source: str = "public"
    submission: str = ""
    isolation: dict = field(default_factory=dict)
    """``Confinement.as_report()`` of the level the child ran at (empty when no child ran)."""
    warnings: list[str] = field(default_factory=list)
    """What the instructor must hear (an unsandboxed child with a secret seed, a guessable seed)."""
    student: str = ""
    """The student id whose variant of the held-out data was graded ("" for a class-wide seed)."""
    variant: str = ""
    """That variant's non-secret id ("" for a class-wide seed)."""
    heldout: str = ""
    """The report's line on which held-out data was used (``variants.describe``)."""
    answers: list = field(default_factory=list)
    """The written answers of the submission's notebooks (``answers.WrittenAnswer``), for the instructor: no points."""
    answer_problems: list[str] = field(default_factory=list)
    """Notebooks whose answers could not be read, and why."""

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.results)

    def written_answers(self) -> dict:
        """The answers for results.json: graded by the instructor, so no points here."""
        return {"graded_by": "instructor (no points from the autograder)",
                "answered": sum(a.answered for a in self.answers), "questions": len(self.answers),
                "answers": [a.as_json() for a in self.answers], "problems": list(self.answer_problems)}

    def as_json(self) -> dict:
        return {
            "score": round(self.score, 4),
            "max_score": self.max_score,
            "execution_time": round(self.execution_time, 2),
            "output": self.output,
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [r.as_test() for r in self.results],
            "project": self.project,
            "submission": self.submission,
            "seed_source": self.seed_source,
            "extra_data": {**({"isolation": self.isolation} if self.isolation else {}),
                           **({"student": self.student, "variant": self.variant} if self.variant else {}),
                           **({"written_answers": self.written_answers()} if self.answers or self.answer_problems
                              else {})},
            "extras": {r.id: {"seconds": round(r.seconds, 2), **r.extras} for r in self.results},
        }


def check_id(test: dict) -> str:
    """The stable id of a test of a results.json (its name for a report without ids)."""
    extra = test.get("extra_data")
    return (extra.get("id") if isinstance(extra, dict) else None) or test["name"]


def write_json(path: str | Path, data: dict) -> Path:
    """Write ``data`` as JSON atomically (a temp file renamed over ``path``); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(data, stream, indent=1)
        stream.write("\n")
    os.chmod(temp, 0o644)
    os.replace(temp, path)
    return path


def validate_results(data: dict) -> list[str]:
    """Problems with a parsed ``results.json`` against Gradescope's schema; empty when valid."""
    problems = []

    def number(value, where: str) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
            problems.append(f"{where}: expected a number, got {value!r}")

    if not isinstance(data, dict):
        return [f"top level: expected an object, got {type(data).__name__}"]
    for key in ("score", "max_score", "execution_time"):
        number(data.get(key), key)
    if not isinstance(data.get("output", ""), str):
        problems.append("output: expected a string")
    if not isinstance(data.get("extra_data", {}), dict):
        problems.append("extra_data: expected an object")
    if data.get("visibility", "visible") not in VISIBILITIES:
        problems.append(f"visibility: {data.get('visibility')!r} is not one of {VISIBILITIES}")
    tests = data.get("tests")
    if not isinstance(tests, list):
        return problems + ["tests: expected a list"]
    total = 0.0
    for i, test in enumerate(tests):
        where = f"tests[{i}]"
        if not isinstance(test, dict):
            problems.append(f"{where}: expected an object")
            continue
        if not isinstance(test.get("name"), str) or not test["name"]:
            problems.append(f"{where}.name: expected a non-empty string")
        number(test.get("score"), f"{where}.score")
        number(test.get("max_score"), f"{where}.max_score")
        if test.get("status") not in STATUSES:
            problems.append(f"{where}.status: {test.get('status')!r} is not one of {STATUSES}")
        if test.get("visibility") not in VISIBILITIES:
            problems.append(f"{where}.visibility: {test.get('visibility')!r} is not one of {VISIBILITIES}")
        extra = test.get("extra_data", {})
        if not isinstance(extra, dict) or not isinstance(extra.get("id", ""), str):
            problems.append(f"{where}.extra_data: expected an object with a string id")
        if not isinstance(test.get("output"), str):
            problems.append(f"{where}.output: expected a string")
        if isinstance(test.get("score"), (int, float)) and isinstance(test.get("max_score"), (int, float)):
            if not 0 <= test["score"] <= test["max_score"] + 1e-9:
                problems.append(f"{where}: score {test['score']} outside [0, {test['max_score']}]")
            total += test["score"]
    if isinstance(data.get("score"), (int, float)) and abs(total - data["score"]) > 1e-3:
        problems.append(f"score {data['score']} is not the sum of the tests' scores ({total})")
    return problems

