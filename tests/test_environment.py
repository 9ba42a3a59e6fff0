"""The environment is declared once (pyproject.toml) and mirrored in environment.yml; CI runs the README's test
command."""
from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, installed from pyproject.toml
    import tomli as tomllib

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"torch": "pytorch"}  # pip name -> conda-forge name where they differ


def _split(requirement: str) -> tuple[str, str]:
    """'opencv-python-headless>=4.8,<5' -> ('opencv-python-headless', '>=4.8,<5')."""
    match = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", requirement.strip())
    return match.group(1).lower(), match.group(2).replace(" ", "")


def _pyproject() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(_split(d) for d in deps)


def _conda() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    found = {}
    for item in env["dependencies"]:
        if isinstance(item, dict):  # the pip: section, as pip requirement strings
            found.update(_split(r) for r in item["pip"] if not r.startswith("-e"))
        elif re.split(r"[=<>]", item)[0] not in ("python", "pip"):
            name, spec = _split(item)
            pip_name = {v: k for k, v in CONDA_NAMES.items()}.get(name, name)
            found[pip_name] = spec
    return found


def test_environment_yml_mirrors_pyproject():
    assert _conda() == _pyproject()


def test_required_packages_are_declared():
    deps = _pyproject()
    for name in ["torch", "torchvision", "numpy", "pandas", "matplotlib", "opencv-python-headless", "pycocotools",
                 "nltk", "nbgrader", "nbclient", "ipykernel", "pytest", "tqdm", "scikit-image"]:
        assert name in deps, name
    assert "<5" in deps["opencv-python-headless"]  # 5.x removed CascadeClassifier and the Haar files
    assert not any(spec.startswith("==") for spec in deps.values())  # pins would break the local torch wheels


def test_haar_cascades_are_available():
    import cv2

    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    assert not cascade.empty()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make grade" in readme
    assert re.search(r"^make test$", ci, re.M) and re.search(r"^make lint$", ci, re.M)


def test_no_package_shadows_a_pypi_name():
    """The data folder is called datasets/, but the importable package is cvdata."""
    assert not (ROOT / "datasets" / "__init__.py").exists()
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert "datasets" not in packages
    import cvdata

    assert Path(cvdata.__file__).parent == ROOT / "datasets" / "cvdata"


def test_the_slowest_files_named_for_the_schedule_exist():
    """``conftest.SLOWEST_FIRST`` orders ``make test``'s files; a renamed file would silently lose its place."""
    from conftest import SLOWEST_FIRST

    missing = [name for name in SLOWEST_FIRST if not (ROOT / "tests" / name).is_file()]
    assert not missing and len(set(SLOWEST_FIRST)) == len(SLOWEST_FIRST), missing
