"""Facial keypoints: the Haar pipeline (face_pipeline.py) and the filters (filters.py) of the reference solution.

The pipeline is tested for its format and its coordinate mapping (a stand-in
network with known outputs), not for accuracy; the filters on synthetic faces
with their TRUE keypoints, so only the filter itself is under test.
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import skimage.data
import torch
from fk_project import SOLUTION_DIR, import_project
from torch import nn

from cvdata.errors import DataError
from cvdata.faces import csv_name
from cvdata.images import read_image
from cvdata.keypoints_table import read_keypoints_csv

ASTRONAUT_FACE_CENTRE = (225, 115)
"""Middle of Eileen Collins' face in ``skimage.data.astronaut()`` (x, y), read off the image."""


@pytest.fixture(scope="module")
def fk():
    """The solution's modules, imported from solutions/facial_keypoints."""
    project = import_project(SOLUTION_DIR, ("face_pipeline", "filters", "models"))
    for name in ("face_pipeline", "filters", "plotting"):  # import_project forgets only its own MODULES
        sys.modules.pop(name, None)
    for module in vars(project).values():
        assert Path(module.__file__).parent == SOLUTION_DIR, f"{module.__name__} imported from {module.__file__}"
    return SimpleNamespace(pipeline=project.face_pipeline, filters=project.filters, models=project.models)


@pytest.fixture(scope="module")
def astronaut():
    return skimage.data.astronaut()  # (512, 512, 3) uint8


class FixedNet(nn.Module):
    """Stand-in network: always predicts the same normalised points; records how it was called."""

    def __init__(self, points: np.ndarray):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        self.register_buffer("points", torch.as_tensor(points, dtype=torch.float32).reshape(1, 136))
        self.calls: list[dict] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append({"shape": tuple(x.shape), "min": float(x.min()), "max": float(x.max()),
                           "training": self.training, "grad": torch.is_grad_enabled()})
        return self.points.expand(len(x), 136) + 0 * self.dummy


def _grid_points() -> np.ndarray:
    """68 distinct normalised points spread over [-1, 1]^2, corners included. Shape (68, 2)."""
    t = np.linspace(-1.0, 1.0, 68)
    return np.stack([t, t[::-1] ** 3], axis=1)


# ---------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------
def test_cascade_finds_the_astronaut(fk, astronaut):
    boxes = fk.pipeline.detect_faces(astronaut)
    assert len(boxes) == 1, f"expected one face in the astronaut photo, got {boxes}"
    x, y, w, h = boxes[0]
    assert all(isinstance(v, int) for v in boxes[0])
    assert x < ASTRONAUT_FACE_CENTRE[0] < x + w and y < ASTRONAUT_FACE_CENTRE[1] < y + h
    assert 60 <= w <= 160 and 60 <= h <= 160


def test_two_faces_come_back_left_to_right(fk, astronaut):
    boxes = fk.pipeline.detect_faces(np.ascontiguousarray(np.hstack([astronaut, astronaut[:, ::-1]])))
    assert len(boxes) == 2
    assert boxes[0][0] < 512 <= boxes[1][0]


def test_no_face_gives_no_boxes(fk):
    assert fk.pipeline.detect_faces(np.full((200, 200, 3), 128, np.uint8)) == []


def test_missing_cascade_file_is_a_clear_error(fk, tmp_path):
    with pytest.raises(DataError, match="cascade file not found"):
        fk.pipeline.load_cascade(tmp_path / "nope.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<not a cascade/>")
    with pytest.raises(DataError, match="bad.xml"):
        fk.pipeline.load_cascade(bad)


@pytest.mark.parametrize("image", [np.zeros((20, 20), np.uint8), np.zeros((20, 20, 3), np.float32), "photo.jpg"])
def test_bad_image_is_a_clear_error(fk, image):
    with pytest.raises(ValueError, match="image_rgb: expected an \\(H, W, 3\\) uint8"):
        fk.pipeline.detect_faces(image)


# ---------------------------------------------------------------------------
# Padding
# ---------------------------------------------------------------------------
def test_pad_box_grows_by_the_margin(fk):
    assert fk.pipeline.pad_box((100, 100, 50, 40), (400, 400, 3), 0.2) == (90, 92, 70, 56)
    assert fk.pipeline.pad_box((100, 100, 50, 40), (400, 400), 0.0) == (100, 100, 50, 40)


def test_pad_box_stays_inside_the_image(fk):
    x, y, w, h = fk.pipeline.pad_box((5, 190, 60, 60), (240, 320, 3), 0.5)
    assert (x, y) == (0, 160) and x + w <= 320 and y + h == 240
    assert all(isinstance(v, int) for v in (x, y, w, h))


def test_pad_box_rejects_bad_arguments(fk):
    with pytest.raises(ValueError, match="margin"):
        fk.pipeline.pad_box((0, 0, 10, 10), (100, 100), -0.1)
    with pytest.raises(ValueError, match="box"):
        fk.pipeline.pad_box((0, 0, 0, 10), (100, 100), 0.2)
    with pytest.raises(ValueError, match="outside"):
        fk.pipeline.pad_box((500, 500, 10, 10), (100, 100), 0.2)


# ---------------------------------------------------------------------------
# detect_and_predict
# ---------------------------------------------------------------------------
def test_detect_and_predict_format_with_an_untrained_net(fk, astronaut):
    torch.manual_seed(0)
    net = fk.models.Net()
    faces = fk.pipeline.detect_and_predict(astronaut, net)
    assert isinstance(faces, list) and len(faces) == 1
    face = faces[0]
    assert set(face) == {"box", "keypoints"}
    box = face["box"]
    assert isinstance(box, tuple) and len(box) == 4 and all(isinstance(v, int) for v in box)
    assert box == fk.pipeline.pad_box(fk.pipeline.detect_faces(astronaut)[0], astronaut.shape)
    kp = face["keypoints"]
    assert isinstance(kp, np.ndarray) and kp.shape == (68, 2) and kp.dtype == np.float32
    assert np.isfinite(kp).all()
    x, y, w, h = box  # an untrained net predicts near the crop centre: well within one box size of it
    assert np.all(np.abs(kp - [x + w / 2, y + h / 2]) < [w, h])
    assert not net.training, "detect_and_predict should leave the net in eval mode"


def test_detect_and_predict_maps_points_into_the_photo(fk, astronaut):
    points = _grid_points()
    net = FixedNet(points).train()
    faces = fk.pipeline.detect_and_predict(astronaut, net)
    x, y, w, h = faces[0]["box"]
    expected = (points + 1) / 2 * [w, h] + [x, y]  # normalised -> crop pixels -> photo pixels
    np.testing.assert_allclose(faces[0]["keypoints"], expected, atol=1e-3)
    call = net.calls[-1]
    assert call["shape"] == (1, 1, 224, 224)
    assert 0.0 <= call["min"] and call["max"] <= 1.0 and call["max"] > 0.5, "input should be grayscale in [0, 1]"
    assert not call["training"] and not call["grad"], "predict in eval mode, without gradients"


def test_detect_and_predict_one_dict_per_face(fk, astronaut):
    photo = np.ascontiguousarray(np.hstack([astronaut, astronaut[:, ::-1]]))
    net = FixedNet(np.zeros((68, 2)))
    faces = fk.pipeline.detect_and_predict(photo, net)
    assert len(faces) == 2 and net.calls[-1]["shape"][0] == 2
    for face in faces:  # the zero point is each crop's centre
        x, y, w, h = face["box"]
        np.testing.assert_allclose(face["keypoints"], np.tile([x + w / 2, y + h / 2], (68, 1)), atol=1e-3)
    assert faces[0]["box"][0] < faces[1]["box"][0]


def test_detect_and_predict_without_faces(fk):
    assert fk.pipeline.detect_and_predict(np.full((120, 120, 3), 90, np.uint8), FixedNet(np.zeros((68, 2)))) == []


# ---------------------------------------------------------------------------
# Filters, on synthetic faces with their true keypoints
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def synthetic_faces(faces_small):
    """A few test faces enlarged so the face is about 300 px tall: [(image, keypoints)]."""
    names, keypoints = read_keypoints_csv(faces_small / csv_name("test"))
    out = []
    for name, kp in list(zip(names, keypoints))[:6]:
        image = read_image(faces_small / "test" / name)
        scale = 300 / image.shape[0]
        out.append((cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR), kp * scale))
    return out


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Mask of pixels a filter changed. (H, W) bool."""
    return np.any(before != after, axis=2)


def _inside(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Fraction of the mask's pixels inside the box [lo, hi] (x, y)."""
    ys, xs = np.nonzero(mask)
    inside = (xs >= lo[0]) & (xs <= hi[0]) & (ys >= lo[1]) & (ys <= hi[1])
    return float(inside.mean())


def test_sunglasses_keep_shape_and_leave_the_input_alone(fk, synthetic_faces):
    image, kp = synthetic_faces[0]
    before = image.copy()
    out = fk.filters.apply_sunglasses(image, kp)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(image, before)


def test_sunglasses_cover_the_eyes_and_nothing_else(fk, synthetic_faces):
    for image, kp in synthetic_faces:
        out = fk.filters.apply_sunglasses(image, kp)
        changed = _changed(image, out)
        iod = np.linalg.norm(kp[45] - kp[36])
        region = np.concatenate([kp[17:27], kp[36:48]])  # brows and eyes
        assert changed.sum() > 0.2 * iod ** 2, "the sunglasses should cover a good part of the eye region"
        assert _inside(changed, region.min(0) - 0.35 * iod, region.max(0) + 0.35 * iod) == 1.0, \
            "pixels changed away from the eyes and brows"
        assert not changed[int(kp[57, 1]):].any(), "pixels changed below the lower lip"
        gray = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        for eye in (kp[36:42], kp[42:48]):
            cx, cy = eye.mean(0).round().astype(int)
            assert changed[cy, cx] and gray[cy, cx] < 80, "each eye should be behind a dark lens"


def test_sunglasses_turn_with_the_head(fk, synthetic_faces):
    image, kp = synthetic_faces[1]
    h, w = image.shape[:2]
    for angle in (-25.0, 20.0):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        rotated = cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        points = kp @ m[:, :2].T + m[:, 2]
        changed = _changed(rotated, fk.filters.apply_sunglasses(rotated, points)).astype(np.uint8)
        moments = cv2.moments(changed, binaryImage=True)
        axis = 0.5 * np.degrees(np.arctan2(2 * moments["mu11"], moments["mu20"] - moments["mu02"]))
        eye_line = np.degrees(np.arctan2(*(points[45] - points[36])[::-1]))
        assert abs(axis - eye_line) < 6, f"glasses at {axis:.1f} deg, eye line at {eye_line:.1f} deg"


def test_moustache_stays_between_nose_and_mouth(fk, synthetic_faces):
    image, kp = synthetic_faces[2]
    out = fk.filters.apply_moustache(image, kp)
    assert out.shape == image.shape and out.dtype == np.uint8
    changed = _changed(image, out)
    assert changed.any()
    assert not changed[: int(kp[36:48, 1].max())].any(), "the moustache reached the eyes"
    mouth = np.linalg.norm(kp[54] - kp[48])
    region = np.concatenate([kp[31:36], kp[48:60]])
    assert _inside(changed, region.min(0) - 0.4 * mouth, region.max(0) + 0.4 * mouth) == 1.0


def test_filters_reject_bad_keypoints(fk, synthetic_faces):
    image, kp = synthetic_faces[0]
    with pytest.raises(ValueError, match="keypoints"):
        fk.filters.apply_sunglasses(image, kp[:10])
    with pytest.raises(ValueError, match="keypoints"):
        fk.filters.apply_sunglasses(image, np.full((68, 2), np.nan))
    with pytest.raises(ValueError, match="image_rgb"):
        fk.filters.apply_sunglasses(image[..., 0], kp)


def test_sunglasses_sprite(fk):
    sprite = fk.filters.make_sunglasses(200, 80)
    assert sprite.shape == (80, 200, 4) and sprite.dtype == np.uint8
    alpha = sprite[..., 3]
    assert alpha[0, 100] == 0 or alpha[-1, 100] == 0, "transparent around the glasses"
    assert alpha[int(0.48 * 80), int(0.27 * 200)] > 200 and alpha[int(0.48 * 80), int(0.73 * 200)] > 200, \
        "opaque lenses"
    with pytest.raises(ValueError):
        fk.filters.make_sunglasses(3, 2)
