"""Facial keypoints transforms: the keypoints follow the image, checked on drawn markers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from fk_project import LESSON_DIR, import_project

from autograder.checks.markers import face_keypoints, marked_sample, marker_position
from cvdata.errors import DataError
from cvdata.face_layout import MIRRORED_INDEX, OUTER_EYE_CORNERS, Expression, FaceShape, face_points_2d
from cvdata.faces import csv_name
from cvdata.keypoints_norm import keypoints_to_pixels

dl = import_project(names=("data_load",)).data_load

H, W = 90, 70  # a portrait image, like the face crops


def _face_keypoints(width: int = W, height: int = H) -> np.ndarray:
    """A frontal template face placed in a width x height image, on pixel centres. (68, 2) pixels."""
    return face_keypoints(width, height)


def _marked(point: int, keypoints: np.ndarray) -> dict:
    """A black RGB image with one bright 3x3 marker centred on keypoint ``point``."""
    return marked_sample(point, keypoints, H, W)


def _check_follows(transform, point: int = 30, tolerance: float = 1.0, where: int | None = None) -> dict:
    """Apply ``transform`` to a marked image; the marker must sit at keypoint ``where`` (default ``point``)."""
    keypoints = _face_keypoints()
    out = transform(_marked(point, keypoints))
    found = marker_position(out["image"])
    expected = out["keypoints"][point if where is None else where]
    assert np.linalg.norm(found - expected) <= tolerance, (found, expected)
    return out


@pytest.mark.parametrize("point", [0, 8, 30, 36, 45, 57])
def test_rescale_int_keeps_aspect_and_moves_keypoints(point):
    out = _check_follows(dl.Rescale(140), point, tolerance=1.0)
    assert out["image"].shape == (180, 140, 3)  # shorter side (width 70) -> 140


def test_rescale_tuple_is_exact():
    out = _check_follows(dl.Rescale((60, 120)), 36, tolerance=1.0)
    assert out["image"].shape == (60, 120, 3)
    np.testing.assert_allclose(out["keypoints"], _face_keypoints() * [120 / W, 60 / H], rtol=1e-5)


@pytest.mark.parametrize("seed", range(4))
def test_random_crop_moves_keypoints(seed):
    out = _check_follows(dl.RandomCrop((70, 60), rng=np.random.default_rng(seed)), 30, tolerance=0.01)
    assert out["image"].shape == (70, 60, 3)


def test_center_crop_is_centred():
    out = _check_follows(dl.CenterCrop(50), 30, tolerance=0.01)
    assert out["image"].shape == (50, 50, 3)
    np.testing.assert_allclose(out["keypoints"], _face_keypoints() - [(W - 50) // 2, (H - 50) // 2])


def test_crop_larger_than_image_is_a_clear_error():
    with pytest.raises(ValueError, match="Rescale it first"):
        dl.RandomCrop(100)(_marked(30, _face_keypoints()))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("point", [2, 30, 48])
def test_random_rotate_moves_keypoints(seed, point):
    rotate = dl.RandomRotate(40, rng=np.random.default_rng(seed))
    out = _check_follows(rotate, point, tolerance=1.0)
    angle = np.random.default_rng(seed).uniform(-40, 40)  # the angle the transform drew
    dx, dy = out["keypoints"][45] - out["keypoints"][36]  # the eye line was horizontal
    assert np.degrees(np.arctan2(dy, dx)) == pytest.approx(-angle, abs=1e-3)  # counter-clockwise on screen


def test_flip_mirrors_and_renumbers():
    flip = dl.RandomHorizontalFlip(p=1.0, rng=np.random.default_rng(0))
    # The marker on the subject's right outer eye corner (36) ends up where the new point 45 is...
    out = _check_follows(flip, 36, tolerance=0.01, where=MIRRORED_INDEX[36])
    assert MIRRORED_INDEX[36] == 45
    # ...and point 36 is still the image-left outer eye corner: the face stays a valid iBUG shape.
    left, right = OUTER_EYE_CORNERS
    assert out["keypoints"][left, 0] < out["keypoints"][right, 0]
    assert out["keypoints"][0, 0] < out["keypoints"][16, 0]  # jaw still runs left to right
    np.testing.assert_allclose(out["keypoints"][8], [W - _face_keypoints()[8, 0], _face_keypoints()[8, 1]])


def test_flip_with_p_zero_changes_nothing():
    sample = _marked(30, _face_keypoints())
    out = dl.RandomHorizontalFlip(p=0.0)(sample)
    assert np.array_equal(out["image"], sample["image"]) and np.array_equal(out["keypoints"], sample["keypoints"])


def test_mirrored_index_maps_a_face_onto_its_mirror_image():
    points = face_points_2d(FaceShape(), Expression(mouth_open=0.1, smile=0.05))  # symmetric about x = 0
    mirrored = points * [-1, 1]
    np.testing.assert_allclose(mirrored[list(MIRRORED_INDEX)], points, atol=1e-9)
    assert sorted(MIRRORED_INDEX) == list(range(68))
    assert [MIRRORED_INDEX[i] for i in MIRRORED_INDEX] == list(range(68))  # its own inverse


def test_color_jitter_changes_only_the_image():
    sample = {"image": np.full((H, W, 3), 100, np.uint8), "keypoints": _face_keypoints()}
    sample["image"][10:20] = 200
    out = dl.ColorJitter(0.5, 0.5, rng=np.random.default_rng(1))(sample)
    assert out["image"].dtype == np.uint8 and out["image"].shape == (H, W, 3)
    assert not np.array_equal(out["image"], sample["image"])
    np.testing.assert_array_equal(out["keypoints"], sample["keypoints"])


def test_normalize_and_to_tensor_ranges_and_shapes():
    keypoints = _face_keypoints()
    keypoints[0] = [0, 0]
    keypoints[1] = [W, H]
    keypoints[2] = [W / 2, H / 2]
    sample = _marked(30, keypoints)
    norm = dl.Normalize()(sample)
    assert norm["image"].shape == (H, W) and norm["image"].dtype == np.float32
    assert norm["image"].min() >= 0 and norm["image"].max() == pytest.approx(1.0)
    np.testing.assert_allclose(norm["keypoints"][:3], [[-1, -1], [1, 1], [0, 0]], atol=1e-6)
    tensors = dl.ToTensor()(norm)
    assert tensors["image"].shape == (1, H, W) and tensors["image"].dtype == torch.float32
    assert tensors["keypoints"].shape == (68, 2) and tensors["keypoints"].dtype == torch.float32
    np.testing.assert_allclose(keypoints_to_pixels(tensors["keypoints"], W, H).numpy(), keypoints, atol=1e-4)


@pytest.mark.parametrize("make", ["train_transform", "test_transform"])
def test_pipelines_end_in_a_224_tensor_that_keeps_the_marker(make):
    np.random.seed(3)
    point = 45
    keypoints = _face_keypoints()
    out = getattr(dl, make)()(_marked(point, keypoints))
    assert out["image"].shape == (1, 224, 224) and out["image"].dtype == torch.float32
    assert 0.0 <= float(out["image"].min()) and float(out["image"].max()) <= 1.0
    pixels = keypoints_to_pixels(out["keypoints"], 224, 224).numpy()  # (68, 2)
    found = marker_position(out["image"][0].numpy())
    # after a flip the marker is point 45's mirror, point 36
    assert min(np.linalg.norm(found - pixels[point]), np.linalg.norm(found - pixels[MIRRORED_INDEX[point]])) < 2.5


def test_dataset_reads_samples(faces_small):
    data = dl.FacialKeypointsDataset(faces_small / csv_name("training"), faces_small / "training")
    assert len(data) == 40
    sample = data[0]
    assert sample["image"].dtype == np.uint8 and sample["image"].ndim == 3 and sample["image"].shape[2] == 3
    assert sample["keypoints"].shape == (68, 2) and sample["keypoints"].dtype == np.float32
    h, w = sample["image"].shape[:2]
    assert 0 <= sample["keypoints"][:, 0].min() and sample["keypoints"][:, 0].max() <= w
    transformed = dl.FacialKeypointsDataset(
        faces_small / csv_name("test"), faces_small / "test", transform=dl.test_transform())[0]
    assert transformed["image"].shape == (1, 224, 224)


def test_dataset_bad_csv_path_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="nope.csv"):
        dl.FacialKeypointsDataset(tmp_path / "nope.csv", tmp_path)


def test_dataset_missing_image_is_a_data_error(faces_small, tmp_path):
    data = dl.FacialKeypointsDataset(faces_small / csv_name("training"), tmp_path)
    with pytest.raises(DataError, match="not found"):
        data[0]


def test_lesson_data_load_imports_and_stubs_raise():
    lesson = import_project(LESSON_DIR, names=("data_load",)).data_load
    sample = _marked(30, _face_keypoints())
    with pytest.raises(NotImplementedError, match="not implemented yet: Rescale.__call__"):
        lesson.Rescale(100)(sample)
    with pytest.raises(NotImplementedError, match="not implemented yet: RandomHorizontalFlip.__call__"):
        lesson.RandomHorizontalFlip(p=1.0)(sample)
    assert lesson.train_transform() is not None  # building a pipeline calls no stub
