"""Inputs of the captioning probes, through the student's code (runs in the sandboxed child)."""
from __future__ import annotations

import torch

from cvdata.caption_metrics import caption_tokens
from cvdata.images import read_image


def transformed_images(names: list[str], image_dir: str, image_size: int) -> torch.Tensor:
    """Held-out or visible images through the student's evaluation transform: (N, 3, S, S)."""
    import data_loader

    transform = data_loader.default_transform(False, image_size)
    return torch.stack([transform(read_image(f"{image_dir}/{name}")) for name in names])


def encode_caption(vocab, caption: str) -> list[int]:
    """``<start>``, the caption's words (the course's tokenisation) and ``<end>`` through the student's vocabulary."""
    return [vocab(vocab.start_word)] + [vocab(w) for w in caption_tokens(caption)] + [vocab(vocab.end_word)]


def with_start(ids: list[int], words: list[str]) -> list[int]:
    """A caption's word indices as the decoder scores them: the vocabulary's ``<start>`` first (a ``sample`` or
    ``beam_search`` may leave it out; the decoder was trained to predict it first from the image)."""
    start = words.index("<start>") if "<start>" in words else None
    return list(ids) if start is None or list(ids[:1]) == [start] else [start, *ids]
