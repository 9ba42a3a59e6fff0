"""The facial keypoints checks (parent side) and the inputs they need.

``prepare`` writes into the sandbox: a small visible faces set (Udacity CSV and
images), marked samples for the geometric transforms, two of the visible faces for
ColorJitter (the sunglasses filter reads three from the faces set), a
preprocessed training batch for the short run, held-out face images WITHOUT their
labels (those stay in ``ctx.answers``), and two real photos. They are made once per grader process
(the held-out faces once per variant, ``heldout_set``) and copied into each
submission's sandbox. The checks score against the grader's
own copies of all of these, never what is in the sandbox afterwards.
``CHECKS`` lists the checks in the order a student meets the parts.
"""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import cv2
import numpy as np

from autograder.checks import Check, Context, Fail, Scored, credit, feedback, inputs_path, shape_text, value_of
from autograder.checks.losses import smooth_l1
from autograder.checks.markers import face_keypoints, marked_sample, marker_position
from autograder.projects import PROJECTS
from cvdata.face_layout import INNER_LIPS, LEFT_EYE, MIRRORED_INDEX, OUTER_LIPS, RIGHT_EYE
from cvdata.faces import FacesConfig, csv_name, generate_faces, render_sample, write_face_image
from cvdata.images import read_image
from cvdata.keypoint_metrics import FAILURE_THRESHOLD, auc_at, ced_curve, failure_rate, per_image_nme
from cvdata.keypoints_norm import normalize_keypoints
from cvdata.keypoints_table import read_keypoints_csv

PROJECT = "facial_keypoints"
VISIBLE_SEED = 101
"""Seed of the visible faces the dataset and training checks read (public, not the held-out seed)."""
N_VISIBLE = 20
HELDOUT_FACES = 60
MARKED_H, MARKED_W = 90, 70
MARKED_POINTS = (8, 30, 36, 57)
DATASET_INDICES = [0, 7, 19]
CROP = (60, 50)
RESCALE_POINTS_PX = 0.5
"""Rescale: scaled keypoints may differ from the exact factors by this much (a rounded new size moves them)."""
RESCALE_MARK_PX = 1.5
"""Rescale: a mark drawn on a keypoint may end up this far from it (interpolation blurs and shifts the mark)."""
KEYPOINT_ATOL = 1e-3
"""Dataset, Normalize: keypoints that should equal the grader's (the same float arithmetic) may differ this much."""
CROP_SHIFT_ATOL = 1e-3
"""RandomCrop, CenterCrop: every keypoint must move by one offset, to this much (a crop subtracts one integer pair)."""
CENTRED_CORNER = ((MARKED_W - CROP[1]) // 2, (MARKED_H - CROP[0]) // 2)
"""CenterCrop(CROP) on the marked samples: (left, top) = (10, 15); the spare 20 columns and 30 rows are even, so
every way of rounding the half puts the window there."""
ROTATE_DEGREES, ROTATE_SEED = 40, 5
"""RandomRotate(40) on the marked samples, NumPy seeded with 5: the angles drawn are -22, 30, -24 and 34 degrees, so a
mark left behind by unturned keypoints ends up 2 to 10 px away from them."""
ROTATE_POINTS_PX = 0.5
"""RandomRotate: keypoints may miss one rigid turn about the image centre by this much (a centre half a pixel off)."""
ROTATE_MARK_PX = 1.5
"""RandomRotate: a turned mark may end up this far from its turned keypoint (bilinear interpolation blurs it)."""
ROTATE_AT_LEAST_DEG = 1.0
"""RandomRotate: the largest turn of the four samples must be at least this (the seeded draws are all above 20)."""
ROTATE_ANGLE_SLACK_DEG = 0.5
"""RandomRotate: a turn may exceed max_degrees by this much (the angle is read back from rounded keypoints)."""
JITTER_FACES = (0, 7)
"""The visible faces ColorJitter is tried on: mid-tones, so that a brightness or contrast factor shows."""
JITTER_ARGS = [0.5, 0.5]
"""ColorJitter(brightness, contrast) on the RGB faces; after Normalize it runs with its defaults."""
JITTER_ORDER_SLACK = 1.0
"""ColorJitter: a pixel may come out this many uint8 levels (of 255) darker than one that was darker before it
(rounding); more means values wrapped around or were not jittered alike."""
JITTER_MIN_CHANGE = 1.0
"""ColorJitter: the seeded factors must change at least one face by this many levels (of 255) on average (the
reference: 12)."""
PIXEL_RANGE_SLACK = 1e-6
"""Normalize: grayscale values may overshoot 1 this much (float rounding of 255 / 255)."""
BRIGHTEST_AT_LEAST = 0.5
"""Normalize: the marked samples' brightest pixel is near 1 in [0, 1]; below this, the image was divided twice."""
PHOTO_POINTS_PX = 1.0
"""Haar pipeline: keypoints mapped into a face's box may be this far from the grader's (rounding of the box)."""
NOT_USING_IMAGE_CREDIT = 0.5
"""Training: the share of the points when the loss falls but not below the mean-shape loss."""
FLIP_POINTS_PX = 0.01
"""Flip: keypoints must match the grader's mirror (x -> width - x is exact arithmetic)."""
FLIP_MARK_PX = 0.5
"""Flip: a mirrored mark must sit on its renumbered keypoint (mirroring moves no pixel off the grid)."""
NME_CREDIT = ((0.10, 1.0), (0.13, 0.75), (0.17, 0.5), (0.21, 0.25))
"""(NME at most, fraction of the points): the mean-shape baseline on these faces is about 0.21."""
MIRROR_NME_CREDIT = ((0.12, 1.0), (0.16, 0.5))
SUNGLASSES_FACES = DATASET_INDICES
"""The visible faces the sunglasses filter is tried on (inter-ocular distances 31, 48 and 46 px)."""
SUNGLASSES_CHANGED = 8
"""Sunglasses: a pixel counts as covered when some channel changed by more than this (of 255); the lenses are dark and
nine tenths opaque, so an eye under one changes by far more."""
EYES_COVERED = 0.9
"""Sunglasses: at least this share of the eye keypoints (36-47) must be covered (the reference covers all)."""
LOWER_FACE_COVERED = 0.1
"""Sunglasses: at most this share of the mouth (48-67) and chin (6-10) keypoints may be (the reference covers none)."""
EYE_POINTS = [*RIGHT_EYE, *LEFT_EYE]
LOWER_FACE_POINTS = [*OUTER_LIPS, *INNER_LIPS, *range(6, 11)]
LOSS_STEPS, LOSS_IMAGES, LOSS_LR = 80, 16, 1e-3
"""Training: Adam steps, faces and learning rate of the short run. Students design their own network, so the run
is long enough for plain designs, not only the reference: at 40 steps, designs unlike it (``own-*`` in
``benchmarks/grader_reliability.py``: plain conv stacks, Udacity's classic) ended at 0.85-1.03 of the mean-shape
loss and failed; at 80 they reach 0.26-0.45, the reference 0.00."""
NET_INPUT = 224
"""The network's input size: (1, 224, 224) grayscale in [0, 1]."""
LOSS_DROP = 0.5
"""The final loss must be at most this fraction of the first one ..."""
LOSS_BELOW_MEAN_SHAPE = 0.7
"""... and at most this fraction of the loss of predicting the mean shape (which ignores the image)."""
ASTRONAUT_FACE = (225.0, 115.0)
"""Centre of the face in ``skimage.data.astronaut()`` (x, y)."""
FIXED_POINTS = np.stack([np.linspace(-0.9, 0.9, 68), 0.8 * np.sin(np.linspace(0, 6, 68))], axis=1)
"""What the stand-in network predicts for every face in the Haar check (normalised)."""
_ROWS = np.linspace(0.15, 0.85, 17)
FRAME_GRID = np.stack([np.tile(_ROWS, 4), np.repeat([0.2, 0.4, 0.6, 0.8], 17)], axis=1)
"""(68, 2) probe points (fractions of width and height) that measure the geometry of the student's pipeline."""
MAX_FRAME_RESIDUAL = 0.5
"""Largest misfit of an affine map to where the pipeline put the probe points (network frame)."""
(MODEL,) = PROJECTS[PROJECT].artefacts


# ----------------------------------------------------------------------------- inputs
def mirror(image: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grader's own horizontal flip: mirrored image, x -> width - x, points renumbered."""
    flipped = keypoints.copy()
    flipped[:, 0] = image.shape[1] - flipped[:, 0]
    return image[:, ::-1].copy(), flipped[list(MIRRORED_INDEX)]


def training_batch(images: list[np.ndarray], keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grader's own preprocessing for the short run: faces resized to 224x224, grayscale in [0, 1], keypoints
    normalised. Returns ``(images (n, 1, 224, 224) float32, targets (n, 136) float32)``."""
    inputs, targets = [], []
    for image, points in zip(images, keypoints):
        height, width = image.shape[:2]
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        inputs.append(cv2.resize(gray, (NET_INPUT, NET_INPUT), interpolation=cv2.INTER_AREA)[None] / 255.0)
        scaled = points * [NET_INPUT / width, NET_INPUT / height]
        targets.append(normalize_keypoints(scaled, NET_INPUT, NET_INPUT).reshape(136))
    return np.stack(inputs).astype(np.float32), np.stack(targets).astype(np.float32)


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by its path relative to it."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _sample_arrays(samples: list[dict]) -> dict[str, np.ndarray]:
    """Samples as the arrays of an .npz file: ``image_<i>`` and ``keypoints_<i>`` (what the probe reads back)."""
    return {f"{kind}_{i}": s[kind] for i, s in enumerate(samples) for kind in ("image", "keypoints")}


def _frozen(value):
    """``value`` with every NumPy array in it made read-only (the cached answers are shared by submissions)."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, dict):
        for item in value.values():
            _frozen(item)
    elif isinstance(value, list):
        for item in value:
            _frozen(item)
    return value


@functools.lru_cache(maxsize=1)
def _shared_inputs() -> tuple[dict[str, bytes], dict]:
    """The inputs every submission gets (visible faces, the short run's batch, marked samples, photos): the files,
    relative to ``grader_inputs/``, and the answers. Made once per grader process."""
    import skimage.data

    answers = {}
    with tempfile.TemporaryDirectory(prefix="autograder-fk-inputs-") as temp:
        root = Path(temp)
        faces = root / "faces"
        generate_faces(faces, FacesConfig(n_train=N_VISIBLE, n_test=0, seed=VISIBLE_SEED), workers=1, progress=False)
        names, keypoints = read_keypoints_csv(faces / csv_name("training"))
        images = [read_image(faces / "training" / name) for name in names]
        answers["visible"] = {"names": names, "keypoints": keypoints, "images": images}
        batch, targets = training_batch(images[:LOSS_IMAGES], keypoints[:LOSS_IMAGES])
        np.savez(root / "short_run.npz", images=batch, targets=targets)
        answers["short_run"] = targets

        template = face_keypoints(MARKED_W, MARKED_H)
        samples = [marked_sample(p, template, MARKED_H, MARKED_W) for p in MARKED_POINTS]
        np.savez(root / "marked.npz", **_sample_arrays(samples))
        answers["marked"] = samples
        jitter = [{"image": images[i], "keypoints": keypoints[i]} for i in JITTER_FACES]
        np.savez(root / "jitter.npz", **_sample_arrays(jitter))
        answers["jitter"] = jitter

        photo = skimage.data.astronaut()  # (512, 512, 3) uint8, public domain
        pair = np.ascontiguousarray(np.hstack([photo, photo[:, ::-1]]))
        for name, image in (("astronaut.png", photo), ("two_faces.png", pair)):
            cv2.imwrite(str(root / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        width = photo.shape[1]
        answers["photo_faces"] = [[ASTRONAUT_FACE],
                                  [ASTRONAUT_FACE, (2 * width - ASTRONAUT_FACE[0], ASTRONAUT_FACE[1])]]
        return _files(root), _frozen(answers)


@functools.lru_cache(maxsize=8)
def heldout_set(seed: int) -> tuple[dict[str, bytes], dict]:
    """The held-out faces of one variant (``seed``), rendered once per grader process and reused by every check
    and regrade of it: the JPEG files (no labels), and the answers -- true points, mirrored points, the images."""
    config = FacesConfig(seed=seed)
    truth, mirrored, originals, flipped = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="autograder-fk-heldout-") as temp:
        folder = Path(temp)
        for i in range(HELDOUT_FACES):
            image, points = render_sample(config, "test", i)
            flipped_image, flipped_points = mirror(image, points)
            write_face_image(folder / f"face_{i:03d}.jpg", image)
            write_face_image(folder / f"face_{i + HELDOUT_FACES:03d}.jpg", flipped_image)
            truth.append(points)
            mirrored.append(flipped_points)
            originals.append(image)
            flipped.append(flipped_image)
        files = _files(folder)
    answers = {"heldout": np.stack(truth),  # (N, 68, 2) pixels -- never written to the sandbox
               "mirrored": np.stack(mirrored),
               "heldout_images": originals + flipped,  # for the HTML page (the sandbox's copies may change)
               "heldout_names": [f"face_{i:03d}.jpg" for i in range(2 * HELDOUT_FACES)]}
    return files, _frozen(answers)


def _write(root: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def prepare(ctx: Context) -> None:
    """Write the checks' inputs into the sandbox; keep every label of the held-out faces here. The inputs are
    made once per grader process (the held-out faces once per variant) and copied into each sandbox."""
    files, answers = _shared_inputs()
    _write(ctx.box.inputs, files)
    ctx.answers.update(answers)
    faces = f"{ctx.box.inputs.relative_to(ctx.box.root)}/faces"
    ctx.inputs.update(csv=f"{faces}/{csv_name('training')}", images=f"{faces}/training",
                      short_run="grader_inputs/short_run.npz", marked="grader_inputs/marked.npz",
                      jitter="grader_inputs/jitter.npz",
                      photos=["grader_inputs/astronaut.png", "grader_inputs/two_faces.png"])
    files, answers = heldout_set(ctx.seed)
    _write(ctx.box.inputs / "heldout", files)
    ctx.answers.update(answers)
    ctx.inputs["heldout"] = "grader_inputs/heldout"


# ----------------------------------------------------------------------------- the data pipeline
TRANSFORMS = [
    {"key": "rescale_int", "name": "Rescale", "args": [140]},
    {"key": "rescale_pair", "name": "Rescale", "args": [[60, 120]]},
    {"key": "crop", "name": "RandomCrop", "args": [list(CROP)]},
    {"key": "center_crop", "name": "CenterCrop", "args": [list(CROP)]},
    {"key": "rotate", "name": "RandomRotate", "args": [ROTATE_DEGREES], "seed": ROTATE_SEED},
    {"key": "flip", "name": "RandomHorizontalFlip", "args": [1.0]},
    {"key": "jitter", "name": "ColorJitter", "args": JITTER_ARGS, "samples": "jitter"},
    {"key": "jitter_gray_input", "name": "Normalize", "args": [], "samples": "jitter"},
    {"key": "jitter_gray", "name": "Normalize+ColorJitter", "args": [], "samples": "jitter"},
    {"key": "normalize", "name": "Normalize+ToTensor", "args": []},
]
"""What the data pipeline probe runs, on the marked samples unless ``samples`` names other inputs."""


def _pipeline_args(ctx: Context) -> dict:
    transforms = [{**t, "samples_file": inputs_path(ctx, t["samples"])} if "samples" in t else t for t in TRANSFORMS]
    return {"csv_file": inputs_path(ctx, "csv"), "root_dir": inputs_path(ctx, "images"),
            "indices": DATASET_INDICES, "samples_file": inputs_path(ctx, "marked"), "transforms": transforms,
            "seed": 0}


def _score_dataset(ctx: Context, value: dict) -> Scored:
    data = value_of(value["dataset"], "see FacialKeypointsDataset in data_load.py")
    length = value_of(data["length"])
    problems = []
    if length != N_VISIBLE:
        problems.append(feedback(f"len(dataset) == {N_VISIBLE} (rows of the CSV)", f"{length}",
                                 "__len__ returns the number of rows (images) of the CSV"))
    names, truth = ctx.answers["visible"]["names"], ctx.answers["visible"]["keypoints"]
    for index, part in zip(DATASET_INDICES, data["samples"]):
        sample = value_of(part, "__getitem__ reads the image named in the CSV row and its 136 numbers")
        image, keypoints = sample.get("image", {}), sample.get("keypoints", {})
        if sample["type"] != "builtins.dict" or {"image", "keypoints"} - set(sample.get("keys", [])):
            problems.append(feedback('a dict {"image": ..., "keypoints": ...}',
                                     f"{sample['type']} {sample.get('keys', '')}"))
            break
        real = ctx.answers["visible"]["images"][index]
        if image["type"] != "numpy.ndarray" or image["dtype"] != "uint8" or tuple(image["shape"]) != real.shape:
            problems.append(feedback(f"image: numpy.ndarray {real.shape} uint8 (RGB)", shape_text(image),
                                     "read it with cvdata.images.read_image (RGB, uint8) and don't transform it here"))
            break
        if np.abs(image["value"].numpy().astype(int) - real.astype(int)).mean() > 2:
            problems.append(feedback(f"dataset[{index}]['image'] = the RGB pixels of {names[index]}",
                                     "different pixels", "RGB order (OpenCV reads BGR), row i of the CSV"))
            break
        if keypoints["type"] != "numpy.ndarray" or tuple(keypoints["shape"] or ()) != (68, 2):
            problems.append(feedback("keypoints: numpy.ndarray (68, 2) float (x, y in pixels)", shape_text(keypoints),
                                     "__init__ already read the CSV into self.keypoints, (N, 68, 2): "
                                     "return self.keypoints[idx]"))
            break
        if not np.allclose(keypoints["value"].numpy(), truth[index], atol=KEYPOINT_ATOL):
            problems.append(feedback(f"dataset[{index}]['keypoints'] = row {index} of the CSV as (x, y) pairs",
                                     "different numbers", "row idx of self.keypoints, in (x, y) order"))
            break
    if problems:
        raise Fail(problems[0])
    return Scored(1.0, f"len(dataset) == {N_VISIBLE}; samples are RGB uint8 images with (68, 2) pixel keypoints.")


def _outputs(value: dict, key: str, name: str) -> list[dict]:
    outputs = value_of(value[key], f"see {name} in data_load.py")
    for out in outputs:
        if out["type"] != "builtins.dict" or {"image", "keypoints"} - set(out.get("keys", [])):
            raise Fail(feedback('a new sample dict {"image": ..., "keypoints": ...}', out["type"],
                                "return a dict, as the other transforms expect"))
    return outputs


def _marker_error(out: dict, point: int, to_pixels=None) -> float:
    """Distance between the marker and keypoint ``point`` after a transform (inf if none)."""
    found = marker_position(out["image"]["value"].numpy()) if out["image"]["value"] is not None else None
    points = out["keypoints"]["value"]
    if found is None or points is None:
        return float("inf")
    points = points.double().numpy().reshape(-1, 2)
    if to_pixels is not None:
        points = to_pixels(points)
    return float(np.linalg.norm(found - points[point]))


def _rescaled(size) -> tuple[int, int]:
    """``(height, width)`` that ``Rescale(size)`` must give the marked ``MARKED_H`` x ``MARKED_W`` image: an int is
    the shorter side (aspect ratio kept), a pair is ``(height, width)``."""
    if isinstance(size, int):
        short = min(MARKED_H, MARKED_W)
        return round(MARKED_H * size / short), round(MARKED_W * size / short)
    return int(size[0]), int(size[1])


def _score_rescale(ctx: Context, value: dict) -> Scored:
    template = ctx.answers["marked"][0]["keypoints"]
    for key in ("rescale_int", "rescale_pair"):
        args = next(t["args"][0] for t in TRANSFORMS if t["key"] == key)
        expected_shape = (*_rescaled(args), 3)
        for point, out in zip(MARKED_POINTS, _outputs(value, key, "Rescale")):
            shape = tuple(out["image"]["shape"] or ())
            if shape != expected_shape:
                raise Fail(feedback(f"Rescale({args}) on a {MARKED_H}x{MARKED_W} image: image shape {expected_shape}",
                                    shape_text(out["image"]),
                                    "an int is the SHORTER side (keep the aspect ratio); a pair is (height, width)"))
            scale = np.array([expected_shape[1] / MARKED_W, expected_shape[0] / MARKED_H])
            got = out["keypoints"]["value"]
            if got is None or not np.allclose(got.double().numpy().reshape(-1, 2), template * scale,
                                              atol=RESCALE_POINTS_PX):
                raise Fail(feedback(f"keypoints scaled by the image's factors (x by {scale[0]:.3f}, "
                                    f"y by {scale[1]:.3f})",
                                    shape_text(out["keypoints"]) + (" with other values" if got is not None else ""),
                                    "multiply x by new_w / w and y by new_h / h"))
            if _marker_error(out, point) > RESCALE_MARK_PX:
                raise Fail(feedback("a mark drawn on a keypoint is still on it after Rescale",
                                    f"{_marker_error(out, point):.1f} px away", "x is the column, y the row"))
    return Scored(1.0, "Rescale: right sizes for an int and a pair; keypoints follow the image.")


def _crop_corners(ctx: Context, value: dict, key: str, name: str) -> list[tuple[int, int]]:
    """The (left, top) corner of each marked sample's window after the crop ``name`` (of size ``CROP``), or
    ``Fail``: the image must have the crop's shape, every keypoint move by that corner, the pixels be that window."""
    height, width = CROP
    corners = []
    for out, sample in zip(_outputs(value, key, name), ctx.answers["marked"]):
        if tuple(out["image"]["shape"] or ()) != (height, width, 3):
            raise Fail(feedback(f"{name}({list(CROP)}): image shape ({height}, {width}, 3)",
                                shape_text(out["image"]), "an int means a square; a pair is (height, width)"))
        got = out["keypoints"]["value"]
        shift = sample["keypoints"] - got.double().numpy().reshape(-1, 2) if got is not None else None
        if shift is None or np.ptp(shift, axis=0).max() > CROP_SHIFT_ATOL:
            raise Fail(feedback("every keypoint moved by the same (left, top) offset", "a different change",
                                "subtract [left, top] from the keypoints"))
        left, top = np.round(shift[0]).astype(int)
        window = sample["image"][top:top + height, left:left + width]
        if window.shape != (height, width, 3) or not np.array_equal(window, out["image"]["value"].numpy()):
            raise Fail(feedback(f"the image cut at the keypoints' offset (left {left}, top {top})", "other pixels",
                                "rows are y (top), columns are x (left): image[top:top + h, left:left + w]"))
        corners.append((int(left), int(top)))
    return corners


def _score_crop(ctx: Context, value: dict) -> Scored:
    _crop_corners(ctx, value, "crop", "RandomCrop")
    return Scored(1.0, "RandomCrop: the window and the keypoints move together.")


def _score_center_crop(ctx: Context, value: dict) -> Scored:
    left, top = CENTRED_CORNER
    for corner in _crop_corners(ctx, value, "center_crop", "CenterCrop"):
        if corner != CENTRED_CORNER:
            raise Fail(feedback(f"CenterCrop({list(CROP)}) on a {MARKED_H}x{MARKED_W} image: the window at "
                                f"left {left}, top {top} (as much room left as right, above as below)",
                                f"the window at left {corner[0]}, top {corner[1]}",
                                "top = (h - new_h) // 2 and left = (w - new_w) // 2"))
    return Scored(1.0, f"CenterCrop: the central window (left {left}, top {top}); keypoints shifted by its corner.")


def rotation_about(before: np.ndarray, after: np.ndarray, centre: np.ndarray) -> tuple[float, float]:
    """The turn about ``centre`` (2,) that best maps points ``before`` (n, 2) onto ``after`` (n, 2): its angle in
    degrees (OpenCV's sign: positive is counter-clockwise on screen, y pointing down) and the largest distance (px)
    of a point of ``after`` from where that turn puts it."""
    a, b = before - centre, after - centre  # (n, 2) each
    angle = np.arctan2((a[:, 1] * b[:, 0] - a[:, 0] * b[:, 1]).sum(), (a * b).sum())
    c, s = np.cos(angle), np.sin(angle)
    turned = a @ np.array([[c, -s], [s, c]])  # (n, 2): x' = c x + s y, y' = -s x + c y, as cv2.getRotationMatrix2D
    return float(np.degrees(angle)), float(np.linalg.norm(turned - b, axis=1).max())


def _score_rotate(ctx: Context, value: dict) -> Scored:
    centre = np.array([MARKED_W / 2, MARKED_H / 2])
    angles = []
    for point, out, sample in zip(MARKED_POINTS, _outputs(value, "rotate", "RandomRotate"), ctx.answers["marked"]):
        shape = sample["image"].shape
        if tuple(out["image"]["shape"] or ()) != shape:
            raise Fail(feedback(f"RandomRotate({ROTATE_DEGREES}): the image keeps its shape {shape}",
                                shape_text(out["image"]), "cv2.warpAffine(image, matrix, (w, h)): the size is (w, h)"))
        got = out["keypoints"]["value"]
        if got is None or got.numel() != 136:
            raise Fail(feedback("keypoints: (68, 2) pixels", shape_text(out["keypoints"])))
        angle, misfit = rotation_about(sample["keypoints"], got.double().numpy().reshape(68, 2), centre)
        if misfit > ROTATE_POINTS_PX:
            raise Fail(feedback("every keypoint turned by one angle about the image centre (w / 2, h / 2)",
                                f"keypoints up to {misfit:.1f} px from the best such turn ({angle:.1f} degrees)",
                                "subtract the centre, multiply by the rotation matrix's 2x2 part (transposed), "
                                "add the centre back"))
        error = _marker_error(out, point)
        if error > ROTATE_MARK_PX:
            unturned = abs(angle) < ROTATE_AT_LEAST_DEG
            raise Fail(feedback("a mark drawn on a keypoint is still on it after the turn",
                                f"keypoint {point} turned by {angle:.1f} degrees, the mark drawn on it is "
                                f"{error:.1f} px away from it",
                                "the keypoints did not turn with the image: apply the image's rotation matrix to "
                                "them too" if unturned else
                                "turn the keypoints with the same matrix as the image (cv2.getRotationMatrix2D: "
                                "positive angles turn counter-clockwise)"))
        angles.append(angle)
    largest = max(abs(a) for a in angles)
    if not ROTATE_AT_LEAST_DEG <= largest <= ROTATE_DEGREES + ROTATE_ANGLE_SLACK_DEG:
        raise Fail(feedback(f"RandomRotate({ROTATE_DEGREES}) on {len(angles)} samples: turns drawn from "
                            f"[-{ROTATE_DEGREES}, {ROTATE_DEGREES}] degrees, not all near 0",
                            f"turns of {', '.join(f'{a:.1f}' for a in angles)} degrees",
                            "turn by the angle drawn, in degrees (cv2.getRotationMatrix2D takes degrees)"))
    return Scored(1.0, f"RandomRotate: image and keypoints turned together about the centre "
                       f"({', '.join(f'{a:.0f}' for a in angles)} degrees).")


def _score_flip(ctx: Context, value: dict) -> Scored:
    for point, out, sample in zip(MARKED_POINTS, _outputs(value, "flip", "RandomHorizontalFlip"),
                                  ctx.answers["marked"]):
        got = out["keypoints"]["value"]
        _, expected = mirror(sample["image"], sample["keypoints"])
        points = got.double().numpy().reshape(-1, 2) if got is not None else None
        if points is not None and np.allclose(points, expected[list(MIRRORED_INDEX)], atol=FLIP_POINTS_PX):
            raise Fail(feedback("x -> width - x AND the points renumbered (the new point 36 is the old 45, ...)",
                                "x mirrored but the points keep their numbers, so left and right are swapped",
                                "index the mirrored points with cvdata.face_layout.MIRRORED_INDEX"))
        if points is None or not np.allclose(points, expected, atol=FLIP_POINTS_PX):
            raise Fail(feedback("x -> width - x, y unchanged, points renumbered with MIRRORED_INDEX",
                                "other keypoints"))
        if _marker_error(out, MIRRORED_INDEX[point]) > FLIP_MARK_PX:
            raise Fail(feedback("the image mirrored left-right (cv2.flip(image, 1))", "the mark elsewhere"))
    return Scored(1.0, "Flip: image mirrored, x -> width - x, and left/right points renumbered.")


def misordering(before: np.ndarray, after: np.ndarray) -> float:
    """How much darker a pixel of ``after`` is than another pixel of the same channel that was darker in ``before``
    (0 for any change of brightness and contrast: they keep the order of values). (H, W) or (H, W, C) arrays."""
    x = before.reshape(before.shape[0] * before.shape[1], -1).astype(np.float64)  # (pixels, C)
    y = after.reshape(x.shape).astype(np.float64)
    worst = 0.0
    for channel in range(x.shape[1]):
        order = np.lexsort((y[:, channel], x[:, channel]))  # by input value, ties by output
        out = y[order, channel]
        worst = max(worst, float((np.maximum.accumulate(out) - out).max()))
    return worst


def _jittered(out: dict, image: np.ndarray, keypoints: np.ndarray, what: str) -> float:
    """The mean change, in uint8 levels, of one ColorJitter output ``out`` of ``image`` (uint8 in [0, 255] or float
    in [0, 1]) and ``keypoints``, or ``Fail``: same shape, dtype and range, keypoints untouched, order kept."""
    got, top = out["image"], 255.0 if image.dtype == np.uint8 else 1.0
    if got["value"] is None or got["dtype"] != str(image.dtype) or tuple(got["shape"]) != image.shape:
        raise Fail(feedback(f"{what}: an image of the input's shape and dtype, {image.shape} {image.dtype}",
                            shape_text(got), "jitter a float copy, clip it, then cast back: .astype(image.dtype)"))
    points = out["keypoints"]["value"]
    if points is None or points.numel() != keypoints.size or \
            not np.allclose(points.double().numpy().reshape(keypoints.shape), keypoints, atol=KEYPOINT_ATOL):
        raise Fail(feedback(f"{what}: the keypoints as they came (a change of colour moves no point)",
                            shape_text(out["keypoints"]) + " with other values", "return sample['keypoints'] as is"))
    pixels = got["value"].double().numpy()
    if pixels.min() < 0 or pixels.max() > top * (1 + PIXEL_RANGE_SLACK):
        raise Fail(feedback(f"{what}: values in [0, {top:g}]", f"values from {pixels.min():.3g} to {pixels.max():.3g}",
                            f"np.clip(pixels, 0, {top:g}) before casting back"))
    worst = misordering(image, pixels) * 255.0 / top
    if worst > JITTER_ORDER_SLACK:
        raise Fail(feedback(f"{what}: brighter pixels stay at least as bright (brightness and contrast keep the order "
                            "of values)", f"a pixel {worst:.0f} levels (of 255) darker than one that was darker before",
                            "clip BEFORE casting to uint8 (values above 255 wrap around), and change every pixel "
                            "with the same factors"))
    return float(np.abs(pixels - image.astype(np.float64)).mean()) * 255.0 / top


def _score_jitter(ctx: Context, value: dict) -> Scored:
    what = f"ColorJitter({', '.join(map(str, JITTER_ARGS))}) on an RGB uint8 face"
    changes = [_jittered(out, sample["image"], sample["keypoints"], what)
               for out, sample in zip(_outputs(value, "jitter", "ColorJitter"), ctx.answers["jitter"])]
    gray = zip(_outputs(value, "jitter_gray", "ColorJitter"), _outputs(value, "jitter_gray_input", "Normalize"))
    for out, given in gray:
        image, points = given["image"]["value"], given["keypoints"]["value"]
        if image is None or points is None:
            raise Fail(feedback("Normalize returns NumPy arrays (the grayscale image, the keypoints)",
                                f"{given['image']['type']}, {given['keypoints']['type']}"))
        changes.append(_jittered(out, image.numpy(), points.numpy(), "ColorJitter() after Normalize (a float "
                                                                      "grayscale image in [0, 1])"))
    if max(changes) < JITTER_MIN_CHANGE:
        raise Fail(feedback(f"{what}: the pixels change (factors drawn from [0.5, 1.5])",
                            f"a mean change of at most {max(changes):.2f} levels (of 255)",
                            "multiply by the factors drawn (gain, stretch): contrast about the image's mean, "
                            "then brightness"))
    return Scored(1.0, f"ColorJitter: pixels changed (by {max(changes):.0f} levels on average), same shape, dtype and "
                       "range, keypoints untouched.")


def _score_normalize(ctx: Context, value: dict) -> Scored:
    for out, sample in zip(_outputs(value, "normalize", "Normalize and ToTensor"), ctx.answers["marked"]):
        image, keypoints = out["image"], out["keypoints"]
        if image["type"] != "torch.Tensor" or image["dtype"] != "float32" \
                or tuple(image["shape"]) != (1, MARKED_H, MARKED_W):
            raise Fail(feedback(f"Normalize then ToTensor: image torch.Tensor (1, {MARKED_H}, {MARKED_W}) float32",
                                shape_text(image),
                                "Normalize makes a (H, W) grayscale image; ToTensor adds the channel"))
        pixels = image["value"].numpy()
        if pixels.min() < 0 or pixels.max() > 1.0 + PIXEL_RANGE_SLACK or pixels.max() < BRIGHTEST_AT_LEAST:
            raise Fail(feedback("grayscale values in [0, 1]", f"values from {pixels.min():.3g} to {pixels.max():.3g}",
                                "divide the uint8 grayscale image by 255"))
        if keypoints["type"] != "torch.Tensor" or tuple(keypoints["shape"] or ()) != (68, 2):
            raise Fail(feedback("keypoints torch.Tensor (68, 2)", shape_text(keypoints)))
        expected = normalize_keypoints(sample["keypoints"], MARKED_W, MARKED_H)
        if not np.allclose(keypoints["value"].double().numpy(), expected, atol=KEYPOINT_ATOL):
            raise Fail(feedback("keypoints in the course's convention: pixel / size * 2 - 1 (x by width, y by height)",
                                "other values", "use cvdata.keypoints_norm.normalize_keypoints(kp, width, height)"))
    return Scored(1.0, "Normalize + ToTensor: (1, H, W) float image in [0, 1], keypoints normalised to [-1, 1].")


# ----------------------------------------------------------------------------- the network
BATCH_SIZES = [1, 2, 5]


def _score_net(ctx: Context, value: dict) -> Scored:
    for n, part in zip(BATCH_SIZES, value["outputs"]):
        out = value_of(part, "see Net in models.py")
        if out["type"] != "torch.Tensor" or tuple(out["shape"] or ()) != (n, 136):
            raise Fail(feedback(f"Net()(x) with x of shape ({n}, 1, 224, 224): a tensor ({n}, 136)", shape_text(out),
                                "flatten the features per image (x.flatten(1)), end with a Linear(..., 136)"))
        if not np.isfinite(out["value"].double().numpy()).all():
            raise Fail(feedback("finite outputs", "NaN or inf in the output"))
    return Scored(1.0, f"Net maps (N, 1, 224, 224) to (N, 136) for N in {BATCH_SIZES} "
                       f"({value['parameters']:,} parameters).", {"parameters": value["parameters"]})


def _training_losses(ctx: Context, value: dict) -> list[float]:
    """The short run's losses, computed here from the network's raw outputs and the grader's targets."""
    outputs, targets = value["outputs"], ctx.answers["short_run"]
    expected = (LOSS_STEPS + 1, *targets.shape)
    if type(outputs).__name__ != "Tensor" or tuple(outputs.shape) != expected:
        raise Fail(feedback(f"the network's outputs on the batch at each step, {expected}",
                            f"{type(outputs).__name__} {tuple(getattr(outputs, 'shape', ()))}",
                            "Net()(x) must return (N, 136) for x of shape (N, 1, 224, 224)"))
    return [smooth_l1(step, targets) for step in outputs.double().numpy()]


def _score_loss(ctx: Context, value: dict) -> Scored:
    losses = _training_losses(ctx, value)
    targets = ctx.answers["short_run"]
    floor = smooth_l1(np.broadcast_to(targets.mean(0), targets.shape), targets)
    first, last = losses[0], float(np.mean(losses[-5:]))
    extras = {"losses": losses, "mean_shape_loss": floor}
    if not np.all(np.isfinite(losses)):
        raise Fail(feedback("finite losses", "NaN or inf", "check the output scale and the learning rate"), 0, extras)
    observed = f"loss {first:.4f} -> {last:.4f} in {LOSS_STEPS} steps; the mean-shape loss is {floor:.4f}"
    if last > LOSS_DROP * first:
        raise Fail(feedback(f"the loss to fall below {LOSS_DROP:.0%} of its start in {LOSS_STEPS} Adam steps on "
                            f"{LOSS_IMAGES} faces", observed,
                            "are all layers connected, and does every parameter reach the optimizer?"), 0, extras)
    if last > LOSS_BELOW_MEAN_SHAPE * floor:
        raise Fail(feedback(f"the loss to fall below {LOSS_BELOW_MEAN_SHAPE:.0%} of the mean-shape loss "
                            "(predicting the average face, which ignores the image)", observed,
                            "the network may not be using the image (check forward()), or it learns slowly: batch "
                            "norm after the convolutions and a smaller linear layer usually help"),
                   NOT_USING_IMAGE_CREDIT,
                   extras)
    return Scored(1.0, f"The loss falls: {observed}.", extras)


# ----------------------------------------------------------------------------- the saved model
def _model_args(ctx: Context) -> dict:
    return {"model_path": f"{ctx.box.root}/{MODEL}", "image_dir": inputs_path(ctx, "heldout"),
            "names": ctx.answers["heldout_names"], "grid": FRAME_GRID.tolist()}


def heldout_pixels(ctx: Context, value: dict) -> tuple[np.ndarray, float]:
    """The model's predictions in each held-out image's pixels, and the worst misfit of the pipeline's map.

    For each image, the affine map pixels -> network frame is fitted to where the
    student's pipeline put the probe points ``FRAME_GRID``, and undone on the
    network's output. Returns ``((2N, 68, 2) pixels, worst residual)``."""
    outputs, frames = value["outputs"], value["frame_points"]
    count = len(ctx.answers["heldout_names"])
    if type(outputs).__name__ != "Tensor" or tuple(outputs.shape) != (count, 136) \
            or type(frames).__name__ != "Tensor" or tuple(frames.shape) != (count, 68, 2):
        raise Fail("The grader could not read the predictions of your model (expected 136 numbers per face).")
    predictions, worst = [], 0.0
    for image, net_points, frame_points in zip(ctx.answers["heldout_images"], outputs.double().numpy(),
                                               frames.double().numpy()):
        height, width = image.shape[:2]
        design = np.hstack([FRAME_GRID * [width, height], np.ones((68, 1))])  # (68, 3)
        coef, *_ = np.linalg.lstsq(design, frame_points, rcond=None)  # (3, 2): net = px @ M + b
        worst = max(worst, float(np.abs(design @ coef - frame_points).max()))
        try:
            predictions.append((net_points.reshape(68, 2) - coef[2]) @ np.linalg.inv(coef[:2]))
        except np.linalg.LinAlgError:
            raise Fail(feedback("an evaluation pipeline that keeps the keypoints apart (an invertible map)",
                                "all keypoints mapped onto a line or a point")) from None
    return np.stack(predictions), worst


def literature_metrics(scores: np.ndarray) -> dict:
    """The landmark literature's figures of per-image NMEs ``scores`` (N,): AUC and failure rate at
    ``FAILURE_THRESHOLD``, and the CED curve (for the report's picture), all computed here in the parent."""
    thresholds, fractions = ced_curve(scores, FAILURE_THRESHOLD, steps=51)
    return {"auc": auc_at(scores), "failure_rate": failure_rate(scores), "threshold": FAILURE_THRESHOLD,
            "ced": {"nme": thresholds.round(4).tolist(), "fraction": fractions.round(4).tolist()}}


def _nme_scored(ctx: Context, value: dict, which: slice, truth: np.ndarray, table, what: str) -> Scored:
    predictions, worst = heldout_pixels(ctx, value)
    if worst > MAX_FRAME_RESIDUAL:
        raise Fail(feedback("test_transform() moves keypoints the same way for every image (no randomness)",
                            "a random or non-affine evaluation pipeline",
                            "use CenterCrop, not RandomCrop, for testing"))
    pred = predictions[which]
    if not np.isfinite(pred).all():
        raise Fail(feedback("finite keypoints", "NaN or inf in the predictions"))
    scores = per_image_nme(pred, truth)
    nme = float(scores.mean())
    fraction = credit(nme, table, lower_is_better=True)
    grid = ", ".join(f"<= {limit}: {frac:.0%}" for limit, frac in table)
    extras = {"nme": nme, "per_image": scores.round(4).tolist(), **literature_metrics(scores)}
    observed = (f"NME {nme:.4f} on {len(truth)} {what} (AUC@{FAILURE_THRESHOLD:g} {extras['auc']:.3f}, failure rate "
                f"@{FAILURE_THRESHOLD:g} {extras['failure_rate']:.1%})")
    order = np.argsort(scores)
    media = {"faces": [(ctx.answers["heldout_images"][which.start + i], pred[i], truth[i],
                        f"{label}: NME {scores[i]:.3f}")
                       for label, i in (("best", order[0]), ("median", order[len(order) // 2]), ("worst", order[-1]))]}
    if fraction >= 1.0:
        return Scored(1.0, f"{observed} (full marks at NME <= {table[0][0]}).", extras, media)
    return Scored(fraction, feedback(f"NME <= {table[0][0]} for full marks (credit: {grid})", observed,
                                     "train longer (notebook 2), and make sure training uses the augmentations"),
                  extras, media)


def _score_accuracy(ctx: Context, value: dict) -> Scored:
    return _nme_scored(ctx, value, slice(0, HELDOUT_FACES), ctx.answers["heldout"], NME_CREDIT, "held-out faces")


def _score_mirrored(ctx: Context, value: dict) -> Scored:
    return _nme_scored(ctx, value, slice(HELDOUT_FACES, None), ctx.answers["mirrored"], MIRROR_NME_CREDIT,
                       "mirrored held-out faces")


# ----------------------------------------------------------------------------- Haar + predict
def _score_faces(ctx: Context, value: dict) -> Scored:
    for photo, part, centres in zip(("the astronaut photo", "two astronauts side by side"), value["photos"],
                                    ctx.answers["photo_faces"]):
        result = value_of(part, "see detect_and_predict in face_pipeline.py")
        if result["type"] != "builtins.list":
            raise Fail(feedback("a list with one dict per detected face", result["type"]))
        faces = result["faces"]
        if len(faces) != len(centres):
            raise Fail(feedback(f"{len(centres)} face(s) in {photo}", f"{len(faces)}",
                                "use detect_faces' default parameters and return one entry per box"))
        for face, (cx, cy) in zip(faces, centres):
            if face["type"] != "builtins.dict" or face.get("box") is None:
                raise Fail(feedback('{"box": (x, y, w, h), "keypoints": (68, 2) array} per face', face["type"]))
            if any(t not in ("builtins.int", "numpy.int32", "numpy.int64") for t in face["box_types"]):
                raise Fail(feedback("box values are ints", ", ".join(face["box_types"])))
            x, y, w, h = face["box"]
            if not (x < cx < x + w and y < cy < y + h):
                raise Fail(feedback(f"faces left to right, each box around its face (centre near {cx:.0f}, {cy:.0f})",
                                    f"box {tuple(face['box'])}", "sort the boxes by x"))
            points = face["keypoints"]
            if points["type"] != "numpy.ndarray" or tuple(points["shape"] or ()) != (68, 2):
                raise Fail(feedback("keypoints: numpy.ndarray (68, 2) in full-image pixels", shape_text(points)))
            expected = (FIXED_POINTS + 1) / 2 * [w, h] + [x, y]
            error = float(np.abs(points["value"].double().numpy() - expected).max())
            if error > PHOTO_POINTS_PX:
                raise Fail(feedback("the network's normalised points mapped into the returned box: "
                                    "(p + 1) / 2 * (w, h) + (x, y)", f"up to {error:.1f} px away",
                                    "keypoints_to_pixels with the CROP's width and height, then add the crop's corner"))
    return Scored(1.0, "detect_and_predict: one result per face, left to right, keypoints in full-image pixels.")


# ----------------------------------------------------------------------------- fun filters
def _sunglasses_args(ctx: Context) -> dict:
    visible = ctx.answers["visible"]
    return {"image_files": [f"{inputs_path(ctx, 'images')}/{visible['names'][i]}" for i in SUNGLASSES_FACES],
            "keypoints": [visible["keypoints"][i].tolist() for i in SUNGLASSES_FACES]}


def covered(changed: np.ndarray, points: np.ndarray) -> float:
    """The share of ``points`` (n, 2) pixels with a pixel of mask ``changed`` (H, W) within 1 px of them."""
    near = cv2.dilate(changed.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # (H, W)
    x, y = np.floor(points).astype(int).T
    inside = (x >= 0) & (x < near.shape[1]) & (y >= 0) & (y < near.shape[0])
    return float(np.where(inside, near[y.clip(0, near.shape[0] - 1), x.clip(0, near.shape[1] - 1)], False).mean())


def _score_sunglasses(ctx: Context, value: dict) -> Scored:
    visible = ctx.answers["visible"]
    for index, part in zip(SUNGLASSES_FACES, value["faces"]):
        result = value_of(part, "see apply_sunglasses in filters.py")
        image, points, name = visible["images"][index], visible["keypoints"][index], visible["names"][index]
        out, after = result["output"], result["input_after"]
        if out["type"] != "numpy.ndarray" or out["dtype"] != "uint8" or tuple(out["shape"] or ()) != image.shape:
            raise Fail(feedback(f"apply_sunglasses on {name}: a new numpy.ndarray {image.shape} uint8 (RGB)",
                                shape_text(out), "overlay_rgba returns one: return it"))
        if after["value"] is None or not np.array_equal(after["value"].numpy(), image):
            raise Fail(feedback("the image passed in left as it was (the filter returns a new one)",
                                "your function changed the image it was given",
                                "draw on a copy (overlay_rgba makes one)"))
        diff = np.abs(out["value"].numpy().astype(np.int16) - image.astype(np.int16)).max(axis=2)  # (H, W)
        changed = diff > SUNGLASSES_CHANGED
        eyes, lower = covered(changed, points[EYE_POINTS]), covered(changed, points[LOWER_FACE_POINTS])
        if eyes < EYES_COVERED or lower > LOWER_FACE_COVERED:
            raise Fail(feedback(f"the glasses over the eyes: at least {EYES_COVERED:.0%} of the eye keypoints "
                                f"(36-47) covered, at most {LOWER_FACE_COVERED:.0%} of the mouth and chin keypoints",
                                f"{name}: {eyes:.0%} of the eye keypoints covered, {lower:.0%} of the mouth and chin",
                                "centre the sprite on the mean of points 36-47, size it by the distance from 36 to "
                                "45 and turn it along that line"))
    return Scored(1.0, f"apply_sunglasses: on {len(SUNGLASSES_FACES)} faces the glasses cover the eyes and not the "
                       "mouth; a new image of the same shape, the input untouched.")


TRAINED_WITH = ("dataset", "rescale", "random-crop", "center-crop", "random-rotate", "flip", "color-jitter",
                "normalize", "net-shape", "training")
"""The checks of the parts a saved model was trained with: a failed one is named first by the accuracy checks."""

CHECKS = [
    Check("dataset",
          "Dataset: length and sample format", 8, "data_pipeline", _pipeline_args, _score_dataset,
          needs=("data_load.py",), notebook="1_load_and_visualize"),
    Check("rescale",
          "Rescale: sizes, and keypoints follow the image", 8, "data_pipeline", _pipeline_args, _score_rescale,
          needs=("data_load.py",), notebook="1_load_and_visualize"),
    Check("random-crop",
          "RandomCrop: the window and the keypoints move together", 7, "data_pipeline", _pipeline_args, _score_crop,
          needs=("data_load.py",), notebook="1_load_and_visualize"),
    Check("center-crop",
          "CenterCrop: the central window, keypoints shifted by its corner", 3, "data_pipeline", _pipeline_args,
          _score_center_crop, needs=("data_load.py",), notebook="1_load_and_visualize"),
    Check("random-rotate",
          "RandomRotate: the keypoints turn with the image about its centre", 5, "data_pipeline", _pipeline_args,
          _score_rotate, needs=("data_load.py",), notebook="1_load_and_visualize"),
    Check("flip",
          "Horizontal flip mirrors the image and renumbers left/right points", 5, "data_pipeline", _pipeline_args,
          _score_flip, needs=("data_load.py",), notebook="1_load_and_visualize"),
    Check("color-jitter",
          "ColorJitter: the pixels change; keypoints, shape, dtype and range do not", 2, "data_pipeline",
          _pipeline_args, _score_jitter, needs=("data_load.py",), notebook="1_load_and_visualize"),
    Check("normalize",
          "Normalize and ToTensor: shapes, ranges, keypoint convention", 8, "data_pipeline", _pipeline_args,
          _score_normalize, needs=("data_load.py",), notebook="1_load_and_visualize"),
    Check("net-shape",
          "Net: output shape (N, 136) for several batch sizes", 8, "net_outputs",
          lambda ctx: {"batch_sizes": BATCH_SIZES}, _score_net, needs=("models.py",), notebook="2_define_and_train"),
    Check("training",
          "Training: the loss falls in a short seeded run", 15, "short_training",
          lambda ctx: {"batch_file": inputs_path(ctx, "short_run"), "steps": LOSS_STEPS, "lr": LOSS_LR, "seed": 0},
          _score_loss, needs=("models.py",), slow=True, notebook="2_define_and_train"),
    Check("heldout-nme",
          "Keypoint accuracy of your saved model on held-out faces (NME)", 15, "heldout_predictions", _model_args,
          _score_accuracy, needs=("data_load.py", "models.py", MODEL), slow=True, uses=TRAINED_WITH,
          notebook="2_define_and_train"),
    Check("photo-faces",
          "Haar faces + keypoints on a real photo", 8, "face_pipeline",
          lambda ctx: {"photos": [f"{ctx.box.root}/{p}" for p in ctx.inputs["photos"]],
                       "points": FIXED_POINTS.tolist()},
          _score_faces, needs=("face_pipeline.py",), notebook="3_haar_and_keypoints"),
    Check("sunglasses",
          "Sunglasses filter: the glasses land over the eyes", 3, "sunglasses", _sunglasses_args, _score_sunglasses,
          needs=("filters.py", "face_pipeline.py"), notebook="4_fun_filters"),
    Check("mirrored-nme",
          "Keypoint accuracy on mirrored held-out faces (instructor)", 5, "heldout_predictions", _model_args,
          _score_mirrored, needs=("data_load.py", "models.py", MODEL), slow=True, visibility="after_published",
          uses=TRAINED_WITH, notebook="2_define_and_train"),
]
