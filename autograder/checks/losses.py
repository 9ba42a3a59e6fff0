"""The losses the checks score with, computed in the grader's process from the child's raw outputs.

The child trains with torch's losses, but the student's code could patch them
(or ``float``, or ``Tensor.item``) to report a falling loss; these NumPy versions
of the same formulas -- ``nn.SmoothL1Loss()`` and ``F.cross_entropy``, mean
reduction -- are what decide points.
"""
from __future__ import annotations

import numpy as np


def smooth_l1(predictions, targets) -> float:
    """Mean smooth-L1 (Huber, beta 1) between arrays of the same shape, as ``nn.SmoothL1Loss()``."""
    diff = np.abs(np.asarray(predictions, dtype=np.float64) - np.asarray(targets, dtype=np.float64))
    return float(np.where(diff < 1.0, 0.5 * diff**2, diff - 0.5).mean())


def _log_softmax(scores) -> np.ndarray:
    """Log-probabilities (float64) of ``scores`` (..., V) (logits) over the last axis, computed stably."""
    scores = np.asarray(scores, dtype=np.float64)
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(scores, targets) -> float:
    """Mean cross-entropy of ``scores`` (..., V) (logits) against integer ``targets`` (...), as ``F.cross_entropy``."""
    targets = np.asarray(targets, dtype=np.int64)
    return float(-np.take_along_axis(_log_softmax(scores), targets[..., None], axis=-1).mean())


def masked_cross_entropy(scores, targets, mask) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``scores`` (N, L, V) (logits) against ``targets`` (N, L) over the positions where
    ``mask`` (N, L) is true, and its gradient with respect to ``scores`` (N, L, V): ``(softmax - one_hot) / count``
    at those positions, 0 elsewhere."""
    targets = np.asarray(targets, dtype=np.int64)[..., None]  # (N, L, 1)
    mask = np.asarray(mask, dtype=bool)
    log_probs = _log_softmax(scores)  # (N, L, V)
    nll = -np.take_along_axis(log_probs, targets, axis=-1)[..., 0]  # (N, L)
    count = int(mask.sum())
    gradient = np.exp(log_probs)
    np.put_along_axis(gradient, targets, np.take_along_axis(gradient, targets, axis=-1) - 1, axis=-1)
    return float((nll * mask).sum() / count), gradient * mask[..., None] / count
