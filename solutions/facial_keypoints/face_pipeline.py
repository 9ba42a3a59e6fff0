"""Find the faces in a photo with a Haar cascade and predict 68 keypoints on each.

The pipeline, one face at a time::

    photo (H, W, 3) RGB --Haar--> boxes (x, y, w, h) --pad_box--> crops like the training data
      --grayscale, resize to 224, [0, 1]--> (N, 1, 224, 224) --Net--> (N, 136) normalised
      --keypoints_to_pixels, + (x, y)--> (68, 2) points in full-image pixels

Why pad the box? The network only ever saw training images framed like a face
detector's crop *with a margin* (the whole head, some hair and background),
squashed to 240 x 240 with the central 224 x 224 kept. A Haar box on a real
photo is tighter (about brow to upper chin, cheek to cheek), so we widen it by
``margin`` of its size on every side before cropping; otherwise the face looks
bigger than anything the network was trained on and the points come out
squeezed towards the centre. On ``skimage.data.astronaut()`` a margin of 0.2
makes the crop about 1.45 times as wide as the face's keypoints, as in
training. (Haar boxes on the *drawn* synthetic faces are looser, so there a
smaller margin scores better.)

Haar cascades need ``opencv-python-headless<5`` (OpenCV 5 dropped them);
``cv2.data.haarcascades`` is the folder of XML files it ships.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from cvdata.errors import DataError
from cvdata.keypoints_norm import keypoints_to_pixels

from data_load import INPUT_SIZE
from models import Net
from training import MODEL_PATH, load_checkpoint

CASCADE_FILE = "haarcascade_frontalface_default.xml"
DEFAULT_MARGIN = 0.2
"""Padding added on every side of a Haar box, as a fraction of its size (1.4x wider and taller)."""


def cascade_path() -> Path:
    """Where OpenCV keeps the frontal-face cascade (``cv2.data.haarcascades``)."""
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if folder is None:
        raise DataError(
            CASCADE_FILE,
            f"this OpenCV ({cv2.__version__}) ships no Haar cascades; install opencv-python-headless<5",
        )
    return Path(folder) / CASCADE_FILE


def load_cascade(path: str | Path | None = None) -> cv2.CascadeClassifier:
    """Load a Haar cascade (default: OpenCV's frontal-face one). Raises ``DataError`` if missing or unreadable."""
    path = Path(path) if path is not None else cascade_path()
    if not path.is_file():
        raise DataError(path, "Haar cascade file not found (opencv-python-headless<5 ships it in cv2.data)")
    try:
        cascade = cv2.CascadeClassifier(str(path))
    except (cv2.error, SystemError):  # OpenCV raises on some malformed XML, returns an empty cascade on others
        cascade = None
    if cascade is None or cascade.empty():
        raise DataError(path, "not a readable Haar cascade XML file")
    return cascade


def load_trained_net(path: str | Path = MODEL_PATH) -> tuple[Net, bool]:
    """``(net, trained)``: the model notebook 2 saved at ``path``, or an untrained ``Net()``.

    Without a saved model it prints a clear warning and returns a freshly
    initialised ``Net()`` (``trained`` False), so the pipeline still runs but its
    points are meaningless. The net is in eval mode on the CPU.
    """
    path = Path(path)
    if path.is_file():
        print(f"loaded the trained model from {path}")
        return load_checkpoint(path), True
    print(f"NOTE: no trained model at {path} -- using an UNTRAINED Net(); its keypoints are random. "
          "Run notebook 2 to train and save one.")
    return Net().eval(), False


def check_image(image_rgb: np.ndarray, name: str = "image_rgb") -> None:
    """Raise ``ValueError`` unless ``image_rgb`` is an (H, W, 3) uint8 array."""
    if not isinstance(image_rgb, np.ndarray) or image_rgb.ndim != 3 or image_rgb.shape[2] != 3 \
            or image_rgb.dtype != np.uint8:
        got = (f"shape {getattr(image_rgb, 'shape', None)}, "
               f"dtype {getattr(image_rgb, 'dtype', type(image_rgb).__name__)}")
        raise ValueError(f"{name}: expected an (H, W, 3) uint8 RGB array, got {got}")


def detect_faces(
    image_rgb: np.ndarray,
    cascade: cv2.CascadeClassifier | None = None,
    scale_factor: float = 1.1,
    min_neighbors: int = 5,
    min_size: int = 30,
) -> list[tuple[int, int, int, int]]:
    """Face boxes ``(x, y, w, h)`` (ints, pixels) in an (H, W, 3) uint8 RGB image, left to right.

    ``scale_factor`` is how much the search window grows per step (smaller finds
    more, slower); ``min_neighbors`` how many overlapping hits a face needs
    (larger means fewer false alarms); ``min_size`` the smallest face side, pixels.
    """
    check_image(image_rgb)
    cascade = cascade if cascade is not None else load_cascade()
    gray = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)  # (H, W) uint8
    boxes = cascade.detectMultiScale(gray, scaleFactor=scale_factor, minNeighbors=min_neighbors,
                                     minSize=(min_size, min_size))
    return sorted((tuple(int(v) for v in box) for box in boxes), key=lambda b: (b[0], b[1]))


def pad_box(
    box: tuple[int, int, int, int], image_shape: tuple[int, ...], margin: float = DEFAULT_MARGIN
) -> tuple[int, int, int, int]:
    """Widen a box by ``margin`` of its width/height on each side, clipped to the image.

    ``image_shape`` is ``image.shape`` ((H, W) or (H, W, C)). Returns ints
    ``(x, y, w, h)`` with ``0 <= x``, ``x + w <= W`` (same for y), so that
    ``image[y:y + h, x:x + w]`` is the crop. A face near an edge gets a
    narrower margin on that side rather than a black border.
    """
    if margin < 0:
        raise ValueError(f"margin: must be >= 0, got {margin}")
    x, y, w, h = box
    if w <= 0 or h <= 0:
        raise ValueError(f"box: width and height must be positive, got {tuple(box)}")
    height, width = image_shape[:2]
    x0 = max(int(round(x - margin * w)), 0)
    y0 = max(int(round(y - margin * h)), 0)
    x1 = min(int(round(x + w + margin * w)), width)
    y1 = min(int(round(y + h + margin * h)), height)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box: {tuple(box)} lies outside an image of shape {tuple(image_shape)}")
    return x0, y0, x1 - x0, y1 - y0


def crops_to_tensor(gray: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> torch.Tensor:
    """Cut each box out of a grayscale image and resize it for the network.

    ``gray`` is (H, W) uint8; returns an (N, 1, 224, 224) float tensor in [0, 1].
    """
    crops = [cv2.resize(gray[y:y + h, x:x + w], (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
             for x, y, w, h in boxes]  # N x (224, 224) uint8
    batch = np.stack(crops).astype(np.float32) / 255.0  # (N, 224, 224)
    return torch.from_numpy(batch).unsqueeze(1)  # (N, 1, 224, 224)


def detect_and_predict(
    image_rgb: np.ndarray, net: torch.nn.Module, cascade: cv2.CascadeClassifier | None = None,
    margin: float = DEFAULT_MARGIN,
) -> list[dict]:
    """Detect every face in a photo and predict its 68 keypoints.

    ``image_rgb``: (H, W, 3) uint8 RGB photo. ``net``: a keypoints ``Net``
    mapping (N, 1, 224, 224) grayscale in [0, 1] to (N, 136) normalised points.
    Returns one dict per detected face, left to right::

        {"box": (x, y, w, h),            # ints: the PADDED crop, in image pixels
         "keypoints": (68, 2) float32}   # x, y in FULL-IMAGE pixels

    Steps: detect (``detect_faces``), pad each box (``pad_box``), crop the
    grayscale image and resize to 224 x 224 (``crops_to_tensor``), run the net
    in eval mode without gradients on the net's own device, then turn its
    normalised output into crop pixels (``keypoints_to_pixels`` with the crop's
    width and height) and shift by the crop's corner. No face: an empty list.
    """
    ### BEGIN SOLUTION
    boxes = [pad_box(box, image_rgb.shape, margin) for box in detect_faces(image_rgb, cascade)]
    if not boxes:
        return []
    gray = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)  # (H, W) uint8
    device = next(net.parameters()).device
    net.eval()
    with torch.no_grad():
        out = net(crops_to_tensor(gray, boxes).to(device))  # (N, 136)
    points = out.view(len(boxes), -1, 2).cpu().numpy()  # (N, 68, 2) normalised
    faces = []
    for (x, y, w, h), kp in zip(boxes, points):
        pixels = np.asarray(keypoints_to_pixels(kp, w, h), dtype=np.float32) + np.float32([x, y])  # (68, 2)
        faces.append({"box": (x, y, w, h), "keypoints": pixels})
    return faces
    ### END SOLUTION
