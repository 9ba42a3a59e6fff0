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
        ### BEGIN SOLUTION
        c = config.channels
        layers = [conv_block(1, c[0], kernel=config.stem_stride, stride=config.stem_stride)]  # 112 -> 28
        for c_in, c_out in zip(c[:-1], c[1:]):  # each stage: conv(s), then halve
            layers.append(conv_block(c_in, c_out))
            layers += [conv_block(c_out, c_out) for _ in range(config.convs_per_stage - 1)]
            layers.append(nn.MaxPool2d(2))
        layers.append(conv_block(c[-1], config.head_channels, kernel=1))  # squeeze: few channels
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(config.dropout),
            nn.Linear(config.head_channels * config.feature_side ** 2, 2 * config.n_keypoints),
        )
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 1, 224, 224) grayscale in [0, 1] -> (N, 136) keypoints, normalised."""
        ### BEGIN SOLUTION
        if self.config.pool > 1:
            x = F.avg_pool2d(x, self.config.pool)  # (N, 1, 112, 112)
        x = self.features(x)  # (N, head_channels, 7, 7)
        return self.head(x)  # (N, 136)
        ### END SOLUTION
