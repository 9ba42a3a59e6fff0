"""Load an MS COCO captions JSON through pycocotools, with errors that name the file.

Works for MS COCO 2014 (``captions_train2014.json``, ``captions_val2014.json``)
and for the shapes world's ``captions_<split>.json`` (same schema, plus
``objects`` and ``background`` per image). pycocotools' progress prints are
kept out of the terminal.
"""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from pycocotools.coco import COCO

from .errors import DataError


def _check_captions(path: Path, dataset: Any) -> None:
    """Raise DataError unless ``dataset`` has COCO captions' images and annotations."""
    if not isinstance(dataset, dict):
        raise DataError(path, f"expected a JSON object at the top level, found {type(dataset).__name__}")
    images = dataset.get("images")
    if images is None:
        raise DataError(path, "no 'images' key: not an MS COCO captions file")
    if not isinstance(images, list) or not images:
        raise DataError(path, "'images' is empty or not a list")
    image_ids = set()
    for k, image in enumerate(images):
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise DataError(path, f"images[{k}] needs an 'id' and a 'file_name'")
        image_ids.add(image["id"])
    annotations = dataset.get("annotations")
    if annotations is None:
        raise DataError(path, "no 'annotations' key: not an MS COCO captions file")
    if not isinstance(annotations, list) or not annotations:
        raise DataError(path, "'annotations' is empty or not a list: no captions")
    for k, ann in enumerate(annotations):
        if not isinstance(ann, dict) or "id" not in ann or "image_id" not in ann:
            raise DataError(path, f"annotations[{k}] needs an 'id' and an 'image_id'")
        caption = ann.get("caption")
        if not isinstance(caption, str) or not caption.strip():
            raise DataError(path, f"annotations[{k}] (id {ann['id']}) has no 'caption' string")
        if ann["image_id"] not in image_ids:
            raise DataError(
                path,
                f"annotations[{k}] (id {ann['id']}) refers to image_id {ann['image_id']}, which is not in 'images'"
            )


def load_coco_captions(path: str | Path) -> COCO:
    """Read and check a COCO captions JSON; returns the indexed ``pycocotools.coco.COCO``.

    ``coco.imgs[image_id]`` is the image record, ``coco.imgToAnns[image_id]`` its
    caption annotations (``{"id", "image_id", "caption"}``).

    Raises:
        DataError: "<path>: <problem>" for a missing or unreadable file, invalid
            JSON, missing or empty ``images`` / ``annotations``, an annotation
            without a caption string, or one whose ``image_id`` has no image.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found" if not path.exists() else "not a file")
    try:
        with path.open("r", encoding="utf-8") as f:
            dataset = json.load(f)
    except json.JSONDecodeError as err:
        raise DataError(path, f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(path, f"cannot read: {err}") from None
    _check_captions(path, dataset)
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco
