# GENERATED from solutions/facial_keypoints/training.py by `python -m autograder lessons`.
# Students: nothing to write in this file (given code).
# Course maintainers: edit solutions/facial_keypoints/training.py, not this file, then regenerate.
"""Training, evaluation and checkpoints for the keypoint network.

Used by notebook 2, the benchmark (``benchmarks/facial_keypoints.py``) and the
tests; it imports the student's own ``data_load`` and ``models``.

- ``make_loaders(data_dir, config)``: train, validation and test DataLoaders
  over a Udacity-layout folder (e.g. ``faces_dir(data_root())``), images decoded
  once and kept in memory. The validation faces are a seeded share of the
  training CSV (``TrainConfig.val_fraction``): choose epochs, learning rate and
  network on them, and measure the test faces once, at the end.
- ``train(net, train_loader, val_loader, config)``: the loss and optimiser
  named in ``config`` (your choice, in notebook 2) with a one-cycle learning
  rate over the epochs or the time budget; returns per-epoch records.
- ``evaluate_nme(net, loader)``: NME (``cvdata.keypoint_metrics``) on a loader.
- ``save_checkpoint`` / ``load_checkpoint``: ``saved_models/keypoints_model.pt``.
"""
from __future__ import annotations

import math
import pickle
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm.auto import tqdm

from cvdata.errors import DataError
from cvdata.faces import csv_name
from cvdata.keypoint_metrics import nme
from cvdata.keypoints_norm import keypoints_to_pixels
from cvdata.runtime import pick_device, seed_everything

from data_load import INPUT_SIZE, FacialKeypointsDataset, test_transform, train_transform
from models import Net, NetConfig

__all__ = [
    "MODEL_PATH", "LOSSES", "OPTIMIZERS", "TrainConfig", "InMemory", "lr_factor", "split_rows", "make_loaders",
    "train", "evaluate_nme", "predict_keypoints", "save_checkpoint", "load_checkpoint", "nme",
]

MODEL_PATH = Path("saved_models/keypoints_model.pt")
"""Where notebook 2 saves the trained model and notebook 3 and the grader load it."""

LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss, "smooth_l1": lambda p, t: F.smooth_l1_loss(p, t, beta=0.02)}
"""``TrainConfig.loss``: on normalised coordinates (the image is 2 wide), so smooth L1 turns quadratic below 0.02."""

OPTIMIZERS = {
    "adamw": lambda params, c: torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay),
    "adam": lambda params, c: torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay),
    "sgd": lambda params, c: torch.optim.SGD(params, lr=c.lr, momentum=0.9, nesterov=True,
                                             weight_decay=c.weight_decay),
}
"""``TrainConfig.optimizer``: each built from ``(parameters, config)``; SGD with Nesterov momentum 0.9."""


@dataclass
class TrainConfig:
    """How to train; saved in the checkpoint next to the ``NetConfig``."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 6e-3  # peak of the one-cycle schedule
    weight_decay: float = 1e-4
    time_budget_s: float | None = None  # stop after this many seconds of training (evaluation excluded)
    seed: int = 0
    num_workers: int = 0
    loss: str = "l1"  # "l1", "mse" or "smooth_l1", on normalised coordinates
    optimizer: str = "adamw"  # "adamw", "adam" or "sgd"
    val_fraction: float = 0.1  # share of the training faces held back for validation (model selection)

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"TrainConfig.loss must be one of {sorted(LOSSES)}, got {self.loss!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"TrainConfig.optimizer must be one of {sorted(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.lr <= 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr}")
        if self.time_budget_s is not None and self.time_budget_s < 0:
            raise ValueError(f"TrainConfig.time_budget_s must be >= 0 or None, got {self.time_budget_s}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"TrainConfig.val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"TrainConfig: epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}")


class InMemory(Dataset):
    """A dataset's raw samples decoded once and kept in memory; ``transform`` runs on each access.

    Decoding JPEGs every epoch costs CPU that training needs; the raw faces are
    small (3,000 synthetic ones take about 100 MB).
    """

    def __init__(self, dataset: Dataset, transform=None):
        self.samples = [dataset[i] for i in range(len(dataset))]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, idx: int) -> dict:
        sample = self.samples[idx]
        return self.transform(sample) if self.transform is not None else sample


def split_rows(n: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(training rows, validation rows)`` of ``n`` rows: a seeded ``round(n * fraction)`` of them held back."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    held = round(n * fraction)
    return sorted(order[held:]), sorted(order[:held])


def make_loaders(data_dir: str | Path, config: TrainConfig | None = None, in_memory: bool = True):
    """``(train_loader, val_loader, test_loader)`` over a Udacity-layout folder; batches are sample dicts of tensors.

    Batches: ``{"image": (B, 1, 224, 224), "keypoints": (B, 68, 2)}``. Training
    batches are shuffled and augmented (``train_transform``); validation and test
    batches are not (``test_transform``). The validation faces are
    ``config.val_fraction`` of the training CSV's rows, picked with ``config.seed``
    and never trained on (``val_loader`` is None when the fraction is 0).
    """
    config = config or TrainConfig()
    data_dir = Path(data_dir)

    def dataset(split: str, transform, rows: list[int] | None = None) -> Dataset:
        raw = FacialKeypointsDataset(data_dir / csv_name(split), data_dir / split)
        part = raw if rows is None else Subset(raw, rows)
        if in_memory:
            return InMemory(part, transform)
        raw.transform = transform
        return part

    def loader(data: Dataset, shuffle: bool) -> DataLoader:
        return DataLoader(data, batch_size=config.batch_size, shuffle=shuffle,
                          drop_last=shuffle and len(data) > config.batch_size, num_workers=config.num_workers,
                          generator=torch.Generator().manual_seed(config.seed),
                          persistent_workers=config.num_workers > 0)

    n_training = len(FacialKeypointsDataset(data_dir / csv_name("training"), data_dir / "training"))
    train_rows, val_rows = split_rows(n_training, config.val_fraction, config.seed)
    val = loader(dataset("training", test_transform(), val_rows), False) if val_rows else None
    return (loader(dataset("training", train_transform(), train_rows), True), val,
            loader(dataset("test", test_transform()), False))


@torch.no_grad()
def predict_keypoints(net: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Predict in eval mode. images (N, 1, 224, 224) -> (N, 68, 2) normalised keypoints, on the network's device."""
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    out = net(images.to(device)).reshape(len(images), -1, 2)  # (N, 68, 2)
    net.train(was_training)
    return out


def evaluate_nme(net: torch.nn.Module, loader: DataLoader, device: torch.device | None = None) -> float:
    """NME over a loader, computed in pixels of the 224x224 network input."""
    device = device or next(net.parameters()).device
    net.to(device)
    preds, truths = [], []
    for batch in loader:
        preds.append(predict_keypoints(net, batch["image"].to(device)).cpu())  # (B, 68, 2)
        truths.append(batch["keypoints"])  # (B, 68, 2)
    pred = keypoints_to_pixels(torch.cat(preds), INPUT_SIZE, INPUT_SIZE)  # (N, 68, 2) pixels
    true = keypoints_to_pixels(torch.cat(truths), INPUT_SIZE, INPUT_SIZE)
    return nme(pred, true)


def lr_factor(progress: float, warmup: float = 0.1) -> float:
    """One-cycle shape: linear warm-up over the first ``warmup`` of training, then cosine to zero."""
    if progress < warmup:
        return 0.05 + 0.95 * progress / warmup
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (progress - warmup) / (1.0 - warmup))))


def train(
    net: torch.nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader | None,
    config: TrainConfig | None = None,
    device: torch.device | None = None,
    progress: bool = True,
) -> list[dict]:
    """Train ``net`` in place with ``config.loss`` and ``config.optimizer``; one record per epoch: epoch,
    train_loss, val_nme, seconds, images.

    ``seconds`` counts training time only (evaluation excluded), cumulative.
    Training stops after ``config.epochs`` or as soon as ``config.time_budget_s``
    seconds of training have passed (mid-epoch: the partial epoch is recorded),
    whichever comes first. The learning rate follows ``lr_factor`` of the
    progress -- the larger of the fraction of steps and the fraction of the time
    budget done -- so it anneals to zero exactly when training stops.
    ``val_nme`` is None without ``val_loader``.
    """
    config = config or TrainConfig()
    device = device or pick_device()
    seed_everything(config.seed)
    net.to(device)
    loss_fn = LOSSES[config.loss]
    optimizer = OPTIMIZERS[config.optimizer](net.parameters(), config)
    total_steps = max(1, config.epochs * len(train_loader))
    step = 0
    history: list[dict] = []
    seconds = 0.0
    for epoch in range(1, config.epochs + 1):
        net.train()
        total, count, out_of_time = 0.0, 0, False
        start = time.perf_counter()
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{config.epochs}", leave=False, disable=not progress)
        for batch in bar:
            progress_done = step / total_steps
            if config.time_budget_s is not None:
                elapsed = seconds + time.perf_counter() - start
                progress_done = max(progress_done, elapsed / config.time_budget_s if config.time_budget_s > 0 else 1.0)
            for group in optimizer.param_groups:
                group["lr"] = config.lr * lr_factor(progress_done)
            images = batch["image"].to(device)  # (B, 1, 224, 224)
            target = batch["keypoints"].to(device).reshape(len(images), -1)  # (B, 136)
            loss = loss_fn(net(images), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            total += loss.item() * len(images)
            count += len(images)
            bar.set_postfix(loss=f"{total / count:.4f}")
            if config.time_budget_s is not None and seconds + time.perf_counter() - start >= config.time_budget_s:
                out_of_time = True
                break
        seconds += time.perf_counter() - start
        val = evaluate_nme(net, val_loader, device) if val_loader is not None else None
        history.append({"epoch": epoch, "train_loss": total / max(count, 1), "val_nme": val, "seconds": seconds,
                        "images": count})
        if progress:
            shown = f", val NME {val:.4f}" if val is not None else ""
            tqdm.write(f"epoch {epoch}: train loss {total / max(count, 1):.4f}{shown} ({seconds:.0f} s)")
        if out_of_time:
            break
    return history


def save_checkpoint(net: torch.nn.Module, path: str | Path = MODEL_PATH,
                    train_config: TrainConfig | None = None) -> Path:
    """Save ``{"state_dict", "net_config", "train_config"}`` to ``path`` (folders made); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = getattr(net, "config", None)
    torch.save({
        "state_dict": net.state_dict(),
        "net_config": asdict(config) if config is not None else None,
        "train_config": asdict(train_config) if train_config is not None else None,
    }, path)
    return path


def load_checkpoint(path: str | Path = MODEL_PATH, map_location: str | torch.device = "cpu") -> Net:
    """A ``Net`` in eval mode from ``path``: a ``save_checkpoint`` dict, or a bare state_dict of ``Net()``.

    Raises ``cvdata.errors.DataError`` (a ``ValueError``) naming the file when it is missing, not a
    checkpoint, or weights that do not fit the network -- as image captioning's ``load_checkpoint``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "no saved model (train one in notebook 2 first)")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, ValueError, OSError, EOFError, pickle.UnpicklingError) as err:
        raise DataError(path, f"not a saved model ({str(err).splitlines()[0]})") from None
    if isinstance(data, dict) and "state_dict" in data:
        known = {f.name for f in fields(NetConfig)}
        config = NetConfig(**{k: v for k, v in (data.get("net_config") or {}).items() if k in known})
        state = data["state_dict"]
    else:
        config, state = None, data
    net = Net(config) if config is not None else Net()
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as err:
        raise DataError(path, f"the saved weights do not fit Net ({str(err).splitlines()[0]})") from None
    return net.eval()
