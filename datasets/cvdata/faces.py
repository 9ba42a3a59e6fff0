"""Generate the synthetic facial keypoints data set in Udacity's format.

Layout written under ``out_dir`` (the same as the real data's, so one loader
reads both)::

    training_frames_keypoints.csv   # header ",0,1,...,135"; name, x0, y0, ..., x67, y67
    test_frames_keypoints.csv
    training/<name>.jpg
    test/<name>.jpg
    generation.json                 # the config and counts; written last

Like the real set (YouTube Faces frames cropped by a face detector), images are
crops with a margin around the face, of varying size, with several frames per
identity; the inter-ocular distance (points 36-45) has a median near 43 px.
Unlike the real set, train and test identities are disjoint. Every image is
drawn from its own RNG keyed by (seed, split, index), so output is the same
whatever the number of worker processes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from .face_layout import N_POINTS, Pose, face_points_3d, project, sample_expression, sample_shape
from .face_render import background, draw_face, finish, sample_look
from .meta import clear_meta, write_meta
from .parallel import map_in_workers

SPLITS = {"training": 0, "test": 1}
"""Split name (as in the Udacity file names) -> code mixed into the RNG seed."""

@dataclass(frozen=True)
class FacesConfig:
    """Size and seed of a synthetic faces data set."""

    n_train: int = 3000
    n_test: int = 600
    seed: int = 68
    frames_per_identity: int = 4
    median_iod: float = 43.0  # pixels between the outer eye corners
    jpeg_quality: int = 90


def csv_name(split: str) -> str:
    """``training`` -> ``training_frames_keypoints.csv`` (Udacity's file names)."""
    return f"{split}_frames_keypoints.csv"


def _identity_rng(cfg: FacesConfig, split: str, identity: int) -> np.random.Generator:
    return np.random.default_rng([cfg.seed, SPLITS[split], 0, identity])


def _frame_rng(cfg: FacesConfig, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([cfg.seed, SPLITS[split], 1, index])


def sample_pose(rng: np.random.Generator, median_iod: float) -> Pose:
    """Head pose and size: mostly frontal, some yaw and roll (degrees); no placement yet."""
    return Pose(
        yaw=float(np.clip(rng.normal(0, 14), -40, 40)),
        pitch=float(np.clip(rng.normal(0, 7), -20, 20)),
        roll=float(np.clip(rng.normal(0, 9), -25, 25)),
        scale=float(np.clip(median_iod * np.exp(rng.normal(0, 0.3)), 18, 120)),
    )


def render_sample(cfg: FacesConfig, split: str, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Render image ``index`` of a split. Returns (HxWx3 uint8 RGB image, (68, 2) keypoints in pixels)."""
    identity = index // cfg.frames_per_identity
    id_rng = _identity_rng(cfg, split, identity)
    shape, look = sample_shape(id_rng), sample_look(id_rng)
    rng = _frame_rng(cfg, split, index)
    expr = sample_expression(rng)
    pose = sample_pose(rng, cfg.median_iod)
    # Frame it like a detector crop: the face (ear to ear) takes 45-80% of the
    # width, and the box (forehead to chin) sits near the centre with a margin.
    pts = project(face_points_3d(shape, expr), pose)
    lo, hi = pts.min(0), pts.max(0)
    box_lo = lo - [0, 0.35 * (hi[1] - lo[1])]  # the forehead above the brows
    width = (hi[0] - lo[0]) / rng.uniform(0.45, 0.8)
    height = max((hi[1] - box_lo[1]) * 1.1, width * rng.uniform(0.9, 1.3))
    w, h = int(np.ceil(width)), int(np.ceil(height))
    offset = np.array([w, h]) / 2 - (box_lo + hi) / 2 + rng.uniform(-0.08, 0.08, 2) * [w, h]
    offset = np.clip(offset, 2 - lo, np.array([w, h]) - 3 - hi)  # keep every point inside
    pose = Pose(pose.yaw, pose.pitch, pose.roll, pose.scale, float(offset[0]), float(offset[1]))
    img = background(rng, h, w)
    keypoints = draw_face(img, shape, expr, pose, look, rng)
    return finish(img, rng), keypoints.astype(np.float32)


def image_name(split: str, index: int, cfg: FacesConfig) -> str:
    """File name like Udacity's ``Person_Name_NN.jpg``: one name per identity, numbered frames."""
    identity, frame = divmod(index, cfg.frames_per_identity)
    return f"Synth_{split.capitalize()}_{identity:05d}_{frame:02d}.jpg"


def write_face_image(path: Path, image: np.ndarray, cfg: FacesConfig = FacesConfig()) -> None:
    """Save an RGB (H, W, 3) uint8 face as the data set does (JPEG at ``cfg.jpeg_quality``; also used by the
    grader); ``OSError`` if it cannot be written."""
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality]):
        raise OSError(f"could not write {path}")


def _write_chunk(args: tuple[FacesConfig, str, Path, range]) -> list[list]:
    cfg, split, folder, indices = args
    rows = []
    for i in indices:
        img, kp = render_sample(cfg, split, i)
        name = image_name(split, i, cfg)
        write_face_image(folder / name, img, cfg)
        rows.append([name, *np.round(kp.reshape(-1), 3).tolist()])
    return rows


def generate_faces(out_dir: Path, cfg: FacesConfig = FacesConfig(), workers: int = 2, progress: bool = True) -> dict:
    """Write both splits under ``out_dir``; returns counts, seconds and images/s."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clear_meta(out_dir)
    start = time.perf_counter()
    sizes = {"training": cfg.n_train, "test": cfg.n_test}
    chunks = []
    for split, n in sizes.items():
        folder = out_dir / split
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("Synth_*.jpg"):
            stale.unlink()
        chunks += [(cfg, split, folder, range(a, min(a + 64, n))) for a in range(0, n, 64)]
    rows: dict[str, list] = {split: [] for split in sizes}
    with tqdm(total=sum(sizes.values()), desc="faces", unit="img", disable=not progress) as bar:
        for (_, split, _, _), chunk_rows in zip(chunks, map_in_workers(_write_chunk, chunks, workers)):
            rows[split].extend(chunk_rows)
            bar.update(len(chunk_rows))
    columns = [""] + [str(i) for i in range(2 * N_POINTS)]
    for split, split_rows in rows.items():
        pd.DataFrame(split_rows, columns=columns).to_csv(out_dir / csv_name(split), index=False)
    counts = {split: len(split_rows) for split, split_rows in rows.items()}
    seconds = time.perf_counter() - start
    return write_meta(out_dir, cfg, {"counts": counts, "seconds": round(seconds, 2),
                                     "images_per_second": round(sum(counts.values()) / max(seconds, 1e-9), 1)})
