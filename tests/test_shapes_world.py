"""The shapes world: deterministic generation, true and varied captions, clean splits."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cvdata.coco_captions import load_coco_captions
from cvdata.meta import META_FILE
from cvdata.shapes_captions import (
    COLOURS,
    SHAPES,
    caption_matches_objects,
    named_colours,
    named_shapes,
    parse_caption,
    write_captions,
)
from cvdata.shapes_world import (
    SPLITS,
    ShapesConfig,
    generate_shapes,
    image_rng,
    make_example,
    sample_scene,
    write_shapes_grid,
)

TINY = ShapesConfig(n_train=30, n_val=10, n_test=10, n_novel=12)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shapes") / "shapes"
    generate_shapes(out, TINY, workers=2)
    return out


def _tree_digest(root: Path) -> dict[str, str]:
    """Hashes of the data files (not generation.json, which records timings)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != META_FILE
    }


def _scenes(config: ShapesConfig, split: str, n: int):
    for index in range(n):
        rng = image_rng(config, split, index)
        scene = sample_scene(rng, config, split)
        yield scene, write_captions(scene.objects, rng, 5, config.image_size)


# ----------------------------------------------------------------------------- files
def test_same_seed_same_bytes_any_worker_count(tiny_set: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    summary = generate_shapes(again, TINY, workers=1)
    assert summary["counts"] == {"train": 30, "val": 10, "test": 10, "novel": 12}
    assert _tree_digest(again) == _tree_digest(tiny_set)


def test_different_seed_different_data(tiny_set: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate_shapes(other, ShapesConfig(n_train=30, n_val=0, n_test=0, n_novel=0, seed=7), workers=1, splits=("train",))
    name = "annotations/captions_train.json"
    assert (other / name).read_bytes() != (tiny_set / name).read_bytes()
    first = "images/train/shapes_train_000001.jpg"
    assert (other / first).read_bytes() != (tiny_set / first).read_bytes()


def test_png_option_keeps_exact_pixels(tmp_path: Path) -> None:
    config = ShapesConfig(n_train=3, n_val=0, n_test=0, n_novel=0, image_format="png")
    generate_shapes(tmp_path, config, workers=1, splits=("train",))
    image, _, _ = make_example(config, "train", 0)
    bgr = cv2.imread(str(tmp_path / "images/train/shapes_train_000001.png"))
    assert np.array_equal(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), image)


def test_coco_layout_loads_with_five_captions_each(tiny_set: Path) -> None:
    for split in SPLITS:
        path = tiny_set / "annotations" / f"captions_{split}.json"
        coco = load_coco_captions(path)
        assert len(coco.imgs) == TINY.count(split)
        data = json.loads(path.read_text())
        assert ShapesConfig.from_dict(data["info"]["config"]) == TINY
        assert len({a["id"] for a in data["annotations"]}) == len(data["annotations"])
        for image_id, info in coco.imgs.items():
            captions = [a["caption"] for a in coco.imgToAnns[image_id]]
            assert len(captions) == 5
            assert len(set(captions)) >= 3, captions
            assert all(caption_matches_objects(c, info["objects"], check_counts=True) for c in captions)
            image = cv2.imread(str(tiny_set / "images" / split / info["file_name"]))
            assert image.shape == (info["height"], info["width"], 3)
            for obj in info["objects"]:
                x, y, w, h = obj["bbox"]
                assert 0 <= x and 0 <= y and x + w <= info["width"] and y + h <= info["height"]


def test_splits_share_no_image(tiny_set: Path) -> None:
    seen: dict[str, str] = {}
    for split in SPLITS:
        for path in sorted((tiny_set / "images" / split).iterdir()):
            digest = hashlib.sha256(cv2.imread(str(path)).tobytes()).hexdigest()
            assert digest not in seen, f"{path.name} repeats {seen.get(digest)}"
            seen[digest] = f"{split}/{path.name}"


def test_grid_is_written(tiny_set: Path, tmp_path: Path) -> None:
    out = write_shapes_grid(tiny_set, tmp_path / "grid.png", n=4)
    assert cv2.imread(str(out)) is not None


# ----------------------------------------------------------------------------- scenes
def test_captions_are_true_and_varied_over_many_scenes() -> None:
    config = ShapesConfig()
    n_objects = []
    for split in SPLITS:
        for scene, captions in _scenes(config, split, 150):
            objects = scene.objects
            n_objects.append(len(objects))
            assert len(captions) == 5 and len(set(captions)) == 5, captions
            for caption in captions:
                assert caption == caption.lower() and not caption.endswith(".")
                assert caption_matches_objects(caption, objects, check_counts=True), (caption, objects)
            # at least one caption names every object
            everything = sorted((o["colour"], o["shape"]) for o in objects)
            assert any(sorted(parse_caption(c)) == everything for c in captions), (captions, objects)
    assert set(n_objects) == {1, 2, 3}


def test_objects_inside_image_and_apart() -> None:
    config = ShapesConfig(image_size=96)
    for scene, _ in _scenes(config, "train", 200):
        assert config.min_objects <= len(scene.objects) <= config.max_objects
        for obj in scene.objects:
            x, y, w, h = obj["bbox"]
            assert 0 <= x and 0 <= y and x + w <= 96 and y + h <= 96
            cx, cy = obj["center"]
            assert x <= cx <= x + w and y <= cy <= y + h
        paint = scene.paint
        for i in range(len(paint)):
            for j in range(i):
                gap = np.hypot(*np.subtract(paint[i].center, paint[j].center))
                assert gap > paint[i].radius + paint[j].radius


def test_novel_split_holds_the_held_out_pairs_and_only_it() -> None:
    config = ShapesConfig()
    held = {tuple(p) for p in config.held_out}
    for split in ("train", "val", "test"):
        for scene, _ in _scenes(config, split, 200):
            assert not {(o["colour"], o["shape"]) for o in scene.objects} & held
    for scene, _ in _scenes(config, "novel", 200):
        assert {(o["colour"], o["shape"]) for o in scene.objects} & held
    seen = config.seen_pairs()
    assert {c for c, _ in seen} == set(config.colours) and {s for _, s in seen} == set(config.shapes)


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError):
        ShapesConfig(held_out=tuple(("red", s) for s in SHAPES))  # red would vanish from train
    with pytest.raises(ValueError):
        ShapesConfig(min_objects=0)


def test_render_is_rgb_uint8_and_background_neutral() -> None:
    image, scene, _ = make_example(ShapesConfig(), "train", 3)
    assert image.shape == (128, 128, 3) and image.dtype == np.uint8
    r, g, b = scene.background["rgb"]
    assert max(r, g, b) - min(r, g, b) <= 12 and min(r, g, b) >= 195


# ----------------------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    "caption, mentions",
    [
        ("two red circles", [("red", "circle"), ("red", "circle")]),
        ("a blue triangle above a green circle", [("blue", "triangle"), ("green", "circle")]),
        ("a small blue triangle to the left of a large green circle", [("blue", "triangle"), ("green", "circle")]),
        ("a red circle, a blue square and a green triangle",
         [("red", "circle"), ("blue", "square"), ("green", "triangle")]),
        ("there is an orange star in the top right corner", [("orange", "star")]),
        ("a circle and three small purple stars", [(None, "circle")] + [("purple", "star")] * 3),
        ("yellow squares", [("yellow", "square"), ("yellow", "square")]),
        ("a red thing on the left", []),
    ],
)
def test_parse_caption(caption: str, mentions: list) -> None:
    assert parse_caption(caption) == mentions


def test_named_words_and_matching() -> None:
    objects = [
        {"shape": "triangle", "colour": "blue", "size": "small", "center": [20, 60]},
        {"shape": "circle", "colour": "green", "size": "large", "center": [90, 60]},
    ]
    assert named_colours("A Blue triangle, and a GREEN circle.") == {"blue", "green"}
    assert named_shapes("two circles and a star") == {"circle", "star"}
    assert caption_matches_objects("a blue triangle to the left of a green circle", objects)
    assert caption_matches_objects("a triangle", objects)
    assert not caption_matches_objects("a red triangle", objects)  # wrong colour
    assert not caption_matches_objects("a green triangle", objects)  # colour on the wrong shape
    assert not caption_matches_objects("a blue star", objects)  # shape absent
    assert not caption_matches_objects("a red thing and a blue triangle", objects)  # stray colour
    assert not caption_matches_objects("a picture", objects)  # names nothing
    assert caption_matches_objects("two blue triangles", objects)
    assert not caption_matches_objects("two blue triangles", objects, check_counts=True)
    assert set(COLOURS) >= {"red", "green", "blue", "yellow", "purple", "orange"}
