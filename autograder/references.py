"""The projects' trained reference models: made by their registration's commands once per recipe, then reused.

Training a reference takes minutes on a CPU (``Registration.training``), and both the main job
(``make grade``) and the tests need one. ``ensure_reference`` keeps what the commands made in a cache
beside the data (``<data root>/references/<project>-<key>/``, or under ``$COURSE_REFERENCES_DIR``) and
copies it into the folder that needs it. The key is a SHA-256 of everything the training reads: the
commands, the folder's ``.py`` files, the ``cvdata`` package's source, the settings of the data sets, the
backbone's weights and settings (not its file, whose record also holds the pretraining's clock: pretrained
again in a fresh clone, its weights were the same bit for bit here, so the key stays), the versions of the
libraries it runs on and the CPU's instruction set (the frozen stem runs in bfloat16 only where the CPU has
it). Change any of them and the next call trains afresh; a reference is never reused for anything else. The
number of threads is not part of the key: it changes float rounding, not the recipe. ``make clean`` (which
deletes ``datasets/generated``) forgets them all.

``$COURSE_REFERENCES_DIR`` moves the cache out of the checkout, so that fresh clones on one machine share
it (``.ci/run`` puts it in the user's cache folder); each project keeps its ``KEEP_PER_PROJECT`` most
recently used entries there.

A folder that got its artefacts here is stamped (``KEY_FILE`` beside its first artefact), so the next
call knows whether they are still current: ``make grade`` retrains ``solutions/<project>`` after a
change to its code or recipe instead of grading stale weights.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import cvdata
from autograder.projects import get_project
from cvdata.errors import DataError
from cvdata.meta import read_meta
from cvdata.paths import DATA_ROOT_ENV, data_root, faces_dir, shapes_dir
from cvdata.shapes_backbone import backbone_path, read_backbone, weights_hash

REFERENCES_SUBDIR = "references"
REFERENCES_ENV = "COURSE_REFERENCES_DIR"
"""Environment variable: the cache's folder, instead of ``<data root>/references``."""
KEEP_PER_PROJECT = 3
"""Entries kept per project (the most recently used): a Show and Tell and attention pair is about 90 MB."""
KEY_FILE = "reference-key.txt"
LIBRARIES = ("torch", "torchvision", "numpy", "opencv-python-headless", "nltk", "pycocotools", "pandas")
"""The libraries whose versions are part of the key (the training's numerics and data path run on them)."""


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions() -> dict:
    """Library versions, Python's, the machine and the CPU features the training's numerics depend on."""
    import torch

    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        bf16 = False
    return {**versions, "python": platform.python_version(), "machine": platform.machine(),
            "cpu": torch.backends.cpu.get_cpu_capability(), "bf16": bf16}


def _backbone(root: Path) -> dict | str | None:
    """What the training reads of the backbone under ``root``: its config and the hash of its weights (the bytes
    of the file when it cannot be read as a backbone; None when there is none)."""
    path = backbone_path(root)
    if not path.is_file():
        return None
    try:
        record = read_backbone(path)
        return {"config": record["config"], "weights": weights_hash(record["state_dict"])}
    except (DataError, AttributeError, TypeError):  # not a backbone record: whatever it is, its bytes
        return _file_hash(path)


def references_dir(root: Path) -> Path:
    """The cache's folder: ``$COURSE_REFERENCES_DIR``, else ``<root>/references``."""
    where = os.environ.get(REFERENCES_ENV, "").strip()
    return Path(where).expanduser() if where else Path(root) / REFERENCES_SUBDIR


def _prune(cache: Path, project: str, keep: int = KEEP_PER_PROJECT) -> None:
    """Delete all but the ``keep`` most recently used entries of ``project`` in ``cache``."""
    entry = re.compile(rf"{re.escape(project)}-[0-9a-f]{{16}}")  # not the partial entries in the making
    entries = sorted((p for p in cache.iterdir() if p.is_dir() and entry.fullmatch(p.name)),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def reference_key(project: str, folder: Path, root: Path) -> str:
    """The cache key of ``project``'s reference trained in ``folder`` (the code that runs) on the data under
    ``root``: 16 hex digits of a SHA-256 (see the module's docstring for what goes in)."""
    registration = get_project(project).registration
    package = Path(cvdata.__file__).parent
    parts = {
        "commands": registration.training,
        "artefacts": registration.artefacts,
        "code": {path.name: _file_hash(path) for path in sorted(Path(folder).glob("*.py"))},
        "cvdata": {path.relative_to(package).as_posix(): _file_hash(path) for path in sorted(package.rglob("*.py"))},
        "data": {name: (read_meta(where) or {}).get("config") for name, where in
                 (("faces", faces_dir(root)), ("shapes", shapes_dir(root)))},
        "backbone": _backbone(root),
        "versions": _versions(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _stamp(folder: Path, artefacts: tuple[str, ...]) -> Path:
    return Path(folder) / Path(artefacts[0]).parent / KEY_FILE


def _copy_artefacts(artefacts: tuple[str, ...], source: Path, target: Path) -> None:
    for name in artefacts:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target / name)


def _train(project: str, folder: Path, root: Path, env: dict | None, quiet: bool) -> None:
    """Run the registration's training commands in ``folder``; ``RuntimeError`` naming the one that failed."""
    run_env = {**os.environ, DATA_ROOT_ENV: str(root), **(env or {})}
    for arguments in get_project(project).registration.training:
        command = [sys.executable, *arguments, *(["--quiet"] if quiet else [])]
        if not quiet:
            print(f"{project}: training the reference ({' '.join(arguments)}) ...", flush=True)
        done = subprocess.run(command, cwd=folder, env=run_env, capture_output=quiet, text=True)
        if done.returncode != 0:
            tail = (done.stderr or "")[-3000:] if quiet else ""
            raise RuntimeError(f"training the {project} reference failed: {' '.join(arguments)} exited with "
                               f"{done.returncode}" + (f"\n{tail}" if tail else ""))


def ensure_reference(project: str, folder: str | Path, root: str | Path | None = None, env: dict | None = None,
                     quiet: bool = False) -> str:
    """Make ``folder`` (``solutions/<project>`` or a copy of it) hold ``project``'s trained reference for the
    data under ``root`` (default ``cvdata.paths.data_root()``).

    Returns "current" when its artefacts were already stamped with this key, "cached" when they were
    copied from the cache, "trained" when the registration's commands ran in ``folder`` first (with
    ``env`` added to the environment; ``quiet``: no progress bars, output kept for the error). Raises
    ``RuntimeError`` when a command fails; nothing is cached then.
    """
    folder, root = Path(folder), Path(root if root is not None else data_root())
    info = get_project(project)
    if not info.artefacts:
        return "current"
    key = reference_key(project, folder, root)
    stamp = _stamp(folder, info.artefacts)
    if not info.missing_artefacts(folder) and stamp.is_file() and stamp.read_text().strip() == key:
        return "current"
    cache = references_dir(root) / f"{project}-{key}"
    if not info.missing_artefacts(cache):
        _copy_artefacts(info.artefacts, cache, folder)
        os.utime(cache)  # used: kept by _prune
        stamp.write_text(key + "\n")
        return "cached"
    _train(project, folder, root, env, quiet)
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{project}-{key}.", dir=cache.parent))
    _copy_artefacts(info.artefacts, folder, partial)
    if cache.is_dir() and info.missing_artefacts(cache):
        shutil.rmtree(cache, ignore_errors=True)  # a damaged entry: replaced
    try:
        partial.rename(cache)  # atomic: another process that trained the same key at the same time keeps its own
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
    _prune(cache.parent, project)
    stamp.write_text(key + "\n")
    return "trained"
