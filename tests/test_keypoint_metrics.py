"""NME (300-W inter-ocular), CED / AUC@0.1 / failure rate, and the keypoint normalisation convention, against
hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cvdata.keypoint_metrics import auc_at, ced_curve, failure_rate, mean_shape, mean_shape_baseline, nme, per_image_nme
from cvdata.keypoints_norm import keypoints_to_pixels, normalize_keypoints


def _shape(iod: float = 10.0) -> np.ndarray:
    """68 points with the outer eye corners (36, 45) ``iod`` apart. (68, 2)."""
    points = np.arange(136, dtype=np.float64).reshape(68, 2)
    points[36], points[45] = [0.0, 0.0], [iod, 0.0]
    return points


def test_nme_hand_computed():
    true = _shape(10.0)
    pred = true + [3.0, 4.0]  # every point 5 px off; 5 / 10
    assert nme(pred, true) == pytest.approx(0.5)
    half = true.copy()
    half[:34] += [0.0, 2.0]  # half the points 2 px off: mean error 1 px
    assert nme(half, true) == pytest.approx(0.1)


def test_nme_uses_the_true_shape_for_the_inter_ocular_distance():
    true = _shape(20.0)
    pred = true.copy()
    pred[45] = [40.0, 0.0]  # a wrong eye corner must not change the denominator
    assert nme(pred, true) == pytest.approx(20.0 / 68 / 20.0)


def test_per_image_nme_and_batch_mean():
    true = np.stack([_shape(10.0), _shape(4.0)])  # (2, 68, 2)
    pred = true + [[[1.0, 0.0]], [[0.0, 2.0]]]
    np.testing.assert_allclose(per_image_nme(pred, true), [0.1, 0.5])
    assert nme(pred, true) == pytest.approx(0.3)


def test_nme_accepts_tensors_and_flat_rows():
    true = np.stack([_shape(10.0), _shape(5.0)])
    pred = true + 1.0
    expected = nme(pred, true)
    assert nme(torch.tensor(pred), torch.tensor(true)) == pytest.approx(expected)
    assert nme(pred.reshape(2, 136), true.reshape(2, 136)) == pytest.approx(expected)
    assert nme(pred[0], true[0]) == pytest.approx(np.sqrt(2) / 10)


@pytest.mark.parametrize("bad", [np.zeros((68, 3)), np.zeros((2, 67, 2)), np.zeros(136), np.zeros((0, 68, 2))])
def test_wrong_shapes_are_clear_errors(bad):
    with pytest.raises(ValueError, match="expected keypoints of shape|no images"):
        nme(bad, bad)


def test_mismatched_shapes_and_zero_iod_are_clear_errors():
    with pytest.raises(ValueError, match="same shape"):
        nme(np.zeros((2, 68, 2)), np.stack([_shape()] * 3))
    with pytest.raises(ValueError, match="inter-ocular"):
        nme(np.zeros((68, 2)), np.zeros((68, 2)))


def test_mean_shape_baseline():
    a, b = _shape(10.0), _shape(10.0) + [0.0, 2.0]
    np.testing.assert_allclose(mean_shape(np.stack([a, b])), a + [0.0, 1.0])
    assert mean_shape_baseline(np.stack([a, b]), np.stack([a + [0.0, 1.0]])) == pytest.approx(0.0)
    assert mean_shape_baseline(np.stack([a, b]), np.stack([a, b])) == pytest.approx(0.1)


def test_ced_auc_and_failure_rate_hand_computed():
    errors = [0.01, 0.03, 0.2, 0.06]  # per-image NMEs of four faces
    thresholds, fractions = ced_curve(errors, 0.1, steps=5)  # at 0, 0.025, 0.05, 0.075, 0.1
    np.testing.assert_allclose(thresholds, [0.0, 0.025, 0.05, 0.075, 0.1])
    np.testing.assert_allclose(fractions, [0.0, 0.25, 0.5, 0.75, 0.75])
    # AUC: the mean of (1 - e / 0.1) over faces below 0.1, 0 for the others: (0.9 + 0.7 + 0 + 0.4) / 4
    assert auc_at(errors, 0.1) == pytest.approx(0.5)
    assert failure_rate(errors, 0.1) == pytest.approx(0.25)  # one face of four above 0.1
    fine_t, fine_f = ced_curve(errors, 0.1, steps=20001)
    assert np.sum(fine_f[:-1] * np.diff(fine_t)) / 0.1 == pytest.approx(0.5, abs=1e-3), "the plotted curve's area"
    assert failure_rate([0.1]) == 0.0 and auc_at([0.1]) == 0.0 and auc_at([0.0, 0.0]) == 1.0


@pytest.mark.parametrize("bad", [[], [[0.1]], [float("nan")], [-0.1]])
def test_ced_bad_input_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="errors"):
        auc_at(bad)
    with pytest.raises(ValueError, match="threshold"):
        failure_rate([0.1], threshold=0)


def test_normalisation_convention():
    pixels = np.array([[0.0, 0.0], [224.0, 224.0], [112.0, 56.0]], np.float32)
    np.testing.assert_allclose(normalize_keypoints(pixels, 224, 224), (pixels - 112) / 112)
    # x by the width, y by the height
    np.testing.assert_allclose(normalize_keypoints([[50.0, 50.0]], 100, 200), [[0.0, -0.5]])
    np.testing.assert_allclose(keypoints_to_pixels([[0.0, -0.5]], 100, 200), [[50.0, 50.0]])


def test_normalisation_round_trip_numpy_and_torch():
    rng = np.random.default_rng(0)
    pixels = rng.uniform(0, 150, size=(3, 68, 2)).astype(np.float32)
    norm = normalize_keypoints(pixels, 150, 120)
    assert isinstance(norm, np.ndarray) and norm.shape == (3, 68, 2) and norm.dtype == np.float32
    np.testing.assert_allclose(keypoints_to_pixels(norm, 150, 120), pixels, rtol=1e-5, atol=1e-4)
    t = torch.from_numpy(norm)
    back = keypoints_to_pixels(t.reshape(3, 136), 150, 120)  # a network's (N, 136) output
    assert isinstance(back, torch.Tensor) and back.shape == (3, 68, 2)
    np.testing.assert_allclose(back.numpy(), pixels, rtol=1e-5, atol=1e-4)


def test_normalisation_bad_input():
    with pytest.raises(ValueError, match="shape"):
        normalize_keypoints(np.zeros((68, 3)), 10, 10)
    with pytest.raises(ValueError, match="positive"):
        keypoints_to_pixels(np.zeros((68, 2)), 0, 10)
