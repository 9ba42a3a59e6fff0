"""Marked images: the grader's (and the tests') way to see whether keypoints follow the image.

A sample is a black image with one small bright square drawn on one keypoint.
After a transform, the marker's brightness-weighted centre must lie on the
transformed keypoint of the same face part -- whatever interpolation the
transform used.
"""
from __future__ import annotations

import numpy as np

from cvdata.face_layout import Expression, FaceShape, face_points_2d


def face_keypoints(width: int, height: int) -> np.ndarray:
    """A frontal template face placed in a ``width`` x ``height`` image, on pixel centres. (68, 2) pixels."""
    points = face_points_2d(FaceShape(), Expression(mouth_open=0.1, smile=0.05))  # inter-ocular units
    return (np.floor(points * 0.4 * width + [width / 2, height * 0.4]) + 0.5).astype(np.float32)


def marked_sample(point: int, keypoints: np.ndarray, height: int, width: int) -> dict:
    """A black (height, width, 3) uint8 RGB image with a bright 3x3 marker on keypoint ``point``."""
    image = np.zeros((height, width, 3), np.uint8)
    x, y = np.floor(keypoints[point]).astype(int)  # the pixel holding the point
    image[y - 1:y + 2, x - 1:x + 2] = 255
    return {"image": image, "keypoints": keypoints.copy()}


def marker_position(image: np.ndarray) -> np.ndarray | None:
    """Brightness-weighted centre of the marker in keypoint coordinates (pixel i's centre is i + 0.5).

    ``image``: (H, W), (H, W, C) or (C, H, W) with C in {1, 3}. None if the image is blank.
    """
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[2] not in (1, 3):
        array = array.transpose(1, 2, 0)
    gray = array.mean(axis=2) if array.ndim == 3 else array
    if gray.size == 0 or gray.max() <= 0:
        return None
    weights = np.where(gray > 0.25 * gray.max(), gray, 0.0)
    ys, xs = np.indices(gray.shape)
    return np.array([(xs * weights).sum(), (ys * weights).sum()]) / weights.sum() + 0.5
