"""Parent-side checks: what each check asks a probe for, and how it scores the answer.

A ``Check`` names a probe (``autograder.probes.<project>.<probe>``) and its
arguments; checks that name the same probe and arguments share one child run.
Its ``score`` function turns the probe's value into a fraction of the points and
feedback, computing everything from the grader's own data (held-out labels and
reference captions stay in ``Context.answers``, in this process).

Feedback always says what was expected, what was observed, and a hint;
``Fail`` carries it out of a scoring function early.

Nothing the child says about itself is believed: ``observed`` re-derives the
dtype and shape of every returned array from its data before a check sees it,
and the checks compute losses, gaps and counts from raw outputs with the
grader's own code (``autograder.checks.losses``).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.projects import Project
from autograder.sandbox import Sandbox


@dataclass
class Context:
    """Everything the parent knows while grading one submission."""

    project: Project
    box: Sandbox
    seed: int
    """Seed of the held-out data (the instructor's secret when set)."""
    answers: dict = field(default_factory=dict)
    """Held-out labels, reference captions, the grader's own expected values: never written to the sandbox."""
    inputs: dict = field(default_factory=dict)
    """Paths of the inputs written into the sandbox, by name (sandbox-relative strings)."""


@dataclass
class Scored:
    """A check's outcome: the fraction of its points earned, the feedback, and data for the HTML page."""

    fraction: float
    output: str
    extras: dict = field(default_factory=dict)
    """JSON-ready data saved in results.json (losses, scores per image)."""
    media: dict = field(default_factory=dict)
    """Pictures for the HTML page only (images with points or captions); never saved in results.json."""


class Fail(Exception):
    """Stop scoring a check: ``fraction`` of its points (default none) and this feedback."""

    def __init__(self, output: str, fraction: float = 0.0, extras: dict | None = None):
        super().__init__(output)
        self.scored = Scored(fraction, output, extras or {})


CHECK_ID = re.compile(r"[a-z][a-z0-9-]{1,39}")
"""What a check id looks like: short, lower case, words joined by "-" (``heldout-nme``)."""


@dataclass(frozen=True)
class Check:
    """One graded check."""

    id: str
    """Short and stable (nbgrader's ``grade_id`` idea): gradebook columns, report extras and tests use it, so
    rewording ``name`` breaks nothing. Unique within its project; never reused for a different check."""
    name: str
    """What the student reads: free text."""
    points: float
    probe: str
    args: Callable[[Context], dict]
    score: Callable[[Context, dict], Scored]
    needs: tuple[str, ...] = ()
    """Submission files (relative paths) without which the check cannot run."""
    visibility: str = "visible"
    slow: bool = False
    """A training or whole-test-set check: its probe gets ``Limits.slow_check_timeout``, not ``check_timeout``."""
    seed: int = 0
    """Seed for random, NumPy and torch in the child (public: it is not the held-out seed)."""
    notebook: str = ""
    """The lesson notebook (file stem) where the student writes the part this check grades: its last cell runs
    the self-check of those checks (``autograder.selfcheck.notebook_checks``)."""
    uses: tuple[str, ...] = ()
    """Ids of earlier checks whose parts this check's outcome depends on (the held-out accuracy uses the data
    pipeline): when this check fails after one of them failed, its feedback names that one first."""


def feedback(expected: str, observed: str, hint: str = "") -> str:
    """The three-part message every failing check gives."""
    lines = [f"Expected: {expected}", f"Observed: {observed}"]
    if hint:
        lines.append(f"Hint: {hint}")
    return "\n".join(lines)


def credit(value: float, table, lower_is_better: bool = False) -> float:
    """Partial credit: the fraction of the first ``(limit, fraction)`` row of ``table`` that ``value`` reaches
    (at least ``limit``, or at most it when ``lower_is_better``); 0 if none. Rows go from the best limit down."""
    reached = (lambda limit: value <= limit) if lower_is_better else (lambda limit: value >= limit)
    return next((fraction for limit, fraction in table if reached(limit)), 0.0)


def describe_error(error: dict, hint: str = "") -> str:
    """Feedback for an exception the student's code raised (a stub reads "not implemented yet: ...")."""
    message, where = error.get("message", ""), error.get("where", "")
    at = f" ({where})" if where else ""
    if error.get("type") == "NotImplementedError":
        name = message if message.startswith("not implemented yet") else f"not implemented yet: {message or 'a stub'}"
        return f"{name}{at}\nHint: fill in the part marked YOUR CODE HERE, then run the self-check again."
    text = f"Your code raised {error.get('type', 'an error')}: {message}{at}"
    return f"{text}\nHint: {hint}" if hint else text


def value_of(part: dict, hint: str = ""):
    """The value of an ``attempt`` record, or ``Fail`` with the error's feedback."""
    if not isinstance(part, dict):
        raise Fail("The grader could not read this part of your code's result.")
    if "error" in part:
        raise Fail(describe_error(part["error"], hint))
    return part.get("value")


def shape_text(info: dict) -> str:
    """``numpy.ndarray (68, 2) float32`` from an ``array_info`` record."""
    if info.get("shape") is None:
        return info.get("type", "?")
    return f"{info['type']} {tuple(info['shape'])} {info['dtype']}"


def _is_array_info(node) -> bool:
    return isinstance(node, dict) and set(node) == {"type", "dtype", "shape", "value"}


def observed(node):
    """``node`` (a probe's value) with every ``array_info`` record's ``dtype`` and ``shape`` read off its data
    (None where no data came back), whatever the child claimed."""
    import torch

    if _is_array_info(node):
        value = node["value"]
        data = value if type(value) is torch.Tensor else None
        return {"type": node["type"], "value": data,
                "dtype": str(data.dtype).replace("torch.", "") if data is not None else None,
                "shape": list(data.shape) if data is not None else None}
    if isinstance(node, dict):
        return {key: observed(item) for key, item in node.items()}
    if isinstance(node, list):
        return [observed(item) for item in node]
    return node


def inputs_path(ctx: Context, name: str) -> str:
    """Absolute path (a string, for probe arguments) of a prepared input."""
    return str(Path(ctx.box.root) / ctx.inputs[name])
