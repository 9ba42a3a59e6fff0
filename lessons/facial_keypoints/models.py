# GENERATED from solutions/facial_keypoints/models.py by `python -m autograder lessons`.
# Students: fill in the parts marked YOUR CODE HERE.
# Course maintainers: edit solutions/facial_keypoints/models.py, not this file, then regenerate.
"""The keypoint network: a grayscale face in, 68 (x, y) points out. You design it.

The contract (what the grader and notebooks 3 and 4 rely on): ``Net(config)``
maps a batch of (N, 1, 224, 224) images in [0, 1] to (N, 136) numbers,
x0, y0, x1, y1, ..., x67, y67 in the course's normalised convention
(``cvdata.keypoints_norm``: -1 and 1 are the image edges), and ``Net()`` builds
it with the default ``NetConfig``. Everything else is your decision: the
layers, their sizes, pooling, normalisation, dropout. Put the sizes in
``NetConfig`` (fields with defaults): it is saved inside every checkpoint, so a
loaded model is rebuilt exactly as it was trained.

The grader checks outcomes, never one architecture: the shapes, that the loss
falls in a short training run, and the accuracy (NME) of your saved model on
faces it has not seen. Notebook 2 trains it for a few minutes on a CPU, where
every pixel of a large feature map costs time; it ends with one worked design
to compare yours with.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["NetConfig", "Net", "conv_block"]


@dataclass
class NetConfig:
    """Sizes of ``Net``: yours to choose. Saved inside checkpoints so a loaded model matches its training."""

    input_size: int = 224  # side of the square input image (the contract: keep it)
    n_keypoints: int = 68  # the contract: 2 * 68 = 136 outputs
    # YOUR CODE HERE
    pass  # your fields (with defaults) and methods


def conv_block(c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """Convolution, batch norm, ReLU: a building block you may use.

    (N, c_in, H, W) -> (N, c_out, H / stride, W / stride).
    """
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=(kernel - stride) // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class Net(nn.Module):
    """CNN keypoint regressor of your design. (N, 1, 224, 224) in [0, 1] -> (N, 136) normalised (x, y) pairs.

    ``__init__`` builds the layers from ``config`` (sizes in ``NetConfig``); ``forward`` runs them.
    """

    def __init__(self, config: NetConfig | None = None):
        super().__init__()
        self.config = config = config or NetConfig()
        # YOUR CODE HERE
        raise NotImplementedError("not implemented yet: Net.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 1, 224, 224) grayscale in [0, 1] -> (N, 136) keypoints, normalised."""
        # YOUR CODE HERE
        raise NotImplementedError("not implemented yet: Net.forward")
