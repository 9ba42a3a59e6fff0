"""The attention lesson's checks (parent side): part of the image captioning project, its inputs prepared there.

The saved attention model (``models/attention/``) is captioned on the same
held-out images as Show and Tell; the parent, which knows where every object
is, measures how much of the shape word's attention falls on the object.
"""
from __future__ import annotations

from autograder.checks import Check, Context, Fail, Scored, credit, feedback, inputs_path, shape_text, value_of
from autograder.checks.image_captioning import (
    HELDOUT,
    MAX_LEN,
    SHAPES,
    _decode,
    _end_index,
    _run_args,
    _run_vocabulary,
    check_samples,
    score_caption_quality,
    short_run_scorer,
    uses_image_scorer,
)
from autograder.projects import ATTENTION_ARTEFACTS
from cvdata.attention_maps import grid_of, spatial_figure

ENCODER_DIM, ATTENTION_HIDDEN, ATTENTION_SIZE, EMBED, CELLS = 24, 40, 20, 12, 9
"""The shape checks' sizes: distinct numbers, so that a transposed or mixed-up axis shows (9 cells: a 3 x 3 grid)."""
SUM_TOLERANCE = 1e-4
"""Attention weights must sum to 1 over the cells within this (float32 rounding of a softmax)."""
CONTEXT_TOLERANCE = 1e-4
"""The context vector must equal the weighted sum of the cells within this (float32 rounding)."""
BEAM_IMAGES = 20
SPATIAL_CREDIT = ((0.40, 1.0), (0.32, 0.5), (0.27, 0.25))
"""(mean attention mass of the shape word on its object's cells, fraction) over the single-object held-out images.
Uniform attention puts the cells' share of the grid there (``chance``: 0.21 on the 4 x 4 grid), and earns nothing.
The reference puts 0.51 there (``ATTENTION_FIGURES``; 0.55 after 5 minutes of training in ``make bench-captions``);
full marks sit 0.1 below it, like the caption bars."""
ATTENTION_SEMANTIC_CREDIT = ((0.85, 1.0), (0.70, 0.75), (0.50, 0.5), (0.30, 0.25))
ATTENTION_BLEU_CREDIT = ((0.40, 1.0), (0.32, 0.75), (0.24, 0.5), (0.16, 0.25))
"""(at least, fraction): Show and Tell's bars, below the attention reference's figures (``ATTENTION_FIGURES``)."""
ATTENTION_FIGURES = {"seeds": (0,), "bleu4": (0.504,), "semantic_accuracy": (0.954,), "spatial_mass": (0.51,)}
"""The attention recipe (``train.py --attention``, 800 steps, seed 0) on these 500 held-out images at the public
seed, greedy (``python -m autograder grade`` of a copy trained by the registry's command, 2026-12-06, each caption
stepped only to its end). The 1,000-step recipe before it: 0.524, 0.964, 0.52 (2026-12-04); before that, on another
machine's backbone: 0.486, 0.948, 0.500."""
MODEL_FILES = ATTENTION_ARTEFACTS
STUDENT_FILES = ("vocabulary.py", "data_loader.py", "model.py", "attention.py")


# ----------------------------------------------------------------------------- shapes
def _shape_args(ctx: Context) -> dict:
    return {"encoder_dim": ENCODER_DIM, "hidden_size": ATTENTION_HIDDEN, "attention_size": ATTENTION_SIZE,
            "embed_size": EMBED, "vocab_size": SHAPES["vocab_size"], "batch": SHAPES["batch"],
            "length": SHAPES["length"], "cells": CELLS, "seed": 0}


def _check_alphas(alphas, expected_shape: tuple, what: str) -> None:
    """``Fail`` unless ``alphas`` (an observed array record) has ``expected_shape`` and is a distribution over
    its last axis."""
    if alphas["type"] != "torch.Tensor" or tuple(alphas["shape"] or ()) != expected_shape:
        raise Fail(feedback(f"{what}: a tensor {expected_shape}", shape_text(alphas),
                            "one weight per grid cell (the softmax over dim=1 of the (N, P) scores)"))
    values = alphas["value"].double()
    sums = values.sum(dim=-1)
    if not bool(values.isfinite().all()) or float(values.min()) < 0 or float((sums - 1).abs().max()) > SUM_TOLERANCE:
        raise Fail(feedback(f"{what}: non-negative, summing to 1 over the {expected_shape[-1]} cells",
                            f"from {float(values.min()):.3g} to {float(values.max()):.3g}, sums "
                            f"{float(sums.min()):.4f} .. {float(sums.max()):.4f}",
                            "softmax over the cells (dim=1 of the (N, P) scores), not over the batch"))


def _score_attention(ctx: Context, value: dict) -> Scored:
    out = value_of(value["attention"], "see Attention.forward in attention.py")
    n = SHAPES["batch"]
    if out.get("type") != "pair":
        raise Fail(feedback("Attention(...)(grid, projected, hidden) -> (context, alpha)", out.get("type", "?")))
    _check_alphas(out["alpha"], (n, CELLS), f"alpha for grid ({n}, {CELLS}, {ENCODER_DIM})")
    context = out["context"]
    if context["type"] != "torch.Tensor" or tuple(context["shape"] or ()) != (n, ENCODER_DIM):
        raise Fail(feedback(f"context: a tensor ({n}, {ENCODER_DIM})", shape_text(context),
                            "sum the cells weighted by alpha over dim=1"))
    grid, alpha = out["grid"]["value"].double(), out["alpha"]["value"].double()
    expected = (grid * alpha.unsqueeze(2)).sum(dim=1)
    gap = float((context["value"].double() - expected).abs().max())
    if gap > CONTEXT_TOLERANCE:
        raise Fail(feedback("context == (grid * alpha.unsqueeze(2)).sum(dim=1)", f"differs by up to {gap:.3g}",
                            "weight each cell's feature by its alpha and add them up"))
    return Scored(1.0, f"alpha ({n}, {CELLS}) non-negative and summing to 1; context ({n}, {ENCODER_DIM}) their "
                       "weighted sum of the cells.")


def _score_decoder(ctx: Context, value: dict) -> Scored:
    out = value_of(value["decoder"], "see DecoderWithAttention.step in attention.py")
    n, length, vocab = SHAPES["batch"], SHAPES["length"], SHAPES["vocab_size"]
    if out.get("type") != "pair":
        raise Fail(feedback("DecoderWithAttention(...)(grid, captions) -> (scores, alphas)", out.get("type", "?")))
    if out["scores"]["type"] != "torch.Tensor" or tuple(out["scores"]["shape"] or ()) != (n, length, vocab):
        raise Fail(feedback(f"scores ({n}, {length}, {vocab}) for captions ({n}, {length})",
                            shape_text(out["scores"]), "step() returns (N, V) scores; forward stacks L of them"))
    _check_alphas(out["alphas"], (n, length, CELLS), "alphas")
    return Scored(1.0, f"grid ({n}, {CELLS}, C) and captions ({n}, {length}) -> scores ({n}, {length}, {vocab}) and "
                       f"alphas ({n}, {length}, {CELLS}), each step's weights summing to 1.")


# ----------------------------------------------------------------------------- short run
def _attention_run_args(ctx: Context) -> dict:
    args = _run_args(ctx)
    args.update(vocab_file=args["vocab_file"] + ".attention", grid_size=ENCODER_DIM, attention_size=ATTENTION_SIZE)
    return args


_score_short_run = short_run_scorer("attention model", "does step() feed [word, gated context] to the LSTM cell "
                                                       "and score the words from the new h?")
_score_uses_image = uses_image_scorer("attention model", "the context vector must come from this image's grid")


def _score_sample(ctx: Context, value: dict) -> Scored:
    sampled = value_of(value["sampled"], "see DecoderWithAttention.sample in attention.py")
    if not sampled["ids"]:
        raise Fail(feedback("sample(grid (N, P, C)) -> (a list of N lists of python ints, N weight tensors)",
                            sampled["type"], "the given sample() does this: did you change it?"))
    word2idx, end = _run_vocabulary(ctx, value)
    shown = check_samples(sampled["ids"], word2idx, end, int(value["scores"].shape[-1]), "sample()")
    if len(sampled["alphas"]) != len(sampled["ids"]):
        raise Fail(feedback("sample() returns one (T, P) tensor of weights per caption",
                            f"{len(sampled['alphas'])} for {len(sampled['ids'])} captions"))
    for ids, alphas in zip(sampled["ids"], sampled["alphas"]):
        _check_alphas(alphas, (len(ids), int((alphas["shape"] or [0, 0])[-1])),
                      "sample()'s attention weights, one row per word")
    return Scored(1.0, f"sample() gives valid captions with their attention weights, e.g. {shown[0]!r}.",
                  {"samples": shown})


# ----------------------------------------------------------------------------- the saved attention model
def _caption_args(ctx: Context) -> dict:
    return {"model_dir": f"{ctx.box.root}/models/attention", "image_dir": inputs_path(ctx, "heldout"),
            "names": ctx.answers["heldout_names"], "max_len": MAX_LEN, "beam_images": BEAM_IMAGES}


def _captions(value: dict) -> tuple[list[str], list[list[str]]]:
    """The decoded captions and, per image, the words of each step (the same positions as the alphas)."""
    words = value["words"]
    end = _end_index(words)
    lookup = {str(i): w for i, w in enumerate(words)}
    steps = [[lookup.get(str(i), "<unk>") for i in ids] for ids in value["ids"]]
    return [" ".join(_decode(ids, words, end)) for ids in value["ids"]], steps


def _score_quality(ctx: Context, value: dict) -> Scored:
    if len(value["ids"]) != HELDOUT or len(value["alphas"]) != HELDOUT:
        raise Fail(feedback(f"a caption and its attention weights for each of the {HELDOUT} held-out images",
                            f"{len(value['ids'])} captions"))
    captions, _ = _captions(value)
    scored = score_caption_quality(ctx, captions, ATTENTION_BLEU_CREDIT, ATTENTION_SEMANTIC_CREDIT,
                                   "train longer (notebook 4)")
    one = value_of(value["beam1"], "see DecoderWithAttention.beam_search in attention.py")
    greedy = value["ids"][:len(one)]
    if one != greedy:
        differ = next(k for k in range(len(greedy)) if one[k] != greedy[k])
        return Scored(scored.fraction / 2, scored.output + "\n" + feedback(
            "beam_search(beam_size=1) == sample(), word for word (half the points)",
            f"image {differ}: beam {one[differ]}, greedy {greedy[differ]}"), scored.extras, scored.media)
    return scored


def spatial_figures(ctx: Context, value: dict, steps: list[list[str]]) -> dict:
    """``cvdata.attention_maps.spatial_figure`` on the held-out images: the objects are the grader's, the words
    (``steps``, from ``_captions``) and weights the child's."""
    weights = [None if a["value"] is None else a["value"].double().numpy() for a in value["alphas"]]
    return spatial_figure(ctx.answers["objects"], steps, weights, ctx.answers["image_size"])


def _attention_media(ctx: Context, value: dict, steps: list[list[str]], images: list[int]) -> dict:
    """Held-out images with each word (``steps``, from ``_captions``) and its attention weights, for the HTML
    page."""
    from cvdata.images import read_image

    items = []
    for k in images:
        image = read_image(f"{ctx.box.root}/{ctx.inputs['heldout']}/{ctx.answers['heldout_names'][k]}")
        keep = [t for t, w in enumerate(steps[k]) if not (w.startswith("<") and w.endswith(">"))]
        items.append((image, [steps[k][t] for t in keep], value["alphas"][k]["value"][keep].numpy()))
    return {"attention": items}


def _score_spatial(ctx: Context, value: dict) -> Scored:
    for record in value["alphas"]:
        if record["value"] is None or record["value"].ndim != 2:
            raise Fail(feedback("attention weights (T, P) for every caption", shape_text(record)))
        try:
            grid_of(record["value"].shape[1])
        except ValueError:
            raise Fail(feedback("weights over a square grid of cells (P = rows x columns, e.g. 16)",
                                shape_text(record), "GridEncoder.head flattens the (h, w) grid")) from None
    _, steps = _captions(value)
    figures = spatial_figures(ctx, value, steps)
    multi = [k for k, objects in enumerate(ctx.answers["objects"]) if len(objects) > 1][:2]
    media = _attention_media(ctx, value, steps, figures["examples"][:2] + multi)
    if not figures["images"]:
        raise Fail(feedback("captions that name a shape on the single-object held-out images",
                            "none named a shape", "train the attention model (notebook 4)"))
    fraction = credit(figures["mass"], SPATIAL_CREDIT)
    observed = (f"on {figures['images']} single-object images the shape word put {figures['mass']:.2f} of its "
                f"attention on the object's cells (uniform attention: {figures['chance']:.2f})")
    extras = {key: figures[key] for key in ("images", "mass", "chance")}
    if fraction >= 1.0:
        return Scored(1.0, f"Attention is spatial: {observed}.", extras, media)
    return Scored(fraction, feedback(f"at least {SPATIAL_CREDIT[0][0]} of the shape word's attention on the "
                                     "object's cells for full marks", observed,
                                     "the weights must come from the hidden state and each cell's own feature "
                                     "(no averaging over cells); train longer"), extras, media)


NEEDS_MODEL = (*STUDENT_FILES, *MODEL_FILES)
ATTENTION_PARTS = ("vocabulary", "loader", "attention-weights", "attention-decoder")
"""The checks of the parts every attention run builds on (the first two are Show and Tell's, graded before)."""
CHECKS = [
    Check("attention-weights",
          "Attention: weights non-negative, summing to 1 over the cells; context their weighted sum", 5,
          "attention_shapes", _shape_args, _score_attention, needs=("model.py", "attention.py"),
          notebook="4_attention"),
    Check("attention-decoder",
          "DecoderWithAttention: scores (N, L, V) and alphas (N, L, P)", 5, "attention_shapes", _shape_args,
          _score_decoder, needs=("model.py", "attention.py"), notebook="4_attention"),
    Check("attention-training",
          "Attention training: the loss falls in a short seeded run", 5, "attention_short_run", _attention_run_args,
          _score_short_run, needs=STUDENT_FILES, slow=True, uses=ATTENTION_PARTS, notebook="4_attention"),
    Check("attention-uses-image",
          "Attention: the model uses the image (true vs shuffled pairs)", 5, "attention_short_run",
          _attention_run_args, _score_uses_image, needs=STUDENT_FILES, slow=True, uses=ATTENTION_PARTS,
          notebook="4_attention"),
    Check("attention-sample",
          "Attention sample(): valid captions with one weight row per word", 5, "attention_short_run",
          _attention_run_args, _score_sample, needs=STUDENT_FILES, slow=True, uses=ATTENTION_PARTS,
          notebook="4_attention"),
    Check("attention-quality",
          "Attention model: caption quality on held-out images (BLEU-4, semantic accuracy)", 10,
          "attention_captions", _caption_args, _score_quality, needs=NEEDS_MODEL, slow=True,
          uses=(*ATTENTION_PARTS, "caption-loss", "attention-training", "attention-sample"),
          notebook="4_attention"),
    Check("attention-spatial",
          "Attention is spatial: the shape word looks at the object", 10, "attention_captions", _caption_args,
          _score_spatial, needs=NEEDS_MODEL, slow=True,
          uses=("attention-weights",), notebook="4_attention"),
]
