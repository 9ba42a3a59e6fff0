"""The course's shapes-world backbone: targets, deterministic pretraining, a cache rebuilt when stale."""
from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch

from cvdata.errors import DataError
from cvdata.scene_targets import head_sizes, scene_targets
from cvdata.shapes_backbone import (
    BackboneConfig,
    backbone_path,
    ensure_backbone,
    is_current,
    pretrain_backbone,
    read_backbone,
    weights_hash,
)

TINY = BackboneConfig.quick()


def test_scene_targets_name_every_object():
    objects = [{"shape": "star", "colour": "red", "size": "large", "center": [10, 10]},
               {"shape": "circle", "colour": "blue", "size": "small", "center": [120, 64]},
               {"shape": "star", "colour": "red", "size": "small", "center": [64, 120]}]
    t = scene_targets(objects, 128)
    sizes = head_sizes()
    assert {h: len(v) for h, v in t.items() if h != "count"} == {h: n for h, n in sizes.items() if h != "count"}
    red_star, blue_circle = 0 * 4 + 3, 2 * 4 + 0  # colour index * 4 shapes + shape index
    assert np.flatnonzero(t["pair"]).tolist() == [red_star, blue_circle]
    assert np.flatnonzero(t["colour"]).tolist() == [0, 2] and np.flatnonzero(t["shape"]).tolist() == [0, 3]
    assert np.flatnonzero(t["size"]).tolist() == sorted([blue_circle * 2 + 0, red_star * 2 + 0, red_star * 2 + 1])
    top_left, middle_right, bottom_centre = 0, 5, 7
    assert np.flatnonzero(t["region"]).tolist() == sorted([red_star * 9 + top_left, blue_circle * 9 + middle_right,
                                                            red_star * 9 + bottom_centre])
    assert t["count"] == 2


def test_pretraining_is_deterministic_and_learns_something(shapes_small):
    torch.set_num_threads(1)
    state_before = torch.random.get_rng_state()
    first = pretrain_backbone(shapes_small, TINY, progress=False, eval_split=None)
    assert torch.equal(torch.random.get_rng_state(), state_before), "pretraining leaves the global RNG alone"
    second = pretrain_backbone(shapes_small, TINY, progress=False, eval_split=None)
    other = pretrain_backbone(shapes_small, replace(TINY, seed=1), progress=False, eval_split=None)
    assert weights_hash(first.state_dict) == weights_hash(second.state_dict)
    assert weights_hash(first.state_dict) != weights_hash(other.state_dict)
    assert not any(k.startswith("fc.") for k in first.state_dict)


def test_the_cache_is_rebuilt_when_its_settings_or_data_change(data_root_small, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(data_root_small / "shapes", root / "shapes")
    path = ensure_backbone(root, TINY, progress=False)
    assert path == backbone_path(root) and is_current(root, TINY)
    record = read_backbone(path)
    assert record["config"]["steps"] == TINY.steps and "val" in record["metrics"]
    mtime = path.stat().st_mtime_ns
    assert ensure_backbone(root, TINY, progress=False) == path and path.stat().st_mtime_ns == mtime  # reused
    longer = replace(TINY, steps=TINY.steps + 1)
    assert not is_current(root, longer)
    ensure_backbone(root, longer, progress=False)
    assert read_backbone(path)["weights_hash"] != record["weights_hash"] and is_current(root, longer)
    meta = root / "shapes" / "generation.json"
    meta.write_text(meta.read_text().replace('"seed": ', '"seed": 1', 1))  # as if regenerated with another seed
    assert not is_current(root, longer)


def test_missing_data_and_a_corrupt_cache_give_clear_errors(tmp_path):
    with pytest.raises(DataError, match="cvdata ensure"):
        ensure_backbone(tmp_path, TINY, progress=False)
    path = backbone_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torch file")
    with pytest.raises(DataError, match="not a readable backbone file"):
        read_backbone(path)


def test_config_rejects_unknown_heads():
    with pytest.raises(ValueError, match="heads"):
        BackboneConfig(heads=("colour", "mood"))
