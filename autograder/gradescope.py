"""A Gradescope autograder bundle: the same grader, run by Gradescope's ``run_autograder``.

    AUTOGRADER_SEED=... python -m autograder gradescope facial_keypoints --out autograder.zip
    python -m autograder gradescope facial_keypoints --out autograder.zip --secret-file seed.txt

The zip holds ``setup.sh``, ``run_autograder`` and ``source/`` (the course's
packages, ``pyproject.toml``, ``solutions/<project>/`` and, with a secret seed,
``seed.txt``). On Gradescope:

- ``setup.sh`` (run once, as root, when the image is built) makes its own virtual
  environment -- today's images (Ubuntu 24.04) refuse ``pip install`` into the
  system Python (PEP 668) -- installs the course into it, installs bubblewrap
  with apt where it can (the grader tries it and says which isolation it got),
  and makes ``source/`` readable by root only: student code, which runs as
  another user, can read neither the reference solutions nor the seed.
- ``run_autograder`` grades ``/autograder/submission`` into
  ``/autograder/results/results.json`` with that environment's Python, the
  seed passed as ``--secret-file`` (a path, not the secret, on the command line)
  and Gradescope's ``/autograder/submission_metadata.json`` as
  ``--submission-metadata``, so that each student gets a variant of the
  held-out data of their own (``autograder.variants``).

Both scripts honour ``AUTOGRADER_ROOT`` (default ``/autograder``),
``AUTOGRADER_PYTHON`` (the Python that makes the environment, default
``python3``), ``AUTOGRADER_VENV`` (default ``$AUTOGRADER_ROOT/venv``) and, for
``setup.sh``, ``AUTOGRADER_PIP_OPTIONS`` (extra ``pip install`` options, e.g. a
package index), so a bundle can be tried locally.
"""
from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from autograder.heldout_seed import resolve_seed
from autograder.paths import REPO_DIR
from autograder.projects import SOLUTIONS_ENV, get_project

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-python3}"
VENV="${AUTOGRADER_VENV:-$ROOT/venv}"

apt_install() {  # apt-get install "$@" where this machine can (root, Debian/Ubuntu); status 1 elsewhere
    command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] || return 1
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "$@" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; }
}

if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
    apt_install python3 python3-venv
    PYTHON=python3
fi
if ! command -v bwrap >/dev/null; then
    apt_install bubblewrap ||
        echo "setup.sh: could not install bubblewrap; reports will say how student code was isolated" >&2
fi
"$PYTHON" -m venv "$VENV"                 # its own environment: no pip into the system Python (PEP 668)
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check ${AUTOGRADER_PIP_OPTIONS:-} "$ROOT/source"
chmod -R go-rwx "$ROOT/source"            # solutions and seed: root only
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it must leave results/results.json.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
VENV="${{AUTOGRADER_VENV:-$ROOT/venv}}"
export {solutions_env}="$ROOT/source/solutions"
OPTIONS=({options})
if [ -f "$ROOT/source/seed.txt" ]; then
    OPTIONS+=(--secret-file "$ROOT/source/seed.txt")
fi
if [ -f "$ROOT/submission_metadata.json" ]; then    # the student: a variant of the held-out data of their own
    OPTIONS+=(--submission-metadata "$ROOT/submission_metadata.json")
fi
mkdir -p "$ROOT/results"
cd /tmp
"$VENV/bin/python" -m autograder grade {project} "$ROOT/submission" --results "$ROOT/results/results.json" \\
    ${{OPTIONS[@]+"${{OPTIONS[@]}}"}}
"""

SOURCE_PACKAGES = ("autograder", "datasets/cvdata")
SOURCE_FILES = ("pyproject.toml", "README.md")


def _add_tree(archive: zipfile.ZipFile, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            archive.write(path, f"{prefix}/{path.relative_to(REPO_DIR).as_posix()}")


def _add_script(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    archive.writestr(info, text)


def build_bundle(project: str, out: Path, secret_file: str | Path | None = None,
                 allow_unsandboxed: bool = False) -> tuple[Path, bool]:
    """Write the bundle zip for ``project`` to ``out``, with the secret seed of ``secret_file`` or
    ``$AUTOGRADER_SEED`` if either is set. Returns ``(path, whether it holds a secret seed)``."""
    info = get_project(project)
    seed = resolve_seed(secret_file=secret_file)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    options = "--allow-unsandboxed" if allow_unsandboxed else ""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        _add_script(archive, "setup.sh", SETUP_SH)
        _add_script(archive, "run_autograder", RUN_AUTOGRADER.format(project=info.name, solutions_env=SOLUTIONS_ENV,
                                                                     options=options))
        for package in SOURCE_PACKAGES:
            _add_tree(archive, REPO_DIR / package, "source")
        for name in SOURCE_FILES:
            archive.write(REPO_DIR / name, f"source/{name}")
        for name in info.student_files + info.given_files:
            archive.write(info.solution_dir / name, f"source/solutions/{info.name}/{name}")
        if seed.secret:
            entry = zipfile.ZipInfo("source/seed.txt")
            entry.external_attr = (stat.S_IFREG | 0o600) << 16
            archive.writestr(entry, f"{seed.value}\n")
    return out, seed.secret
