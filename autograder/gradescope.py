"""A Gradescope autograder bundle: the same grader, run by Gradescope's ``run_autograder``.

    python -m autograder gradescope facial_keypoints --out autograder.zip [--seed N]

The zip holds ``setup.sh``, ``run_autograder`` and ``source/`` (the course's
packages, ``pyproject.toml`` and ``solutions/<project>/``). On Gradescope:

- ``setup.sh`` installs the course (``pip install /autograder/source``, so the
  packages land in site-packages) and then makes ``/autograder/source`` readable
  by root only: student code, which runs as ``nobody``, can read neither the
  reference solutions nor the seed.
- ``run_autograder`` grades ``/autograder/submission`` into
  ``/autograder/results/results.json``, with the held-out seed from
  ``source/seed.txt`` (written only with ``--seed``).

Both scripts honour ``AUTOGRADER_ROOT`` (default ``/autograder``) and
``AUTOGRADER_PYTHON`` (default ``python3``), so a bundle can be tried locally.
"""
from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from autograder.paths import REPO_DIR
from autograder.projects import SOLUTIONS_ENV, get_project

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null; then
    apt-get update && apt-get install -y python3 python3-pip python3-venv
fi
"$PYTHON" -m pip install --quiet "$ROOT/source"
chmod -R go-rwx "$ROOT/source"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it must leave results/results.json.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-python3}}"
export {solutions_env}="$ROOT/source/solutions"
if [ -f "$ROOT/source/seed.txt" ]; then
    export AUTOGRADER_SEED="$(cat "$ROOT/source/seed.txt")"
fi
mkdir -p "$ROOT/results"
cd /tmp
"$PYTHON" -m autograder grade {project} "$ROOT/submission" --results "$ROOT/results/results.json"
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


def build_bundle(project: str, out: Path, seed: int | None = None) -> Path:
    """Write the bundle zip for ``project`` to ``out``; returns its path."""
    info = get_project(project)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        _add_script(archive, "setup.sh", SETUP_SH)
        _add_script(archive, "run_autograder", RUN_AUTOGRADER.format(project=info.name, solutions_env=SOLUTIONS_ENV))
        for package in SOURCE_PACKAGES:
            _add_tree(archive, REPO_DIR / package, "source")
        for name in SOURCE_FILES:
            archive.write(REPO_DIR / name, f"source/{name}")
        for name in info.student_files + info.given_files:
            archive.write(info.solution_dir / name, f"source/solutions/{info.name}/{name}")
        if seed is not None:
            archive.writestr("source/seed.txt", f"{int(seed)}\n")
    return out
