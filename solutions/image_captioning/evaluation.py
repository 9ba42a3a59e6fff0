"""Caption a split and score it: BLEU-1..4 against all references, and semantic accuracy.

The metrics themselves live in ``cvdata.caption_metrics`` (the grader uses the same
ones) and are re-exported here.
"""
from __future__ import annotations

from collections import Counter

import torch

from cvdata.caption_metrics import bleu_scores, semantic_accuracy

from features import FeatureCache
from model import DecoderRNN, EncoderCNN
from vocabulary import Vocabulary, tokenize

__all__ = ["bleu_scores", "semantic_accuracy", "clean_sentence", "decode_batch", "caption_images", "evaluate",
           "score_captions", "score_by_object_count", "most_frequent_caption_baseline"]

METHODS = ("greedy", "beam")


def clean_sentence(ids, vocab: Vocabulary) -> str:
    """Word indices -> a sentence: special words dropped, stops at the end word.

    >>> clean_sentence([0, 7, 9, 1, 5], vocab)  # doctest: +SKIP
    'a red circle'
    """
    words = []
    for index in ids:
        word = vocab.idx2word.get(int(index), vocab.unk_word)
        if word == vocab.end_word:
            break
        if word not in (vocab.start_word, vocab.unk_word):
            words.append(word)
    return " ".join(words)


def _features(encoder: EncoderCNN, loader_or_images, cache: FeatureCache | None, chunk: int = 32):
    """Yield ``(image_ids, features (B, E))`` for a val/test loader, a ``(N, 3, H, W)`` tensor or
    ``{id: (3, H, W)}``."""
    device = next(encoder.parameters()).device
    if isinstance(loader_or_images, torch.Tensor):
        items = dict(enumerate(loader_or_images))
    elif isinstance(loader_or_images, dict):
        items = loader_or_images
    else:
        items = None
    with torch.no_grad():
        if items is not None:
            ids = list(items)
            for start in range(0, len(ids), chunk):
                part = ids[start:start + chunk]
                yield part, encoder(torch.stack([items[i] for i in part]).to(device))  # (B, E)
            return
        dataset = loader_or_images.dataset
        if cache is not None:
            for start in range(0, len(dataset.image_ids), chunk):
                indices = list(range(start, min(start + chunk, len(dataset.image_ids))))
                yield [dataset.image_ids[k] for k in indices], encoder.head(cache.get(indices))  # (B, E)
            return
        for _, images, image_ids in loader_or_images:
            yield list(image_ids), encoder(images.to(device))  # (B, E)


def decode_batch(decoder, features: torch.Tensor, method: str = "greedy", beam_size: int = 3, max_len: int = 20,
                 end_index: int = 1) -> list[list[int]]:
    """Word indices for each image of a batch: ``features`` are ``(B, E)`` vectors for ``DecoderRNN``, or
    ``(B, P, C)`` grids for a decoder with ``returns_attention`` (``attention.DecoderWithAttention``)."""
    if getattr(decoder, "returns_attention", False):
        if method == "greedy":
            return decoder.sample(features, max_len=max_len, end_index=end_index)[0]
        return [decoder.beam_search(f.unsqueeze(0), beam_size, max_len, end_index)[0] for f in features]
    if method == "greedy":
        return [decoder.sample(f.view(1, 1, -1), max_len=max_len, end_index=end_index) for f in features]
    return [decoder.beam_search(f.view(1, -1), beam_size=beam_size, max_len=max_len, end_index=end_index)
            for f in features]


def caption_images(encoder: EncoderCNN, decoder: DecoderRNN, loader_or_images, vocab: Vocabulary,
                   method: str = "greedy", beam_size: int = 3, max_len: int = 20,
                   cache: FeatureCache | None = None) -> dict:
    """Caption every image: ``{image_id: "a red circle ..."}``.

    ``loader_or_images``: a ``get_loader(mode="val"/"test")`` loader, a ``(N, 3, H, W)``
    tensor of transformed images (ids 0..N-1) or a dict ``{image_id: (3, H, W)}``.
    ``method``: "greedy" (``decoder.sample``) or "beam" (``decoder.beam_search``).
    ``cache``: a ``FeatureCache`` of the loader's dataset, to reuse the frozen stem's outputs.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    encoder_mode, decoder_mode = encoder.training, decoder.training
    encoder.eval()
    decoder.eval()
    captions = {}
    try:
        for image_ids, features in _features(encoder, loader_or_images, cache):
            for image_id, ids in zip(image_ids, decode_batch(decoder, features, method, beam_size, max_len,
                                                             vocab.end_index)):
                captions[image_id] = clean_sentence(ids, vocab)
    finally:
        encoder.train(encoder_mode)
        decoder.train(decoder_mode)
    return captions


def score_captions(captions: dict, dataset) -> dict[str, float]:
    """BLEU-1..4 of ``{image_id: caption}`` against the dataset's references, plus semantic
    accuracy when the dataset records objects (the shapes world)."""
    ids = list(captions)
    scores = bleu_scores([tokenize(captions[i]) for i in ids], [dataset.references[i] for i in ids])
    if dataset.objects:
        scores["semantic_accuracy"] = semantic_accuracy([captions[i] for i in ids],
                                                        [dataset.objects[i] for i in ids])
    return scores


def score_by_object_count(captions: dict, dataset) -> dict[int, dict[str, float]]:
    """``score_captions`` separately for the images with 1, 2, 3, ... objects (shapes world only):
    ``{n_objects: {"images": count, "bleu4": ..., "semantic_accuracy": ...}}``."""
    groups: dict[int, list] = {}
    for image_id in captions:
        groups.setdefault(len(dataset.objects[image_id]), []).append(image_id)
    out = {}
    for n, ids in sorted(groups.items()):
        scores = score_captions({i: captions[i] for i in ids}, dataset)
        out[n] = {"images": len(ids), "bleu4": scores["bleu4"], "semantic_accuracy": scores["semantic_accuracy"]}
    return out


def evaluate(encoder: EncoderCNN, decoder: DecoderRNN, loader, vocab: Vocabulary, method: str = "greedy",
             beam_size: int = 3, max_len: int = 20, cache: FeatureCache | None = None) -> dict[str, float]:
    """Caption every image of a val/test ``loader`` and score: ``bleu1``..``bleu4``, ``semantic_accuracy``."""
    captions = caption_images(encoder, decoder, loader, vocab, method, beam_size, max_len, cache)
    return score_captions(captions, loader.dataset)


def most_frequent_caption_baseline(train_dataset, eval_dataset) -> dict:
    """Caption every evaluation image with the training set's most frequent caption; score it.

    Both arguments are ``CaptionDataset``s (or loaders, whose ``dataset`` is used).
    Returns the scores plus ``"caption"``.
    """
    train_dataset = getattr(train_dataset, "dataset", train_dataset)
    eval_dataset = getattr(eval_dataset, "dataset", eval_dataset)
    counts = Counter(" ".join(tokens) for refs in train_dataset.references.values() for tokens in refs)
    caption = counts.most_common(1)[0][0]
    scores = score_captions({i: caption for i in eval_dataset.image_ids}, eval_dataset)
    return {**scores, "caption": caption}
