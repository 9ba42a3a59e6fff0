"""Probes of a facial keypoints submission (run in the sandboxed child; see ``autograder.probes``).

The student's modules (``data_load``, ``models``, ``face_pipeline``, ``filters``) are imported
from the sandbox, the working folder. Inputs come from ``grader_inputs/``:
visible generated faces (a CSV and images), the grader's own preprocessed
training batch, held-out images WITHOUT their labels, and photos. Every probe
returns raw observations (the network's outputs, where the pipeline put probe
points); the parent computes losses, maps and errors from them.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from autograder.probes import array_info, attempt, type_name
from cvdata.images import read_image
from cvdata.runtime import seed_everything

INPUT_SIZE = 224


def _sample_info(sample) -> dict:
    """What a transform or the dataset returned: its type, keys, image and keypoints described."""
    if not isinstance(sample, dict):
        return {"type": type_name(sample)}
    return {"type": type_name(sample), "keys": sorted(map(str, sample)),
            "image": array_info(sample.get("image")), "keypoints": array_info(sample.get("keypoints"))}


def _load_samples(path: str) -> list[dict]:
    """The grader's input samples: ``image_<i>`` (H, W, 3) uint8 and ``keypoints_<i>`` (68, 2) float32."""
    with np.load(path, allow_pickle=False) as data:
        n = len([k for k in data.files if k.startswith("image_")])
        return [{"image": data[f"image_{i}"], "keypoints": data[f"keypoints_{i}"]} for i in range(n)]


# ----------------------------------------------------------------------------- data
def data_pipeline(csv_file: str, root_dir: str, indices: list[int], samples_file: str, transforms: list[dict],
                  seed: int) -> dict:
    """The dataset (length, samples ``indices``) and each transform of ``transforms`` on the grader's samples.

    ``transforms``: ``[{"name": "Rescale", "args": [100], "key": "rescale_100"}, ...]``; a
    transform named ``"Normalize+ToTensor"`` chains the two. Results are keyed by ``key``.
    A transform may name its own ``"samples_file"`` and ``"seed"`` (default: ``samples_file``, ``seed``).
    """
    import data_load

    def dataset() -> dict:
        ds = data_load.FacialKeypointsDataset(csv_file, root_dir)
        return {"length": attempt(len, ds), "samples": [attempt(lambda i=i: _sample_info(ds[i])) for i in indices]}

    def run(spec: dict) -> list[dict]:
        parts = [getattr(data_load, name)(*spec.get("args", [])) for name in spec["name"].split("+")]
        outputs = []
        for raw in _load_samples(spec.get("samples_file", samples_file)):
            sample = {"image": raw["image"].copy(), "keypoints": raw["keypoints"].copy()}
            for part in parts:
                sample = part(sample)
            outputs.append(_sample_info(sample))
        return outputs

    results = {"dataset": attempt(dataset)}
    for spec in transforms:
        seed_everything(spec.get("seed", seed))
        results[spec["key"]] = attempt(run, spec)
    return results


# ----------------------------------------------------------------------------- the network
def net_outputs(batch_sizes: list[int]) -> dict:
    """``Net()`` in eval mode on random (N, 1, 224, 224) batches: its outputs, and its parameter count."""
    import models

    net = models.Net()
    net.eval()
    outputs = []
    for n in batch_sizes:
        def forward(n=n):
            with torch.no_grad():
                return array_info(net(torch.rand(n, 1, INPUT_SIZE, INPUT_SIZE)))
        outputs.append(attempt(forward))
    return {"outputs": outputs, "parameters": sum(p.numel() for p in net.parameters())}


def _pipeline_transform(data_load):
    """The student's deterministic evaluation pipeline: ``test_transform()`` if they have it."""
    if hasattr(data_load, "test_transform"):
        return data_load.test_transform()
    from torchvision import transforms

    return transforms.Compose([data_load.Rescale((INPUT_SIZE, INPUT_SIZE)), data_load.Normalize(),
                               data_load.ToTensor()])


def short_training(batch_file: str, steps: int, lr: float, seed: int) -> dict:
    """Train a fresh ``Net()`` for ``steps`` Adam steps (smooth-L1 loss) on the grader's batch.

    ``batch_file``: ``images`` (n, 1, 224, 224) float32 and ``targets`` (n, 136),
    prepared by the grader. Returns ``{"outputs": (steps + 1, n, 136)}``: the
    network's outputs on the batch before each step (train mode, the ones the
    loss is taken of) and after the last. The parent computes the losses.
    """
    import models

    with np.load(batch_file, allow_pickle=False) as data:
        images = torch.from_numpy(data["images"])  # (n, 1, 224, 224)
        target = torch.from_numpy(data["targets"])  # (n, 136)
    seed_everything(seed)
    net = models.Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = nn.SmoothL1Loss()
    outputs = []
    net.train()
    for _ in range(steps):
        out = net(images).reshape(len(images), -1)  # (n, 136)
        outputs.append(out.detach().clone())
        loss = loss_fn(out, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        outputs.append(net(images).reshape(len(images), -1).clone())
    return {"outputs": torch.stack(outputs)}  # (steps + 1, n, 136)


# ----------------------------------------------------------------------------- the saved model
def _load_net(path: str):
    """The student's saved ``Net``: a state_dict of ``Net()``, or the course's checkpoint dict."""
    import models

    data = torch.load(path, map_location="cpu", weights_only=True)
    state, config = data, None
    if isinstance(data, dict) and "state_dict" in data:
        state, config = data["state_dict"], data.get("net_config")
    net = models.Net(models.NetConfig(**config)) if config and hasattr(models, "NetConfig") else models.Net()
    net.load_state_dict(state)
    return net.eval()


def heldout_predictions(model_path: str, image_dir: str, names: list[str], grid: list) -> dict:
    """The student's saved model on held-out images, through the student's evaluation pipeline.

    ``grid``: (68, 2) probe points as fractions of an image's width and height,
    sent through the pipeline with each image (in place of its unknown
    keypoints) so that the parent can fit the pipeline's geometry and map the
    outputs back to pixels. Returns ``{"outputs": (N, 136), "frame_points": (N, 68, 2)}``.
    """
    import data_load

    net = _load_net(model_path)
    transform = _pipeline_transform(data_load)
    fractions = np.asarray(grid, dtype=np.float32)  # (68, 2)
    outputs, frames = [], []
    for name in names:
        image = read_image(f"{image_dir}/{name}")
        height, width = image.shape[:2]
        out = transform({"image": image, "keypoints": fractions * np.float32([width, height])})
        frames.append(torch.as_tensor(out["keypoints"]).reshape(68, 2).double())
        with torch.no_grad():
            outputs.append(net(torch.as_tensor(out["image"], dtype=torch.float32).unsqueeze(0)).reshape(-1))
    return {"outputs": torch.stack(outputs).float(), "frame_points": torch.stack(frames)}


# ----------------------------------------------------------------------------- Haar pipeline
class FixedPointsNet(nn.Module):
    """A stand-in for the student's network: the same known normalised points for every face."""

    def __init__(self, points):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))
        self.register_buffer("points", torch.as_tensor(points, dtype=torch.float32).reshape(1, 136))

    def forward(self, x):
        return self.points.expand(len(x), 136) + 0 * self.anchor


def face_pipeline(photos: list[str], points: list) -> dict:
    """``face_pipeline.detect_and_predict`` on each photo with a network of known output."""
    import face_pipeline

    net = FixedPointsNet(points)

    def run(path: str) -> dict:
        faces = face_pipeline.detect_and_predict(read_image(path), net)
        if not isinstance(faces, list):
            return {"type": type_name(faces)}
        described = []
        for face in faces:
            if not isinstance(face, dict):
                described.append({"type": type_name(face)})
                continue
            box = face.get("box")
            numbers = isinstance(box, (tuple, list)) and len(box) == 4
            described.append({"type": type_name(face), "box": [float(v) for v in box] if numbers else None,
                              "box_types": [type_name(v) for v in box] if numbers else [],
                              "keypoints": array_info(face.get("keypoints"))})
        return {"type": "builtins.list", "faces": described}

    return {"photos": [attempt(run, path) for path in photos]}


# ----------------------------------------------------------------------------- fun filters
def sunglasses(image_files: list[str], keypoints: list) -> dict:
    """``filters.apply_sunglasses`` on each image (read here) with its (68, 2) pixel keypoints.

    Returns ``{"faces": [{"output": array, "input_after": array}, ...]}``: the
    returned image, and the input array as it is after the call (the parent
    compares it with its own copy to see whether the call changed it).
    """
    import filters

    def run(path: str, points: list) -> dict:
        image = read_image(path)  # (H, W, 3) uint8 RGB
        out = filters.apply_sunglasses(image, np.asarray(points, dtype=np.float32))
        return {"output": array_info(out), "input_after": array_info(image)}

    return {"faces": [attempt(run, path, points) for path, points in zip(image_files, keypoints)]}
