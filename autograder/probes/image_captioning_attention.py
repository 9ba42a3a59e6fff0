"""Probes of the attention lesson (``attention.py``), part of the image captioning project (see ``autograder.probes``).

Like the Show and Tell probes, these return raw outputs only: the attention
weights, the decoder's scores, sampled word indices. The parent checks the
shapes and sums, computes the losses, and knows where the objects are.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from autograder.probes import array_info, attempt, type_name
from autograder.probes.caption_inputs import encode_caption, transformed_images
from cvdata.runtime import seed_everything


def attention_shapes(encoder_dim: int, hidden_size: int, attention_size: int, embed_size: int, vocab_size: int,
                     batch: int, length: int, cells: int, seed: int) -> dict:
    """``Attention`` on a random grid and hidden state (the grid returned too), and ``DecoderWithAttention``'s
    teacher-forced outputs on random captions."""
    import attention

    def module() -> dict:
        seed_everything(seed)
        att = attention.Attention(encoder_dim, hidden_size, attention_size)
        grid, hidden = torch.randn(batch, cells, encoder_dim), torch.randn(batch, hidden_size)
        with torch.no_grad():
            out = att(grid, att.project(grid), hidden)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return {"type": type_name(out)}
        return {"type": "pair", "grid": array_info(grid), "context": array_info(out[0]), "alpha": array_info(out[1])}

    def decoder() -> dict:
        seed_everything(seed)
        dec = attention.DecoderWithAttention(embed_size, hidden_size, vocab_size, encoder_dim, attention_size)
        grid, captions = torch.randn(batch, cells, encoder_dim), torch.randint(0, vocab_size, (batch, length))
        with torch.no_grad():
            out = dec(grid, captions)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return {"type": type_name(out)}
        return {"type": "pair", "scores": array_info(out[0]), "alphas": array_info(out[1])}

    return {"attention": attempt(module), "decoder": attempt(decoder)}


def attention_short_run(annotations_file: str, vocab_file: str, threshold: int, image_dir: str, names: list[str],
                        captions: list[str], steps: int, embed_size: int, hidden_size: int, grid_size: int,
                        attention_size: int, image_size: int, lr: float, seed: int, max_len: int) -> dict:
    """Train a fresh ``DecoderWithAttention`` and the ``embed`` of a ``GridEncoder`` on a few images (its
    random frozen backbone's output scaled to unit variance), the captions encoded with the student's vocabulary.

    Returns what ``short_run`` returns (scores before each step, true and shuffled scores after, greedy
    samples, the vocabulary) plus ``alphas``: the greedy samples' attention weights.
    """
    import attention
    import vocabulary

    vocab = vocabulary.Vocabulary(threshold, vocab_file, annotations_file=annotations_file, vocab_from_file=True)
    targets = torch.tensor([encode_caption(vocab, c) for c in captions])  # (N, L): the grader picked equal lengths
    seed_everything(seed)
    encoder = attention.GridEncoder(grid_size, pretrained=False, weights="shapes")
    stem = encoder.stem(transformed_images(names, image_dir, image_size))  # (N, F, h, w), frozen
    stem = (stem - stem.mean()) / stem.std().clamp_min(1e-6)  # a random backbone's scale is arbitrary
    decoder = attention.DecoderWithAttention(embed_size, hidden_size, len(vocab), grid_size, attention_size)
    optimizer = torch.optim.Adam(list(decoder.parameters()) + list(encoder.embed.parameters()), lr=lr)
    scores_per_step = []
    decoder.train()
    for _ in range(steps):
        scores, _ = decoder(encoder.head(stem), targets)  # (N, L, V), (N, L, P)
        scores_per_step.append(scores.detach().clone())
        loss = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    decoder.eval()
    with torch.no_grad():
        grid = encoder.head(stem)  # (N, P, C)
        true_scores = decoder(grid, targets)[0].clone()
        shuffled = torch.stack([decoder(grid.roll(k, dims=0), targets)[0] for k in range(1, len(names))])

    def sample() -> dict:
        ids, alphas = decoder.sample(grid, max_len=max_len)
        ok = isinstance(ids, list) and all(isinstance(row, list) and all(type(i) is int for i in row) for row in ids)
        return {"type": type_name(ids), "ids": ids if ok else [], "alphas": [array_info(a) for a in alphas]}

    return {"scores": torch.stack(scores_per_step), "true_scores": true_scores, "shuffled_scores": shuffled,
            "sampled": attempt(sample), "vocab_size": len(vocab),
            "word2idx": {str(k): int(v) for k, v in vocab.word2idx.items()},
            "special": [str(vocab.start_word), str(vocab.end_word), str(vocab.unk_word)]}


def _load_attention(model_dir: str):
    """The student's saved attention model (``models/attention``): encoder, decoder, words, image size."""
    import attention

    folder = Path(model_dir)
    config = json.loads((folder / "attention_config.json").read_text(encoding="utf-8"))
    words = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))["words"]
    encoder = attention.GridEncoder(config["grid_size"], pretrained=False, weights=config.get("weights", "shapes"),
                                    arch=config.get("arch"))
    decoder = attention.DecoderWithAttention(config["embed_size"], config["hidden_size"], config["vocab_size"],
                                             encoder.features, config.get("attention_size", 128),
                                             end_index=config.get("end_index", 1))
    encoder.load_state_dict(torch.load(folder / "encoder.pt", map_location="cpu", weights_only=True))
    decoder.load_state_dict(torch.load(folder / "decoder.pt", map_location="cpu", weights_only=True))
    return encoder.eval(), decoder.eval(), words, int(config.get("image_size") or encoder.image_size)


def attention_captions(model_dir: str, image_dir: str, names: list[str], max_len: int, beam_images: int) -> dict:
    """Greedy ``sample`` word indices and attention weights of the student's saved attention model for each
    held-out image, and ``beam_search`` with k=1 on the first ``beam_images``."""
    encoder, decoder, words, image_size = _load_attention(model_dir)
    ids, alphas, grids = [], [], []
    with torch.no_grad():
        for start in range(0, len(names), 50):
            grid = encoder(transformed_images(names[start:start + 50], image_dir, image_size))  # (B, P, C)
            batch_ids, batch_alphas = decoder.sample(grid, max_len=max_len)
            ids += [[int(i) for i in row] for row in batch_ids]
            alphas += [array_info(a) for a in batch_alphas]
            grids += list(grid[: max(0, beam_images - len(grids))])

    def beam() -> list[list[int]]:
        with torch.no_grad():
            return [[int(i) for i in decoder.beam_search(g.unsqueeze(0), beam_size=1, max_len=max_len)[0]]
                    for g in grids]

    return {"ids": ids, "alphas": alphas, "words": [str(w) for w in words], "beam1": attempt(beam)}
