"""Grading the facial keypoints project: the reference gets full marks, the lessons zero for every stub."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from grading import by_id, copy_solution, grade, grade_lessons, plant, train_copy

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
    for check, stub in (("center-crop", "CenterCrop.__call__"), ("random-rotate", "RandomRotate.__call__"),
                        ("color-jitter", "ColorJitter.__call__"), ("sunglasses", "apply_sunglasses")):
        assert f"not implemented yet: {stub}" in tests[check]["output"], tests[check]["output"]


PLANTED = {
    "random-rotate": ("data_load.py", 'return {"image": rotated, "keypoints": (keypoints - centre) @ turn.T + centre}',
                      'return {"image": rotated, "keypoints": keypoints.copy()}',
                      "the keypoints did not turn with the image"),
    "center-crop": ("data_load.py", "top, left = (h - new_h) // 2, (w - new_w) // 2", "top, left = 0, 0",
                    "the window at left 0, top 0"),
    "color-jitter": ("data_load.py", "out = np.clip(pixels, 0.0, top).astype(image.dtype)",
                     "out = pixels.astype(image.dtype)", "brighter pixels stay at least as bright"),
    "sunglasses": ("filters.py", "eyes = points[[*RIGHT_EYE, *LEFT_EYE]].mean(0)  # (2,)",
                   "eyes = points[[*OUTER_LIPS, *INNER_LIPS]].mean(0)  # (2,): on the mouth",
                   "0% of the eye keypoints covered"),
}
"""A planted mistake per new check: (file, reference line, the mistake, what the check's feedback says)."""


def test_planted_mistakes_in_the_transforms_and_the_filter_are_caught(tmp_path):
    folder = copy_solution(PROJECT, tmp_path / "submission")
    for path, line, mistake, _ in PLANTED.values():
        plant(folder, path, line, mistake)
    filters = folder / "filters.py"
    filters.write_text(filters.read_text().replace("from cvdata.face_layout import ",
                                                   "from cvdata.face_layout import INNER_LIPS, OUTER_LIPS, "))
    untouched = ("dataset", "rescale", "random-crop", "flip", "normalize")
    tests = by_id(grade(PROJECT, folder, tmp_path / "results.json", only={*PLANTED, *untouched}))
    for check, (*_, says) in PLANTED.items():
        assert tests[check]["score"] == 0 and says in tests[check]["output"], (check, tests[check]["output"])
    for check in untouched:  # the mistakes touch nothing else
        assert tests[check]["status"] == "passed", (check, tests[check]["output"])


def test_a_poor_model_after_a_failed_transform_is_blamed_on_the_transform(tmp_path):
    """Trained on keypoints that Rescale left behind, a model scores badly on held-out faces; the accuracy check's
    feedback names the Rescale failure first instead of only hinting "train longer" (here: an untrained model)."""
    folder = copy_solution(PROJECT, tmp_path / "submission")
    plant(folder, "data_load.py", 'return {"image": resized, "keypoints": keypoints * scale}',
          'return {"image": resized, "keypoints": keypoints}')
    saved = subprocess.run([sys.executable, "-c", "import models, training; training.save_checkpoint(models.Net())"],
                           cwd=folder, capture_output=True, text=True, timeout=120)
    assert saved.returncode == 0, saved.stderr
    tests = by_id(grade(PROJECT, folder, tmp_path / "results.json", only=("rescale", "heldout-nme", "photo-faces")))
    assert tests["rescale"]["score"] == 0
    accuracy = tests["heldout-nme"]
    assert accuracy["status"] == "failed"
    assert accuracy["output"].startswith('Probably caused by an earlier failure: "Rescale'), accuracy["output"]
    assert "Expected:" in accuracy["output"], "the check's own feedback follows"
    assert "earlier failure" not in tests["photo-faces"]["output"]


OTHER_DESIGN = '''"""A student's own design: nothing like the reference, with sizes of its own in NetConfig."""
from dataclasses import dataclass

from torch import nn


@dataclass
class NetConfig:
    input_size: int = 224
    n_keypoints: int = 68
    width: int = 16


class Net(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        self.config = c = config or NetConfig()
        self.body = nn.Sequential(
            nn.AvgPool2d(4), nn.Conv2d(1, c.width, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c.width, 2 * c.width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(2 * c.width * 16, 2 * c.n_keypoints))

    def forward(self, x):
        return self.body(x)
'''


def test_the_grader_grades_outcomes_not_one_architecture(tmp_path):
    """Notebook 2 has students design Net: another design, with sizes of its own in NetConfig, earns the shape and
    training points, and its checkpoint (saved by the given training.py) is loaded and measured by the grader."""
    folder = copy_solution(PROJECT, tmp_path / "submission")
    (folder / "models.py").write_text(OTHER_DESIGN)
    saved = subprocess.run(
        [sys.executable, "-c",
         "import models, training; training.save_checkpoint(models.Net(models.NetConfig(width=8)))"],
        cwd=folder, capture_output=True, text=True, timeout=120)
    assert saved.returncode == 0, saved.stderr
    tests = by_id(grade(PROJECT, folder, tmp_path / "results.json", only=("net-shape", "training", "heldout-nme")))
    assert tests["net-shape"]["status"] == tests["training"]["status"] == "passed", \
        (tests["net-shape"]["output"], tests["training"]["output"])
    measured = tests["heldout-nme"]["output"]
    assert "NME" in measured and "raised" not in measured and "could not" not in measured.lower(), measured


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
