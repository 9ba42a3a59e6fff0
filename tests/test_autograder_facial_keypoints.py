"""Grading the facial keypoints project: the reference gets full marks, the lessons zero for every stub."""
from __future__ import annotations

import numpy as np
import pytest
from grading import copy_solution, grade, grade_lessons, train_copy

from autograder.checks import Context
from autograder.checks.facial_keypoints import CHECKS, prepare
from autograder.paths import LESSONS_DIR
from autograder.projects import get_project
from autograder.sandbox import make_sandbox, remove_sandbox

PROJECT = "facial_keypoints"


@pytest.fixture(scope="module")
def trained_reference(tmp_path_factory, data_root_full):
    return train_copy(PROJECT, copy_solution(PROJECT, tmp_path_factory.mktemp("fk_ref")), data_root_full)


@pytest.fixture(scope="module")
def reference_results(trained_reference, tmp_path_factory):
    return grade(PROJECT, trained_reference, tmp_path_factory.mktemp("fk_graded") / "results.json")


def test_the_reference_gets_full_marks(reference_results):
    failed = {t["name"]: t["output"] for t in reference_results["tests"] if t["status"] != "passed"}
    assert not failed, failed
    assert reference_results["score"] == reference_results["max_score"] == sum(c.points for c in CHECKS)


def test_grading_twice_gives_the_same_scores(trained_reference, reference_results, tmp_path):
    again = grade(PROJECT, trained_reference, tmp_path / "results.json")
    assert [t["score"] for t in again["tests"]] == [t["score"] for t in reference_results["tests"]]
    assert again["extras"]["training"]["losses"] == \
        reference_results["extras"]["training"]["losses"]


def test_the_lessons_get_zero_for_every_stub(tmp_path):
    tests = grade_lessons(PROJECT, tmp_path / "results.json", "saved_models/keypoints_model.pt")
    assert "not implemented yet: Rescale.__call__" in tests["rescale"]["output"]
    assert "not implemented yet: Net.__init__" in tests["net-shape"]["output"]


def test_held_out_labels_never_reach_the_sandbox():
    box = make_sandbox(get_project(PROJECT), LESSONS_DIR / PROJECT)
    try:
        ctx = Context(get_project(PROJECT), box, seed=12345)
        prepare(ctx)
        truth = np.concatenate([ctx.answers["heldout"], ctx.answers["mirrored"]])  # (2N, 68, 2)
        for path in box.root.rglob("*"):
            if path.suffix == ".npz":
                with np.load(path) as arrays:
                    for array in arrays.values():
                        assert array.shape[-2:] != (68, 2) or not any(np.allclose(array, t) for t in truth)
            elif path.suffix == ".csv":
                assert f"{truth[0, 0, 0]:.3f}" not in path.read_text(), path
        names = {p.name for p in (box.root / ctx.inputs["heldout"]).iterdir()}
        assert names == set(ctx.answers["heldout_names"]) and all(n.endswith(".jpg") for n in names)
    finally:
        remove_sandbox(box)
