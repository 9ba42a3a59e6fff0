"""Reading images with a clear error for a missing or corrupt file."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .errors import DataError


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB. Returns an (H, W, 3) uint8 array.

    Grayscale images are repeated to three channels and an alpha channel is
    dropped (a few of Udacity's images have one). Raises ``DataError`` naming
    the file when it is missing or cannot be decoded.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "image file not found")
    data = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise DataError(path, "not a readable image (corrupt or unsupported format)")
    if img.dtype != np.uint8:
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(float(img.max()), 1.0))
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


DRAW_SHIFT = 4
"""Sub-pixel bits of cv2's anti-aliased drawing (``shift``): coordinates are given in 1/16 pixel."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_transform(image_size: int):
    """(H, W, 3) uint8 array or PIL image -> ``(3, image_size, image_size)`` float tensor.

    Resize the shorter side (antialiased), centre crop, ImageNet's mean and standard
    deviation: what a torchvision ResNet expects. The captioning loaders and the
    course's backbone pretraining share this one definition.
    """
    from torchvision import transforms

    return transforms.Compose([
        transforms.ToTensor(),
        transforms.Resize(image_size, antialias=True),
        transforms.CenterCrop(image_size),
        transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])
