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
    ### BEGIN SOLUTION
    pool: int = 2  # average-pooling factor applied to the input first (224 -> 112)
    stem_stride: int = 4  # kernel and stride of the stem convolution (112 -> 28)
    channels: tuple[int, ...] = (32, 48, 96)  # the stem's, then one stage each (28 -> 14 -> 7)
    convs_per_stage: int = 1  # 3x3 conv blocks per stage before it halves the resolution
    head_channels: int = 32  # channels of the squeezed map the linear layer reads
    dropout: float = 0.0

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
    ### END SOLUTION


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
        ### BEGIN SOLUTION
        # The reference design (notebook 2 ends with it as a worked example), for fast learning on a CPU:
        # shrink early (average pooling in forward, then a strided "patchify" stem), stages of 3x3 conv +
        # batch norm + ReLU each ending by halving the resolution, then a 1x1 squeeze to a few channels that one
        # linear layer reads. Where a feature is matters for keypoints, so the map is flattened, not averaged.
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
