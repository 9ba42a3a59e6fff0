# GENERATED from solutions/image_captioning/training.py by `python -m autograder lessons`.
# Students: fill in the parts marked YOUR CODE HERE.
# Course maintainers: edit solutions/image_captioning/training.py, not this file, then regenerate.
"""Teacher-forced training of the encoder/decoder pair, checkpoints, and turning indices into words.

``train(encoder, decoder, loader, config)`` minimises the cross-entropy of every
next word (``caption_loss``, which the student writes) with Adam (lr 1e-3) on the
decoder and ``encoder.embed`` with its norm layer (plus ``layer4`` when the encoder
was built with ``train_last_stage=True``), or with the optimiser the caller passes
(``optimizer=``: notebook 2 builds its own).
Training stops after ``epochs`` or ``max_steps`` -- the same model on any machine --
or, if set, after ``time_budget_s`` seconds.

Two ways through the data (``TrainConfig.cache_features``):

- off (Udacity's loop): the loader's equal-length caption batches, the whole
  encoder run on every image every time.
- on (the offline recipe): the frozen part of the encoder (``encoder.stem``: the
  whole pretrained backbone, unless ``train_last_stage``) runs once per image, on
  first use, and its output is kept in a ``FeatureCache`` (``features.py``,
  float16); each step then takes ``images_per_step`` images with *all* their
  captions (padded with the end word, padding masked out of the loss), so the
  trainable head runs once for five captions; the captions are decoded in a few
  groups of similar length (``decode_by_length``), so little of the LSTM's work
  is padding. The caching time is part of the training clock.

Under ``torchrun`` (an initialised process group) the trainable modules are
wrapped in ``DistributedDataParallel``; ranks see different images and agree on
when to stop.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from cvdata.runtime import rank_and_world, seed_everything

from checkpoints import read_model, write_model
from evaluation import clean_sentence, evaluate
from features import FeatureCache
from model import DecoderRNN, EncoderCNN, ModelConfig
from vocabulary import Vocabulary

__all__ = ["TrainConfig", "train", "caption_loss", "training_loss", "clean_sentence", "FeatureCache",
           "save_checkpoint", "load_checkpoint"]

CONFIG_FILE = "model_config.json"
LR_SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    """How to train (the model's sizes live in ``ModelConfig``)."""

    epochs: int = 3
    time_budget_s: float | None = None
    """Stop after this many seconds of training (evaluation excluded); None: run all epochs."""
    max_steps: int | None = None
    lr: float = 1e-3
    """The learning rate of ``train``'s own Adam; an optimiser passed to ``train`` keeps its own rates."""
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
            raise ValueError(f"TrainConfig.lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.time_budget_s is not None and self.time_budget_s < 0:
            raise ValueError(f"TrainConfig.time_budget_s must be >= 0 or None, got {self.time_budget_s}")
        if self.epochs < 1 or self.images_per_step < 1 or (self.max_steps is not None and self.max_steps < 1):
            raise ValueError("TrainConfig: epochs, images_per_step and max_steps (unless None) must be >= 1, got "
                             f"{self.epochs}, {self.images_per_step}, {self.max_steps}")


# ----------------------------------------------------------------------------- loss
def caption_loss(scores: torch.Tensor, captions: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy of the decoder's scores against the words they predict: a scalar tensor.

    Args:
        scores: ``(N, L, V)`` raw scores (logits); ``scores[i, t]`` scores word ``t`` of caption ``i``.
        captions: ``(N, L)`` long word indices, the targets (teacher forcing: the targets are the captions).
        lengths: ``(N,)`` long, or None. None: every one of the ``N * L`` words counts (a batch of equal
            lengths). Given: caption ``i`` is only its first ``lengths[i]`` words and the rest of its row is
            padding; padding positions must not count at all -- neither in the sum nor in the number of words
            it is divided by -- so the loss (and its gradient) does not depend on what the padding holds.

    Returns:
        ``()``: the mean over the words that count.
    """
    # YOUR CODE HERE
    raise NotImplementedError("not implemented yet: caption_loss")


def training_loss(decoder: nn.Module, output, captions: torch.Tensor, lengths: torch.Tensor | None = None
                  ) -> torch.Tensor:
    """``caption_loss`` of the decoder's scores, plus ``decoder.penalty`` of its attention weights when its
    ``forward`` returns ``(scores, alphas)`` (``attention.DecoderWithAttention``)."""
    if isinstance(output, tuple):
        scores, alphas = output  # (N, L, V), (N, L, P)
        return caption_loss(scores, captions, lengths) + decoder.penalty(alphas, lengths)
    return caption_loss(output, captions, lengths)


LENGTH_GROUPS = 3
"""Cache mode: a step's captions are sorted by length and decoded in this many groups, each padded only to its own
longest caption. On the shapes world (5 to 19 words, 10 on average, so a step of 160 captions padded to 19 is half
padding) this does about 40% less LSTM work for the same loss: the padding is masked out of it either way."""


def decode_by_length(decoder: nn.Module, features: torch.Tensor, captions: torch.Tensor, lengths: torch.Tensor,
                     groups: int = LENGTH_GROUPS):
    """``decoder(features, captions)`` computed in ``groups`` calls on captions of similar length.

    ``features (N, ...)``, ``captions (N, L)``, ``lengths (N,)``. Returns what the decoder returns -- scores
    ``(N, L, V)``, or ``(scores, alphas (N, L, P))`` for attention -- with zeros past each group's longest caption
    (positions ``caption_loss`` masks out). A decoder that steps word by word and drops the captions that have
    ended itself (``skips_padding``: ``attention.DecoderWithAttention``) gets the lengths instead, in one call.
    """
    if getattr(decoder, "skips_padding", False):
        return decoder(features, captions, lengths)
    outputs = []
    for rows in lengths.argsort().tensor_split(min(groups, len(lengths))):
        longest = int(lengths[rows].max())
        out = decoder(features[rows], captions[rows, :longest])
        outputs.append((rows, longest, out if isinstance(out, tuple) else (out,)))
    full = []
    for part in range(len(outputs[0][2])):
        first = outputs[0][2][part]
        whole = first.new_zeros(captions.shape[0], captions.shape[1], *first.shape[2:])  # (N, L, ...)
        for rows, longest, out in outputs:
            whole[rows, :longest] = out[part]
        full.append(whole)
    return tuple(full) if len(full) > 1 else full[0]


class _CaptionNet(nn.Module):
    """The trainable path as one module (what DDP wraps): stem features + captions -> scores."""

    def __init__(self, encoder: EncoderCNN, decoder: DecoderRNN):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, stem_features: torch.Tensor, captions: torch.Tensor, repeats: torch.Tensor | None = None,
                lengths: torch.Tensor | None = None):
        features = self.encoder.head(stem_features)  # (B, E), or a grid (B, P, C) for attention
        if repeats is not None:
            features = features.repeat_interleave(repeats, dim=0)  # (N, ...)
        if lengths is not None:
            return decode_by_length(self.decoder, features, captions, lengths)
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


# ----------------------------------------------------------------------------- the pieces of a run
class TrainingClock:
    """Seconds of training: running from its creation, stopped while ``paused()`` (evaluation)."""

    def __init__(self):
        self._banked, self._since = 0.0, time.perf_counter()

    def elapsed(self) -> float:
        return self._banked + (time.perf_counter() - self._since if self._since is not None else 0.0)

    @contextlib.contextmanager
    def paused(self):
        self._banked, self._since = self.elapsed(), None
        try:
            yield
        finally:
            self._since = time.perf_counter()


def lr_factor(config: TrainConfig, step: int, total_steps: int, seconds: float) -> float:
    """What the schedule multiplies each learning rate by: 1, or with the cosine schedule from 1 down to 0.05 over
    ``total_steps`` (or over the time budget, when that is further along)."""
    if config.lr_schedule == "constant":
        return 1.0
    fraction = step / max(total_steps, 1)
    if config.time_budget_s:
        fraction = max(fraction, seconds / config.time_budget_s)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(fraction, 1.0)))


def loss_row(step: int, epoch: int, seconds: float, losses: list[float]) -> dict:
    """A history row: the mean of ``losses`` (the steps since the last row) and its perplexity."""
    mean = float(np.mean(losses))
    return {"step": step, "epoch": epoch, "seconds": round(seconds, 2), "loss": mean,
            "perplexity": math.exp(min(mean, 50))}


def train_step(net: nn.Module, decoder: nn.Module, optimizer: torch.optim.Optimizer, params: list,
               grad_clip: float | None, inputs: tuple, captions: torch.Tensor,
               lengths: torch.Tensor | None = None) -> float:
    """One optimiser step: ``net(*inputs)`` scored against ``captions (N, L)`` (``training_loss``), gradients
    clipped to ``grad_clip``; returns the loss."""
    loss = training_loss(decoder, net(*inputs), captions, lengths)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        nn.utils.clip_grad_norm_(params, grad_clip)
    optimizer.step()
    return loss.item()


def _step_inputs(batch, encoder: EncoderCNN, cache: FeatureCache | None, captions_of: dict | None, pad: int,
                 device: torch.device) -> tuple[tuple, torch.Tensor, torch.Tensor | None]:
    """``(inputs of _CaptionNet, captions, lengths)`` for one batch: cached stem features of a list of images with
    all their captions, or a loader's ``(images (B, 3, H, W), captions (B, L))``."""
    if cache is not None:
        caps = [captions_of[k] for k in batch]
        captions, lengths = _padded([c for group in caps for c in group], pad)
        repeats = torch.tensor([len(c) for c in caps], device=device)
        captions = captions.to(device)
        lengths = lengths.to(device)
        return (cache.get(batch), captions, repeats, lengths), captions, lengths
    images, captions = batch
    images, captions = images.to(device), captions.to(device)
    return (encoder.stem(images), captions), captions, None


def _epoch_batches(loader, config: TrainConfig, epoch: int, rank: int, world: int, cached: bool):
    if cached:
        return _image_batches(loader.dataset, config, epoch, rank, world)
    if hasattr(loader.batch_sampler, "set_epoch"):
        loader.batch_sampler.set_epoch(epoch)
    return iter(loader)


def _total_steps(loader, config: TrainConfig, cached: bool, world: int) -> int:
    per_epoch = math.ceil(math.ceil(len(loader.dataset.image_ids) / world) / config.images_per_step) if cached \
        else len(loader)
    return min(per_epoch * config.epochs, config.max_steps or per_epoch * config.epochs)


class _Evaluations:
    """Evaluations on ``val_data`` (rank 0; at most once per step) into the history, off the training clock."""

    def __init__(self, encoder, decoder, val_data, vocab, device, cached: bool, callback, clock: TrainingClock,
                 history: list, rank: int):
        self.encoder, self.decoder, self.val_data, self.vocab, self.device = encoder, decoder, val_data, vocab, device
        self.cached, self.callback, self.clock, self.history, self.rank = cached, callback, clock, history, rank
        self.cache, self.last_step = None, -1

    def __call__(self, step: int, epoch: int) -> None:
        if step == self.last_step:  # nothing changed since the last evaluation
            return
        self.last_step = step
        with self.clock.paused():
            row = {"step": step, "epoch": epoch, "seconds": round(self.clock.elapsed(), 2)}
            if self.val_data is not None and self.rank == 0:
                if self.cached and self.cache is None:
                    self.cache = FeatureCache(self.encoder, self.val_data.dataset, self.device)
                row.update(evaluate(self.encoder, self.decoder, self.val_data, self.vocab, method="greedy",
                                    cache=self.cache))
                self.history.append(row)
                if self.callback is not None:
                    self.callback(row, self.encoder, self.decoder, self.cache)
            self.encoder.train()
            self.decoder.train()


def _stop(config: TrainConfig, step: int, seconds: float, world: int, device: torch.device) -> bool:
    """Out of steps or of time; with several processes, rank 0's clock decides for everyone."""
    stop = (config.max_steps is not None and step >= config.max_steps) or (
        config.time_budget_s is not None and seconds >= config.time_budget_s)
    if world > 1:
        flag = torch.tensor([float(stop)], device=device)
        dist.broadcast(flag, src=0)
        stop = bool(flag.item())
    return stop


def _progress_bar(config: TrainConfig, total_steps: int, show: bool):
    """A bar over the seconds of the time budget, or over the steps."""
    if config.time_budget_s is None:
        return tqdm(total=total_steps, unit="step", disable=not show, desc="training")
    return tqdm(total=round(config.time_budget_s), unit="s", disable=not show, desc="training",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} s of the budget "
                           "[{remaining} left{postfix}]")


# ----------------------------------------------------------------------------- training
def train(encoder: EncoderCNN, decoder: DecoderRNN, loader, config: TrainConfig | None = None,
          device: torch.device | str | None = None, val_data=None, progress: bool = True,
          callback=None, optimizer: torch.optim.Optimizer | None = None) -> list[dict]:
    """Train in place; returns the history, one dict per ``log_every`` steps and per evaluation.

    Args:
        loader: a ``get_loader(mode="train")`` loader (cache mode uses its ``dataset``).
        config: a ``TrainConfig`` (default: its defaults).
        optimizer: one built by the caller over the parameters it chose to train (notebook 2), on the device the
            modules end up on (``device``). Gradients are clipped over its parameters, and the schedule scales
            each of its param groups' own initial learning rate (``config.lr`` is then unused). Default:
            ``torch.optim.Adam`` with ``config.lr`` on the decoder and ``encoder.trainable_parameters()``.
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
    seed_everything(config.seed)  # as facial keypoints' train: the same run for the same seed
    device = torch.device(device) if device is not None else pick_device()
    rank, world = rank_and_world()
    dataset = loader.dataset
    encoder.to(device)
    decoder.to(device)
    net: nn.Module = _CaptionNet(encoder, decoder)
    if world > 1:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    if optimizer is None:
        optimizer = torch.optim.Adam(list(decoder.parameters()) + encoder.trainable_parameters(), lr=config.lr)
    params = [p for group in optimizer.param_groups for p in group["params"]]  # what gradient clipping bounds
    base_lrs = [group["lr"] for group in optimizer.param_groups]  # what the schedule scales

    clock = TrainingClock()  # caching counts as training time, evaluation does not
    if config.calibrate_images and not encoder.pretrained and not encoder.bn_calibrated:
        encoder.calibrate_batchnorm(_calibration_images(dataset, config.calibrate_images, config.seed).to(device))
    cache = FeatureCache(encoder, dataset, device) if config.cache_features else None
    captions_of = _captions_of(dataset) if cache else None
    total_steps = _total_steps(loader, config, cache is not None, world)
    history: list[dict] = []
    evaluate_now = _Evaluations(encoder, decoder, val_data, dataset.vocab, device, cache is not None, callback,
                                clock, history, rank)
    bar = _progress_bar(config, total_steps, progress and rank == 0)
    window, marks, step, stop = [], sorted(config.eval_at), 0, False
    encoder.train()
    decoder.train()
    for epoch in range(config.epochs):
        for batch in _epoch_batches(loader, config, epoch, rank, world, cache is not None):
            factor = lr_factor(config, step, total_steps, clock.elapsed())
            for group, base_lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = base_lr * factor
            inputs, captions, lengths = _step_inputs(batch, encoder, cache, captions_of, dataset.vocab.end_index,
                                                     device)
            window.append(train_step(net, decoder, optimizer, params, config.grad_clip, inputs, captions, lengths))
            step += 1
            bar.update(min(round(clock.elapsed()), bar.total) - bar.n if config.time_budget_s is not None else 1)
            bar.set_postfix(step=step, loss=f"{window[-1]:.3f}")
            if step % config.log_every == 0:
                history.append(loss_row(step, epoch, clock.elapsed(), window))
                window = []
            stop = _stop(config, step, clock.elapsed(), world, device)
            while marks and clock.elapsed() >= marks[0]:
                marks.pop(0)
                evaluate_now(step, epoch)
            if stop:
                break
        if window:
            history.append(loss_row(step, epoch, clock.elapsed(), window))
            window = []
        evaluate_now(step, epoch)
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
    if config is None:
        config = ModelConfig(embed_size=encoder.embed.out_features, hidden_size=decoder.lstm.hidden_size,
                             vocab_size=decoder.linear.out_features, num_layers=decoder.lstm.num_layers,
                             train_last_stage=encoder.train_last_stage, end_index=decoder.end_index)
    return write_model(path_dir, encoder, decoder, vocab, config.recorded(encoder).to_dict(), CONFIG_FILE)


def load_checkpoint(path_dir: str | Path = "models", device: torch.device | str = "cpu"
                    ) -> tuple[EncoderCNN, DecoderRNN, Vocabulary]:
    """The (encoder, decoder, vocab) saved by ``save_checkpoint``, in eval mode (never downloads).

    Raises ``cvdata.errors.DataError`` naming the file when one is missing or corrupt.
    """
    return read_model(path_dir, CONFIG_FILE,
                      lambda saved: ModelConfig.from_dict({"weights": "imagenet", **saved}),  # older: ResNet-50
                      "train and save a model first (notebook 2, or python train.py)", device)
