"""Similarity across a class (copydetect): a copied-and-renamed file is flagged, two independent solutions are not."""
from __future__ import annotations

from pathlib import Path

from autograder.projects import Project
from autograder.similarity import find_similar, write_similarity_html

STARTER = '''"""Transforms on samples {"image": (H, W, 3) uint8, "keypoints": (68, 2)}."""
import numpy as np


def rescale(sample, size):
    """Resize the image so that its shorter side is ``size``; scale the keypoints with it."""
    raise NotImplementedError("not implemented yet: rescale")


def crop(sample, top, left, height, width):
    """Cut a (height, width) window at (top, left); move the keypoints with it."""
    raise NotImplementedError("not implemented yet: crop")


def normalize(sample):
    """Grayscale in [0, 1]; keypoints from pixels to [-1, 1]."""
    raise NotImplementedError("not implemented yet: normalize")
'''

ORIGINAL = '''"""Transforms on samples {"image": (H, W, 3) uint8, "keypoints": (68, 2)}."""
import numpy as np


def rescale(sample, size):
    """Resize the image so that its shorter side is ``size``; scale the keypoints with it."""
    image, keypoints = sample["image"], sample["keypoints"]
    height, width = image.shape[:2]
    if height > width:
        new_h, new_w = size * height / width, size
    else:
        new_h, new_w = size, size * width / height
    rows = (np.arange(int(new_h)) * height / int(new_h)).astype(int)
    cols = (np.arange(int(new_w)) * width / int(new_w)).astype(int)
    resized = image[rows][:, cols]
    factors = np.array([int(new_w) / width, int(new_h) / height])
    return {"image": resized, "keypoints": keypoints * factors}


def crop(sample, top, left, height, width):
    """Cut a (height, width) window at (top, left); move the keypoints with it."""
    image, keypoints = sample["image"], sample["keypoints"]
    window = image[top:top + height, left:left + width]
    if window.shape[:2] != (height, width):
        raise ValueError(f"a {height}x{width} window at ({top}, {left}) does not fit in {image.shape[:2]}")
    return {"image": window, "keypoints": keypoints - np.array([left, top])}


def normalize(sample):
    """Grayscale in [0, 1]; keypoints from pixels to [-1, 1]."""
    image, keypoints = sample["image"], sample["keypoints"]
    gray = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32) / 255.0
    height, width = gray.shape
    scaled = keypoints / np.array([width, height]) * 2 - 1
    return {"image": gray, "keypoints": scaled}
'''

RENAMES = {"image": "img", "keypoints": "pts", "height": "rows_n", "width": "cols_n", "resized": "out_img",
           "factors": "ratio", "window": "patch", "gray": "luma", "scaled": "pts_out", "new_h": "tall", "new_w": "wide",
           "rows": "ys", "cols": "xs"}


def _renamed_copy(source: str) -> str:
    """``source`` with its local names renamed and its comments and messages reworded: a disguised copy."""
    import re

    for old, new in RENAMES.items():
        source = re.sub(rf"\b{old}\b(?!\")", new, source)
    source = source.replace("does not fit in", "is outside of").replace('"""Cut a', '"""Take a')
    return source.replace("    img, pts =", "    # unpack the sample\n    img, pts =")


INDEPENDENT = '''"""Transforms on samples {"image": (H, W, 3) uint8, "keypoints": (68, 2)}."""
import numpy as np


def rescale(sample, size):
    """Resize the image so that its shorter side is ``size``; scale the keypoints with it."""
    import cv2

    h, w = sample["image"].shape[:2]
    scale = size / min(h, w)
    out_w, out_h = round(w * scale), round(h * scale)
    small = cv2.resize(sample["image"], (out_w, out_h), interpolation=cv2.INTER_AREA)
    points = sample["keypoints"].copy()
    points[:, 0] *= out_w / w
    points[:, 1] *= out_h / h
    return dict(image=small, keypoints=points)


def crop(sample, top, left, height, width):
    """Cut a (height, width) window at (top, left); move the keypoints with it."""
    img = sample["image"]
    assert top >= 0 and left >= 0 and top + height <= img.shape[0] and left + width <= img.shape[1], "out of the image"
    moved = sample["keypoints"] - [left, top]
    return dict(image=img[top:top + height, left:left + width].copy(), keypoints=moved)


def normalize(sample):
    """Grayscale in [0, 1]; keypoints from pixels to [-1, 1]."""
    import cv2

    g = cv2.cvtColor(sample["image"], cv2.COLOR_RGB2GRAY) / 255.0
    size = np.array(g.shape[::-1], dtype=float)  # (width, height)
    return dict(image=g, keypoints=2.0 * sample["keypoints"] / size - 1.0)
'''


def _folder(root: Path, name: str, source: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "transforms.py").write_text(source)
    return folder


def test_a_copied_and_renamed_file_is_flagged_and_independent_solutions_are_not(tmp_path):
    project = Project("toy", tmp_path, ("transforms.py",), (), ())
    starter = _folder(tmp_path, "starter", STARTER)
    folders = {"ada": _folder(tmp_path, "ada", ORIGINAL), "bo": _folder(tmp_path, "bo", _renamed_copy(ORIGINAL)),
               "cy": _folder(tmp_path, "cy", INDEPENDENT)}
    assert "pts_out" in (folders["bo"] / "transforms.py").read_text(), "the copy really is renamed"
    pairs = find_similar(project, folders, boilerplate=starter)
    flagged = {frozenset((p.first, p.second)) for p in pairs if p.flagged}
    assert flagged == {frozenset(("ada", "bo"))}, [(p.first, p.second, round(p.share, 2)) for p in pairs]
    copy = next(p for p in pairs if {p.first, p.second} == {"ada", "bo"})
    assert copy.share > 0.8 and copy.file == "transforms.py"
    page = write_similarity_html(pairs, tmp_path / "similarity.html", "toy").read_text()
    assert "highlight-red" in page and "pts_out" in page and "cdn." not in page


def test_the_starter_code_alone_is_not_similarity_and_links_are_not_followed(tmp_path):
    project = Project("toy", tmp_path, ("transforms.py",), (), ())
    starter = _folder(tmp_path, "starter", STARTER)
    folders = {name: _folder(tmp_path, name, STARTER) for name in ("ada", "bo")}
    secret = tmp_path / "secret.py"
    secret.write_text(ORIGINAL)
    for name in ("cy", "di"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "transforms.py").symlink_to(secret)
        folders[name] = tmp_path / name
    assert find_similar(project, folders, boilerplate=starter) == []
