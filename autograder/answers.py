"""The written answers of a submission: read from its notebooks, for the instructor, never scored.

Every notebook asks questions in writing. An answer cell is a Markdown cell that
nbgrader marks as a manually graded answer (``nbgrader: {grade: true, solution:
true, grade_id, points}``); the lesson shows it as nbgrader's "YOUR ANSWER HERE",
and the question is the Markdown cell just above it. ``collect_answers`` reads the
submitted ``.ipynb`` files as JSON in the grader's process -- nothing in them runs --
and returns each answer with its question, so the HTML report and ``results.json``
can show them to the instructor: the machine gives them no points (nbgrader's
formgrader, or the instructor reading the report, does).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

UNANSWERED = "YOUR ANSWER HERE"
"""nbgrader's stub for a Markdown answer cell (``ClearSolutions.text_stub``): what an untouched lesson holds."""
MAX_NOTEBOOK_BYTES = 20 * 2**20
"""Larger notebooks are not read (a notebook full of outputs is a few MB; the answers are text)."""
MAX_ANSWER_CHARS = 5000
"""Longer answers are cut, saying so."""


@dataclass
class WrittenAnswer:
    """One question of one notebook and what the submission answers."""

    notebook: str
    id: str
    """nbgrader's ``grade_id`` of the answer cell (stable, like a check id)."""
    question: str
    answer: str
    points: float
    """The points nbgrader's manual grading gives the question (not given by this grader)."""
    answered: bool

    def as_json(self) -> dict:
        return asdict(self)


def is_answer_cell(cell) -> bool:
    """True for a Markdown cell that nbgrader grades by hand (an answer to a written question)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "markdown" and bool(meta.get("grade")) and bool(meta.get("solution"))


def notebook_answers(nb, notebook: str) -> list[WrittenAnswer]:
    """The answer cells of one parsed notebook, each with the Markdown cell above it as its question."""
    found, question = [], ""
    for cell in nb.cells:
        if is_answer_cell(cell):
            meta = cell.metadata["nbgrader"]
            text = cell.source.strip()
            answered = bool(text) and text != UNANSWERED
            if len(text) > MAX_ANSWER_CHARS:
                text = text[:MAX_ANSWER_CHARS] + f"\n[... cut at {MAX_ANSWER_CHARS} characters]"
            found.append(WrittenAnswer(notebook, str(meta.get("grade_id", f"answer-{len(found) + 1}")), question,
                                       text if answered else "", float(meta.get("points", 0) or 0), answered))
        elif cell.get("cell_type") == "markdown":
            question = cell.source.strip()
    return found


def collect_answers(folder: str | Path) -> tuple[list[WrittenAnswer], list[str]]:
    """``(answers, problems)`` of the notebooks at the top of ``folder``, in file-name order.

    A notebook that is a symbolic link, too large, or not a readable notebook is skipped and named in
    ``problems``; nothing here raises for what a submission contains.
    """
    answers, problems = [], []
    for path in sorted(Path(folder).glob("*.ipynb")):
        try:
            if path.is_symlink() or not path.is_file():
                problems.append(f"{path.name}: not a regular file, not read")
                continue
            if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                problems.append(f"{path.name}: larger than {MAX_NOTEBOOK_BYTES // 2**20} MB, not read")
                continue
            nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
            answers.extend(notebook_answers(nb, path.name))
        except Exception as err:  # noqa: BLE001 -- any unreadable notebook is reported, never fatal
            problems.append(f"{path.name}: not a readable notebook ({type(err).__name__}), its answers not read")
    return answers, problems


def summary_line(answers: list[WrittenAnswer]) -> str:
    """One line for the report's summary, e.g. "Written answers: 3 of 8 answered (graded by your instructor)"."""
    done = sum(a.answered for a in answers)
    return (f"Written answers: {done} of {len(answers)} answered -- graded by your instructor, "
            "no points from this grader.")
