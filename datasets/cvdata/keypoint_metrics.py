"""Keypoint accuracy: NME, the 300-W inter-ocular convention.

For one image, NME is the mean Euclidean distance between predicted and true
points divided by the distance between the outer eye corners (points 36 and 45)
of the TRUE shape; a data set's NME is the mean over its images. It does not
depend on the unit, as long as prediction and truth share one frame (pixels of
one image, or the normalised convention of one square input). About 0.5 is what
predicting the average face gives; good detectors reach a few hundredths.

Inputs: NumPy arrays or torch tensors of shape (N, 68, 2), (68, 2) or (N, 136).
"""
from __future__ import annotations

import numpy as np

from .face_layout import N_POINTS, OUTER_EYE_CORNERS


def _as_batch(points, name: str) -> np.ndarray:
    """``points`` as a float64 (N, 68, 2) array; ValueError naming ``name`` on another shape."""
    if hasattr(points, "detach"):  # a torch tensor
        points = points.detach().cpu().numpy()
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 2 and arr.shape == (N_POINTS, 2):
        arr = arr[None]
    elif arr.ndim == 2 and arr.shape[1] == 2 * N_POINTS:
        arr = arr.reshape(-1, N_POINTS, 2)
    if arr.ndim != 3 or arr.shape[1:] != (N_POINTS, 2):
        raise ValueError(f"{name}: expected keypoints of shape (N, 68, 2), (68, 2) or (N, 136), got {arr.shape}")
    if len(arr) == 0:
        raise ValueError(f"{name}: no images (shape {arr.shape})")
    return arr


def per_image_nme(pred, true) -> np.ndarray:
    """NME of each image. pred, true: (N, 68, 2) -> (N,) float64."""
    p, t = _as_batch(pred, "pred"), _as_batch(true, "true")
    if p.shape != t.shape:
        raise ValueError(f"pred and true must have the same shape, got {p.shape} and {t.shape}")
    a, b = OUTER_EYE_CORNERS
    iod = np.linalg.norm(t[:, a] - t[:, b], axis=-1)  # (N,)
    if np.any(iod <= 0):
        bad = np.flatnonzero(iod <= 0).tolist()[:5]
        raise ValueError(f"true: points {a} and {b} coincide (zero inter-ocular distance) in image(s) {bad}")
    return np.linalg.norm(p - t, axis=-1).mean(axis=1) / iod  # (N,)


def nme(pred, true) -> float:
    """Mean NME over images. pred, true: (N, 68, 2) (or (68, 2) for one image) -> float."""
    return float(per_image_nme(pred, true).mean())


def mean_shape(train) -> np.ndarray:
    """The average face of a training set. (N, 68, 2) -> (68, 2)."""
    return _as_batch(train, "train").mean(axis=0)


def mean_shape_baseline(train, test) -> float:
    """NME of predicting the training set's average face for every test image.

    ``train`` (N, 68, 2) and ``test`` (M, 68, 2) must share one frame, e.g. the
    normalised convention of the network input. The floor any model must beat.
    """
    truth = _as_batch(test, "test")
    guess = np.broadcast_to(mean_shape(train), truth.shape)  # (M, 68, 2)
    return nme(guess, truth)
