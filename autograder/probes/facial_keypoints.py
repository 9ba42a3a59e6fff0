"""Probes of a facial keypoints submission (run in the sandboxed child; see ``autograder.probes``).

The student's modules (``data_load``, ``models``, ``face_pipeline``) are imported
from the sandbox, the working folder. Inputs come from ``grader_inputs/``:
visible generated faces (a CSV and images), held-out images WITHOUT their
labels, and photos. Every probe returns observations; the parent scores them.
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
    """
    import data_load

    def dataset() -> dict:
        ds = data_load.FacialKeypointsDataset(csv_file, root_dir)
        return {"length": attempt(len, ds), "samples": [attempt(lambda i=i: _sample_info(ds[i])) for i in indices]}

    def run(spec: dict) -> list[dict]:
        parts = [getattr(data_load, name)(*spec.get("args", [])) for name in spec["name"].split("+")]
        outputs = []
        for raw in _load_samples(samples_file):
            sample = {"image": raw["image"].copy(), "keypoints": raw["keypoints"].copy()}
            for part in parts:
                sample = part(sample)
            outputs.append(_sample_info(sample))
        return outputs

    results = {"dataset": attempt(dataset)}
    for spec in transforms:
        seed_everything(seed)
        results[spec["key"]] = attempt(run, spec)
    return results


# ----------------------------------------------------------------------------- the network
def net_outputs(batch_sizes: list[int]) -> dict:
    """``Net()`` in eval mode on random (N, 1, 224, 224) batches: output descriptions and parameter count."""
    import models

    net = models.Net()
    net.eval()
    outputs = []
    for n in batch_sizes:
        def forward(n=n):
            with torch.no_grad():
                out = net(torch.rand(n, 1, INPUT_SIZE, INPUT_SIZE))
            info = array_info(out, keep=False)
            info["finite"] = bool(torch.isfinite(out).all()) if type(out) is torch.Tensor else None
            return info
        outputs.append(attempt(forward))
    return {"outputs": outputs, "parameters": sum(p.numel() for p in net.parameters())}


def _pipeline_transform(data_load):
    """The student's deterministic evaluation pipeline: ``test_transform()`` if they have it."""
    if hasattr(data_load, "test_transform"):
        return data_load.test_transform()
    from torchvision import transforms

    return transforms.Compose([data_load.Rescale((INPUT_SIZE, INPUT_SIZE)), data_load.Normalize(),
                               data_load.ToTensor()])


def short_training(csv_file: str, root_dir: str, n_images: int, steps: int, lr: float, seed: int) -> dict:
    """Train a fresh ``Net()`` on ``n_images`` faces through the student's own dataset and transforms.

    Adam (``lr``), smooth-L1 loss, the same batch (all ``n_images``) every step.
    Returns the loss before each step and the loss of predicting the batch's mean
    shape (the floor a network that ignores the image can reach).
    """
    import data_load
    import models

    dataset = data_load.FacialKeypointsDataset(csv_file, root_dir, transform=_pipeline_transform(data_load))
    samples = [dataset[i] for i in range(n_images)]
    images = torch.stack([torch.as_tensor(s["image"], dtype=torch.float32) for s in samples])  # (n, 1, 224, 224)
    target = torch.stack([torch.as_tensor(s["keypoints"], dtype=torch.float32).reshape(-1) for s in samples])  # (n, 136)
    seed_everything(seed)
    net = models.Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = nn.SmoothL1Loss()
    losses = []
    net.train()
    for _ in range(steps):
        loss = loss_fn(net(images).reshape(len(images), -1), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    floor = float(loss_fn(target.mean(0, keepdim=True).expand_as(target), target))
    return {"losses": losses, "mean_shape_loss": floor}


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


def _frame_map(transform, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, object]:
    """Fit the affine map pixels -> network frame that ``transform`` applies to keypoints.

    Probe points (not labels) spread over the image go through the student's
    pipeline; returns ``(M (2, 2), b (2,), worst residual, transformed image)``
    with ``net = px @ M + b``.
    """
    h, w = image.shape[:2]
    u = np.linspace(0.15, 0.85, 17)
    grid = np.array([(x * w, y * h) for x, y in zip(np.tile(u, 4), np.repeat([0.2, 0.4, 0.6, 0.8], 17))],
                    dtype=np.float32)  # (68, 2)
    out = transform({"image": image, "keypoints": grid.copy()})
    net_points = np.asarray(torch.as_tensor(out["keypoints"]).reshape(68, 2), dtype=np.float64)
    design = np.hstack([grid, np.ones((68, 1))])  # (68, 3)
    coef, *_ = np.linalg.lstsq(design, net_points, rcond=None)  # (3, 2)
    residual = float(np.abs(design @ coef - net_points).max())
    return coef[:2], coef[2], residual, out["image"]


def heldout_predictions(model_path: str, image_dir: str, names: list[str]) -> dict:
    """Keypoints the student's saved model predicts on held-out images, in each image's pixels.

    Each image goes through the student's evaluation pipeline; the pipeline's
    geometry (an affine map, measured with probe points) is undone on the output.
    Returns ``{"keypoints": (N, 68, 2) float32 tensor, "max_residual": float}``.
    """
    import data_load

    net = _load_net(model_path)
    transform = _pipeline_transform(data_load)
    predictions, worst = [], 0.0
    for name in names:
        image = read_image(f"{image_dir}/{name}")
        matrix, shift, residual, tensor = _frame_map(transform, image)
        worst = max(worst, residual)
        with torch.no_grad():
            out = net(torch.as_tensor(tensor, dtype=torch.float32).unsqueeze(0))  # (1, 136)
        net_points = out.reshape(68, 2).double().numpy()
        predictions.append((net_points - shift) @ np.linalg.inv(matrix))  # (68, 2) pixels
    return {"keypoints": torch.from_numpy(np.stack(predictions).astype(np.float32)), "max_residual": worst}


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
