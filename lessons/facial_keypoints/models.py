# GENERATED from solutions/facial_keypoints/models.py by `python -m autograder lessons`.
# Students: fill in the parts marked YOUR CODE HERE.
# Course maintainers: edit solutions/facial_keypoints/models.py, not this file, then regenerate.
"""The keypoint network: a grayscale face in, 68 (x, y) points out.

``Net`` maps a batch of (N, 1, 224, 224) images in [0, 1] to (N, 136) numbers:
x0, y0, x1, y1, ..., x67, y67 in the course's normalised convention
(``cvdata.keypoints_norm``: -1 and 1 are the image edges).

Design, for fast learning on a laptop CPU (where every pixel of a large
feature map costs time):
- a cheap stem shrinks the input early: average pooling (224 -> 112), then a
  strided "patchify" convolution (112 -> 28), so later layers work on small maps;
- stages of 3x3 convolutions with batch norm and ReLU, each ending by halving
  the resolution (28 -> 14 -> 7);
- a modest head: a 1x1 convolution squeezes the 7x7 map to a few channels,
  which one linear layer reads. Where a feature is matters for keypoints, so
  the map is flattened rather than averaged away.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["NetConfig", "Net", "conv_block"]


@dataclass
class NetConfig:
    """Sizes of ``Net``; saved inside checkpoints so a loaded model matches its training."""

    input_size: int = 224  # side of the square input image
    pool: int = 2  # average-pooling factor applied to the input first (224 -> 112)
    stem_stride: int = 4  # kernel and stride of the stem convolution (112 -> 28)
    channels: tuple[int, ...] = (32, 48, 96)  # the stem's, then one stage each (28 -> 14 -> 7)
    convs_per_stage: int = 1  # 3x3 conv blocks per stage before it halves the resolution
    head_channels: int = 32  # channels of the squeezed map the linear layer reads
    dropout: float = 0.0
    n_keypoints: int = 68

    def __post_init__(self):
        self.channels = tuple(self.channels)  # checkpoints and JSON give lists back
        reduction = self.pool * self.stem_stride * 2 ** (len(self.channels) - 1)
        if len(self.channels) < 1 or self.input_size % reduction:
            raise ValueError(
                f"NetConfig: input_size {self.input_size} must be divisible by pool * stem_stride * "
                f"2**(len(channels) - 1) = {reduction}"
            )

    @property
    def feature_side(self) -> int:
        """Side of the last feature map (7 for the defaults)."""
        return self.input_size // (self.pool * self.stem_stride * 2 ** (len(self.channels) - 1))


def conv_block(c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """Convolution, batch norm, ReLU. (N, c_in, H, W) -> (N, c_out, H / stride, W / stride)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=(kernel - stride) // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class Net(nn.Module):
    """CNN keypoint regressor. (N, 1, 224, 224) in [0, 1] -> (N, 136) normalised (x, y) pairs."""

    def __init__(self, config: NetConfig | None = None):
        super().__init__()
        self.config = config = config or NetConfig()
        # YOUR CODE HERE
        raise NotImplementedError("not implemented yet: Net.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 1, 224, 224) grayscale in [0, 1] -> (N, 136) keypoints, normalised."""
        # YOUR CODE HERE
        raise NotImplementedError("not implemented yet: Net.forward")
