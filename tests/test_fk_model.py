"""The keypoint network's contract: (N, 1, 224, 224) -> (N, 136), config in checkpoints."""
from __future__ import annotations

import pytest
import torch
from fk_project import LESSON_DIR, import_project

models = import_project(names=("models",)).models


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_output_shape(batch):
    net = models.Net().eval()
    with torch.no_grad():
        out = net(torch.rand(batch, 1, 224, 224))
    assert out.shape == (batch, 136) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_batch_of_one_trains():
    net = models.Net().train()
    out = net(torch.rand(2, 1, 224, 224))
    out.abs().mean().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_config_sizes_the_network():
    small = models.Net(models.NetConfig(channels=(8, 16, 32), head_channels=8))
    default = models.Net()
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(small) < count(default) < 2_000_000  # no giant fully connected layer
    assert small(torch.rand(2, 1, 224, 224)).shape == (2, 136)


def test_config_rejects_sizes_that_do_not_divide():
    with pytest.raises(ValueError, match="divisible"):
        models.NetConfig(channels=(8, 16, 32, 64, 128, 256))


def test_lesson_models_import_and_stub_raises():
    lesson = import_project(LESSON_DIR, names=("models",)).models
    # the design's sizes are the student's: the lesson's config holds only the contract
    assert vars(lesson.NetConfig()) == {"input_size": 224, "n_keypoints": 68}
    with pytest.raises(NotImplementedError, match="not implemented yet: Net.__init__"):
        lesson.Net()
