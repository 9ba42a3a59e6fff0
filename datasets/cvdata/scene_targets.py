"""What a shapes-world image shows, as classification targets: the labels the course's backbone is pretrained on.

Each image's recorded ``objects`` (``shapes_captions``) become one target per
*head*:

- ``colour`` ``(C,)`` and ``shape`` ``(S,)``: which colours / shapes occur (multi-label, 0/1);
- ``pair`` ``(C * S,)``: which colour-shape pairs occur (multi-label): what a caption must get right;
- ``size`` ``(C * S * 2,)``: which (pair, small/large) occur;
- ``region`` ``(C * S * 9,)``: which (pair, third of the image) occur, rows then columns;
- ``count``: the number of objects minus one (a class index, ``0 .. MAX_OBJECTS - 1``).

Pair ``(colour c, shape s)`` has index ``c * S + s`` in the course's colour and shape order.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .shapes_captions import COLOURS, HORIZONTAL_WORDS, SHAPES, SIZES, VERTICAL_WORDS, region_of

HEADS: tuple[str, ...] = ("colour", "shape", "pair", "size", "region", "count")
MAX_OBJECTS = 3
"""Count classes (the default shapes world holds 1-3 objects)."""
N_REGIONS = len(VERTICAL_WORDS) * len(HORIZONTAL_WORDS)


def head_sizes(colours: Sequence[str] = tuple(COLOURS), shapes: Sequence[str] = SHAPES) -> dict[str, int]:
    """Outputs per head."""
    pairs = len(colours) * len(shapes)
    return {"colour": len(colours), "shape": len(shapes), "pair": pairs, "size": pairs * len(SIZES),
            "region": pairs * N_REGIONS, "count": MAX_OBJECTS}


def scene_targets(objects: Sequence[Mapping], image_size: int, colours: Sequence[str] = tuple(COLOURS),
                  shapes: Sequence[str] = SHAPES) -> dict[str, np.ndarray | int]:
    """The targets of one image from its ``objects`` (centres in pixels of an ``image_size`` image)."""
    colours, shapes = list(colours), list(shapes)
    sizes = head_sizes(colours, shapes)
    out: dict[str, np.ndarray | int] = {h: np.zeros(n, dtype=np.float32) for h, n in sizes.items() if h != "count"}
    for obj in objects:
        c, s = colours.index(obj["colour"]), shapes.index(obj["shape"])
        pair = c * len(shapes) + s
        vertical, horizontal = region_of(obj["center"], image_size)
        region = VERTICAL_WORDS.index(vertical) * len(HORIZONTAL_WORDS) + HORIZONTAL_WORDS.index(horizontal)
        out["colour"][c] = out["shape"][s] = out["pair"][pair] = 1.0
        out["size"][pair * len(SIZES) + SIZES.index(obj["size"])] = 1.0
        out["region"][pair * N_REGIONS + region] = 1.0
    out["count"] = min(max(len(objects), 1), MAX_OBJECTS) - 1
    return out


def stack_targets(per_image: Sequence[Mapping], heads: Sequence[str]) -> dict[str, np.ndarray]:
    """``scene_targets`` of many images stacked per head: ``(N, outputs)`` float32, ``count`` ``(N,)`` int64."""
    return {h: np.asarray([t[h] for t in per_image], dtype=np.int64 if h == "count" else np.float32) for h in heads}
