"""Where the encoder's backbone and its weights come from.

Two pretrained sources, one rule (``load_backbone``):

- ``"imagenet"``: torchvision's ResNet-50 with ImageNet weights (224-pixel images). What
  the paper and Udacity's project use; torchvision downloads the weights once
  (``python -m cvdata fetch imagenet``), and offline without them you get one clear line.
- ``"shapes"``: the course's own stand-in, a ResNet-18 pretrained on shapes-world labels
  (colours, shapes, colour-shape pairs, object counts) at 64 pixels by
  ``python -m cvdata pretrain`` (``cvdata.shapes_backbone``), cached beside the data.
- ``"auto"`` (the default): ImageNet when its weights are already on this machine, else the shapes backbone.

``pretrained=False`` builds the same architecture with random weights and reads or
downloads nothing (for shape checks, and to load a saved checkpoint into).
"""
from __future__ import annotations

import urllib.error
from dataclasses import dataclass
from pathlib import Path

import torch.nn as nn
import torchvision

from cvdata.fetch import imagenet_weights
from cvdata.shapes_backbone import (
    BackboneConfig,
    backbone_path,
    build_resnet,
    describe,
    ensure_backbone,
    feature_size,
    read_backbone,
)

SOURCES = ("auto", "imagenet", "shapes")
IMAGENET_ARCH, IMAGENET_SIZE = "resnet50", 224
IMAGENET_WEIGHTS = torchvision.models.ResNet50_Weights.IMAGENET1K_V1


class PretrainedWeightsError(RuntimeError):
    """ImageNet weights for ResNet-50 could not be loaded (usually: offline)."""


@dataclass
class Backbone:
    """A torchvision ResNet without its classifier (``fc`` is ``Identity``) and what it is."""

    net: nn.Module
    source: str
    """"imagenet" or "shapes" (never "auto": this is what was chosen)."""
    arch: str
    """The torchvision constructor, e.g. "resnet18"."""
    features: int
    """Channels of the pooled feature: ``net(images (N, 3, S, S)) -> (N, features)``."""
    image_size: int
    """Side of the images the weights were trained on: feed the encoder this size."""
    description: str


def resolve_source(source: str = "auto") -> str:
    """``"imagenet"`` or ``"shapes"``: ``"auto"`` picks ImageNet only when its weights are already here."""
    if source not in SOURCES:
        raise ValueError(f"weights must be one of {SOURCES}, got {source!r}")
    if source == "auto":
        return "imagenet" if imagenet_weights()[1].is_file() else "shapes"
    return source


def _shapes_config(path: Path, arch: str | None) -> BackboneConfig:
    """The cached shapes backbone's config if there is one (of architecture ``arch``), else the default."""
    try:
        config = BackboneConfig.from_dict(read_backbone(path)["config"])
    except Exception:  # noqa: BLE001 -- a missing or unreadable cache: the default config (rebuilt on use)
        config = BackboneConfig()
    return config if arch in (None, config.arch) else BackboneConfig(arch=arch)


def _imagenet(pretrained: bool) -> nn.Module:
    if not pretrained:
        return torchvision.models.resnet50(weights=None)
    try:
        return torchvision.models.resnet50(weights=IMAGENET_WEIGHTS)
    except (urllib.error.URLError, OSError, RuntimeError) as err:
        reason = str(getattr(err, "reason", err)).splitlines()[0] if str(err) else type(err).__name__
        raise PretrainedWeightsError(
            f"cannot load ImageNet weights for ResNet-50 ({IMAGENET_WEIGHTS.url}): {reason}; offline? use the "
            "course's shapes-world backbone: EncoderCNN(..., weights='shapes')") from None


def load_backbone(pretrained: bool = True, weights: str = "auto", arch: str | None = None,
                  verbose: bool = True) -> Backbone:
    """The backbone for ``EncoderCNN``: ``weights`` in ``SOURCES``; says which in one printed line.

    ``arch``: the torchvision ResNet (default: resnet50 for ImageNet, the cached shapes
    backbone's, else ``BackboneConfig.arch``). With ``pretrained`` and the shapes source, the
    cached backbone is used, pretrained first (minutes, with a progress bar) if it is missing,
    stale or of another architecture.
    """
    source = resolve_source(weights)
    if source == "imagenet":
        if arch not in (None, IMAGENET_ARCH):
            raise ValueError(f"ImageNet weights are for {IMAGENET_ARCH}, not {arch}")
        net = _imagenet(pretrained)
        net.fc = nn.Identity()
        description = "ImageNet ResNet-50 (torchvision IMAGENET1K_V1)" if pretrained else "random ResNet-50"
        backbone = Backbone(net, source, IMAGENET_ARCH, feature_size(IMAGENET_ARCH), IMAGENET_SIZE, description)
    else:
        path = backbone_path()
        config = _shapes_config(path, arch) if pretrained or arch is None else BackboneConfig(arch=arch)
        net = build_resnet(config.arch)
        description = f"random {config.arch}"
        if pretrained:
            path = ensure_backbone(config=config)  # rebuilt if missing or stale
            record = read_backbone(path)
            net.load_state_dict(record["state_dict"])
            description = f"the course's shapes-world backbone: {describe(record)}"
        backbone = Backbone(net, source, config.arch, feature_size(config.arch), config.image_size, description)
    if verbose and pretrained:
        print(f"EncoderCNN backbone: {backbone.description}", flush=True)
    return backbone



def input_size(weights: str = "auto") -> int:
    """Side of the images the backbone that ``weights`` resolves to was trained on (224 ImageNet, 64 shapes),
    without building it: what to give ``default_transform`` before the encoder exists."""
    if resolve_source(weights) == "imagenet":
        return IMAGENET_SIZE
    return _shapes_config(backbone_path(), None).image_size
