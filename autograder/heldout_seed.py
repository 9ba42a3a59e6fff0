"""The held-out seed: public by default, else the instructor's secret, from the environment or a private file.

The secret never travels on a command line: any user of the machine can read
every process's arguments (``ps``, ``/proc/<pid>/cmdline``). It comes from

- ``$AUTOGRADER_SEED``, or
- ``--secret-file FILE``: a file holding the seed, which must belong to the
  grader's user and be readable by nobody else (``chmod 600``; on Gradescope the
  bundle's ``source/seed.txt``, made root-only by ``setup.sh``).

Only the parent uses it (to render the held-out data); the child's environment
is built from scratch and its sandbox shows neither the file nor the grader's
processes (``autograder.confinement``).
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import UsageError

SEED_ENV = "AUTOGRADER_SEED"
"""Environment variable with the instructor's secret seed for held-out data."""
PUBLIC_SEED = 7
"""Held-out seed when the instructor sets none (what the self-check uses): known to everyone."""
GUESSABLE_BELOW = 10**9
"""A secret seed below this could be found by a submission that renders candidate seeds and compares images."""
MAX_FILE_BYTES = 4096


@dataclass(frozen=True)
class Seed:
    """The held-out seed and where it came from (reports name the source, never the value)."""

    value: int
    source: str
    """``"instructor"`` or ``"public"``."""
    origin: str = ""
    """For messages: ``$AUTOGRADER_SEED``, ``the secret file``, ``the caller``."""
    student: str = ""
    """The student whose variant this is (``autograder.variants.for_student``); "" for a class-wide seed."""
    variant: str = ""
    """The variant's non-secret id (hex), "" for a class-wide seed."""

    @property
    def secret(self) -> bool:
        return self.source == "instructor"

    def warnings(self) -> list[str]:
        """What the instructor should hear about this seed (a guessable secret)."""
        if self.secret and self.value < GUESSABLE_BELOW:
            return [f"The secret seed (from {self.origin}) is small enough to be found by trying seeds; "
                    "use a long random one, e.g. python3 -c 'import secrets; print(secrets.randbits(62))'."]
        return []


def parse_seed(text: str, where: str) -> int:
    """A seed from text: a non-negative integer, else ``UsageError`` naming ``where`` (never echoing the text)."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise UsageError(f"{where} must hold a non-negative integer (the held-out seed)") from None
    if value < 0:
        raise UsageError(f"{where} must hold a non-negative integer (the held-out seed), not a negative one")
    return value


def read_secret_file(path: str | Path) -> int:
    """The seed in ``path``, which must be a regular file of the grader's user, readable by that user only."""
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as err:
        raise UsageError(f"--secret-file {path}: cannot be read ({err.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"--secret-file {path}: not a regular file")
    if info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise UsageError(f"--secret-file {path}: must belong to you (uid {os.geteuid()}) and be readable by you "
                         f"only; it is owned by uid {info.st_uid} with mode {stat.filemode(info.st_mode)} "
                         f"(fix: chmod 600 {path})")
    with open(path, "rb") as stream:
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"--secret-file {path}: larger than {MAX_FILE_BYTES} bytes; it should hold one integer")
    return parse_seed(data.decode("utf-8", errors="replace"), f"--secret-file {path}")


def resolve_seed(seed: int | Seed | None = None, secret_file: str | Path | None = None,
                 environ: dict | None = None) -> Seed:
    """The held-out seed: ``seed`` (a caller in this process), else ``secret_file``, else ``$AUTOGRADER_SEED``,
    else the public one. ``UsageError`` for a bad file or value, or for a file and the variable both set."""
    environ = os.environ if environ is None else environ
    if isinstance(seed, Seed):
        return seed
    if seed is not None:
        return Seed(parse_seed(seed, "the seed"), "instructor", "the caller")
    text = environ.get(SEED_ENV, "").strip()
    if secret_file is not None:
        if text:
            raise UsageError(f"both ${SEED_ENV} and --secret-file are set: use one")
        return Seed(read_secret_file(secret_file), "instructor", "the secret file")
    if text:
        return Seed(parse_seed(text, f"${SEED_ENV}"), "instructor", f"${SEED_ENV}")
    return Seed(PUBLIC_SEED, "public", "the public default")
