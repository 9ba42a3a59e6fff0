"""The synthetic faces: Udacity's format, determinism, framing, and points on the drawn features."""
from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_FACES

from cvdata.face_layout import Expression, FaceShape, Pose, face_points_2d
from cvdata.face_render import draw_face, sample_look
from cvdata.faces import FacesConfig, csv_name, generate_faces, render_sample
from cvdata.images import read_image
from cvdata.keypoints_table import read_keypoints_csv


def _digest(folder, split):
    h = hashlib.sha256((folder / csv_name(split)).read_bytes())
    for f in sorted((folder / split).iterdir()):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def test_udacity_format_reads_like_the_course_notebook(faces_small):
    frame = pd.read_csv(faces_small / csv_name("training"))
    assert frame.shape == (SMALL_FACES.n_train, 137)
    assert list(frame.columns[1:]) == [str(i) for i in range(136)]
    name = frame.iloc[3, 0]
    key_pts = frame.iloc[3, 1:].to_numpy().astype(float).reshape(-1, 2)
    image = read_image(faces_small / "training" / name)
    assert key_pts.shape == (68, 2) and image.dtype == np.uint8 and image.shape[2] == 3
    names, kps = read_keypoints_csv(faces_small / csv_name("test"))
    assert len(names) == SMALL_FACES.n_test == len(list((faces_small / "test").iterdir()))
    assert kps.shape == (SMALL_FACES.n_test, 68, 2)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path, faces_small):
    again = tmp_path / "again"
    generate_faces(again, SMALL_FACES, workers=1, progress=False)  # other worker count too
    for split in ("training", "test"):
        assert _digest(again, split) == _digest(faces_small, split)
    other = tmp_path / "other"
    generate_faces(other, FacesConfig(n_train=4, n_test=2, seed=7), workers=1, progress=False)
    assert (other / csv_name("training")).read_bytes() != (again / csv_name("training")).read_bytes()


def test_points_inside_image(faces_small):
    for split in ("training", "test"):
        names, kps = read_keypoints_csv(faces_small / csv_name(split))
        for name, kp in zip(names, kps):
            h, w = read_image(faces_small / split / name).shape[:2]
            assert (kp >= 0).all() and (kp[:, 0] <= w - 1).all() and (kp[:, 1] <= h - 1).all(), name


def test_train_and_test_are_disjoint(faces_small):
    def hashes(split):
        return {hashlib.sha256(f.read_bytes()).hexdigest() for f in (faces_small / split).iterdir()}

    train_names, _ = read_keypoints_csv(faces_small / csv_name("training"))
    test_names, _ = read_keypoints_csv(faces_small / csv_name("test"))
    assert not set(train_names) & set(test_names)
    assert not hashes("training") & hashes("test")
    # identities differ: the same index in each split gives a different face shape
    _, kp_train = render_sample(SMALL_FACES, "training", 0)
    _, kp_test = render_sample(SMALL_FACES, "test", 0)
    assert not np.allclose(kp_train, kp_test)


def test_framing_pose_and_scale_vary_like_the_real_set():
    cfg = FacesConfig()
    samples = [render_sample(cfg, "training", i) for i in range(0, 1200, 6)]
    iod = np.array([np.linalg.norm(kp[36] - kp[45]) for _, kp in samples])
    sizes = np.array([img.shape[:2] for img, _ in samples])
    roll = np.degrees([np.arctan2(*(kp[45] - kp[36])[::-1]) for _, kp in samples])
    face_frac = np.array([np.ptp(kp[:, 0]) / img.shape[1] for img, kp in samples])
    assert 38 <= np.median(iod) <= 48  # Udacity's median inter-ocular distance is about 43 px
    assert iod.min() < 30 and iod.max() > 60
    assert sizes.min() < 90 and sizes.max() > 180  # images of varying size
    assert np.percentile(np.abs(roll), 90) > 10  # rolled heads, not all upright
    assert 0.4 < face_frac.min() and face_frac.max() <= 1.0 and np.median(face_frac) < 0.75


def _edge_strength(img: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_points_lie_on_drawn_features(seed):
    """Every keypoint sits on an edge of the drawing; the middle of a cheek does not."""
    rng = np.random.default_rng(seed)
    look = sample_look(rng)
    shape, expr = FaceShape(), Expression(mouth_open=0.1)
    pose = Pose(yaw=rng.uniform(-20, 20), roll=rng.uniform(-15, 15), scale=60, cx=100, cy=90)
    img = np.full((220, 200, 3), 128, np.uint8)
    pts = draw_face(img, shape, expr, pose, look, rng)
    edges = _edge_strength(img)
    near = np.array([edges[int(round(y)) - 2:int(round(y)) + 3, int(round(x)) - 2:int(round(x)) + 3].max()
                     for x, y in pts])
    assert (near > 40).mean() >= 0.97, np.flatnonzero(near <= 40)
    cheek = (pts[3] + pts[31] + pts[40]) / 3  # between jaw, nose and eye: plain skin
    x, y = np.round(cheek).astype(int)
    assert edges[y - 2:y + 3, x - 2:x + 3].max() < 40


def test_template_is_the_ibug_layout():
    pts = face_points_2d(FaceShape())
    assert pts.shape == (68, 2)
    assert np.allclose(pts[[36, 45]], [[-0.5, 0], [0.5, 0]])  # outer eye corners define the unit
    assert (pts[0:17, 0][:8] < 0).all() and (pts[0:17, 0][9:] > 0).all()  # jaw runs left to right
    assert pts[8, 1] == pts[0:17, 1].max()  # chin is the lowest jaw point
    assert (pts[17:27, 1] < pts[36:48, 1].min()).all()  # brows above the eyes
    assert pts[30, 1] < pts[51, 1] < pts[57, 1]  # nose tip above the upper lip above the lower lip
    assert pts[39, 0] < 0 < pts[42, 0]  # inner eye corners either side of the nose
