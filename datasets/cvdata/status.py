"""A plain-text report of which data sets are present, their sizes and where they are."""
from __future__ import annotations

import json
from pathlib import Path

from .faces import csv_name
from .meta import read_meta
from .paths import GENERATED_DIR, REAL_DIR, coco_dir, faces_dir, shapes_dir
from .shapes_world import SPLITS


def folder_size(path: Path) -> int:
    """Total bytes of the files under ``path`` (0 when it does not exist)."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _count_rows(csv: Path) -> int:
    with open(csv, "rb") as f:
        return max(sum(1 for _ in f) - 1, 0)


def _faces_lines(folder: Path) -> list[str]:
    lines = []
    for split in ("training", "test"):
        csv, images = folder / csv_name(split), folder / split
        if csv.is_file():
            n_img = sum(1 for _ in images.glob("*")) if images.is_dir() else 0
            lines.append(f"    {split:9s} {_count_rows(csv):6d} labelled rows, {n_img:6d} images  "
                         f"({csv.name}, {split}/)")
        else:
            lines.append(f"    {split:9s} missing ({csv.name})")
    return lines


def _split_order(ann: Path) -> tuple[int, str]:
    """Sort key putting captions_train*.json first, then the shapes world's other splits in order, then the rest."""
    name = ann.stem.removeprefix("captions_")
    return next((i for i, s in enumerate(SPLITS) if name.startswith(s)), len(SPLITS)), name


def _coco_lines(folder: Path) -> list[str]:
    lines = []
    for ann in sorted((folder / "annotations").glob("captions_*.json"), key=_split_order):
        split = ann.stem.removeprefix("captions_")
        data = json.loads(ann.read_text())
        img_dir = folder / "images" / split
        n_files = sum(1 for _ in img_dir.glob("*")) if img_dir.is_dir() else 0
        lines.append(f"    {split:9s} {len(data.get('images', [])):6d} images, "
                     f"{len(data.get('annotations', [])):6d} captions,"
                     f" {n_files:6d} image files  (annotations/{ann.name}, images/{split}/)")
    return lines or ["    no captions_*.json under annotations/"]


def _section(title: str, folder: Path, body) -> list[str]:
    if not folder.is_dir():
        return [f"{title}: not present ({folder})"]
    info = read_meta(folder)
    extra = ""
    if info:
        extra = f", generated with seed {info['config'].get('seed')} at {info.get('images_per_second')} images/s"
    return [f"{title}: {folder}  [{_mb(folder_size(folder))}{extra}]", *body(folder)]


def _backbone_line(generated: Path) -> str:
    from .errors import DataError
    from .shapes_backbone import backbone_path, describe, read_backbone

    path = backbone_path(generated)
    if not path.is_file():
        return f"Shapes backbone (captioning encoder, offline): not present ({path}; python -m cvdata pretrain)"
    try:
        return f"Shapes backbone (captioning encoder, offline): {path}  [{_mb(path.stat().st_size)}, " \
               f"{describe(read_backbone(path))}]"
    except DataError as err:
        return f"Shapes backbone (captioning encoder, offline): {err}"


def status_report(generated: Path = GENERATED_DIR, real: Path = REAL_DIR) -> str:
    """Describe the synthetic and real data found under the two roots."""
    lines = ["Course data", "-----------"]
    lines += _section("Synthetic faces (Udacity format)", faces_dir(generated), _faces_lines)
    lines += _section("Synthetic shapes world (COCO captions format)", shapes_dir(generated), _coco_lines)
    lines.append(_backbone_line(generated))
    lines += _section("Real Udacity facial keypoints", faces_dir(real), _faces_lines)
    lines += _section("Real MS COCO 2014", coco_dir(real), _coco_lines)
    if not faces_dir(real).is_dir() or not coco_dir(real).is_dir():
        lines.append("Real data is optional: `python -m cvdata fetch faces` / `python -m cvdata fetch coco` "
                     "(needs internet).")
    return "\n".join(lines)
