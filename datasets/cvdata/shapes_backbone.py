"""The course's own pretrained backbone: a torchvision ResNet trained on shapes-world labels, then frozen.

Online, a captioning encoder starts from ImageNet weights. Offline there are
none, and frozen *random* ResNet features hardly tell a red star from an orange
triangle. So the course pretrains its own stand-in, once, on a labelled image
task it owns: from the objects each training image records (``scene_targets``),
a multi-label classifier of the colour-shape pairs in the image (by default; heads
for colours, shapes, sizes, positions and the number of objects are there to try).

    python -m cvdata pretrain            # once; about 3 minutes on 2 CPU cores, cached
    ensure_backbone()                    # the same from Python: the cached file's path

The weights are cached beside the generated data (``<root>/backbone/``,
git-ignored) with their ``BackboneConfig``, a hash of the settings (the config
and the shapes world's own generation config) and the figures measured on the
validation split; a cache made with other settings is rebuilt, like the data.
Training is deterministic by seed on a given machine (fixed initialisation,
batch order and BatchNorm statistics).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .errors import DataError
from .meta import read_meta
from .paths import data_root, shapes_dir
from .scene_targets import HEADS, head_sizes, scene_targets, stack_targets

BACKBONE_SUBDIR = "backbone"
BACKBONE_FILE = "shapes_backbone.pt"
FORMAT = 1
"""Version of the cached file's layout (part of the settings hash)."""


@dataclass(frozen=True)
class BackboneConfig:
    """Everything that determines the pretrained weights (saved in the cache and hashed)."""

    arch: str = "resnet18"
    """A torchvision ResNet constructor name."""
    image_size: int = 64
    """Side of the square input images (the captioning encoder must use the same)."""
    steps: int = 1200
    batch_size: int = 32
    lr: float = 1e-3
    """Adam's learning rate, cosine-decayed to 0 over ``steps``."""
    heads: tuple[str, ...] = ("pair",)
    """Which ``scene_targets`` heads to train (binary cross-entropy each; cross-entropy for ``count``).
    Measured (64 px, 2 CPU cores, validation exact match of the pair set): ``pair`` alone learns fastest;
    adding colour, shape, size, region and count heads slowed it (0.26 instead of 0.42 after 480 steps of 64)."""
    bn_images: int = 1024
    """Training images over which the BatchNorm statistics are measured at the end (0: keep the running ones)."""
    seed: int = 0
    fast: bool = True
    """bfloat16 autocast and channels-last tensors on CPUs that support bfloat16 (several times faster there)."""
    n_images: int | None = None
    """Use only the first ``n_images`` training images (None: all; tests use a few)."""

    def __post_init__(self) -> None:
        unknown = set(self.heads) - set(HEADS)
        if unknown or not self.heads:
            raise ValueError(f"heads must be some of {HEADS}, got {self.heads}")
        if self.steps < 1 or self.batch_size < 1 or self.image_size < 32:
            raise ValueError("steps and batch_size must be positive and image_size at least 32")

    @classmethod
    def quick(cls) -> BackboneConfig:
        """A tiny run for the tests and the notebooks' quick mode: seconds, not minutes (and poor features)."""
        return cls(steps=4, batch_size=16, n_images=64, bn_images=32)

    @classmethod
    def from_dict(cls, data: dict) -> BackboneConfig:
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if "heads" in kwargs:
            kwargs["heads"] = tuple(kwargs["heads"])
        return cls(**kwargs)


@dataclass
class PretrainResult:
    """What ``pretrain_backbone`` made: the backbone's ``state_dict`` (no ``fc``) and its figures."""

    state_dict: dict
    metrics: dict = field(default_factory=dict)


def backbone_path(root: Path | None = None) -> Path:
    """Where the cached backbone lives: ``<root>/backbone/shapes_backbone.pt`` (root: ``data_root()``)."""
    return Path(root if root is not None else data_root()) / BACKBONE_SUBDIR / BACKBONE_FILE


def settings_hash(config: BackboneConfig, data_config: dict) -> str:
    """SHA-256 (16 hex digits) of what the weights depend on: the config, the data's config, the format."""
    text = json.dumps({"backbone": asdict(config), "data": data_config, "format": FORMAT}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def weights_hash(state_dict: dict) -> str:
    """SHA-256 of every tensor of ``state_dict``, in key order (equal weights, equal hash)."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        digest.update(name.encode())
        digest.update(state_dict[name].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def build_resnet(arch: str):
    """A torchvision ResNet with random weights and no classifier (``fc`` is ``Identity``); never downloads."""
    import torch.nn as nn
    import torchvision

    if not arch.startswith("resnet") or not hasattr(torchvision.models, arch):
        raise ValueError(f"not a torchvision ResNet: {arch!r}")
    net = getattr(torchvision.models, arch)(weights=None)
    net.fc = nn.Identity()
    return net


def feature_size(arch: str) -> int:
    """Channels of the ResNet's pooled feature (512 for resnet18/34, 2048 for resnet50 and larger)."""
    return 512 if arch in ("resnet18", "resnet34") else 2048


def _data_config(data_dir: Path) -> dict:
    meta = read_meta(data_dir)
    if meta is None:
        raise DataError(data_dir, "no complete shapes world here; run `python -m cvdata ensure` first")
    return meta["config"]


def load_split(data_dir: Path, split: str, image_size: int, n_images: int | None = None):
    """A split's images through the captioning transform and their targets.

    Returns ``(images (N, 3, S, S) float32, targets {head: (N, ...)})``.
    """
    import torch

    from .coco_captions import load_coco_captions
    from .images import imagenet_transform, read_image

    coco = load_coco_captions(Path(data_dir) / "annotations" / f"captions_{split}.json")
    ids = sorted(coco.imgs)[:n_images]
    transform = imagenet_transform(image_size)
    folder = Path(data_dir) / "images" / split
    images = torch.stack([transform(read_image(folder / coco.imgs[i]["file_name"])) for i in ids])
    targets = [scene_targets(coco.imgs[i].get("objects", []), int(coco.imgs[i]["width"])) for i in ids]
    return images, stack_targets(targets, HEADS)


def _losses(outputs: dict, targets: dict, heads) -> dict:
    import torch.nn.functional as F

    return {h: F.cross_entropy(outputs[h], targets[h]) if h == "count"
            else F.binary_cross_entropy_with_logits(outputs[h], targets[h]) for h in heads}


def _autocast(config: BackboneConfig):
    import torch

    try:
        supported = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        supported = False
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.fast and supported), config.fast and supported


def _set_batchnorm_statistics(net, images, chunk: int = 128) -> None:
    """Measure every BatchNorm's mean and variance on ``images`` (a cumulative average), no weights change."""
    import torch
    import torch.nn as nn

    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    with torch.no_grad():
        for start in range(0, len(images), chunk):
            net(images[start:start + chunk])
    for m in norms:
        m.momentum = 0.1
    net.eval()


def evaluate_heads(net, heads_module, images, targets, heads, chunk: int = 250) -> dict:
    """Per head: exact-match rate of the multi-label set (logit > 0), or accuracy for ``count``."""
    import torch

    net.eval()
    with torch.no_grad():
        features = torch.cat([net(images[i:i + chunk]).float() for i in range(0, len(images), chunk)])
        out = {}
        for h in heads:
            logits = heads_module[h](features)
            target = torch.as_tensor(targets[h])
            hit = logits.argmax(1) == target if h == "count" else ((logits > 0) == (target > 0)).all(1)
            out[f"{h}_exact"] = round(float(hit.float().mean()), 4)
    return out


def pretrain_backbone(data_dir: Path, config: BackboneConfig = BackboneConfig(), progress: bool = True,
                      eval_split: str | None = "val") -> PretrainResult:
    """Train ``config.arch`` on the shapes world's training labels; returns its weights and figures.

    Deterministic: the initial weights and the batch order come from ``config.seed``
    (the global RNGs are restored afterwards). ``eval_split``: where the figures are
    measured (None: skip).
    """
    import torch
    import torch.nn as nn
    from tqdm.auto import tqdm

    data_dir = Path(data_dir)
    started = time.perf_counter()
    images, targets = load_split(data_dir, "train", config.image_size, config.n_images)
    targets = {h: torch.from_numpy(v) for h, v in targets.items()}
    load_seconds = time.perf_counter() - started
    autocast, fast = _autocast(config)
    sizes = head_sizes()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        net = build_resnet(config.arch)
        heads = nn.ModuleDict({h: nn.Linear(feature_size(config.arch), sizes[h]) for h in config.heads})
    if fast:
        net = net.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(list(net.parameters()) + list(heads.parameters()), lr=config.lr)
    order = torch.Generator().manual_seed(config.seed)
    bar = tqdm(range(config.steps), desc="pretraining the shapes backbone", unit="step", disable=not progress)
    net.train()
    train_start = time.perf_counter()
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * step / config.steps))
        batch = torch.randint(0, len(images), (config.batch_size,), generator=order)
        with autocast:
            features = net(images[batch])  # (B, F)
        outputs = {h: heads[h](features.float()) for h in config.heads}
        losses = _losses(outputs, {h: targets[h][batch] for h in config.heads}, config.heads)
        loss = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 10 == 0 or step == config.steps - 1:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    train_seconds = time.perf_counter() - train_start
    if config.bn_images:
        _set_batchnorm_statistics(net, images[: config.bn_images])
    net.eval()
    net = net.to(memory_format=torch.contiguous_format)
    metrics = {"train_seconds": round(train_seconds, 1), "load_seconds": round(load_seconds, 1),
               "bfloat16": fast, "threads": torch.get_num_threads(), "final_loss": round(loss.item(), 4)}
    if eval_split is not None:
        val_images, val_targets = load_split(data_dir, eval_split, config.image_size)
        metrics[eval_split] = evaluate_heads(net, heads, val_images, val_targets, config.heads)
    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    return PretrainResult(state, metrics)


def read_backbone(path: Path) -> dict:
    """The cached file's record: ``state_dict``, ``config``, ``settings_hash``, ``weights_hash``, ``metrics``."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "no pretrained shapes backbone here; run `python -m cvdata pretrain`")
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 -- any unreadable file gets the same clear message
        raise DataError(path, f"not a readable backbone file ({type(err).__name__}); delete it and run "
                              "`python -m cvdata pretrain`") from None
    if not isinstance(record, dict) or "state_dict" not in record or "config" not in record:
        raise DataError(path, "not a backbone file made by `python -m cvdata pretrain`")
    return record


def is_current(root: Path | None = None, config: BackboneConfig = BackboneConfig()) -> bool:
    """True when the cache under ``root`` was made with ``config`` from the data now in ``root``."""
    root = Path(root if root is not None else data_root())
    try:
        record = read_backbone(backbone_path(root))
        return record.get("settings_hash") == settings_hash(config, _data_config(shapes_dir(root)))
    except DataError:
        return False


def ensure_backbone(root: Path | None = None, config: BackboneConfig = BackboneConfig(), progress: bool = True,
                    force: bool = False) -> Path:
    """The cached backbone's path under ``root`` (default ``data_root()``), pretraining it first if it is
    missing, stale (other settings or other data) or ``force``."""
    import torch

    root = Path(root if root is not None else data_root())
    path = backbone_path(root)
    data_dir = shapes_dir(root)
    expected = settings_hash(config, _data_config(data_dir))
    if not force and is_current(root, config):
        return path
    reason = "forced" if force else ("stale: other settings or data" if path.is_file() else "missing")
    print(f"shapes backbone ({reason}): pretraining {config.arch} for {config.steps} steps at "
          f"{config.image_size} px on {data_dir} ...", flush=True)
    result = pretrain_backbone(data_dir, config, progress=progress)
    record = {"state_dict": result.state_dict, "config": asdict(config), "settings_hash": expected,
              "weights_hash": weights_hash(result.state_dict), "metrics": result.metrics, "format": FORMAT}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(record, partial)
    partial.replace(path)  # atomic: a crash never leaves a half-written cache
    print(f"shapes backbone: {describe(record)} -> {path}", flush=True)
    return path


def describe(record: dict) -> str:
    """One line about a cached backbone: architecture, steps, seconds and its validation figures."""
    config, metrics = record.get("config", {}), record.get("metrics", {})
    figures = ", ".join(f"{k.removesuffix('_exact')} {v:.2f}" for k, v in metrics.get("val", {}).items())
    return (f"{config.get('arch')} at {config.get('image_size')} px, {config.get('steps')} steps (seed "
            f"{config.get('seed')}) in {metrics.get('train_seconds', '?')} s; val exact match: {figures or 'n/a'}")
