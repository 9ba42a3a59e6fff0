"""The shapes world: sample scenes, render them with OpenCV, write a COCO-captions data set.

A scene is 1-3 non-overlapping coloured shapes (circle, square, triangle, star;
small or large; squares, triangles and stars rotated) on a light neutral
background (plain, gradient or mild texture), with slight colour jitter and mild
luminance noise. Five captions per image come from ``shapes_captions``.

On disk, the layout of MS COCO 2014's captions::

    <out_dir>/annotations/captions_<split>.json   # info, licenses, images, annotations
    <out_dir>/images/<split>/shapes_<split>_<id:06d>.jpg

Each ``images`` entry also records its ``objects`` and ``background``. Splits:
``train``, ``val``, ``test`` never contain the held-out colour-shape pairs;
every ``novel`` image contains at least one (a test of compositional
generalisation). Every image has its own generator,
``default_rng([seed, split_code, index])``, so the output is the same bytes for
the same config whatever the number of workers.
"""
from __future__ import annotations

import functools
import json
import math
import textwrap
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from statistics import NormalDist
from typing import Any, NamedTuple

import cv2
import numpy as np

from .images import DRAW_SHIFT
from .meta import clear_meta, write_meta
from .parallel import map_in_workers
from .shapes_captions import COLOURS, SHAPES, SIZES, write_captions

SPLITS: tuple[str, ...] = ("train", "val", "test", "novel")
SPLIT_CODES: dict[str, int] = {split: code for code, split in enumerate(SPLITS)}
"""Mixed into each image's seed, so the splits come from different random streams."""

SIZE_RANGES: dict[str, tuple[float, float]] = {"small": (0.075, 0.10), "large": (0.14, 0.18)}
"""Object circumradius as a fraction of the image side, per size word."""

BACKGROUNDS: tuple[str, ...] = ("plain", "gradient", "texture")
CAPTIONS_PER_IMAGE = 5
_CHUNK = 250  # images per worker task
_GAP = 0.03  # minimum free space between objects, fraction of the image side
_JITTER = 12  # max per-channel colour jitter


@dataclass(frozen=True)
class ShapesConfig:
    """Everything that determines a shapes-world data set (stored in each JSON's ``info``)."""

    image_size: int = 128
    n_train: int = 4000
    n_val: int = 500
    n_test: int = 500
    n_novel: int = 500
    min_objects: int = 1
    max_objects: int = 3
    seed: int = 2024
    held_out: tuple[tuple[str, str], ...] = (
        ("red", "star"),
        ("green", "triangle"),
        ("blue", "circle"),
        ("yellow", "square"),
    )
    """(colour, shape) pairs never seen in train/val/test; each novel image has one."""
    colours: tuple[str, ...] = tuple(COLOURS)
    shapes: tuple[str, ...] = SHAPES
    noise_sigma: float = 1.5
    """Standard deviation of the luminance noise, in grey levels (0 for none)."""
    image_format: str = "jpg"
    """"jpg" (quality 95, no chroma subsampling; small, like COCO) or "png" (exact, ~7x larger)."""

    def __post_init__(self) -> None:
        if self.image_size < 32:
            raise ValueError(f"image_size must be at least 32, got {self.image_size}")
        if not 1 <= self.min_objects <= self.max_objects <= 6:
            raise ValueError("need 1 <= min_objects <= max_objects <= 6")
        if self.image_format not in ("jpg", "png"):
            raise ValueError(f"image_format must be 'jpg' or 'png', got {self.image_format!r}")
        unknown = (set(self.colours) - set(COLOURS)) | (set(self.shapes) - set(SHAPES))
        if unknown:
            raise ValueError(f"unknown colours or shapes: {sorted(unknown)}")
        held = {tuple(pair) for pair in self.held_out}
        if not held <= {(c, s) for c in self.colours for s in self.shapes}:
            raise ValueError(f"held_out pairs must use the config's colours and shapes: {held}")
        seen = [(c, s) for c in self.colours for s in self.shapes if (c, s) not in held]
        if {c for c, _ in seen} != set(self.colours) or {s for _, s in seen} != set(self.shapes):
            raise ValueError("held_out must leave every colour and every shape in the seen pairs")

    def count(self, split: str) -> int:
        """Number of images in ``split``."""
        return int(getattr(self, f"n_{split}"))

    def seen_pairs(self) -> list[tuple[str, str]]:
        """(colour, shape) pairs allowed in train/val/test."""
        held = {tuple(pair) for pair in self.held_out}
        return [(c, s) for c in self.colours for s in self.shapes if (c, s) not in held]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShapesConfig:
        """Rebuild a config from ``asdict`` output or a JSON ``info["config"]`` (lists -> tuples)."""
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        for key in ("colours", "shapes"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        if "held_out" in kwargs:
            kwargs["held_out"] = tuple(tuple(pair) for pair in kwargs["held_out"])
        return cls(**kwargs)


class _Paint(NamedTuple):
    """How to draw one object: ``points`` is a (K, 2) float polygon, None for a circle."""

    shape: str
    rgb: tuple[int, int, int]
    center: tuple[float, float]
    radius: float
    points: np.ndarray | None


@dataclass
class Scene:
    """One sampled image before rendering.

    ``objects`` and ``background`` are JSON-ready (what the annotations store);
    ``paint`` and ``texture`` are the extra detail rendering needs.
    """

    image_size: int
    objects: list[dict[str, Any]]
    background: dict[str, Any]
    paint: list[_Paint] = field(default_factory=list)
    gradient: tuple[float, float] = (0.0, 0.0)  # (amplitude, angle in radians)
    texture: np.ndarray | None = None  # (6, 6) float32 grey offsets, upsampled on render


# ----------------------------------------------------------------------------- sampling
def image_rng(config: ShapesConfig, split: str, index: int) -> np.random.Generator:
    """The generator of image ``index`` (0-based) of ``split``."""
    return np.random.default_rng([config.seed, SPLIT_CODES[split], index])


def _outline(shape: str, center: tuple[float, float], radius: float, angle: float) -> np.ndarray | None:
    """Polygon (K, 2) in pixels for a square, triangle or star of circumradius ``radius``."""
    if shape == "circle":
        return None
    if shape == "square":
        angles, radii = angle + np.pi / 4 + np.arange(4) * np.pi / 2, np.full(4, radius)
    elif shape == "triangle":
        angles, radii = angle - np.pi / 2 + np.arange(3) * 2 * np.pi / 3, np.full(3, radius)
    elif shape == "star":
        angles = angle - np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, radius, 0.45 * radius)
    else:
        raise ValueError(f"cannot draw shape {shape!r}")
    return np.stack([center[0] + radii * np.cos(angles), center[1] + radii * np.sin(angles)], 1)


_PERIOD = {"square": np.pi / 2, "triangle": 2 * np.pi / 3, "star": 2 * np.pi / 5, "circle": 0.0}
_CIRCLE_SCALE = 0.85  # a circle's radius relative to the object radius, to match areas


def _place(
    rng: np.random.Generator, size_px: int, radius: float, taken: list[tuple[float, float, float]]
) -> tuple[float, float] | None:
    """A centre keeping a disc of ``radius`` inside the image and clear of ``taken`` discs."""
    gap = _GAP * size_px
    low, high = radius + 2, size_px - radius - 2
    for _ in range(60):
        x, y = rng.uniform(low, high, 2)
        if all(math.hypot(x - tx, y - ty) > radius + tr + gap for tx, ty, tr in taken):
            return float(x), float(y)
    return None


def _background(rng: np.random.Generator) -> tuple[dict[str, Any], tuple[float, float], np.ndarray | None]:
    """A light neutral background: (JSON record, gradient, texture)."""
    kind = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    grey = int(rng.integers(208, 244))
    rgb = [grey + tint for tint in rng.integers(-6, 7, 3).tolist()]
    gradient, texture = (0.0, 0.0), None
    if kind == "gradient":
        gradient = (float(rng.uniform(12, 28)), float(rng.uniform(0, 2 * np.pi)))
    elif kind == "texture":
        texture = rng.normal(0, rng.uniform(3, 6), (6, 6)).astype(np.float32)
    return {"kind": kind, "rgb": rgb}, gradient, texture


def sample_scene(rng: np.random.Generator, config: ShapesConfig, split: str = "train") -> Scene:
    """Sample objects and background for one image of ``split``.

    Objects are sorted left to right; each JSON record is
    ``{"shape", "colour", "size", "center": [x, y], "bbox": [x, y, w, h]}`` in pixels.
    A ``novel`` scene's first placed object is a held-out pair.
    """
    size_px = config.image_size
    n_objects = int(rng.integers(config.min_objects, config.max_objects + 1))
    seen = config.seen_pairs()
    if split == "novel":
        held = [tuple(pair) for pair in config.held_out]
        everything = seen + held
        kinds = [held[rng.integers(len(held))]]
        kinds += [everything[rng.integers(len(everything))] for _ in range(n_objects - 1)]
    else:
        kinds = [seen[rng.integers(len(seen))] for _ in range(n_objects)]

    taken: list[tuple[float, float, float]] = []
    placed: list[tuple[dict[str, Any], _Paint]] = []
    for colour, shape in kinds:
        size = SIZES[rng.integers(len(SIZES))]
        radius = float(rng.uniform(*SIZE_RANGES[size]) * size_px)
        center = _place(rng, size_px, radius, taken)
        if center is None and size == "large":
            size = "small"
            radius = float(rng.uniform(*SIZE_RANGES[size]) * size_px)
            center = _place(rng, size_px, radius, taken)
        if center is None:
            continue  # no room: fewer objects (never the first, the image is empty then)
        taken.append((center[0], center[1], radius))
        angle = float(rng.uniform(0, _PERIOD[shape]))
        jitter = rng.integers(-_JITTER, _JITTER + 1, 3).tolist()
        rgb = tuple(min(max(c + j, 0), 255) for c, j in zip(COLOURS[colour], jitter))
        points = _outline(shape, center, radius, angle)
        if points is None:
            r = radius * _CIRCLE_SCALE
            x0, y0, x1, y1 = center[0] - r, center[1] - r, center[0] + r, center[1] + r
        else:
            (x0, y0), (x1, y1) = points.min(0), points.max(0)
        record = {
            "shape": shape,
            "colour": colour,
            "size": size,
            "center": [round(center[0], 2), round(center[1], 2)],
            "bbox": [round(float(x0), 2), round(float(y0), 2), round(float(x1 - x0), 2), round(float(y1 - y0), 2)],
        }
        placed.append((record, _Paint(shape, rgb, center, radius, points)))
    placed.sort(key=lambda item: item[0]["center"][0])
    background, gradient, texture = _background(rng)
    return Scene(size_px, [r for r, _ in placed], background, [p for _, p in placed], gradient, texture)


# ----------------------------------------------------------------------------- rendering
@functools.lru_cache(maxsize=8)
def _noise_table(sigma: float) -> np.ndarray:
    """(256,) int16 Gaussian quantiles: indexing it with uniform bytes gives N(0, sigma) noise."""
    dist = NormalDist(0.0, sigma)
    return np.array([round(dist.inv_cdf((i + 0.5) / 256)) for i in range(256)], np.int16)


@functools.lru_cache(maxsize=8)
def _grid(size_px: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) float32 x and y coordinates in [-0.5, 0.5]."""
    t = (np.arange(size_px, dtype=np.float32) + 0.5) / size_px - 0.5
    return np.meshgrid(t, t)


def _render_background(scene: Scene) -> np.ndarray:
    """(H, W, 3) uint8 background: base colour plus the grey gradient and texture."""
    s = scene.image_size
    image = cv2.merge([np.full((s, s), v, np.uint8) for v in scene.background["rgb"]])  # fast fill
    amplitude, angle = scene.gradient
    if not amplitude and scene.texture is None:
        return image
    grey = np.zeros((s, s), np.float32)
    if amplitude:
        xs, ys = _grid(s)
        grey += xs * np.float32(amplitude * math.cos(angle)) + ys * np.float32(amplitude * math.sin(angle))
    if scene.texture is not None:  # smooth: cubic to 4x the grid, then (cheap) linear
        small = cv2.resize(scene.texture, (24, 24), interpolation=cv2.INTER_CUBIC)
        grey += cv2.resize(small, (s, s), interpolation=cv2.INTER_LINEAR)
    return cv2.add(image, cv2.merge([grey, grey, grey]), dtype=cv2.CV_8U)  # saturating


def render_scene(scene: Scene, rng: np.random.Generator, noise_sigma: float = 1.5) -> np.ndarray:
    """Draw a scene anti-aliased with OpenCV; returns an (H, W, 3) uint8 RGB image.

    ``rng`` supplies the (H, W) luminance noise added to all three channels.
    """
    image = _render_background(scene)
    shift = DRAW_SHIFT
    scale = 1 << shift
    for paint in scene.paint:
        if paint.points is None:
            center = (round(paint.center[0] * scale), round(paint.center[1] * scale))
            radius = round(paint.radius * _CIRCLE_SCALE * scale)
            cv2.circle(image, center, radius, paint.rgb, -1, cv2.LINE_AA, shift)
        else:
            points = np.round(paint.points * scale).astype(np.int32)
            cv2.fillPoly(image, [points], paint.rgb, cv2.LINE_AA, shift)
    if noise_sigma > 0:
        s = scene.image_size
        uniform = rng.integers(0, 256, (s, s), dtype=np.uint8)  # (H, W)
        noise = cv2.LUT(uniform, _noise_table(float(noise_sigma)))  # (H, W) int16
        image = cv2.add(image, cv2.merge([noise, noise, noise]), dtype=cv2.CV_8U)  # saturating
    return image


def make_example(config: ShapesConfig, split: str, index: int) -> tuple[np.ndarray, Scene, list[str]]:
    """Image ``index`` of ``split``: ((H, W, 3) uint8 RGB image, its scene, its 5 captions)."""
    rng = image_rng(config, split, index)
    scene = sample_scene(rng, config, split)
    captions = write_captions(scene.objects, rng, CAPTIONS_PER_IMAGE, config.image_size)
    image = render_scene(scene, rng, config.noise_sigma)
    return image, scene, captions


# ----------------------------------------------------------------------------- writing
def file_name(split: str, image_id: int, image_format: str = "jpg") -> str:
    """COCO-like file name, e.g. ``shapes_train_000001.jpg``."""
    return f"shapes_{split}_{image_id:06d}.{image_format}"


def encode_params(image_format: str) -> list[int]:
    """``cv2.imwrite`` parameters the shapes world saves its images with (also used by the grader)."""
    if image_format == "png":
        return [cv2.IMWRITE_PNG_COMPRESSION, 3]
    return [cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]


def _generate_chunk(task: tuple[Path, ShapesConfig, str, int, int]) -> list[tuple[dict[str, Any], list[str]]]:
    """Render and write images ``start..stop-1`` of a split; returns (image record, captions) pairs."""
    out_dir, config, split, start, stop = task
    folder = out_dir / "images" / split
    params = encode_params(config.image_format)
    results = []
    for index in range(start, stop):
        image, scene, captions = make_example(config, split, index)
        image_id = index + 1
        name = file_name(split, image_id, config.image_format)
        if not cv2.imwrite(str(folder / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params):
            raise OSError(f"{folder / name}: could not write image")
        record = {
            "id": image_id,
            "license": 1,
            "file_name": name,
            "width": config.image_size,
            "height": config.image_size,
            "objects": scene.objects,
            "background": scene.background,
        }
        results.append((record, captions))
    return results


def _coco_json(config: ShapesConfig, split: str, examples: list[tuple[dict[str, Any], list[str]]]) -> dict[str, Any]:
    """The captions JSON of one split, keys as in MS COCO 2014 (plus ``objects``/``background``)."""
    annotations = []
    for record, captions in examples:
        for caption in captions:
            annotations.append({"id": len(annotations) + 1, "image_id": record["id"], "caption": caption})
    return {
        "info": {
            "description": f"Shapes world ({split}): synthetic image captioning data in MS COCO captions format",
            "version": "1.0",
            "contributor": "cvdata.shapes_world",
            "url": "",
            "split": split,
            "config": asdict(config),
        },
        "licenses": [{"id": 1, "name": "Generated synthetic data, MIT licence like the course", "url": ""}],
        "images": [record for record, _ in examples],
        "annotations": annotations,
    }


def generate_shapes(
    out_dir: Path,
    config: ShapesConfig = ShapesConfig(),
    workers: int = 2,
    splits: tuple[str, ...] = SPLITS,
) -> dict[str, Any]:
    """Generate the shapes world in MS COCO captions layout under ``out_dir``.

    Writes ``annotations/captions_<split>.json`` and ``images/<split>/*`` for each
    split; same config -> same bytes, whatever ``workers`` is (``workers <= 1``
    runs in this process). With ``workers > 1`` on macOS/Windows, call it under
    ``if __name__ == "__main__":`` in a script.

    Writes ``generation.json`` last (see ``cvdata.meta``) and returns its content:
    ``{"config", "counts": {split: n_images}, "captions", "seconds", "images_per_second"}``.
    """
    out_dir = Path(out_dir)
    unknown = [s for s in splits if s not in SPLIT_CODES]
    if unknown:
        raise ValueError(f"unknown splits {unknown}; choose from {SPLITS}")
    start_time = time.perf_counter()
    (out_dir / "annotations").mkdir(parents=True, exist_ok=True)
    clear_meta(out_dir)
    tasks = []
    for split in splits:
        (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
        for stale in (out_dir / "images" / split).glob(f"shapes_{split}_*"):
            stale.unlink()
        n = config.count(split)
        tasks += [(out_dir, config, split, i, min(i + _CHUNK, n)) for i in range(0, n, _CHUNK)]
    chunks = list(map_in_workers(_generate_chunk, tasks, workers))
    per_split: dict[str, list] = {split: [] for split in splits}
    for task, chunk in zip(tasks, chunks):
        per_split[task[2]].extend(chunk)
    for split, examples in per_split.items():
        text = json.dumps(_coco_json(config, split, examples), separators=(",", ":"))
        (out_dir / "annotations" / f"captions_{split}.json").write_text(text + "\n", encoding="utf-8")
    seconds = time.perf_counter() - start_time
    total = sum(len(v) for v in per_split.values())
    return write_meta(out_dir, config, {
        "counts": {split: len(v) for split, v in per_split.items()},
        "captions": total * CAPTIONS_PER_IMAGE,
        "seconds": round(seconds, 3),
        "images_per_second": round(total / max(seconds, 1e-9), 1),
    })


def write_shapes_grid(shapes_dir: Path, out_png: Path, n: int = 12, split: str = "train", columns: int = 4) -> Path:
    """Save a grid of the first ``n`` images of ``split``, each with its captions under it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .coco_captions import load_coco_captions

    shapes_dir, out_png = Path(shapes_dir), Path(out_png)
    coco = load_coco_captions(shapes_dir / "annotations" / f"captions_{split}.json")
    image_ids = sorted(coco.imgs)[:n]
    rows = math.ceil(len(image_ids) / columns)
    fig = Figure(figsize=(2.7 * columns, 2.95 * rows))
    FigureCanvasAgg(fig)
    for k, image_id in enumerate(image_ids):
        info = coco.imgs[image_id]
        path = shapes_dir / "images" / split / info["file_name"]
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"{path}: cannot read image")
        row, col = divmod(k, columns)
        ax = fig.add_axes((col / columns + 0.01, 1 - (row + 0.62) / rows, 1 / columns - 0.02, 0.58 / rows))
        ax.imshow(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), interpolation="nearest")
        ax.set_axis_off()
        captions = [textwrap.fill(ann["caption"], 50, subsequent_indent="  ") for ann in coco.imgToAnns[image_id]]
        ax.text(0.5, -0.03, "\n".join(captions), transform=ax.transAxes, ha="center", va="top", fontsize=6.2)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=90)
    return out_png
