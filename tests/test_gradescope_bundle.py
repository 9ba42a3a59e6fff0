"""The Gradescope bundle builds and grades on an externally managed system Python, as on Ubuntu 24.04.

``setup.sh`` runs against ``/usr/bin/python3`` -- here Debian's, which refuses
``pip install`` outside a virtual environment (PEP 668), like Gradescope's
current base image -- makes its own environment and installs the course into it
from the bundle's ``source/`` (a real build, through pip's build isolation). To
stay fast and offline the test passes ``--no-deps`` and lets that environment
see the packages already installed for this project (a ``.pth`` file) rather
than install torch again (5.5 GB); ``AUTOGRADER_FULL_BUNDLE_TEST=1`` runs the
full install, dependencies and all (minutes). Then ``run_autograder`` grades the
lessons (zero points) with the bundle's secret seed, in the variant of the student
named in Gradescope's ``submission_metadata.json``, and reports its isolation.
"""
from __future__ import annotations

import json
import os
import shutil
import site
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.heldout_seed import SEED_ENV
from autograder.paths import LESSONS_DIR, REPO_DIR
from autograder.report import validate_results

PROJECT = "facial_keypoints"
SYSTEM_PYTHON = Path("/usr/bin/python3")
FULL = os.environ.get("AUTOGRADER_FULL_BUNDLE_TEST") == "1"


def _version(python: Path) -> str:
    return subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture(scope="module")
def system_python() -> Path:
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"{SYSTEM_PYTHON} does not exist on this machine")
    if not FULL and _version(SYSTEM_PYTHON) != f"{sys.version_info[0]} {sys.version_info[1]}":
        pytest.skip(f"{SYSTEM_PYTHON} is not Python {sys.version_info[0]}.{sys.version_info[1]}, so it cannot reuse "
                    "this project's packages; run with AUTOGRADER_FULL_BUNDLE_TEST=1 to install them")
    return SYSTEM_PYTHON


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOGRADER_", "VIRTUAL_ENV", "PYTHON"))}
    return {**env, **extra}


def _bundle(tmp_path: Path, seed: int) -> Path:
    bundle = tmp_path / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "autograder", "gradescope", PROJECT, "--out", str(bundle)],
                          cwd=REPO_DIR, env=_env(**{SEED_ENV: str(seed)}), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        assert {"setup.sh", "run_autograder", "source/pyproject.toml", "source/seed.txt", "source/autograder/worker.py",
                "source/datasets/cvdata/faces.py", f"source/solutions/{PROJECT}/training.py"} <= set(archive.namelist())
        archive.extractall(root)
    for script in ("setup.sh", "run_autograder"):
        (root / script).chmod(0o755)
    return root


def test_the_system_python_is_externally_managed(system_python):
    """The condition the bundle must survive: pip into the system Python is refused."""
    done = subprocess.run([system_python, "-m", "pip", "install", "--dry-run", "--no-index", "nothing-at-all"],
                          capture_output=True, text=True)
    if "No module named pip" in done.stderr:
        pytest.skip(f"{system_python} has no pip at all (the bundle never uses it)")
    assert done.returncode != 0 and "externally-managed-environment" in done.stderr + done.stdout


def test_setup_and_run_autograder_on_the_system_python(tmp_path, system_python):
    root = _bundle(tmp_path, seed=3141592653589793)
    venv = root / "venv"
    options = {} if FULL else {"AUTOGRADER_PIP_OPTIONS": "--no-deps"}
    done = subprocess.run([root / "setup.sh"], env=_env(AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=str(system_python),
                                                        **options),
                          capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert f"home = {system_python.parent}" in (venv / "pyvenv.cfg").read_text()
    for path in [root / "source", *(root / "source").rglob("*")]:
        assert not path.stat().st_mode & 0o077, f"{path} is readable by others"
    if not FULL:  # the dependencies: this project's installed packages
        packages = next(Path(p) for p in site.getsitepackages() if Path(p, "torch").is_dir())
        (next(venv.glob("lib/python3*/site-packages")) / "course_dependencies.pth").write_text(f"{packages}\n")
    shutil.copytree(LESSONS_DIR / PROJECT, root / "submission")
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"email": "Ada@uni.edu", "id": 1}]}))
    done = subprocess.run([root / "run_autograder"], env=_env(AUTOGRADER_ROOT=str(root)), capture_output=True,
                          text=True, timeout=900)
    data = json.loads((root / "results" / "results.json").read_text())
    assert validate_results(data) == [] and data["score"] == 0 and data["seed_source"] == "instructor"
    isolation = data["extra_data"]["isolation"]
    if isolation["sandboxed"]:
        assert done.returncode == 0, done.stderr
        assert "not implemented yet" in data["tests"][0]["output"]
        assert data["extra_data"]["student"] == "ada@uni.edu" and len(data["extra_data"]["variant"]) == 12
    else:  # a secret seed with an unsandboxed child is refused, with a report that says so
        assert done.returncode == 2 and data["output"].startswith("Not graded"), done.stderr
    assert stat.S_IMODE((root / "source" / "seed.txt").stat().st_mode) == 0o600
