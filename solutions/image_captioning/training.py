"""Teacher-forced training of the encoder/decoder pair, checkpoints, and turning indices into words.

``train(encoder, decoder, loader, config)`` minimises the cross-entropy of every
next word with Adam (lr 1e-3) on the decoder and ``encoder.embed`` with its norm
layer (plus ``layer4`` when the encoder was built with ``train_last_stage=True``).
Training stops after ``epochs`` or ``max_steps`` -- the same model on any machine --
or, if set, after ``time_budget`` seconds.

Two ways through the data (``TrainConfig.cache_features``):

- off (Udacity's loop): the loader's equal-length caption batches, the whole
  encoder run on every image every time.
- on (the offline recipe): the frozen part of the encoder (``encoder.stem``: the
  whole pretrained backbone, unless ``train_last_stage``) runs once per image, on
  first use, and its output is kept in a ``FeatureCache`` (``features.py``,
  float16); each step then takes ``images_per_step`` images with *all* their
  captions (padded with the end word, padding masked out of the loss), so the
  trainable head runs once for five captions. The caching time is part of the
  training clock.

Under ``torchrun`` (an initialised process group) the trainable modules are
wrapped in ``DistributedDataParallel``; ranks see different images and agree on
when to stop.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from cvdata.runtime import rank_and_world
from evaluation import clean_sentence, evaluate
from features import FeatureCache
from model import DecoderRNN, EncoderCNN, ModelConfig
from vocabulary import Vocabulary

__all__ = ["TrainConfig", "train", "caption_loss", "training_loss", "clean_sentence", "FeatureCache",
           "save_checkpoint", "load_checkpoint"]

ENCODER_FILE, DECODER_FILE = "encoder.pt", "decoder.pt"
CONFIG_FILE, VOCAB_FILE = "model_config.json", "vocab.json"
LR_SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    """How to train (the model's sizes live in ``ModelConfig``)."""

    epochs: int = 3
    time_budget: float | None = None
    """Stop after this many seconds of training (evaluation excluded); None: run all epochs."""
    max_steps: int | None = None
    lr: float = 1e-3
    lr_schedule: str = "constant"
    """"constant" or "cosine" (decays to 5% over the time budget, else over the epochs)."""
    grad_clip: float | None = 5.0
    cache_features: bool = False
    images_per_step: int = 32
    """With ``cache_features``: images per step, each with all its captions."""
    calibrate_images: int = 128
    """With a random backbone (``pretrained=False``): training images used to set the frozen BatchNorm
    statistics (0: skip; done once per encoder, recorded in its ``bn_calibrated`` buffer)."""
    log_every: int = 50
    """Steps per history row."""
    eval_at: tuple[float, ...] = ()
    """Training-clock seconds at which to evaluate on ``val_data`` (besides each epoch's end)."""
    seed: int = 0

    def __post_init__(self):
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")


# ----------------------------------------------------------------------------- loss
def caption_loss(scores: torch.Tensor, captions: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy of ``scores (N, L, V)`` against ``captions (N, L)``.

    With ``lengths (N,)`` only the first ``lengths[i]`` words of caption ``i`` count (padding is ignored).
    """
    losses = F.cross_entropy(scores.transpose(1, 2), captions, reduction="none")  # (N, L)
    if lengths is None:
        return losses.mean()
    mask = torch.arange(captions.shape[1], device=captions.device)[None, :] < lengths[:, None]  # (N, L)
    return (losses * mask).sum() / mask.sum()


def training_loss(decoder: nn.Module, output, captions: torch.Tensor, lengths: torch.Tensor | None = None
                  ) -> torch.Tensor:
    """``caption_loss`` of the decoder's scores, plus ``decoder.penalty`` of its attention weights when its
    ``forward`` returns ``(scores, alphas)`` (``attention.DecoderWithAttention``)."""
    if isinstance(output, tuple):
        scores, alphas = output  # (N, L, V), (N, L, P)
        return caption_loss(scores, captions, lengths) + decoder.penalty(alphas, lengths)
    return caption_loss(output, captions, lengths)


class _CaptionNet(nn.Module):
    """The trainable path as one module (what DDP wraps): stem features + captions -> scores."""

    def __init__(self, encoder: EncoderCNN, decoder: DecoderRNN):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, stem_features: torch.Tensor, captions: torch.Tensor, repeats: torch.Tensor | None = None):
        features = self.encoder.head(stem_features)  # (B, E), or a grid (B, P, C) for attention
        if repeats is not None:
            features = features.repeat_interleave(repeats, dim=0)  # (N, ...)
        return self.decoder(features, captions)  # (N, L, V), or (scores, alphas) for attention


# ----------------------------------------------------------------------------- batches
def _image_batches(dataset, config: TrainConfig, epoch: int, rank: int, world: int):
    """Cache mode: lists of image indices, the same number per rank (DistributedSampler's rule)."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(len(dataset.image_ids)), num_replicas=world, rank=rank,
                                 shuffle=True, seed=config.seed)
    sampler.set_epoch(epoch)
    order = list(sampler)
    for start in range(0, len(order), config.images_per_step):
        yield order[start:start + config.images_per_step]


def _captions_of(dataset) -> dict[int, list[list[int]]]:
    """image index -> its captions' word indices (cache mode)."""
    table: dict[int, list[list[int]]] = {}
    for caption_index, image_index in enumerate(dataset.caption_image):
        table.setdefault(image_index, []).append(dataset.caption_tokens[caption_index])
    return table


def _padded(captions: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Captions padded with ``pad``: ``(N, L)`` long and their lengths ``(N,)``."""
    lengths = torch.tensor([len(c) for c in captions])
    out = torch.full((len(captions), int(lengths.max())), pad, dtype=torch.long)
    for row, caption in enumerate(captions):
        out[row, : len(caption)] = torch.tensor(caption)
    return out, lengths


def _calibration_images(dataset, n: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(dataset.image_ids), size=min(n, len(dataset.image_ids)), replace=False)
    return torch.stack([dataset.image(int(k)) for k in picks])  # (n, 3, H, W)


# ----------------------------------------------------------------------------- training
def train(encoder: EncoderCNN, decoder: DecoderRNN, loader, config: TrainConfig | None = None,
          device: torch.device | str | None = None, val_data=None, progress: bool = True,
          callback=None) -> list[dict]:
    """Train in place; returns the history, one dict per ``log_every`` steps and per evaluation.

    Args:
        loader: a ``get_loader(mode="train")`` loader (cache mode uses its ``dataset``).
        config: a ``TrainConfig`` (default: its defaults).
        device: default ``cvdata.runtime.pick_device()``.
        val_data: a ``get_loader(mode="val")`` loader; if given, evaluated (greedy BLEU-1..4 and,
            on the shapes world, semantic accuracy) at each epoch's end and at ``config.eval_at``.
        callback: called as ``callback(row, encoder, decoder, val_cache)`` after each evaluation
            (on rank 0; ``val_cache`` is the ``FeatureCache`` of ``val_data`` in cache mode, else None).

    History rows hold ``step``, ``epoch``, ``seconds`` (training clock: evaluation excluded,
    caching included), ``loss`` and ``perplexity`` (means over the window), and after an
    evaluation ``bleu1``..``bleu4``, ``semantic_accuracy``.
    """
    from cvdata.runtime import pick_device

    config = config or TrainConfig()
    device = torch.device(device) if device is not None else pick_device()
    rank, world = rank_and_world()
    dataset = loader.dataset
    vocab = dataset.vocab
    encoder.to(device)
    decoder.to(device)
    net: nn.Module = _CaptionNet(encoder, decoder)
    if world > 1:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    params = list(decoder.parameters()) + encoder.trainable_parameters()
    optimizer = torch.optim.Adam(params, lr=config.lr)

    clock = 0.0
    start = time.perf_counter()
    if config.calibrate_images and not encoder.pretrained and not encoder.bn_calibrated:
        encoder.calibrate_batchnorm(_calibration_images(dataset, config.calibrate_images, config.seed).to(device))
    cache = FeatureCache(encoder, dataset, device) if config.cache_features else None
    val_cache = None
    captions_of = _captions_of(dataset) if cache else None
    if cache is not None:
        steps_per_epoch = math.ceil(math.ceil(len(dataset.image_ids) / world) / config.images_per_step)
    else:
        steps_per_epoch = len(loader)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)

    history: list[dict] = []
    window: list[float] = []
    pending_marks = sorted(config.eval_at)
    step = 0
    stop = False

    def elapsed() -> float:
        return clock + time.perf_counter() - start

    def lr_at(step_: int) -> float:
        if config.lr_schedule == "constant":
            return config.lr
        fraction = step_ / max(total_steps, 1)
        if config.time_budget:
            fraction = max(fraction, elapsed() / config.time_budget)
        return config.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(fraction, 1.0))))

    evaluated_at = -1

    def evaluate_now(epoch: int) -> None:
        nonlocal clock, start, val_cache, evaluated_at
        if step == evaluated_at:  # nothing changed since the last evaluation
            return
        evaluated_at = step
        clock = elapsed()
        row = {"step": step, "epoch": epoch, "seconds": round(clock, 2)}
        if val_data is not None and rank == 0:
            if cache is not None and val_cache is None:
                val_cache = FeatureCache(encoder, val_data.dataset, device)
            row.update(evaluate(encoder, decoder, val_data, vocab, method="greedy", cache=val_cache))
            history.append(row)
            if callback is not None:
                callback(row, encoder, decoder, val_cache)
        encoder.train()
        decoder.train()
        start = time.perf_counter()

    timed = config.time_budget is not None  # the bar counts seconds of the budget, else steps
    timed_format = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} s of the budget [{remaining} left{postfix}]"
    bar = tqdm(total=round(config.time_budget) if timed else total_steps, unit="s" if timed else "step",
               bar_format=timed_format if timed else None, disable=not progress or rank != 0, desc="training")
    encoder.train()
    decoder.train()
    for epoch in range(config.epochs):
        if cache is not None:
            batches = _image_batches(dataset, config, epoch, rank, world)
        else:
            if hasattr(loader.batch_sampler, "set_epoch"):
                loader.batch_sampler.set_epoch(epoch)
            batches = iter(loader)
        for batch in batches:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
            if cache is not None:
                caps = [captions_of[k] for k in batch]
                captions, lengths = _padded([c for group_ in caps for c in group_], vocab.end_index)
                repeats = torch.tensor([len(c) for c in caps], device=device)
                captions, lengths = captions.to(device), lengths.to(device)
                scores = net(cache.get(batch), captions, repeats)  # (N, L, V)
            else:
                images, captions = batch
                images, captions = images.to(device), captions.to(device)  # (B, 3, H, W), (B, L)
                lengths = None
                scores = net(encoder.stem(images), captions)  # (B, L, V)
            loss = training_loss(decoder, scores, captions, lengths)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            step += 1
            window.append(loss.item())
            bar.update(min(round(elapsed()), bar.total) - bar.n if timed else 1)
            bar.set_postfix(step=step, loss=f"{window[-1]:.3f}")
            if step % config.log_every == 0:
                mean = float(np.mean(window))
                history.append({"step": step, "epoch": epoch, "seconds": round(elapsed(), 2),
                                "loss": mean, "perplexity": math.exp(min(mean, 50))})
                window = []
            stop = (config.max_steps is not None and step >= config.max_steps) or (
                config.time_budget is not None and elapsed() >= config.time_budget)
            if world > 1:  # rank 0's clock decides for everyone
                flag = torch.tensor([float(stop)], device=device)
                dist.broadcast(flag, src=0)
                stop = bool(flag.item())
            while pending_marks and elapsed() >= pending_marks[0]:
                pending_marks.pop(0)
                evaluate_now(epoch)
            if stop:
                break
        if window:
            mean = float(np.mean(window))
            history.append({"step": step, "epoch": epoch, "seconds": round(elapsed(), 2),
                            "loss": mean, "perplexity": math.exp(min(mean, 50))})
            window = []
        evaluate_now(epoch)
        if stop:
            break
    bar.close()
    if world > 1:  # BatchNorm running statistics are per rank: take rank 0's, like DDP does each step
        for buffer in list(encoder.buffers()) + list(decoder.buffers()):
            dist.broadcast(buffer.data, src=0)
    encoder.eval()
    decoder.eval()
    if cache is not None and history:
        history[-1]["cache_seconds"] = round(cache.seconds, 2)
    return history


# ----------------------------------------------------------------------------- checkpoints
def save_checkpoint(path_dir: str | Path = "models", encoder: EncoderCNN = None, decoder: DecoderRNN = None,
                    vocab: Vocabulary = None, config: ModelConfig = None) -> Path:
    """Write ``encoder.pt``, ``decoder.pt`` (state_dicts), ``model_config.json`` and ``vocab.json``.

    ``config`` is the ``ModelConfig`` the pair was built with (default: read off the modules).
    The saved config records what the encoder really is (``ModelConfig.recorded``): its
    weight source, architecture and image size, so ``load_checkpoint`` rebuilds the same model.
    """
    path_dir = Path(path_dir)
    path_dir.mkdir(parents=True, exist_ok=True)
    if config is None:
        config = ModelConfig(embed_size=encoder.embed.out_features, hidden_size=decoder.lstm.hidden_size,
                             vocab_size=decoder.linear.out_features, num_layers=decoder.lstm.num_layers,
                             train_last_stage=encoder.train_last_stage, end_index=decoder.end_index)
    config = config.recorded(encoder)
    torch.save(encoder.state_dict(), path_dir / ENCODER_FILE)
    torch.save(decoder.state_dict(), path_dir / DECODER_FILE)
    (path_dir / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=1) + "\n", encoding="utf-8")
    vocab.save(path_dir / VOCAB_FILE)
    return path_dir


def load_checkpoint(path_dir: str | Path = "models", device: torch.device | str = "cpu"
                    ) -> tuple[EncoderCNN, DecoderRNN, Vocabulary]:
    """The (encoder, decoder, vocab) saved by ``save_checkpoint``, in eval mode (never downloads).

    Raises ``cvdata.errors.DataError`` naming the file when one is missing or corrupt.
    """
    from cvdata.errors import DataError

    path_dir = Path(path_dir)
    for name in (ENCODER_FILE, DECODER_FILE, CONFIG_FILE, VOCAB_FILE):
        if not (path_dir / name).is_file():
            raise DataError(path_dir / name, "checkpoint file missing; train and save a model first")
    try:
        saved = json.loads((path_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        config = ModelConfig.from_dict({"weights": "imagenet", **saved})  # older checkpoints: always ResNet-50
    except json.JSONDecodeError as err:
        raise DataError(path_dir / CONFIG_FILE, f"corrupt JSON: {err.msg}") from None
    config.pretrained = False  # the weights come from the checkpoint
    encoder, decoder = config.build()
    for module, name in ((encoder, ENCODER_FILE), (decoder, DECODER_FILE)):
        try:
            module.load_state_dict(torch.load(path_dir / name, map_location=device, weights_only=True))
        except (RuntimeError, ValueError, OSError, EOFError) as err:
            raise DataError(path_dir / name, f"not the weights of this model_config.json ({str(err).splitlines()[0]})") \
                from None
    vocab = Vocabulary.load(path_dir / VOCAB_FILE)
    encoder.image_size = config.image_size or encoder.image_size  # what it was trained on
    return encoder.to(device).eval(), decoder.to(device).eval(), vocab
