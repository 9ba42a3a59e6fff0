"""A variant of the held-out data per student: its seed is HMAC(instructor secret, student id, project).

With one seed for the whole class, students could share held-out predictions,
and one leaked seed would leak everyone's data. So with the instructor's secret
(``autograder.heldout_seed``) each student's held-out data comes from a seed of
its own, HMAC-SHA256 keyed by the secret over the project and the student id.
Knowing one's own images, or another student's, says nothing about anyone
else's, nor about the secret.

Every report names its variant by a **variant id**: twelve hex digits of the same
HMAC (other bits than the seed's, so it reveals neither the seed nor the
secret). A regrade with the same secret and student id renders the same images
and shows the same id; a different id means a different secret or student.

Student ids come from Gradescope's ``submission_metadata.json`` (the users'
e-mail addresses, ``+``-joined for a group), from ``--student ID``, or, in
``batch``, from the submission folder's name; they are compared stripped and
lower-cased. With the public seed (the self-check, or no secret set) everyone
gets the same public data: ``for_student`` leaves it unchanged.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from pathlib import Path

from autograder.errors import UsageError
from autograder.heldout_seed import Seed

MAX_STUDENT_ID = 200
"""Longest student id accepted (characters)."""
MAX_METADATA_BYTES = 1 << 20
SEED_BITS = 62


def student_id(text: str, where: str = "the student id") -> str:
    """``text`` as a student id: stripped, lower-cased, non-empty, printable, at most ``MAX_STUDENT_ID`` long;
    else ``UsageError`` naming ``where``."""
    value = str(text).strip().lower()
    if not value or len(value) > MAX_STUDENT_ID or not value.isprintable():
        raise UsageError(f"{where} must be 1 to {MAX_STUDENT_ID} printable characters, got {value[:40]!r}")
    return value


def student_from_metadata(path: str | Path) -> str:
    """The student id of a Gradescope ``submission_metadata.json``: its users' e-mail addresses (else their
    Gradescope ids), sorted and ``+``-joined for a group. ``UsageError`` for a file without users."""
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            data = json.loads(stream.read(MAX_METADATA_BYTES).decode("utf-8"))
    except (OSError, ValueError) as err:
        raise UsageError(f"--submission-metadata {path}: not a readable JSON file ({err})") from None
    users = data.get("users") if isinstance(data, dict) else None
    ids = [str(user.get("email") or user.get("id") or "").strip() for user in users or [] if isinstance(user, dict)]
    if not ids or not all(ids):
        raise UsageError(f"--submission-metadata {path}: no users with an e-mail address or id in it")
    return student_id("+".join(sorted(i.lower() for i in ids)), f"the users in {path}")


def _digest(seed: Seed, student: str, project: str) -> bytes:
    message = f"heldout-variant\0{project}\0{student}".encode()
    return hmac.new(str(seed.value).encode("ascii"), message, hashlib.sha256).digest()


def for_student(seed: Seed, student: str | None, project: str) -> Seed:
    """The held-out seed of ``student`` for ``project``: with the instructor's secret, its own seed from the
    HMAC and its variant id; the public seed, or no student, stays as it is (one variant for all)."""
    if not seed.secret or not student:
        return seed
    student = student_id(student)
    digest = _digest(seed, student, project)
    value = int.from_bytes(digest[:8], "big") >> (64 - SEED_BITS)
    return replace(seed, value=value, student=student, variant=digest[-6:].hex())


def describe(seed: Seed) -> str:
    """One line for the report: which held-out data this was, never the seed itself."""
    if not seed.secret:
        return "Held-out data: the public default seed (an instructor grades with a secret one)."
    if not seed.variant:
        return ("Held-out data: the instructor's secret seed, one variant for the whole class (give a student id, "
                "--student or Gradescope's submission_metadata.json, for a variant per student).")
    return (f"Held-out data: variant {seed.variant} of student {seed.student} (from the instructor's secret; a "
            "regrade with the same secret and student id renders the same data).")
