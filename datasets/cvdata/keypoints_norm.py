"""The course's keypoint normalisation convention, defined once.

Networks read and predict keypoints in *normalised* coordinates::

    normalised = pixel / size * 2 - 1      (x by the image width, y by its height)

so [-1, 1] spans the image from its left/top edge to its right/bottom edge, and
(0, 0) is the image centre. For the 224x224 network input that is
``(p - 112) / 112``. Pixel coordinates are continuous: the image covers
[0, width] x [0, height] (pixel ``i`` has its centre at ``i + 0.5``).

Both functions take NumPy arrays or torch tensors of shape (..., 68, 2) -- or
(..., 136) as a network outputs them, which is read as (..., 68, 2) -- and
return the same type with shape (..., 68, 2).
"""
from __future__ import annotations

import numpy as np


def _points(kp, what: str):
    """``kp`` as float (..., K, 2): NumPy float32 array or floating tensor; (..., 136) is reshaped."""
    if type(kp).__module__.startswith("torch"):
        out = kp if kp.is_floating_point() else kp.float()
    else:
        out = np.asarray(kp, dtype=np.float32)
    if out.ndim >= 1 and out.shape[-1] == 136:
        out = out.reshape(*out.shape[:-1], 68, 2)
    if out.ndim < 2 or out.shape[-1] != 2:
        raise ValueError(f"{what}: expected keypoints of shape (..., 68, 2) or (..., 136), got {tuple(out.shape)}")
    return out


def _check_size(width: float, height: float) -> None:
    if not (width > 0 and height > 0):
        raise ValueError(f"image width and height must be positive, got width={width}, height={height}")


def _affine(kp, scale: tuple[float, float], shift: float):
    """``kp * scale + shift`` per axis, keeping NumPy or torch (dtype and device)."""
    if isinstance(kp, np.ndarray):
        return kp * np.asarray(scale, dtype=kp.dtype) + np.asarray(shift, dtype=kp.dtype)
    import torch

    return kp * torch.tensor(scale, dtype=kp.dtype, device=kp.device) + shift


def normalize_keypoints(kp, width: float, height: float):
    """Pixels -> normalised. (..., 68, 2) in pixels of a ``width`` x ``height`` image -> (..., 68, 2) in [-1, 1]."""
    _check_size(width, height)
    return _affine(_points(kp, "normalize_keypoints"), (2.0 / width, 2.0 / height), -1.0)


def keypoints_to_pixels(kp_norm, width: float, height: float):
    """Normalised -> pixels of a ``width`` x ``height`` image. (..., 68, 2) or (..., 136) -> (..., 68, 2)."""
    _check_size(width, height)
    points = _points(kp_norm, "keypoints_to_pixels")
    return _affine(points + 1.0, (width / 2.0, height / 2.0), 0.0)
