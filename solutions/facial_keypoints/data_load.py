"""Facial keypoints data: the dataset and the transforms that keep keypoints on the face.

A sample is a dict ``{"image": ..., "keypoints": ...}``. Straight from the
dataset, ``image`` is an (H, W, 3) uint8 RGB array and ``keypoints`` a (68, 2)
float32 array of (x, y) pixel coordinates (the image covers [0, W] x [0, H]).
Every transform takes a sample and returns a new one; each geometric change of
the image is applied to the keypoints too.

After ``Normalize`` and ``ToTensor`` the network sees a (1, 224, 224) float
tensor in [0, 1] and keypoints in the course's normalised convention
(``cvdata.keypoints_norm``): pixel / size * 2 - 1 per axis, so [-1, 1] spans
the image; ``keypoints_to_pixels`` turns predictions back into pixels.

Random transforms take an optional ``rng`` (a ``numpy.random.Generator``) for
reproducible results; without one they use NumPy's global generator, which
``cvdata.runtime.seed_everything`` seeds and DataLoader workers re-seed.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from cvdata.face_layout import MIRRORED_INDEX
from cvdata.images import read_image
from cvdata.keypoints_norm import keypoints_to_pixels, normalize_keypoints
from cvdata.keypoints_table import read_keypoints_csv

__all__ = [
    "FacialKeypointsDataset", "Rescale", "RandomCrop", "CenterCrop", "RandomRotate", "ColorJitter",
    "RandomHorizontalFlip", "Normalize", "ToTensor", "train_transform", "test_transform",
    "keypoints_to_pixels", "INPUT_SIZE",
]

INPUT_SIZE = 224
"""Side of the square image the network reads."""


# ----------------------------------------------------------------------------
# Small helpers (given): random numbers and sizes
# ----------------------------------------------------------------------------
def _uniform(rng: np.random.Generator | None, low: float, high: float) -> float:
    """A float drawn uniformly from [low, high), from ``rng`` or NumPy's global generator."""
    return float(rng.uniform(low, high) if rng is not None else np.random.uniform(low, high))


def _integer(rng: np.random.Generator | None, high: int) -> int:
    """An int drawn uniformly from 0 .. high - 1."""
    return int(rng.integers(0, high) if rng is not None else np.random.randint(0, high))


def _pair(size: int | tuple[int, int], what: str) -> tuple[int, int]:
    """``size`` as (height, width); an int means a square."""
    pair = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(pair) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in pair):
        raise ValueError(f"{what}: output_size must be a positive int or a (height, width) pair, got {size!r}")
    return int(pair[0]), int(pair[1])


def _check_crop(image: np.ndarray, height: int, width: int, what: str) -> None:
    h, w = image.shape[:2]
    if h < height or w < width:
        raise ValueError(f"{what}: cannot cut a {height}x{width} crop from a {h}x{w} image; Rescale it first")


# ----------------------------------------------------------------------------
# The dataset
# ----------------------------------------------------------------------------
class FacialKeypointsDataset(Dataset):
    """Faces and their 68 keypoints, read from a Udacity-format CSV and an image folder.

    Args:
        csv_file: CSV with a header, then one row per image: file name, x0, y0, ..., x67, y67.
        root_dir: folder holding the images named in the CSV.
        transform: optional callable applied to each sample dict.

    ``dataset[i]`` is ``{"image": (H, W, 3) uint8 RGB, "keypoints": (68, 2) float32 pixels}``
    before ``transform``. A missing or malformed CSV or image raises ``cvdata.errors.DataError``.
    """

    def __init__(self, csv_file: str | Path, root_dir: str | Path, transform=None):
        self.names, self.keypoints = read_keypoints_csv(csv_file)  # list[str], (N, 68, 2) float32
        self.root_dir = Path(root_dir)
        self.transform = transform

    def __len__(self) -> int:
        """Number of images."""
        ### BEGIN SOLUTION
        return len(self.names)
        ### END SOLUTION

    def __getitem__(self, idx: int) -> dict:
        """Sample ``idx``: read the image (``read_image``) and copy its keypoints, then apply ``transform``."""
        ### BEGIN SOLUTION
        image = read_image(self.root_dir / self.names[idx])  # (H, W, 3) uint8 RGB
        sample = {"image": image, "keypoints": self.keypoints[idx].copy()}  # (68, 2) pixels
        if self.transform is not None:
            sample = self.transform(sample)
        return sample
        ### END SOLUTION


# ----------------------------------------------------------------------------
# Geometric transforms: the keypoints move with the image
# ----------------------------------------------------------------------------
class Rescale:
    """Resize the image; scale the keypoints by the same factors.

    ``output_size``: an int resizes the SHORTER side to it, keeping the aspect
    ratio; a (height, width) tuple resizes to exactly that size.
    """

    def __init__(self, output_size: int | tuple[int, int]):
        if not isinstance(output_size, (int, np.integer)):
            _pair(output_size, "Rescale")
        elif output_size <= 0:
            raise ValueError(f"Rescale: output_size must be positive, got {output_size}")
        self.output_size = output_size

    def __call__(self, sample: dict) -> dict:
        image, keypoints = sample["image"], sample["keypoints"]
        ### BEGIN SOLUTION
        h, w = image.shape[:2]
        if isinstance(self.output_size, (int, np.integer)):
            short = self.output_size
            new_h, new_w = (round(short * h / w), short) if h > w else (short, round(short * w / h))
        else:
            new_h, new_w = self.output_size
        shrink = new_h * new_w < h * w
        resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        scale = np.array([new_w / w, new_h / h], dtype=np.float32)
        return {"image": resized, "keypoints": keypoints * scale}  # (new_h, new_w, ...), (68, 2)
        ### END SOLUTION


class RandomCrop:
    """Cut a random ``output_size`` window (int: square; or (height, width)); shift the keypoints."""

    def __init__(self, output_size: int | tuple[int, int], rng: np.random.Generator | None = None):
        self.output_size = _pair(output_size, "RandomCrop")
        self.rng = rng

    def __call__(self, sample: dict) -> dict:
        image, keypoints = sample["image"], sample["keypoints"]
        new_h, new_w = self.output_size
        _check_crop(image, new_h, new_w, "RandomCrop")
        ### BEGIN SOLUTION
        h, w = image.shape[:2]
        top = _integer(self.rng, h - new_h + 1)
        left = _integer(self.rng, w - new_w + 1)
        cropped = image[top:top + new_h, left:left + new_w]
        return {"image": cropped, "keypoints": keypoints - np.array([left, top], dtype=np.float32)}
        ### END SOLUTION


class CenterCrop:
    """Cut the central ``output_size`` window (int: square; or (height, width)); shift the keypoints."""

    def __init__(self, output_size: int | tuple[int, int]):
        self.output_size = _pair(output_size, "CenterCrop")

    def __call__(self, sample: dict) -> dict:
        image, keypoints = sample["image"], sample["keypoints"]
        new_h, new_w = self.output_size
        _check_crop(image, new_h, new_w, "CenterCrop")
        ### BEGIN SOLUTION
        h, w = image.shape[:2]
        top, left = (h - new_h) // 2, (w - new_w) // 2
        cropped = image[top:top + new_h, left:left + new_w]
        return {"image": cropped, "keypoints": keypoints - np.array([left, top], dtype=np.float32)}
        ### END SOLUTION


class RandomRotate:
    """Rotate the image about its centre by an angle drawn from [-max_degrees, max_degrees].

    Positive angles turn the picture counter-clockwise (OpenCV's convention); the
    keypoints turn with it. The corners are filled by repeating the border.
    """

    def __init__(self, max_degrees: float, rng: np.random.Generator | None = None):
        if max_degrees < 0:
            raise ValueError(f"RandomRotate: max_degrees must be >= 0, got {max_degrees}")
        self.max_degrees = float(max_degrees)
        self.rng = rng

    def __call__(self, sample: dict) -> dict:
        image, keypoints = sample["image"], sample["keypoints"]
        angle = _uniform(self.rng, -self.max_degrees, self.max_degrees)
        ### BEGIN SOLUTION
        h, w = image.shape[:2]
        # OpenCV indexes pixel centres (pixel i sits at i); keypoints put it at i + 0.5.
        matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)  # (2, 3)
        rotated = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        centre = np.array([w / 2, h / 2], dtype=np.float32)
        turn = matrix[:, :2].astype(np.float32)  # (2, 2)
        return {"image": rotated, "keypoints": (keypoints - centre) @ turn.T + centre}  # (68, 2)
        ### END SOLUTION


class RandomHorizontalFlip:
    """With probability ``p``, mirror the image left-right.

    The keypoints' x becomes ``width - x`` AND the points are renumbered with
    ``MIRRORED_INDEX``: the mirrored subject's right eye is now on the image's
    left, so it must be called points 36-41 again.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p
        self.rng = rng

    def __call__(self, sample: dict) -> dict:
        image, keypoints = sample["image"], sample["keypoints"]
        if _uniform(self.rng, 0.0, 1.0) >= self.p:
            return {"image": image, "keypoints": keypoints}
        ### BEGIN SOLUTION
        w = image.shape[1]
        flipped = cv2.flip(image, 1)  # (H, W, ...) mirrored left-right
        mirrored = keypoints.copy()
        mirrored[:, 0] = w - mirrored[:, 0]
        return {"image": flipped, "keypoints": mirrored[list(MIRRORED_INDEX)]}  # (68, 2)
        ### END SOLUTION


# ----------------------------------------------------------------------------
# Photometric and format transforms
# ----------------------------------------------------------------------------
class ColorJitter:
    """Scale brightness by a factor in [1 - brightness, 1 + brightness] and contrast likewise.

    Image only (uint8 in [0, 255] or float in [0, 1], same dtype out); keypoints unchanged.
    """

    def __init__(self, brightness: float = 0.3, contrast: float = 0.3, rng: np.random.Generator | None = None):
        if not (0 <= brightness < 1 and 0 <= contrast < 1):
            raise ValueError(f"ColorJitter: brightness and contrast must be in [0, 1), got {brightness}, {contrast}")
        self.brightness, self.contrast = brightness, contrast
        self.rng = rng

    def __call__(self, sample: dict) -> dict:
        image, keypoints = sample["image"], sample["keypoints"]
        gain = _uniform(self.rng, 1 - self.brightness, 1 + self.brightness)
        stretch = _uniform(self.rng, 1 - self.contrast, 1 + self.contrast)
        ### BEGIN SOLUTION
        top = 255.0 if image.dtype == np.uint8 else 1.0
        pixels = image.astype(np.float32)
        mean = pixels.mean()
        pixels = ((pixels - mean) * stretch + mean) * gain
        out = np.clip(pixels, 0.0, top).astype(image.dtype)
        return {"image": out, "keypoints": keypoints}
        ### END SOLUTION


class Normalize:
    """Grayscale image in [0, 1] and keypoints in the normalised convention of THIS image's size.

    (H, W, 3) uint8 RGB -> (H, W) float32 in [0, 1]; (68, 2) pixels -> (68, 2) in
    about [-1, 1] (``normalize_keypoints(kp, W, H)``). A grayscale (H, W) uint8 image is accepted too.
    """

    def __call__(self, sample: dict) -> dict:
        image, keypoints = sample["image"], sample["keypoints"]
        ### BEGIN SOLUTION
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image  # (H, W) uint8
        h, w = gray.shape
        return {
            "image": gray.astype(np.float32) / 255.0,  # (H, W) in [0, 1]
            "keypoints": normalize_keypoints(keypoints, w, h),  # (68, 2) in about [-1, 1]
        }
        ### END SOLUTION


class ToTensor:
    """NumPy sample -> torch: image (H, W) or (H, W, C) -> (C, H, W) float32; keypoints -> (68, 2) float32."""

    def __call__(self, sample: dict) -> dict:
        image, keypoints = sample["image"], sample["keypoints"]
        ### BEGIN SOLUTION
        if image.ndim == 2:
            image = image[:, :, None]  # (H, W, 1)
        chw = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)  # (C, H, W)
        return {
            "image": torch.from_numpy(chw),
            "keypoints": torch.from_numpy(np.asarray(keypoints, dtype=np.float32).copy()),  # (68, 2)
        }
        ### END SOLUTION


# ----------------------------------------------------------------------------
# The pipelines the course trains and tests with (given)
# ----------------------------------------------------------------------------
def _compose(steps: list):
    """``torchvision.transforms.Compose(steps)``: the steps applied in turn. torchvision is imported here rather than
    at the top of the file because it takes over a second to import and only the two pipelines below need it."""
    from torchvision import transforms

    return transforms.Compose(steps)


def train_transform():
    """Training pipeline (a torchvision ``Compose``): raw sample -> image (1, 224, 224) in [0, 1], keypoints (68, 2)
    normalised.

    The whole face stays in view: resize (squash) to 240x240, turn a little, cut a
    random 224x224 window, mirror half the time, go gray, vary brightness and contrast.
    """
    return _compose([
        Rescale((240, 240)),
        RandomRotate(10),
        RandomCrop(INPUT_SIZE),
        RandomHorizontalFlip(0.5),
        Normalize(),
        ColorJitter(0.3, 0.3),
        ToTensor(),
    ])


def test_transform():
    """Evaluation pipeline (a torchvision ``Compose``), deterministic: the same scale as training, the central
    224x224 window."""
    return _compose([Rescale((240, 240)), CenterCrop(INPUT_SIZE), Normalize(), ToTensor()])
