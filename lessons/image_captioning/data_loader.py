# GENERATED from solutions/image_captioning/data_loader.py by `python -m autograder lessons`.
# Students: fill in the parts marked YOUR CODE HERE.
# Course maintainers: edit solutions/image_captioning/data_loader.py, not this file, then regenerate.
"""Loading captioned images (the shapes world or MS COCO 2014) for training and inference.

``get_loader(transform, mode="train", ...)`` returns a ``torch.utils.data.DataLoader``.

- ``mode="train"``: batches ``(images (B, 3, H, W) float, captions (B, L) long)``,
  every caption ``<start> ... <end>``. All captions of a batch have the same length
  (Udacity's choice): no padding, no packing, no masks, so the decoder and the loss
  stay as simple as in the paper. ``EqualLengthBatchSampler`` groups the captions
  by length, shuffles each group, cuts it into batches and shuffles the batches;
  every caption is used once per epoch, and with ``distributed=True`` every rank
  gets the same number of batches.
- ``mode="val"`` / ``"test"``: one item per image, ``(original (H, W, 3) uint8,
  image (3, H, W) float, image_id)``: what captioning needs.

The loader's ``dataset`` (a ``CaptionDataset``) also exposes ``image_ids``,
``references`` (image id -> tokenised reference captions) and, on the shapes
world, ``objects`` (image id -> the recorded objects) for evaluation.

Layouts: the shapes world has ``annotations/captions_<split>.json`` and
``images/<split>/`` (splits train, val, test, novel); MS COCO 2014 has
``annotations/captions_<split>2014.json`` and ``images/<split>2014/``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from cvdata.coco_captions import load_coco_captions
from cvdata.errors import DataError
from cvdata.images import imagenet_transform, read_image
from cvdata.paths import data_root, shapes_dir
from cvdata.runtime import rank_and_world

from vocabulary import Vocabulary, tokenize

MODES = ("train", "val", "test")


def default_transform(train: bool = True, image_size: int = 128):
    """Image (H, W, 3) uint8 array or PIL image -> normalised ``(3, image_size, image_size)`` tensor.

    Resize the shorter side, centre crop, ImageNet normalisation (``cvdata.images.imagenet_transform``,
    the one definition the course's backbone was pretrained with). No flips and no
    colour jitter, even for training: shapes-world captions name sides ("on the
    left") and colours, which those would falsify. ``train`` is kept for the
    Udacity signature (and for data sets where augmenting is safe).
    """
    return imagenet_transform(image_size)


def split_paths(data_dir: Path, split: str) -> tuple[Path, Path]:
    """``(captions JSON, image folder)`` of ``split`` in the shapes-world or COCO 2014 layout."""
    data_dir = Path(data_dir)
    for name in (split, f"{split}2014"):
        annotations = data_dir / "annotations" / f"captions_{name}.json"
        if annotations.is_file():
            return annotations, data_dir / "images" / name
    raise DataError(data_dir / "annotations" / f"captions_{split}.json",
                    f"no captions file for split {split!r} (nor captions_{split}2014.json)")


class CaptionDataset(Dataset):
    """Captioned images of one split.

    In ``train`` mode item ``i`` is caption ``i``: ``(image (3, H, W), caption (L,) long)``.
    Otherwise item ``i`` is image ``i``: ``(original (H, W, 3) uint8, image (3, H, W), image_id)``.
    """

    def __init__(self, data_dir: Path, split: str, mode: str, transform, vocab: Vocabulary):
        self.annotations_file, self.image_dir = split_paths(data_dir, split)
        self.mode, self.transform, self.vocab = mode, transform, vocab
        coco = load_coco_captions(self.annotations_file)
        self.image_ids: list[int] = sorted(coco.imgs)
        self.file_names = {i: coco.imgs[i]["file_name"] for i in self.image_ids}
        self.objects: dict[int, list[dict]] = {
            i: coco.imgs[i]["objects"] for i in self.image_ids if "objects" in coco.imgs[i]
        }
        self.references: dict[int, list[list[str]]] = {i: [] for i in self.image_ids}
        position = {image_id: k for k, image_id in enumerate(self.image_ids)}
        self.caption_image: list[int] = []  # caption i -> index into image_ids
        self.caption_tokens: list[list[int]] = []  # caption i -> <start> ... <end> indices
        for ann_id in sorted(coco.anns):
            ann = coco.anns[ann_id]
            self.references[ann["image_id"]].append(tokenize(ann["caption"]))
            self.caption_image.append(position[ann["image_id"]])
            self.caption_tokens.append(vocab.encode(ann["caption"]))
        self.caption_lengths = [len(tokens) for tokens in self.caption_tokens]

    def __len__(self) -> int:
        return len(self.caption_tokens) if self.mode == "train" else len(self.image_ids)

    def original_image(self, image_index: int) -> np.ndarray:
        """Image ``image_index`` (into ``image_ids``) as read from disk: (H, W, 3) uint8 RGB."""
        return read_image(self.image_dir / self.file_names[self.image_ids[image_index]])

    def image(self, image_index: int) -> torch.Tensor:
        """Image ``image_index`` transformed: ``(3, H, W)``."""
        return self.transform(self.original_image(image_index))

    def caption(self, index: int) -> torch.Tensor:
        """Caption ``index`` as ``(L,)`` long word indices, ``<start>`` ... ``<end>``."""
        return torch.tensor(self.caption_tokens[index], dtype=torch.long)

    def __getitem__(self, index: int):
        # YOUR CODE HERE
        raise NotImplementedError("not implemented yet: CaptionDataset.__getitem__")


class EqualLengthBatchSampler(Sampler):
    """Batches of caption indices that share one caption length.

    Each epoch (``set_epoch``; seeded by ``seed + epoch``) every caption is used
    once: the captions of each length are shuffled and cut into batches of at
    most ``batch_size``, and the batches are shuffled. With ``world_size > 1``
    rank ``r`` takes batches ``r, r + world_size, ...`` of a list truncated to a
    multiple of ``world_size``, so all ranks take the same number of steps.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int = 0,
                 rank: int = 0, world_size: int = 1, shuffle: bool = True):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.lengths, self.batch_size, self.seed = np.asarray(lengths), batch_size, seed
        self.rank, self.world_size, self.shuffle = rank, world_size, shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _all_batches(self) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        batches = []
        for length in np.unique(self.lengths):
            indices = np.flatnonzero(self.lengths == length)
            if self.shuffle:
                indices = rng.permutation(indices)
            batches += [indices[i:i + self.batch_size].tolist() for i in range(0, len(indices), self.batch_size)]
        order = rng.permutation(len(batches)) if self.shuffle else range(len(batches))
        batches = [batches[i] for i in order]
        usable = len(batches) // self.world_size * self.world_size
        return batches[:usable]

    def __iter__(self):
        yield from self._all_batches()[self.rank::self.world_size]

    def __len__(self) -> int:
        total = sum(math.ceil(n / self.batch_size) for n in np.unique(self.lengths, return_counts=True)[1])
        return total // self.world_size


def get_loader(transform=None, mode: str = "train", batch_size: int = 1, vocab_threshold: int | None = None,
               vocab_file: str | Path = "./vocab.json", start_word: str = "<start>", end_word: str = "<end>",
               unk_word: str = "<unk>", vocab_from_file: bool = True, num_workers: int = 0,
               data_dir: str | Path | None = None, split: str | None = None, seed: int | None = None,
               distributed: bool = False) -> DataLoader:
    """A DataLoader of captioned images (see the module docstring for what it yields).

    Args:
        transform: image transform (default: ``default_transform(mode == "train")``).
        mode: "train" (equal-length caption batches) or "val"/"test" (one image per item).
        batch_size: captions per batch (train) or images per batch (val/test).
        vocab_threshold, vocab_file, start_word, end_word, unk_word, vocab_from_file:
            passed to ``Vocabulary``, built from this data set's *train* captions.
            Outside training the vocabulary must come from ``vocab_file``.
        num_workers: DataLoader worker processes.
        data_dir: the data set's folder (default: the shapes world under ``data_root()``;
            for MS COCO 2014 pass ``cvdata.paths.coco_dir(REAL_DIR)``).
        split: which split to read (default: "train" for train mode, else ``mode``).
        seed: shuffling seed (default 0); epochs reshuffle through ``loader.batch_sampler.set_epoch``.
        distributed: shard the train batches over the ranks of the initialised process group.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    data_dir = Path(data_dir) if data_dir is not None else shapes_dir(data_root())
    split = split or mode
    if mode != "train" and not Path(vocab_file).exists():
        raise FileNotFoundError(f"{vocab_file}: no vocabulary file; build it first with get_loader(mode='train')")
    train_annotations, _ = split_paths(data_dir, "train")
    vocab = Vocabulary(vocab_threshold, vocab_file, start_word, end_word, unk_word,
                       annotations_file=train_annotations,
                       vocab_from_file=vocab_from_file or mode != "train")
    transform = transform if transform is not None else default_transform(mode == "train")
    dataset = CaptionDataset(data_dir, split, mode, transform, vocab)
    if mode == "train":
        rank, world = rank_and_world() if distributed else (0, 1)
        sampler = EqualLengthBatchSampler(dataset.caption_lengths, batch_size, seed or 0, rank, world)
        return DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers)
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                      collate_fn=_collate_images)


def _collate_images(items):
    """Keep originals as a list (sizes differ on COCO); stack the transformed images."""
    originals, images, image_ids = zip(*items)
    return list(originals), torch.stack(images), list(image_ids)
