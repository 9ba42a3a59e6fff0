"""The 68-point iBUG face layout as a parametric 3-D template.

Units: one unit is the distance between the outer eye corners (points 36 and
45) of a frontal face; the origin is midway between them; x points to the
image's right, y down, z towards the camera. Index ranges (0-based, as in the
CSV files): jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67.
Points 36-41 are the eye on the image's left (the subject's right eye).

``face_points_3d`` builds the 68 points from an identity (``FaceShape``) and a
momentary ``Expression``; ``project`` applies a head pose and returns pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

JAW = range(0, 17)
RIGHT_BROW = range(17, 22)  # image left
LEFT_BROW = range(22, 27)  # image right
NOSE_BRIDGE = range(27, 31)
NOSE_BASE = range(31, 36)
RIGHT_EYE = range(36, 42)  # image left
LEFT_EYE = range(42, 48)  # image right
OUTER_LIPS = range(48, 60)
INNER_LIPS = range(60, 68)
N_POINTS = 68
OUTER_EYE_CORNERS = (36, 45)
"""Points whose distance normalises NME (the 300-W inter-ocular convention)."""


@dataclass(frozen=True)
class FaceShape:
    """Per-identity proportions, in inter-ocular units."""

    face_width: float = 0.78  # half-width of the face at eye level
    chin_y: float = 1.28  # how far below the eyes the chin is
    jaw_roundness: float = 1.0  # <1 square jaw, >1 pointed chin
    eye_width: float = 0.28  # outer to inner corner of one eye
    eye_height: float = 0.07  # half-opening of the eye
    brow_height: float = 0.24  # brow above the eye line
    brow_arch: float = 0.05
    nose_length: float = 0.46  # eye line to nose tip
    nose_width: float = 0.16  # half-width of the nostrils
    mouth_drop: float = 0.22  # nose base to mouth line
    mouth_width: float = 0.50
    lip_thickness: float = 0.06


@dataclass(frozen=True)
class Expression:
    """Momentary expression: all zeros is neutral."""

    mouth_open: float = 0.0  # inner-lip gap, inter-ocular units
    smile: float = 0.0  # mouth corners raised (positive) or lowered
    eye_open: float = 1.0  # scales the eye opening; 0 is closed
    brow_raise: float = 0.0


def sample_shape(rng: np.random.Generator) -> FaceShape:
    """Draw an identity's proportions from the ranges seen on real faces."""
    u = rng.uniform
    return FaceShape(
        face_width=u(0.70, 0.88),
        chin_y=u(1.12, 1.42),
        jaw_roundness=u(0.75, 1.35),
        eye_width=u(0.23, 0.31),
        eye_height=u(0.05, 0.085),
        brow_height=u(0.19, 0.30),
        brow_arch=u(0.02, 0.08),
        nose_length=u(0.38, 0.55),
        nose_width=u(0.12, 0.20),
        mouth_drop=u(0.17, 0.28),
        mouth_width=u(0.40, 0.62),
        lip_thickness=u(0.04, 0.08),
    )


def sample_expression(rng: np.random.Generator) -> Expression:
    """Draw an expression: mostly near neutral, sometimes open mouth or smile."""
    open_mouth = rng.random() < 0.3
    return Expression(
        mouth_open=float(rng.uniform(0.03, 0.22)) if open_mouth else float(rng.uniform(0, 0.015)),
        smile=float(rng.normal(0.02, 0.03)),
        eye_open=float(np.clip(rng.normal(1.0, 0.18), 0.35, 1.3)),
        brow_raise=float(rng.normal(0.0, 0.025)),
    )


def _depth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Depth of the face surface: a vertical half-cylinder bulging at the centre."""
    return 0.55 * np.sqrt(np.clip(1.0 - (x / 0.95) ** 2, 0.0, None)) - 0.08 * np.clip(y - 0.6, 0, None)


def _arc(x0: float, x1: float, y_ends: float, y_mid: float, n: int) -> np.ndarray:
    """``n`` points on a parabola from (x0, y_ends) through (mid, y_mid) to (x1, y_ends). Shape (n, 2)."""
    t = np.linspace(0.0, 1.0, n)
    x = x0 + (x1 - x0) * t
    y = y_ends + (y_mid - y_ends) * (1 - (2 * t - 1) ** 2)
    return np.stack([x, y], axis=1)


def face_points_2d(shape: FaceShape, expr: Expression = Expression()) -> np.ndarray:
    """The 68 frontal points of a face in template units. Shape (68, 2)."""
    s, e = shape, expr
    pts = np.zeros((N_POINTS, 2))
    # Jaw: from the image-left ear, round the chin, to the image-right ear.
    phi = np.linspace(0.0, np.pi, 17)
    pts[0:17, 0] = -s.face_width * np.cos(phi) * (1 - 0.12 * np.sin(phi) ** 6)
    pts[0:17, 1] = 0.05 + (s.chin_y - 0.05) * np.sin(phi) ** s.jaw_roundness
    # Eyes: outer corner, two upper-lid points, inner corner, two lower-lid points.
    h_up = s.eye_height * e.eye_open
    h_dn = 0.8 * s.eye_height * e.eye_open
    for sign, idx in ((-1, RIGHT_EYE), (1, LEFT_EYE)):
        outer, inner = 0.5 * sign, (0.5 - s.eye_width) * sign
        third = (inner - outer) / 3
        corners = [outer, outer + third, outer + 2 * third, inner, outer + 2 * third, outer + third]
        lids = [0.0, -h_up, -h_up, 0.0, h_dn, h_dn]
        if sign == 1:  # image-right eye runs inner corner -> outer corner
            corners = [inner, inner - third, inner - 2 * third, outer, inner - 2 * third, inner - third]
        pts[list(idx), 0] = corners
        pts[list(idx), 1] = lids
    # Brows: five points each, outer to inner on the left, inner to outer on the right.
    brow_y = -(s.brow_height + e.brow_raise)
    left = _arc(-0.62, -0.12, brow_y + 0.03, brow_y - s.brow_arch, 5)
    pts[17:22] = left
    pts[22:27] = left[::-1] * [-1, 1]
    # Nose bridge (27-30) down to the tip, then the nostril base (31-35).
    pts[27:31, 0] = 0.0
    pts[27:31, 1] = np.linspace(0.0, s.nose_length, 4)
    base_y = s.nose_length + 0.06
    pts[31:36, 0] = np.linspace(-s.nose_width, s.nose_width, 5)
    pts[31:36, 1] = base_y - 0.03 * np.array([1.0, 0.2, 0.0, 0.2, 1.0])
    # Mouth: corners 48 and 54, upper lip 49-53, lower lip 55-59, inner 60-67.
    my = base_y + s.mouth_drop
    half = s.mouth_width / 2
    gap = e.mouth_open / 2
    corner_y = my - e.smile
    xs = half * np.array([-1, -0.6, -0.25, 0, 0.25, 0.6, 1, 0.6, 0.25, 0, -0.25, -0.6])
    up = my - gap - s.lip_thickness * np.array([0, 0.8, 1.2, 0.9, 1.2, 0.8])
    down = my + gap + 1.3 * s.lip_thickness * np.array([0, 0.8, 1.0, 1.05, 1.0, 0.8])
    ys = np.concatenate([up, down])
    bend = e.smile * (1 - (xs / half) ** 2)  # corners move up relative to the centre
    pts[48:60, 0] = xs
    pts[48:60, 1] = ys + bend
    pts[[48, 54], 1] = corner_y
    inner_x = 0.8 * half * np.array([-1, -0.45, 0, 0.45, 1, 0.45, 0, -0.45])
    inner_y = my + np.array([0, -gap, -gap, -gap, 0, gap, gap, gap])
    pts[60:68, 0] = inner_x
    pts[60:68, 1] = inner_y + e.smile * (1 - (inner_x / half) ** 2)
    pts[[60, 64], 1] = corner_y
    return pts


def lift_to_3d(pts: np.ndarray, z_offset: float = 0.0) -> np.ndarray:
    """Put template points on the face surface (plus ``z_offset``). (K, 2) -> (K, 3)."""
    z = _depth(pts[:, 0], pts[:, 1]) + z_offset
    return np.concatenate([pts, z[:, None]], axis=1)


def face_points_3d(shape: FaceShape, expr: Expression = Expression()) -> np.ndarray:
    """The 68 points of a face in template units with depth; the nose sticks out. Shape (68, 3)."""
    out = lift_to_3d(face_points_2d(shape, expr))
    out[27:31, 2] += np.linspace(0.05, 0.32, 4)
    out[31:36, 2] += np.array([0.1, 0.16, 0.2, 0.16, 0.1])
    return out


@dataclass(frozen=True)
class Pose:
    """Head pose in degrees and its placement in the image (pixels)."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    scale: float = 43.0  # pixels per template unit (frontal inter-ocular distance)
    cx: float = 0.0  # image position of the template origin
    cy: float = 0.0


def rotation(pose: Pose) -> np.ndarray:
    """3x3 rotation: yaw about y, then pitch about x, then roll in the image plane."""
    y, p, r = np.deg2rad([pose.yaw, pose.pitch, pose.roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def project(points_3d: np.ndarray, pose: Pose) -> np.ndarray:
    """Rotate and project (orthographic, scaled) template points to pixels. (K, 3) -> (K, 2)."""
    rotated = points_3d @ rotation(pose).T
    return rotated[:, :2] * pose.scale + np.array([pose.cx, pose.cy])


def facing(points_3d: np.ndarray, pose: Pose) -> np.ndarray:
    """Depth of each point after rotation (larger is nearer the camera). (K, 3) -> (K,)."""
    return (points_3d @ rotation(pose).T)[:, 2]


MIRRORED_INDEX = (
    16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,  # jaw 0-16
    26, 25, 24, 23, 22, 21, 20, 19, 18, 17,  # brows 17-26
    27, 28, 29, 30,  # nose bridge stays
    35, 34, 33, 32, 31,  # nostrils 31-35
    45, 44, 43, 42, 47, 46,  # image-left eye 36-41 <-> image-right eye
    39, 38, 37, 36, 41, 40,  # image-right eye 42-47 <-> image-left eye
    54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,  # outer lips 48-59
    64, 63, 62, 61, 60, 67, 66, 65,  # inner lips 60-67
)
"""Under a horizontal flip, point ``i`` takes the role of point ``MIRRORED_INDEX[i]``.

After mirroring x, ``flipped = flipped[MIRRORED_INDEX]`` keeps the iBUG meaning of
every index (36 stays the image-left outer eye corner). It is its own inverse.
"""
