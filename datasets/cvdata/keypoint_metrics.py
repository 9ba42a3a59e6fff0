"""Keypoint accuracy: NME, the 300-W inter-ocular convention, and the CED curve, AUC and failure rate at 0.1.

For one image, NME is the mean Euclidean distance between predicted and true
points divided by the distance between the outer eye corners (points 36 and 45)
of the TRUE shape; a data set's NME is the mean over its images. It does not
depend on the unit, as long as prediction and truth share one frame (pixels of
one image, or the normalised convention of one square input). Predicting the
average face gives about 0.21 on the synthetic test split (``make bench-faces``);
good detectors reach a few hundredths.

The landmark literature (300-W, PFLD, HRNet) reports beside it the cumulative
error distribution (CED: the fraction of images with NME at most e, for e from
0 to 0.1), the area under that curve up to 0.1 divided by 0.1 (AUC@0.1), and
the failure rate (the fraction of images with NME above 0.1); these take the
per-image NMEs.

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


FAILURE_THRESHOLD = 0.1
"""The 300-W convention: an image whose NME is above 0.1 is a failure; AUC and CED stop there."""


def _errors(errors) -> np.ndarray:
    """Per-image errors as a float64 (N,) array; ValueError for an empty, non-1-D or non-finite input."""
    arr = np.asarray(errors, dtype=np.float64)
    if arr.ndim != 1 or len(arr) == 0:
        raise ValueError(f"errors: expected a non-empty 1-D array of per-image NMEs, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError("errors: every per-image NME must be a finite, non-negative number")
    return arr


def _threshold(threshold: float) -> float:
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    return float(threshold)


def ced_curve(errors, threshold: float = FAILURE_THRESHOLD, steps: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """The cumulative error distribution: for each of ``steps`` errors from 0 to ``threshold``, the fraction of
    images whose NME is at most it. errors: (N,) per-image NME -> ``(thresholds (steps,), fractions (steps,))``."""
    arr, limit = np.sort(_errors(errors)), _threshold(threshold)
    grid = np.linspace(0.0, limit, steps)
    return grid, np.searchsorted(arr, grid, side="right") / len(arr)


def auc_at(errors, threshold: float = FAILURE_THRESHOLD) -> float:
    """Area under the CED curve from 0 to ``threshold``, divided by ``threshold`` (1 = every image perfect).

    Computed exactly, not on a grid: the CED is a step function, and its area is
    ``mean(max(0, threshold - e_i))``. errors: (N,) per-image NME -> float in [0, 1]."""
    arr, limit = _errors(errors), _threshold(threshold)
    return float(np.clip(1.0 - arr / limit, 0.0, None).mean())


def failure_rate(errors, threshold: float = FAILURE_THRESHOLD) -> float:
    """The fraction of images whose NME is above ``threshold``. errors: (N,) -> float in [0, 1]."""
    arr, limit = _errors(errors), _threshold(threshold)
    return float((arr > limit).mean())
