"""Fun filters: sunglasses and a moustache drawn with OpenCV, placed by facial keypoints.

A filter is an RGBA sprite (drawn here, no image files) plus a rule that turns
keypoints into where the sprite goes: a centre, a direction (the face's roll)
and a size. ``overlay_rgba`` then does the warp and the alpha blend once for
every filter. Keypoints follow the 68-point iBUG layout (``cvdata.face_layout``):
outer eye corners 36 and 45, brows 17-26, eyes 36-47, nose base 31-35, mouth 48-59.
"""
from __future__ import annotations

import cv2
import numpy as np

from cvdata.face_layout import LEFT_BROW, LEFT_EYE, OUTER_EYE_CORNERS, RIGHT_BROW, RIGHT_EYE
from cvdata.images import DRAW_SHIFT

from face_pipeline import check_image

SHIFT = DRAW_SHIFT
_ONE = 1 << SHIFT

SUNGLASSES_ANCHOR = (0.5, 0.45)
"""Where the eyes' centre sits on the sunglasses sprite, as fractions of (width, height)."""
MOUSTACHE_ANCHOR = (0.5, 0.3)
"""Where the point between nose and upper lip sits on the moustache sprite, fractions of (width, height)."""


def _check_keypoints(keypoints: np.ndarray) -> np.ndarray:
    points = np.asarray(keypoints, dtype=np.float64)
    if points.shape != (68, 2) or not np.isfinite(points).all():
        raise ValueError(f"keypoints: expected a finite (68, 2) array of pixels, got shape {points.shape}")
    return points


def _ellipse(img: np.ndarray, centre, axes, colour, thickness: int = -1) -> None:
    """Anti-aliased ellipse with sub-pixel centre and axes (pixels), in place."""
    c = tuple(int(round(v * _ONE)) for v in centre)
    a = tuple(max(1, int(round(v * _ONE))) for v in axes)
    cv2.ellipse(img, c, a, 0, 0, 360, colour, thickness, cv2.LINE_AA, SHIFT)


def make_sunglasses(width: int, height: int) -> np.ndarray:
    """Draw a pair of sunglasses. Returns an (height, width, 4) uint8 RGBA sprite.

    Two dark, slightly see-through lenses in a black frame with a bridge and
    the start of the arms; alpha is 0 everywhere else.
    """
    if width < 8 or height < 4:
        raise ValueError(f"width, height: sunglasses need at least 8 x 4 pixels, got {width} x {height}")
    rgb = np.zeros((height, width, 3), np.uint8)
    alpha = np.zeros((height, width), np.uint8)
    w, h = float(width), float(height)
    frame = max(1, int(round(0.025 * w)))
    lens_axes = (0.2 * w, 0.36 * h)
    for cx in (0.27 * w, 0.73 * w):
        centre = (cx, 0.48 * h)
        _ellipse(rgb, centre, lens_axes, (24, 26, 34))  # lens
        _ellipse(alpha, centre, lens_axes, 230)
        glint = np.array([[cx - 0.1 * w, 0.38 * h], [cx - 0.04 * w, 0.24 * h]])
        cv2.line(rgb, *(tuple(int(v) for v in p * _ONE) for p in glint), (150, 160, 175),
                 max(1, frame // 2), cv2.LINE_AA, SHIFT)  # a reflection
        _ellipse(rgb, centre, lens_axes, (5, 5, 5), frame)  # rim
        _ellipse(alpha, centre, lens_axes, 255, frame)
    top = np.array([[0.05 * w, 0.2 * h], [0.35 * w, 0.1 * h], [0.5 * w, 0.16 * h], [0.65 * w, 0.1 * h],
                    [0.95 * w, 0.2 * h]])
    bridge = np.array([[0.45 * w, 0.38 * h], [0.5 * w, 0.3 * h], [0.55 * w, 0.38 * h]])
    arms = [np.array([[0.0, 0.22 * h], [0.07 * w, 0.2 * h]]), np.array([[w - 1, 0.22 * h], [0.93 * w, 0.2 * h]])]
    for line in [top, bridge, *arms]:
        pts = [np.round(line * _ONE).astype(np.int32).reshape(-1, 1, 2)]
        cv2.polylines(rgb, pts, False, (5, 5, 5), frame + 1, cv2.LINE_AA, SHIFT)
        cv2.polylines(alpha, pts, False, 255, frame + 1, cv2.LINE_AA, SHIFT)
    return np.dstack([rgb, alpha])


def make_moustache(width: int, height: int) -> np.ndarray:
    """Draw a curly moustache. Returns an (height, width, 4) uint8 RGBA sprite."""
    if width < 8 or height < 4:
        raise ValueError(f"width, height: a moustache needs at least 8 x 4 pixels, got {width} x {height}")
    w, h = float(width), float(height)
    t = np.linspace(0.0, 1.0, 24)
    # One half as a closed outline, from the middle out to a curled-up tip and back.
    upper = np.stack([0.5 * w - 0.45 * w * t, 0.25 * h + 0.1 * h * t - 0.35 * h * t ** 4], axis=1)
    lower = np.stack([0.5 * w - 0.45 * w * t, 0.75 * h - 0.25 * h * t - 0.45 * h * t ** 3], axis=1)
    half = np.concatenate([upper, lower[::-1]])
    mask = np.zeros((height, width), np.uint8)
    for pts in (half, np.stack([w - 1 - half[:, 0], half[:, 1]], axis=1)):
        cv2.fillPoly(mask, [np.round(pts * _ONE).astype(np.int32).reshape(-1, 1, 2)], 255, cv2.LINE_AA, SHIFT)
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:] = (52, 32, 20)
    return np.dstack([rgb, mask])


def overlay_rgba(
    image_rgb: np.ndarray, sprite: np.ndarray, anchor: tuple[float, float], centre: np.ndarray, direction: np.ndarray
) -> np.ndarray:
    """Paste an RGBA ``sprite`` onto a copy of ``image_rgb`` (H, W, 3) uint8 and return it.

    The sprite's pixel ``anchor`` (x, y) lands on image point ``centre`` and its
    x axis points along ``direction`` (any non-zero 2-vector; the sprite keeps its
    own size). Pixels where the warped alpha is 0 are left exactly as they were.
    """
    u = np.asarray(direction, dtype=np.float64)
    u = u / np.linalg.norm(u)
    v = np.array([-u[1], u[0]])  # the sprite's y axis: u turned 90 degrees (down when u points right)
    ax, ay = anchor
    cx, cy = np.asarray(centre, dtype=np.float64)
    m = np.array([[u[0], v[0], cx - ax * u[0] - ay * v[0]],
                  [u[1], v[1], cy - ax * u[1] - ay * v[1]]])  # sprite pixels -> image pixels, (2, 3)
    h, w = image_rgb.shape[:2]
    a = sprite[..., 3:].astype(np.float32) / 255.0  # (h_s, w_s, 1)
    premultiplied = np.dstack([sprite[..., :3].astype(np.float32) * a, a])  # so edges don't blend with black
    warped = cv2.warpAffine(premultiplied, m, (w, h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # (H, W, 4)
    alpha = warped[..., 3:]  # (H, W, 1)
    out = image_rgb.astype(np.float32) * (1.0 - alpha) + warped[..., :3]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def apply_sunglasses(image_rgb: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """Put sunglasses on a face. Returns a new (H, W, 3) uint8 image; the input is unchanged.

    ``keypoints``: (68, 2) pixels of this face in ``image_rgb``. The glasses are
    1.45 times as wide as the outer eye corners (36, 45) are apart, turned to
    their line (the head's roll), centred on the eyes (36-47), and tall enough
    to reach from the cheeks up to the brows (17-26). A face whose eye corners
    are under 4 px apart is left as it is.
    """
    check_image(image_rgb)
    points = _check_keypoints(keypoints)
    ### BEGIN SOLUTION
    left, right = points[list(OUTER_EYE_CORNERS)]
    across = right - left  # (2,) along the eye line
    distance = float(np.linalg.norm(across))
    if distance < 4:
        return image_rgb.copy()
    u = across / distance
    down = np.array([-u[1], u[0]])
    eyes = points[[*RIGHT_EYE, *LEFT_EYE]].mean(0)  # (2,)
    brows = points[[*RIGHT_BROW, *LEFT_BROW]].mean(0)  # (2,)
    brow_height = float(np.dot(eyes - brows, down))  # how far the brows are above the eyes
    width = 1.45 * distance
    height = float(np.clip(brow_height / SUNGLASSES_ANCHOR[1], 0.35 * distance, 0.8 * distance))
    sprite = make_sunglasses(int(round(width)), int(round(height)))
    anchor = (SUNGLASSES_ANCHOR[0] * sprite.shape[1], SUNGLASSES_ANCHOR[1] * sprite.shape[0])
    return overlay_rgba(image_rgb, sprite, anchor, eyes, u)
    ### END SOLUTION


def apply_moustache(image_rgb: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """Put a moustache between the nose (31-35) and the upper lip (48-54). Returns a new (H, W, 3) uint8 image.

    It is 1.3 times as wide as the mouth (corners 48, 54) and turned with it.
    """
    check_image(image_rgb)
    points = _check_keypoints(keypoints)
    corners = points[54] - points[48]  # (2,)
    mouth = float(np.linalg.norm(corners))
    if mouth < 4:
        return image_rgb.copy()
    centre = (points[33] + points[51]) / 2  # below the nose tip, above the upper lip
    sprite = make_moustache(int(round(1.3 * mouth)), int(round(0.45 * mouth)))
    anchor = (MOUSTACHE_ANCHOR[0] * sprite.shape[1], MOUSTACHE_ANCHOR[1] * sprite.shape[0])
    return overlay_rgba(image_rgb, sprite, anchor, centre, corners)
