"""Trained references are made once per recipe and reused (``autograder.references``), never when anything changed.

A toy project in a temp folder stands in for a real one: its ``train.py`` writes its one artefact and counts
its runs, so the tests see when training really ran.
"""
from __future__ import annotations

import shutil

import pytest
import torch

from autograder.projects import PROJECTS, SOLUTIONS_ENV, Registration
from autograder.references import (
    KEEP_PER_PROJECT,
    KEY_FILE,
    REFERENCES_ENV,
    REFERENCES_SUBDIR,
    ensure_reference,
    reference_key,
)
from cvdata.meta import META_FILE
from cvdata.paths import faces_dir
from cvdata.shapes_backbone import backbone_path

TOY_TRAIN = '''\
"""The toy project's training: writes its artefact, counting its runs in $TOY_RUNS."""
import os
import sys
from pathlib import Path

runs = Path(os.environ["TOY_RUNS"])
runs.write_text((runs.read_text() if runs.exists() else "") + "x")
if os.environ.get("TOY_FAIL"):
    sys.exit(3)
Path("models").mkdir(exist_ok=True)
Path("models/weights.txt").write_text(" ".join(sys.argv[1:]))
'''
COMMANDS = (("train.py", "--epochs", "1"),)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """Register the toy project; returns ``(its solutions folder, the data root, the runs file)``."""
    solutions = tmp_path / "solutions"
    (solutions / "toy").mkdir(parents=True)
    (solutions / "toy" / "train.py").write_text(TOY_TRAIN)
    monkeypatch.setenv(SOLUTIONS_ENV, str(solutions))
    monkeypatch.delenv(REFERENCES_ENV, raising=False)  # the cache beside the data, unless a test moves it
    monkeypatch.setitem(PROJECTS, "toy", Registration("Toy", ("models/weights.txt",), COMMANDS, data="faces"))
    return solutions / "toy", tmp_path / "data", tmp_path / "runs"


def _copy(folder, target):
    return shutil.copytree(folder, target, ignore=shutil.ignore_patterns("models"))


def test_a_reference_is_trained_once_then_copied_from_the_cache(toy, tmp_path):
    folder, root, runs = toy
    env = {"TOY_RUNS": str(runs)}
    assert ensure_reference("toy", folder, root, env=env, quiet=True) == "trained"
    assert runs.read_text() == "x" and (folder / "models" / "weights.txt").read_text() == "--epochs 1 --quiet"
    assert (folder / "models" / KEY_FILE).read_text().strip() == reference_key("toy", folder, root)
    assert ensure_reference("toy", folder, root, env=env, quiet=True) == "current"
    copy = _copy(folder, tmp_path / "copy")
    assert ensure_reference("toy", copy, root, env=env, quiet=True) == "cached"
    assert runs.read_text() == "x", "the copy got the cached weights; nothing trained again"
    assert (copy / "models" / "weights.txt").read_text() == "--epochs 1 --quiet"


def test_a_changed_recipe_code_or_data_trains_again(toy, tmp_path, monkeypatch):
    folder, root, runs = toy
    env = {"TOY_RUNS": str(runs)}
    ensure_reference("toy", folder, root, env=env, quiet=True)
    key = reference_key("toy", folder, root)
    (folder / "train.py").write_text(TOY_TRAIN + "# a change\n")
    assert reference_key("toy", folder, root) != key
    assert ensure_reference("toy", folder, root, env=env, quiet=True) == "trained" and runs.read_text() == "xx"
    key = reference_key("toy", folder, root)
    assert reference_key("toy", folder, tmp_path / "other_data") == key  # no data there either: the same inputs
    faces_dir(root).mkdir(parents=True)
    (faces_dir(root) / META_FILE).write_text('{"config": {"n_train": 5}}')
    assert reference_key("toy", folder, root) != key, "other data"
    monkeypatch.setitem(PROJECTS, "toy", Registration("Toy", ("models/weights.txt",), (("train.py", "--epochs", "2"),),
                                                      data="faces"))
    assert ensure_reference("toy", folder, root, env=env, quiet=True) == "trained"
    assert (folder / "models" / "weights.txt").read_text() == "--epochs 2 --quiet" and runs.read_text() == "xxx"


def test_a_failed_training_is_named_and_nothing_is_cached(toy):
    folder, root, runs = toy
    with pytest.raises(RuntimeError, match="train.py --epochs 1 exited with 3"):
        ensure_reference("toy", folder, root, env={"TOY_RUNS": str(runs), "TOY_FAIL": "1"}, quiet=True)
    assert not (root / REFERENCES_SUBDIR).exists() and not (folder / "models").exists()


def test_a_cache_outside_the_data_is_shared_and_keeps_the_newest_entries(toy, tmp_path, monkeypatch):
    """``$COURSE_REFERENCES_DIR``: another data root with the same inputs (a fresh clone) gets the cached weights;
    training more recipes than ``KEEP_PER_PROJECT`` deletes the least recently used."""
    folder, root, runs = toy
    env = {"TOY_RUNS": str(runs)}
    shared = tmp_path / "shared"
    monkeypatch.setenv(REFERENCES_ENV, str(shared))
    assert ensure_reference("toy", folder, root, env=env, quiet=True) == "trained"
    first = shared / f"toy-{reference_key('toy', folder, root)}"
    assert first.is_dir() and not (root / REFERENCES_SUBDIR).exists()
    clone = _copy(folder, tmp_path / "clone")
    assert ensure_reference("toy", clone, tmp_path / "clone_data", env=env, quiet=True) == "cached"
    assert runs.read_text() == "x"
    for epochs in range(2, KEEP_PER_PROJECT + 2):
        monkeypatch.setitem(PROJECTS, "toy", Registration("Toy", ("models/weights.txt",),
                                                          (("train.py", "--epochs", str(epochs)),), data="faces"))
        assert ensure_reference("toy", folder, root, env=env, quiet=True) == "trained"
    kept = sorted(p.name for p in shared.iterdir())
    assert len(kept) == KEEP_PER_PROJECT and first.name not in kept, kept


def test_the_key_follows_the_backbones_weights_not_its_file(toy):
    """Pretrained again, the backbone's file differs (its record holds the pretraining's clock) but its weights
    do not: the key stays. Other weights: another key."""
    folder, root, _ = toy
    path = backbone_path(root)
    path.parent.mkdir(parents=True)
    record = {"state_dict": {"conv.weight": torch.ones(2, 3)}, "config": {"arch": "resnet18"},
              "metrics": {"seconds": 142.8}}
    torch.save(record, path)
    key = reference_key("toy", folder, root)
    torch.save({**record, "metrics": {"seconds": 204.8}}, path)
    assert reference_key("toy", folder, root) == key
    torch.save({**record, "state_dict": {"conv.weight": torch.full((2, 3), 2.0)}}, path)
    assert reference_key("toy", folder, root) != key
