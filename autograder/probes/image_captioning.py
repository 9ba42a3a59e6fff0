"""Probes of an image captioning submission (run in the sandboxed child; see ``autograder.probes``).

The student's ``vocabulary``, ``data_loader`` and ``model`` modules are imported
from the sandbox. Inputs in ``grader_inputs/``: a small visible shapes-world set
(COCO captions JSON and images) and held-out images WITHOUT their captions.
Probes return raw observations -- the decoder's scores, sampled word indices,
the vocabulary, each parameter's size -- and the parent computes losses, gaps
and counts from them.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from autograder.probes import array_info, attempt, type_name
from autograder.probes.caption_inputs import encode_caption, transformed_images, with_start
from autograder.probes.image_captioning_attention import (  # the attention lesson's probes, part of this project
    attention_captions,  # noqa: F401
    attention_shapes,  # noqa: F401
    attention_short_run,  # noqa: F401
)
from cvdata.runtime import seed_everything


def _vocab_record(vocab, words: list[str]) -> dict:
    return {
        "length": len(vocab),
        "word2idx": {str(k): int(v) for k, v in vocab.word2idx.items()},
        "idx2word": {str(int(k)): str(v) for k, v in vocab.idx2word.items()},
        "special": [vocab.start_word, vocab.end_word, vocab.unk_word],
        "calls": {word: attempt(lambda w=word: int(vocab(w))) for word in words},
    }


def vocabulary_and_loader(annotations_file: str, data_dir: str, vocab_file: str, threshold: int, words: list[str],
                          batch_size: int, n_batches: int, seed: int) -> dict:
    """Build the student's ``Vocabulary`` (saved to ``vocab_file``), reload it, and read a few train batches."""
    import data_loader
    import vocabulary

    def build() -> dict:
        vocab = vocabulary.Vocabulary(threshold, vocab_file, annotations_file=annotations_file, vocab_from_file=False)
        return _vocab_record(vocab, words)

    def reload() -> dict:
        vocab = vocabulary.Vocabulary(threshold, vocab_file, annotations_file=annotations_file, vocab_from_file=True)
        return _vocab_record(vocab, words)

    def batches() -> list[dict]:
        seed_everything(seed)
        loader = data_loader.get_loader(transform=None, mode="train", batch_size=batch_size, vocab_threshold=threshold,
                                        vocab_file=vocab_file, vocab_from_file=True, data_dir=data_dir)
        out = []
        for batch in loader:
            if len(out) == n_batches:
                break
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                out.append({"type": type_name(batch)})
                continue
            images, captions = batch
            out.append({"type": "pair", "images": array_info(images), "captions": array_info(captions)})
        return out

    return {"vocab": attempt(build), "reloaded": attempt(reload), "batches": attempt(batches)}


def _parameters(module: torch.nn.Module) -> list[dict]:
    """Every parameter: its name, size, whether it trains, and whether it is a convolution's weight."""
    convs = {id(m.weight) for m in module.modules() if isinstance(m, torch.nn.Conv2d)}
    return [{"name": name, "numel": int(p.numel()), "trains": bool(p.requires_grad), "conv": id(p) in convs}
            for name, p in module.named_parameters()]


def model_shapes(embed_size: int, hidden_size: int, vocab_size: int, batch: int, length: int, image_size: int) -> dict:
    """``EncoderCNN`` and ``DecoderRNN`` outputs on random inputs, and every encoder parameter (see ``_parameters``)."""
    import model

    def encoder() -> dict:
        enc = model.EncoderCNN(embed_size, pretrained=False)
        enc.eval()
        with torch.no_grad():
            out = enc(torch.randn(batch, 3, image_size, image_size))
        return {"output": array_info(out), "parameters": _parameters(enc),
                "embed": type_name(getattr(enc, "embed", None))}

    def decoder() -> dict:
        dec = model.DecoderRNN(embed_size, hidden_size, vocab_size)
        captions = torch.randint(0, vocab_size, (batch, length))
        with torch.no_grad():
            out = dec(torch.randn(batch, embed_size), captions)
        return {"output": array_info(out)}

    return {"encoder": attempt(encoder), "decoder": attempt(decoder)}


def caption_loss(scores: list, captions: list, lengths: list, padding_scores: list, padding_captions: list) -> dict:
    """The student's ``training.caption_loss`` on the grader's inputs: ``scores`` (N, L, V), ``captions`` (N, L)
    and ``lengths`` (N,), the rows past ``lengths[i]`` padding; ``padding_*`` the same batch with other scores and
    words in the padding positions only.

    Returns raw observations: the loss without ``lengths`` (``unpadded``), with them (``masked``, and its gradient
    with respect to the scores, ``grad`` (N, L, V)), and with them on the other padding (``repadded``). The parent
    computes what each should be.
    """
    import training

    targets, counts = torch.tensor(captions, dtype=torch.long), torch.tensor(lengths, dtype=torch.long)

    def loss(values: list, words: torch.Tensor, with_lengths: bool, gradient: bool = False) -> dict:
        inputs = torch.tensor(values, dtype=torch.float32, requires_grad=gradient)  # (N, L, V)
        out = training.caption_loss(inputs, words, counts) if with_lengths else training.caption_loss(inputs, words)
        record = {"loss": array_info(out)}
        if gradient:
            record["grad"] = attempt(lambda: array_info(torch.autograd.grad(out, inputs)[0]))  # (N, L, V)
        return record

    return {"unpadded": attempt(loss, scores, targets, False), "masked": attempt(loss, scores, targets, True, True),
            "repadded": attempt(loss, padding_scores, torch.tensor(padding_captions, dtype=torch.long), True)}


def short_run(annotations_file: str, vocab_file: str, threshold: int, image_dir: str, names: list[str],
              captions: list[str], steps: int, embed_size: int, hidden_size: int, image_size: int, lr: float,
              seed: int, max_len: int) -> dict:
    """Train a fresh encoder/decoder pair on a few image-caption pairs (teacher forcing, Adam on the
    decoder and ``encoder.embed``), the captions encoded with the student's vocabulary.

    Returns raw outputs: ``scores`` (steps, N, L, V), the decoder's scores before
    each step; ``true_scores`` (N, L, V) after training, and ``shuffled_scores``
    (N - 1, N, L, V) with the image features rolled by 1 .. N - 1 places; greedy
    ``sample`` output for each image; and the vocabulary (``word2idx``, its
    special words). The parent encodes the captions itself and computes the losses.
    """
    import model
    import vocabulary

    vocab = vocabulary.Vocabulary(threshold, vocab_file, annotations_file=annotations_file, vocab_from_file=True)
    targets = torch.tensor([encode_caption(vocab, c) for c in captions])  # (N, L): the grader picked equal lengths
    images = transformed_images(names, image_dir, image_size)  # (N, 3, S, S)
    seed_everything(seed)
    encoder = model.EncoderCNN(embed_size, pretrained=False)
    decoder = model.DecoderRNN(embed_size, hidden_size, len(vocab))
    params = list(decoder.parameters()) + list(encoder.embed.parameters())
    optimizer = torch.optim.Adam(params, lr=lr)
    scores_per_step = []
    encoder.train()
    decoder.train()
    for _ in range(steps):
        scores = decoder(encoder(images), targets)  # (N, L, V)
        scores_per_step.append(scores.detach().clone())
        loss = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        features = encoder(images)  # (N, E)
        true_scores = decoder(features, targets).clone()
        shuffled = torch.stack([decoder(features.roll(k, dims=0), targets) for k in range(1, len(names))])

    def sample(k: int) -> dict:
        with torch.no_grad():
            ids = decoder.sample(features[k].view(1, 1, -1), max_len=max_len)
        ok = isinstance(ids, list) and all(type(i) is int for i in ids)
        return {"type": type_name(ids), "ids": ids if ok else [],
                "item_types": sorted({type_name(i) for i in ids}) if isinstance(ids, (list, tuple)) else []}

    return {"scores": torch.stack(scores_per_step), "true_scores": true_scores, "shuffled_scores": shuffled,
            "samples": [attempt(sample, k) for k in range(len(names))], "vocab_size": len(vocab),
            "word2idx": {str(k): int(v) for k, v in vocab.word2idx.items()},
            "special": [str(vocab.start_word), str(vocab.end_word), str(vocab.unk_word)]}


def _build_encoder(model, config: dict):
    """The student's ``EncoderCNN`` as saved (random weights, nothing read or downloaded): the weight source,
    architecture and opt-in keyword the config records, as far as the student's class accepts them."""
    options = {"weights": config.get("weights", "imagenet"),  # checkpoints before the course's backbone: ResNet-50
               "arch": config.get("arch"),
               "train_last_stage": bool(config.get("train_last_stage", False))}
    options = {k: v for k, v in options.items() if v is not None}
    while True:
        try:
            return model.EncoderCNN(config["embed_size"], pretrained=False, **options)
        except TypeError:  # a student's EncoderCNN without some of the keywords: drop the last one
            if not options:
                raise
            options.pop(next(reversed(options)))


def _load_trained(model_dir: str):
    """The student's saved encoder, decoder, vocabulary words and image size (``models/``)."""
    import model

    folder = Path(model_dir)
    config = json.loads((folder / "model_config.json").read_text(encoding="utf-8"))
    words = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))["words"]
    encoder = _build_encoder(model, config)
    decoder = model.DecoderRNN(config["embed_size"], config["hidden_size"], config["vocab_size"],
                               config.get("num_layers", 1))
    encoder.load_state_dict(torch.load(folder / "encoder.pt", map_location="cpu", weights_only=True))
    decoder.load_state_dict(torch.load(folder / "decoder.pt", map_location="cpu", weights_only=True))
    return encoder.eval(), decoder.eval(), words, int(config.get("image_size", 224))


def captions(model_dir: str, image_dir: str, names: list[str], max_len: int, beam_images: int) -> dict:
    """Greedy ``sample`` word indices of the student's saved model for each held-out image, and
    ``beam_search`` with k=1 and k=3 on the first ``beam_images`` of them (if the decoder has it).

    For those images, also the decoder's raw teacher-forced scores of the greedy and of the k=3
    captions (``greedy_scores``, ``beam3_scores``: a (L, V) tensor per caption of L words, from
    ``forward``; ``with_start`` puts <start> first), so that the parent can compute each caption's
    log-probability under the model.
    """
    encoder, decoder, words, image_size = _load_trained(model_dir)
    ids, features_kept = [], []
    with torch.no_grad():
        for start in range(0, len(names), 25):
            features = encoder(transformed_images(names[start:start + 25], image_dir, image_size))  # (B, E)
            for feature in features:
                out = decoder.sample(feature.view(1, 1, -1), max_len=max_len)
                ids.append([int(i) for i in out])
                if len(features_kept) < beam_images:
                    features_kept.append(feature)

    def beam(k: int) -> list[list[int]]:
        with torch.no_grad():
            return [[int(i) for i in decoder.beam_search(f.view(1, -1), beam_size=k, max_len=max_len)]
                    for f in features_kept]

    def teacher_forced(captions: list[list[int]]) -> list[torch.Tensor]:
        with torch.no_grad():
            return [decoder(f.view(1, -1), torch.tensor([with_start(ids, words)], dtype=torch.long))[0].clone()
                    for f, ids in zip(features_kept, captions)]  # (L, V) each

    beam1, beam3 = attempt(beam, 1), attempt(beam, 3)
    return {"ids": ids, "words": [str(w) for w in words], "beam1": beam1, "beam3": beam3,
            "greedy_scores": attempt(teacher_forced, ids[:beam_images]),
            "beam3_scores": attempt(teacher_forced, beam3["value"]) if "value" in beam3 else beam3}
