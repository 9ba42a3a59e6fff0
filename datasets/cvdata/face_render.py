"""Draw a synthetic face with OpenCV so that its 68 points lie on the drawn features.

The face outline is the jaw points (0-16) closed by a forehead arc; brows are
strokes through 17-26; the nose bridge is a line through 27-30 and the nostril
base a curve through 31-35; eyes and lips are polygons through their points.
Everything else (hair, ears, neck, clothes, background clutter, lighting, blur,
noise) only adds variety. Images are HxWx3 uint8 RGB.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .face_layout import Expression, FaceShape, Pose, face_points_3d, lift_to_3d, project
from .images import DRAW_SHIFT

SHIFT = DRAW_SHIFT
_ONE = 1 << SHIFT

SKIN_TONES = np.array(
    [[255, 224, 196], [241, 194, 167], [224, 172, 135], [198, 134, 96], [161, 102, 68], [114, 70, 45], [86, 52, 35]],
    dtype=float,
)
HAIR_COLOURS = np.array(
    [[20, 16, 14], [58, 38, 26], [105, 70, 40], [165, 120, 70], [220, 190, 130], [150, 150, 150], [120, 40, 20]],
    dtype=float,
)
IRIS_COLOURS = np.array([[70, 45, 25], [40, 25, 15], [70, 110, 150], [80, 110, 70], [110, 90, 60]], dtype=float)


@dataclass(frozen=True)
class Look:
    """Per-identity colours and hair style (RGB, 0-255)."""

    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    lips: tuple[float, float, float]
    iris: tuple[float, float, float]
    hair_style: str  # "bald", "short", "long"
    fringe: float  # 0 = no fringe, else how far it comes down towards the brows
    brow_thickness: float  # inter-ocular units
    clothes: tuple[float, float, float]


def sample_look(rng: np.random.Generator) -> Look:
    """Draw an identity's skin, hair, eyes, lips and clothes."""
    i = rng.integers(len(SKIN_TONES))
    skin = np.clip(SKIN_TONES[i] * rng.uniform(0.92, 1.06) + rng.normal(0, 6, 3), 0, 255)
    hair = np.clip(HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * rng.uniform(0.8, 1.2), 0, 255)
    lips = np.clip(skin * np.array([0.85, 0.6, 0.6]) + rng.normal(0, 8, 3), 0, 255)
    style = str(rng.choice(["bald", "short", "long"], p=[0.12, 0.55, 0.33]))
    return Look(
        skin=tuple(skin),
        hair=tuple(hair),
        lips=tuple(lips),
        iris=tuple(IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))]),
        hair_style=style,
        fringe=float(rng.uniform(0.2, 0.55)) if style != "bald" and rng.random() < 0.35 else 0.0,
        brow_thickness=float(rng.uniform(0.035, 0.075)),
        clothes=tuple(rng.uniform(20, 235, 3)),
    )


def _fix(pts: np.ndarray) -> np.ndarray:
    """Pixel coordinates -> cv2's fixed-point int32 polygon. (K, 2) -> (K, 1, 2)."""
    return np.round(pts * _ONE).astype(np.int32).reshape(-1, 1, 2)


def _fill(img: np.ndarray, pts: np.ndarray, colour) -> None:
    cv2.fillPoly(img, [_fix(pts)], tuple(float(c) for c in colour), cv2.LINE_AA, SHIFT)


def _line(img: np.ndarray, pts: np.ndarray, colour, width: float, closed: bool = False) -> None:
    cv2.polylines(img, [_fix(pts)], closed, tuple(float(c) for c in colour), max(1, int(round(width))),
                  cv2.LINE_AA, SHIFT)


def _ellipse_pts(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 24) -> np.ndarray:
    """Points on an ellipse from angle a0 to a1 (radians). Shape (n, 2)."""
    t = np.linspace(a0, a1, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A cluttered, blurred background. Shape (h, w, 3) uint8."""
    base = rng.uniform(30, 225, 3).astype(np.float32)
    gx, gy = rng.uniform(-40, 40, (2, 3)).astype(np.float32)
    ramp = (np.linspace(-1, 1, w, dtype=np.float32)[None, :, None] * gx
            + np.linspace(-1, 1, h, dtype=np.float32)[:, None, None] * gy)
    img = np.clip(base + ramp, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(3, 12)):
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        kind = rng.integers(4)
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        size = rng.uniform(0.1, 0.6) * max(h, w)
        if kind == 0:
            cv2.rectangle(img, (int(x), int(y)), (int(x + size), int(y + size * rng.uniform(0.3, 2))), colour, -1)
        elif kind == 1:
            cv2.circle(img, (int(x), int(y)), int(size / 2), colour, -1, cv2.LINE_AA)
        elif kind == 2:
            cv2.line(img, (int(x), int(y)), (int(rng.uniform(0, w)), int(rng.uniform(0, h))), colour,
                     int(rng.integers(1, 6)), cv2.LINE_AA)
        else:
            poly = np.stack([rng.uniform(0, w, 4), rng.uniform(0, h, 4)], axis=1)
            _fill(img, poly, colour)
    k = int(rng.integers(0, 3)) * 2 + 1
    return cv2.GaussianBlur(img, (k, k), 0) if k > 1 else img


def _project_flat(pts2: np.ndarray, pose: Pose, z: float = 0.0) -> np.ndarray:
    """Project template points that are not on the face surface (fixed depth z). (K, 2) -> (K, 2)."""
    return project(np.concatenate([pts2, np.full((len(pts2), 1), z)], axis=1), pose)


def _shade(img: np.ndarray, mask: np.ndarray, centre: np.ndarray, scale: float, light: np.ndarray,
           strength: float) -> None:
    """Darken the face towards its outline and light it from one side, in place (inside ``mask``'s box)."""
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0 or h == 0:
        return
    k = max(3, int(scale * 0.35) | 1)
    pad = k
    x0, y0 = max(x - pad, 0), max(y - pad, 0)
    x1, y1 = min(x + w + pad, mask.shape[1]), min(y + h + pad, mask.shape[0])
    sub, m = img[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    soft = cv2.GaussianBlur(m, (k, k), 0).astype(np.float32) * np.float32(1 / 255)
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(centre[0])
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(centre[1])
    side = (xs * np.float32(light[0]) + ys * np.float32(light[1])) / np.float32(scale * 1.2)
    factor = (0.7 + 0.3 * soft) * (1.0 + np.float32(strength) * np.clip(side, -1, 1))
    shaded = np.clip(sub * factor[..., None], 0, 255).astype(np.uint8)
    sub[:] = np.where((m > 0)[..., None], shaded, sub)


def _clipped_circle(img: np.ndarray, poly: np.ndarray, centre: np.ndarray, radius: float, colour) -> None:
    """Draw a filled circle only inside polygon ``poly`` (pixels, (K, 2)), in place."""
    x0, y0 = np.floor(poly.min(0)).astype(int) - 1
    x1, y1 = np.ceil(poly.max(0)).astype(int) + 2
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return
    sub = img[y0:y1, x0:x1]
    mask = np.zeros(sub.shape[:2], np.uint8)
    _fill(mask, poly - [x0, y0], (255,))
    drawn = sub.copy()
    c = _fix(np.asarray(centre)[None] - [x0, y0])[0, 0]
    cv2.circle(drawn, (int(c[0]), int(c[1])), max(1, int(radius * _ONE)), tuple(float(v) for v in colour), -1,
               cv2.LINE_AA, SHIFT)
    a = (mask.astype(np.float32) / 255.0)[..., None]
    sub[:] = (drawn * a + sub * (1 - a)).astype(np.uint8)


def draw_face(
    img: np.ndarray, shape: FaceShape, expr: Expression, pose: Pose, look: Look, rng: np.random.Generator
) -> np.ndarray:
    """Draw a face onto ``img`` (HxWx3 uint8 RGB, modified in place). Returns its 68 points, (68, 2) pixels."""
    s, sc = shape, pose.scale
    pts = project(face_points_3d(shape, expr), pose)
    skin = np.array(look.skin)
    body_pose = Pose(roll=pose.roll * 0.3, scale=sc, cx=pose.cx, cy=pose.cy)
    # Clothes and neck (they follow the roll only a little).
    shoulders = np.array([[-2.6, s.chin_y + 4], [-2.4, s.chin_y + 0.9], [-0.5, s.chin_y + 0.4],
                          [0.5, s.chin_y + 0.4], [2.4, s.chin_y + 0.9], [2.6, s.chin_y + 4]])
    _fill(img, _project_flat(shoulders, body_pose), look.clothes)
    neck = np.array([[-0.42, 0.6], [0.42, 0.6], [0.46, s.chin_y + 0.6], [-0.46, s.chin_y + 0.6]])
    _fill(img, _project_flat(neck, body_pose), skin * 0.78)
    # Hair behind the head.
    rx = s.face_width + 0.16
    if look.hair_style != "bald":
        length = 0.45 if look.hair_style == "short" else s.chin_y + rng.uniform(0.1, 0.7)
        top = _ellipse_pts(0, 0.05, rx, 1.08, np.pi, 2 * np.pi, 28)
        back = np.concatenate([[[-rx, length]], top, [[rx, length]]])
        _fill(img, _project_flat(back, pose, -0.3), look.hair)
    # Ears, then the face: jaw points closed by a forehead arc.
    for sign in (-1, 1):
        ear = _ellipse_pts(sign * (s.face_width + 0.02), 0.3, 0.1, 0.22, 0, 2 * np.pi, 16)
        _fill(img, project(lift_to_3d(ear, -0.1), pose), skin * 0.9)
    forehead = _ellipse_pts(0, 0.05, s.face_width, 0.95, 0.0, -np.pi, 24)[1:-1]
    outline = np.concatenate([pts[0:17], project(lift_to_3d(forehead), pose)])
    _fill(img, outline, skin)
    mask = np.zeros(img.shape[:2], np.uint8)
    _fill(mask, outline, (255,))
    light = rng.normal(size=2)
    _shade(img, mask, pts[30], sc, light / np.linalg.norm(light), rng.uniform(0.05, 0.3))
    if look.fringe > 0:
        edge_y = -(s.brow_height + 0.12) - (0.55 - look.fringe) * 0.5
        fringe = np.concatenate([_ellipse_pts(0, 0.05, rx, 1.08, np.pi, 2 * np.pi, 20),
                                 [[s.face_width * 0.9, edge_y], [-s.face_width * 0.9, edge_y]]])
        _fill(img, project(lift_to_3d(fringe, 0.02), pose), look.hair)
    dark = skin * 0.45
    # Brows.
    brow = np.array(look.hair) * 0.55 + skin * 0.1
    for idx in (slice(17, 22), slice(22, 27)):
        _line(img, pts[idx], brow, look.brow_thickness * sc)
    # Nose: bridge through 27-30, nostril base through 31-35.
    _line(img, pts[27:31], skin * 0.8, max(1.0, 0.03 * sc))
    _line(img, pts[31:36], dark, max(1.0, 0.025 * sc))
    for i in (32, 34):
        centre = pts[i] + (pts[30] - pts[33]) * 0.25
        cv2.circle(img, tuple(int(v) for v in centre * _ONE), int(0.03 * sc * _ONE) + 1, tuple(skin * 0.3), -1,
                   cv2.LINE_AA, SHIFT)
    # Eyes: white, clipped iris and pupil, lids.
    gaze = rng.normal(0, 0.15, 2)
    for idx in (slice(36, 42), slice(42, 48)):
        eye = pts[idx]
        _fill(img, eye, np.array([238, 234, 228]) * rng.uniform(0.85, 1.0))
        width = np.linalg.norm(eye[3] - eye[0])
        centre = eye.mean(0) + gaze * width * np.array([0.3, 0.15])
        _clipped_circle(img, eye, centre, 0.24 * width, look.iris)
        _clipped_circle(img, eye, centre, 0.1 * width, (10, 10, 10))
        _line(img, eye[[0, 1, 2, 3]], (25, 20, 20), max(1.0, 0.028 * sc))
        _line(img, eye[[3, 4, 5, 0]], skin * 0.55, max(1.0, 0.012 * sc))
    # Mouth: lips, the opening with teeth, the line between the lips.
    _fill(img, pts[48:60], look.lips)
    if expr.mouth_open > 0.03:
        _fill(img, pts[60:68], (60, 20, 25))
        teeth = pts[60:68].copy()
        teeth[5:8] = teeth[[3, 2, 1]] + (teeth[[5, 6, 7]] - teeth[[3, 2, 1]]) * 0.35
        _fill(img, teeth, (235, 230, 215))
    _line(img, pts[[60, 61, 62, 63, 64, 65, 66, 67]], np.array(look.lips) * 0.5, max(1.0, 0.02 * sc), closed=True)
    return pts


def finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera effects on the whole image: exposure gradient, colour cast, blur, noise. (H, W, 3) uint8."""
    h, w = img.shape[:2]
    out = img.astype(np.float32)
    gx, gy = rng.normal(0, 0.15, 2)
    ramp = (1 + gx * np.linspace(-1, 1, w, dtype=np.float32)[None, :]
            + gy * np.linspace(-1, 1, h, dtype=np.float32)[:, None])
    gain = (rng.uniform(0.7, 1.15) * rng.uniform(0.9, 1.1, 3)).astype(np.float32)
    out *= ramp.astype(np.float32)[..., None] * gain
    sigma = rng.uniform(0, 1.3)
    if sigma > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(rng.uniform(0, 7))
    return np.clip(out, 0, 255).astype(np.uint8)
