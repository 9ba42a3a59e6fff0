"""The class's grades as CSV: ``gradebook.csv`` (every check) and ``canvas.csv`` (Canvas's gradebook import).

``gradebook.csv``: one row per submission -- its name, total, maximum, status,
seconds, then each check's points, in a column named by its stable id
(``Check.id``). ``canvas.csv`` follows the layout of a Canvas gradebook export,
which Canvas's *Import* accepts: ``Student``, ``ID``, ``SIS User ID``,
``SIS Login ID``, ``Section``, then one column for the assignment, with a
``Points Possible`` row first. The submission folder's name (the student id)
goes into ``SIS Login ID``, the column Canvas matches students by when ``ID``
is empty; submissions that were not graded get no score.
"""
from __future__ import annotations

import csv
from pathlib import Path

FIXED = ["submission", "score", "max_score", "status", "seconds"]
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def write_gradebook(rows: list[dict], path: Path) -> Path:
    """``rows`` (one dict per submission, ``FIXED`` keys then check ids) as CSV; returns ``path``."""
    columns = list(FIXED)
    for row in rows:
        columns += [key for key in row if key not in columns]
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_canvas(rows: list[dict], path: Path, assignment: str) -> Path:
    """The scores of ``rows`` as a Canvas gradebook import, the assignment's column named ``assignment``."""
    possible = max((row["max_score"] for row in rows if "max_score" in row), default="")
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow([*CANVAS_COLUMNS, assignment])
        writer.writerow(["Points Possible", "", "", "", "", possible])
        for row in rows:
            writer.writerow([row["submission"], "", "", row["submission"], "", row.get("score", "")])
    return path
