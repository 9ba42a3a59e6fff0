"""The image captioning checks (parent side) and the inputs they need.

``prepare`` writes into the sandbox a small visible shapes world (COCO captions
JSON and images) and held-out test images WITHOUT their captions;
the reference captions and the objects in each image stay in ``ctx.answers``.
"""
from __future__ import annotations

import itertools
import json
from collections import Counter

import cv2
import numpy as np

from autograder.checks import Check, Context, Fail, Scored, credit, feedback, inputs_path, shape_text, value_of
from autograder.checks.losses import cross_entropy, masked_cross_entropy
from autograder.probes.caption_inputs import with_start
from autograder.projects import SHOW_AND_TELL_ARTEFACTS
from autograder.sandbox import read_child_file
from cvdata.caption_metrics import bleu_scores, caption_tokens, semantic_accuracy
from cvdata.coco_captions import load_coco_captions
from cvdata.images import read_image
from cvdata.shapes_captions import caption_matches_objects
from cvdata.shapes_world import ShapesConfig, encode_params, generate_shapes, make_example

PROJECT = "image_captioning"
VISIBLE_SEED = 303
"""Seed of the visible shapes world (public, not the held-out seed)."""
N_VISIBLE = 80
THRESHOLD = 8
BATCH, N_BATCHES = 6, 3
EMBED, HIDDEN = 32, 64
SHAPES = {"vocab_size": 17, "batch": 3, "length": 7, "image_size": 64}
"""The shape checks' sizes: odd, distinct numbers, so that a transposed or mixed-up axis shows."""
SHORT_RUN = {"steps": 100, "images": 4, "image_size": 64, "lr": 3e-3}
MAX_LEN = 20
MIN_DISTINCT_WORDS, MAX_REPEATS = 2, 2
"""sample() after the short run: a caption of at least 2 different words, none said more than twice in a row
(what a decoder that does not feed its words back produces: "a a a a ...")."""
HELDOUT, BEAM_IMAGES = 500, 50
"""500 held-out images keep the sampling error of semantic accuracy near 0.02 (100 images: 0.04); beam search runs on
the first 50 (about a second)."""
BEAM_SIZE = 3
BEAM_MORE_PROBABLE = 0.1
"""Beam search (k=3) must find a caption the student's own model finds more probable than greedy's on at least this
share of the beam images, and on more of them than it finds a less probable one (beam search can prune greedy's
path). One that ignores k finds none; the reference (public seed): more probable on 26 of 50, less on 2."""
LOG_PROB_ATOL = 1e-4
"""Two captions' log-probabilities this close count as the same (float rounding of the teacher-forced scores)."""
LOSS_DROP = 0.5
"""The short run's final loss must be at most this fraction of its first."""
IMAGE_GAP = 0.3
"""After the short run, the loss on true image-caption pairs must be this much (nats) below shuffled pairs."""
BLEU_CREDIT = ((0.40, 1.0), (0.32, 0.75), (0.24, 0.5), (0.16, 0.25))
SEMANTIC_CREDIT = ((0.85, 1.0), (0.70, 0.75), (0.50, 0.5), (0.30, 0.25))
"""(at least, fraction). Full marks about 0.1 below every recorded reference run (``REFERENCE_FIGURES``), nothing
within 0.1 of the most frequent caption (``BASELINE_FIGURES``), partial credit in between: the previous offline
recipe (random ResNet-50, semantic accuracy 0.27, BLEU-4 0.32 after 10 minutes) would earn about a third."""
REFERENCE_FIGURES = {"seeds": (0, 1, 2), "bleu4": (0.509, 0.511, 0.491), "semantic_accuracy": (0.958, 0.938, 0.950)}
"""The reference (the registry's training: ``train.py``, 1,400 steps at lr 2e-3 on the course's shapes backbone,
pretrained with seed 0) on these 500 held-out images at the public seed, greedy, for three caption-training seeds
(``train.py --seed``; 2026-12-06). The recipe before it, 2,000 steps at 1e-3: 0.485 / 0.511 / 0.496 and 0.952 / 0.960 /
0.954."""
BASELINE_FIGURES = {"bleu4": 0.021, "semantic_accuracy": 0.07}
"""The most frequent training caption ("a red square") for every held-out image, scored the same way."""
LOSS_BATCH = {"batch": 5, "length": 9, "vocab_size": 13}
LOSS_LENGTHS = (9, 6, 3, 9, 2)
"""The caption-loss check's batch: caption i has ``LOSS_LENGTHS[i]`` real words, the rest of its row (16 of the 45
positions) is padding; scores and words come from a generator seeded with the held-out seed."""
LOSS_RTOL = 1e-4
"""A loss within this relative distance of the grader's (float32 against float64) is right."""
GRAD_ATOL = 1e-6
MODEL_FILES = SHOW_AND_TELL_ARTEFACTS
VOCAB_FILE_BYTES = 16 * 2**20
# ----------------------------------------------------------------------------- inputs
def _pick_pairs(coco, count: int) -> tuple[list[str], list[str]]:
    """``count`` images of one large object each, all of different colours, captioned "a(n) <colour> <shape>".

    The short run overfits these pairs: a model that reads the image tells them
    apart; one that ignores it can only guess the colour and the shape.
    """
    picked: dict[str, tuple[str, str]] = {}
    for image_id in sorted(coco.imgs):
        record = coco.imgs[image_id]
        objects = record.get("objects", [])
        if len(objects) == 1 and objects[0]["size"] == "large" and objects[0]["colour"] not in picked:
            colour, shape = objects[0]["colour"], objects[0]["shape"]
            picked[colour] = (record["file_name"], f"{'an' if colour[0] in 'aeiou' else 'a'} {colour} {shape}")
    if len(picked) < count:
        raise RuntimeError(f"the visible shapes world has only {len(picked)} usable images for the short run")
    chosen = list(picked.values())[:count]
    return [name for name, _ in chosen], [caption for _, caption in chosen]


def prepare(ctx: Context) -> None:
    """Write the checks' inputs into the sandbox; keep every reference caption here."""
    root = ctx.box.inputs
    shapes = root / "shapes"
    generate_shapes(shapes, ShapesConfig(n_train=N_VISIBLE, n_val=0, n_test=0, n_novel=0, seed=VISIBLE_SEED),
                    workers=1, splits=("train",))
    annotations = shapes / "annotations" / "captions_train.json"
    coco = load_coco_captions(annotations)
    counts = Counter(word for ann in coco.anns.values() for word in caption_tokens(ann["caption"]))
    ctx.answers["counts"] = counts
    ctx.inputs.update(annotations=str(annotations.relative_to(ctx.box.root)),
                      shapes=str(shapes.relative_to(ctx.box.root)),
                      train_images=str((shapes / "images" / "train").relative_to(ctx.box.root)),
                      vocab="grader_inputs/vocab.json")
    ctx.answers["short_run"] = _pick_pairs(coco, SHORT_RUN["images"])

    heldout = root / "heldout"
    heldout.mkdir()
    config = ShapesConfig(seed=ctx.seed)
    names, references, objects = [], [], []
    for i in range(HELDOUT):
        image, scene, captions = make_example(config, "test", i)
        names.append(f"image_{i:04d}.jpg")
        cv2.imwrite(str(heldout / names[-1]), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), encode_params("jpg"))
        references.append([caption_tokens(c) for c in captions])
        objects.append(scene.objects)
    ctx.answers.update(heldout_names=names, references=references, objects=objects, image_size=config.image_size)
    ctx.inputs["heldout"] = str(heldout.relative_to(ctx.box.root))


# ----------------------------------------------------------------------------- vocabulary and loader
def _probe_words(ctx: Context) -> list[str]:
    counts = ctx.answers["counts"]
    frequent = counts.most_common(1)[0][0]
    rare = min((w for w in counts if counts[w] < THRESHOLD), key=lambda w: (counts[w], w), default="zzz")
    return [frequent, rare, "dinosaur"]


def _data_args(ctx: Context) -> dict:
    return {"annotations_file": inputs_path(ctx, "annotations"), "data_dir": inputs_path(ctx, "shapes"),
            "vocab_file": inputs_path(ctx, "vocab"), "threshold": THRESHOLD, "words": _probe_words(ctx),
            "batch_size": BATCH, "n_batches": N_BATCHES, "seed": 0}


def _score_vocabulary(ctx: Context, value: dict) -> Scored:
    vocab = value_of(value["vocab"], "see Vocabulary in vocabulary.py")
    word2idx, idx2word = vocab["word2idx"], vocab["idx2word"]
    start, end, unk = vocab["special"]
    missing = [w for w in (start, end, unk) if w not in word2idx]
    if missing:
        raise Fail(feedback("the special words <start>, <end> and <unk> in word2idx", f"missing {missing}"))
    counts = ctx.answers["counts"]
    expected = {w for w, n in counts.items() if n >= THRESHOLD}
    words = set(word2idx) - {start, end, unk}
    if words != expected:
        extra, lost = sorted(words - expected)[:5], sorted(expected - words)[:5]
        raise Fail(feedback(f"exactly the {len(expected)} words seen at least {THRESHOLD} times (lower-cased, "
                            "nltk Treebank tokens)", f"{len(words)} words; extra {extra}, missing {lost}",
                            "count tokens of every caption and keep those with count >= vocab_threshold"))
    if sorted(word2idx.values()) != list(range(len(word2idx))) or vocab["length"] != len(word2idx):
        raise Fail(feedback("indices 0 .. len(vocab) - 1, each once, and len(vocab) == len(word2idx)",
                            f"{len(word2idx)} words, len(vocab) = {vocab['length']}"))
    if any(idx2word.get(str(i)) != w for w, i in word2idx.items()):
        raise Fail(feedback("idx2word to be the inverse of word2idx", "a mismatch"))
    frequent, rare, unknown = _probe_words(ctx)
    calls = {w: value_of(vocab["calls"][w], "see Vocabulary.__call__") for w in (frequent, rare, unknown)}
    if calls[frequent] != word2idx[frequent] or calls[rare] != word2idx[unk] or calls[unknown] != word2idx[unk]:
        raise Fail(feedback(f"vocab('{frequent}') == its index; a rare word ('{rare}') and an unknown one "
                            f"('{unknown}') give the index of {unk}", f"{calls}"))
    return Scored(1.0, f"{len(word2idx)} words at threshold {THRESHOLD}: special words, counts and unknown "
                       "words right.")


def _score_json(ctx: Context, value: dict) -> Scored:
    built = value_of(value["vocab"], "see Vocabulary in vocabulary.py")
    reloaded = value_of(value["reloaded"], "loading with vocab_from_file=True must read the saved file")
    data = read_child_file(ctx.box.root / ctx.inputs["vocab"], VOCAB_FILE_BYTES)  # no link, no FIFO
    try:
        json.loads((data or b"").decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Fail(feedback("the vocabulary saved as JSON in vocab_file", "no readable JSON file",
                            "write it with json.dump (not pickle)")) from None
    if reloaded["word2idx"] != built["word2idx"]:
        raise Fail(feedback("the reloaded vocabulary equals the saved one", "different word indices"))
    return Scored(1.0, "Saved as JSON and reloaded identically.")


def _score_loader(ctx: Context, value: dict) -> Scored:
    batches = value_of(value["batches"], "see get_loader / CaptionDataset.__getitem__ in data_loader.py")
    vocab = value_of(value["vocab"])
    size = len(vocab["word2idx"])
    start, end = (vocab["word2idx"][w] for w in vocab["special"][:2])
    if len(batches) < N_BATCHES:
        raise Fail(feedback(f"at least {N_BATCHES} batches from {N_VISIBLE * 5} captions", f"{len(batches)}"))
    for batch in batches:
        if batch["type"] != "pair":
            raise Fail(feedback("each batch a pair (images, captions)", batch["type"]))
        images, captions = batch["images"], batch["captions"]
        n = (images["shape"] or [0])[0]
        if images["type"] != "torch.Tensor" or images["dtype"] != "float32" or len(images["shape"] or ()) != 4 \
                or images["shape"][1] != 3 or not 0 < n <= BATCH:
            raise Fail(feedback(f"images: torch.Tensor (B, 3, H, W) float32 with B <= {BATCH}", shape_text(images)))
        if captions["type"] != "torch.Tensor" or captions["dtype"] != "int64" or len(captions["shape"] or ()) != 2 \
                or captions["shape"][0] != n:
            raise Fail(feedback(f"captions: torch.Tensor ({n}, L) int64 (torch.long)", shape_text(captions)))
        ids = captions["value"]
        if int(ids.min()) < 0 or int(ids.max()) >= size:
            raise Fail(feedback(f"word indices in [0, {size})", f"from {int(ids.min())} to {int(ids.max())}"))
        if not bool((ids[:, 0] == start).all()) or not bool((ids[:, -1] == end).all()):
            raise Fail(feedback("every caption <start> ... <end> (equal lengths in a batch)", "other first/last words",
                                "add the start and end indices around the caption's word indices"))
    return Scored(1.0, "Batches of (images (B, 3, H, W) float32, captions (B, L) long), <start> ... <end>.")


# ----------------------------------------------------------------------------- the loss
def _loss_inputs(ctx: Context) -> dict:
    """The caption-loss check's batch (NumPy, made here): random ``scores`` (N, L, V), ``captions`` (N, L) padded
    with <end> (index 1) past ``lengths`` (N,), and the same batch with other scores and words in the padding only."""
    n, length, size = LOSS_BATCH["batch"], LOSS_BATCH["length"], LOSS_BATCH["vocab_size"]
    rng = np.random.default_rng([1313, ctx.seed])
    lengths = np.array(LOSS_LENGTHS)
    pad = np.arange(length)[None, :] >= lengths[:, None]  # (N, L)
    scores = rng.normal(0.0, 2.0, (n, length, size)).astype(np.float32)
    captions = np.where(pad, 1, rng.integers(3, size, (n, length)))
    padding_scores = np.where(pad[..., None], rng.normal(0.0, 10.0, scores.shape).astype(np.float32), scores)
    padding_captions = np.where(pad, rng.integers(0, size, (n, length)), captions)
    return {"scores": scores, "captions": captions, "lengths": lengths, "pad": pad,
            "padding_scores": padding_scores, "padding_captions": padding_captions}


def _loss_args(ctx: Context) -> dict:
    inputs = _loss_inputs(ctx)
    return {name: inputs[name].tolist() for name in ("scores", "captions", "lengths", "padding_scores",
                                                     "padding_captions")}


def _loss_value(part: dict) -> float:
    """The loss a ``caption_loss`` call returned, or ``Fail`` unless it is a finite scalar tensor."""
    info = value_of(part, "see caption_loss in training.py")["loss"]
    if info["type"] != "torch.Tensor" or info["shape"] != [] or not bool(info["value"].isfinite()):
        raise Fail(feedback("caption_loss returns a finite scalar tensor (shape ())",
                            shape_text(info) if info["value"] is None or info["value"].numel() != 1
                            else f"{shape_text(info)}: {info['value'].flatten()[0].item()}",
                            "return the mean as a tensor (no .item(), no list): training calls backward() on it"))
    return float(info["value"])


def _close(observed: float, expected: float) -> bool:
    return abs(observed - expected) <= LOSS_RTOL * max(1.0, abs(expected))


def _score_caption_loss(ctx: Context, value: dict) -> Scored:
    inputs = _loss_inputs(ctx)
    scores, captions, lengths, pad = inputs["scores"], inputs["captions"], inputs["lengths"], inputs["pad"]
    (n, length, size), real = scores.shape, int((~pad).sum())
    call = f"caption_loss(scores ({n}, {length}, {size}), captions ({n}, {length})"
    every = cross_entropy(scores, captions)  # the grader's own: every position counts
    wanted, gradient = masked_cross_entropy(scores, captions, ~pad)  # only the real words count
    unpadded = _loss_value(value["unpadded"])
    if not _close(unpadded, every):
        raise Fail(feedback(f"{call}) = {every:.4f} without lengths: the mean cross-entropy over all {n * length} "
                            "words", f"{unpadded:.4f}",
                            "F.cross_entropy wants scores (N, V, L) against captions (N, L), or flattened (N*L, V) "
                            "against (N*L,); its default reduction is the mean"))
    masked = _loss_value(value["masked"])
    extras = {"expected": wanted, "observed": masked, "without_lengths": every}
    expected = (f"{call}, lengths {lengths.tolist()}) = {wanted:.4f}: the mean over the {real} real words, the "
                f"{n * length - real} padding positions left out of the sum and of the count")
    hint = ("compute one loss per word (reduction='none'), keep the positions t < lengths[i] (a mask), and divide "
            "their sum by the number of real words, not by N*L")
    if not _close(masked, wanted):
        why = " -- the mean over every position, padding included: lengths ignored" if _close(masked, every) else ""
        raise Fail(feedback(expected, f"{masked:.4f}{why}", hint), 0.4, extras)
    repadded = _loss_value(value["repadded"])
    if not _close(repadded, wanted):
        raise Fail(feedback(f"{expected}, whatever the padding positions hold",
                            f"{masked:.4f}, and {repadded:.4f} with other scores and words in the padding only", hint),
                   0.4, extras)
    try:
        grad = value_of(value_of(value["masked"])["grad"], "caption_loss must be differentiable: no .item(), no "
                                                            "torch.tensor(...) of a result, no .detach()")
    except Fail as failed:  # the value is right, the gradient can't be taken
        raise Fail(failed.scored.output, 0.6, extras) from None
    if grad["type"] != "torch.Tensor" or grad["shape"] != [n, length, size]:
        raise Fail(feedback(f"a gradient ({n}, {length}, {size}) of the loss with respect to the scores",
                            shape_text(grad)), 0.6, extras)
    grad = grad["value"].double().numpy()
    leak = float(np.abs(grad[pad]).max())
    if not leak <= GRAD_ATOL or not np.allclose(grad, gradient, rtol=1e-3, atol=GRAD_ATOL):
        raise Fail(feedback("the gradient of that mean: no gradient at all into the padding positions' scores",
                            f"largest |gradient| at a padding position {leak:.2e}, at the real words off by up to "
                            f"{float(np.abs(grad - gradient)[~pad].max()):.2e}", hint), 0.6, extras)
    return Scored(1.0, f"caption_loss: {masked:.4f} over the {real} real words of a padded batch (the grader's "
                       f"{wanted:.4f}; {every:.4f} with the padding counted), {unpadded:.4f} without lengths; the "
                       "padding changes neither the loss nor its gradient.", extras)


# ----------------------------------------------------------------------------- model
def _shape_args(ctx: Context) -> dict:
    return {"embed_size": EMBED, "hidden_size": HIDDEN, **SHAPES}


def _score_encoder(ctx: Context, value: dict) -> Scored:
    enc = value_of(value["encoder"], "see EncoderCNN in model.py")
    n, side = SHAPES["batch"], SHAPES["image_size"]
    if enc["output"]["type"] != "torch.Tensor" or tuple(enc["output"]["shape"] or ()) != (n, EMBED):
        raise Fail(feedback(f"EncoderCNN({EMBED})(images ({n}, 3, {side}, {side})) -> a tensor ({n}, {EMBED})",
                            shape_text(enc["output"]), "flatten the pooled ResNet features, then self.embed"))
    params = enc["parameters"]
    conv = sum(p["numel"] for p in params if p["conv"])
    conv_trainable = sum(p["numel"] for p in params if p["conv"] and p["trains"])
    if conv_trainable:
        raise Fail(feedback("the ResNet-50 backbone frozen (requires_grad False)",
                            f"{conv_trainable:,} of {conv:,} convolution weights trainable",
                            "set requires_grad_(False) on every parameter of the backbone"))
    if not any(p["trains"] and p["name"].startswith("embed.") for p in params):
        raise Fail(feedback("self.embed, a trainable Linear to embed_size", f"embed: {enc['embed']}, not trainable"))
    trainable = sum(p["numel"] for p in params if p["trains"])
    return Scored(1.0, f"(N, 3, H, W) -> (N, {EMBED}); backbone frozen, embed trainable "
                       f"({trainable:,} trainable parameters).")


def _score_decoder(ctx: Context, value: dict) -> Scored:
    dec = value_of(value["decoder"], "see DecoderRNN in model.py")
    n, length, vocab = SHAPES["batch"], SHAPES["length"], SHAPES["vocab_size"]
    if dec["output"]["type"] != "torch.Tensor" or tuple(dec["output"]["shape"] or ()) != (n, length, vocab):
        raise Fail(feedback(f"DecoderRNN(E, H, V={vocab})(features ({n}, E), captions ({n}, {length})) -> "
                            f"scores ({n}, {length}, {vocab})",
                            shape_text(dec["output"]),
                            "the image feature is step 0 and words 0..L-2 the next steps: L outputs in all"))
    return Scored(1.0, "(N, E) features and (N, L) captions -> (N, L, V) scores.")


def _run_args(ctx: Context) -> dict:
    names, captions = ctx.answers["short_run"]
    return {"annotations_file": inputs_path(ctx, "annotations"), "vocab_file": inputs_path(ctx, "vocab") + ".run",
            "threshold": 1, "image_dir": inputs_path(ctx, "train_images"), "names": names, "captions": captions,
            "steps": SHORT_RUN["steps"], "embed_size": EMBED, "hidden_size": HIDDEN,
            "image_size": SHORT_RUN["image_size"], "lr": SHORT_RUN["lr"], "seed": 0, "max_len": MAX_LEN}


def _run_vocabulary(ctx: Context, value: dict) -> tuple[dict, int]:
    """The short run's vocabulary, checked: ``(word2idx, end index)``. Its indices must tell the special words
    and the words of the captions apart, so that the losses below measure something."""
    word2idx, special = value["word2idx"], value["special"]
    size = int(value["scores"].shape[-1])
    words = sorted({w for caption in ctx.answers["short_run"][1] for w in caption_tokens(caption)})
    missing = [w for w in [*special, *words] if w not in word2idx]
    used = [word2idx.get(w) for w in [*special, *words]]
    if missing or len(set(used)) != len(used) or any(not 0 <= i < size for i in used):
        raise Fail(feedback(f"a vocabulary (threshold 1) with its own index in [0, {size}) for each of "
                            f"{special} and the caption words {words}",
                            f"missing {missing}" if missing else "shared or out-of-range indices",
                            "see Vocabulary: each word once in word2idx, indices 0 .. len(vocab) - 1"))
    return word2idx, word2idx[special[1]]


def _run_losses(ctx: Context, value: dict) -> dict:
    """The short run's losses, computed here from the decoder's raw scores and the grader's own encoding of the
    captions: each training step, then true against shuffled image-caption pairs after training."""
    word2idx, _ = _run_vocabulary(ctx, value)
    start, end, unk = value["special"]
    targets = np.array([[word2idx[start]] + [word2idx.get(w, word2idx[unk]) for w in caption_tokens(c)]
                        + [word2idx[end]] for c in ctx.answers["short_run"][1]])  # (N, L)
    steps, (n, length) = SHORT_RUN["steps"], targets.shape
    scores, true, shuffled = value["scores"], value["true_scores"], value["shuffled_scores"]
    size = scores.shape[-1]
    if tuple(scores.shape) != (steps, n, length, size) or tuple(true.shape) != (n, length, size) \
            or tuple(shuffled.shape) != (n - 1, n, length, size):
        raise Fail(feedback(f"DecoderRNN scores of shape ({n}, {length}, V) at every step",
                            f"{tuple(scores.shape)} over the run", "forward returns (N, L, vocab_size)"))
    return {"losses": [cross_entropy(step, targets) for step in scores.double().numpy()],
            "true_loss": cross_entropy(true.double().numpy(), targets),
            "shuffled_loss": float(np.mean([cross_entropy(k, targets) for k in shuffled.double().numpy()]))}


def short_run_scorer(model: str, hint: str):
    """Scores a short run (``model`` names the decoder in the message): the loss must fall to ``LOSS_DROP``
    of its start; ``hint`` for when it doesn't."""
    def score(ctx: Context, value: dict) -> Scored:
        extras = _run_losses(ctx, value)
        losses = extras["losses"]
        first, last = losses[0], float(np.mean(losses[-5:]))
        observed = f"loss {first:.3f} -> {last:.3f} in {len(losses)} steps"
        if not np.all(np.isfinite(losses)) or last > LOSS_DROP * first:
            raise Fail(feedback(f"the {model}'s loss below {LOSS_DROP:.0%} of its start after {SHORT_RUN['steps']} "
                                f"Adam steps on {SHORT_RUN['images']} image-caption pairs", observed, hint), 0, extras)
        return Scored(1.0, f"The loss falls: {observed}.", extras)
    return score


def uses_image_scorer(model: str, hint: str):
    """Scores true against shuffled image-caption pairs after a short run: at least ``IMAGE_GAP`` apart."""
    def score(ctx: Context, value: dict) -> Scored:
        extras = _run_losses(ctx, value)
        true, shuffled = extras["true_loss"], extras["shuffled_loss"]
        observed = f"loss {true:.3f} on true image-caption pairs, {shuffled:.3f} on shuffled pairs"
        if not shuffled - true >= IMAGE_GAP:
            raise Fail(feedback(f"after the short run, true pairs at least {IMAGE_GAP} below shuffled pairs: "
                                f"the {model}'s caption depends on the image", observed, hint), 0, extras)
        return Scored(1.0, f"The {model} uses the image: {observed}.", extras)
    return score


_score_short_run = short_run_scorer("model", "is every word's score compared with the NEXT word (step 0 reads the "
                                             "image)?")
_score_uses_image = uses_image_scorer("model", "feed the image feature as the LSTM's first input "
                                               "(features.unsqueeze(1))")


def _decode(ids: list[int], words: dict | list, end: int) -> list[str]:
    """Word indices -> words (``words``: the vocabulary's list, or idx2word with str keys), stopping at
    the end index; special words (``<...>``) dropped."""
    lookup = words if isinstance(words, dict) else {str(i): w for i, w in enumerate(words)}
    out = []
    for index in ids:
        if index == end:
            break
        word = lookup.get(str(index))
        if word is not None and not (word.startswith("<") and word.endswith(">")):
            out.append(word)
    return out


def check_samples(samples: list, word2idx: dict, end: int, size: int, what: str) -> list[str]:
    """The captions of ``samples`` (lists of word indices), or ``Fail``: each 1 to ``MAX_LEN`` ints in range,
    ending at ``end`` (or at ``MAX_LEN``), decoding to a real sentence."""
    idx2word = {str(i): w for w, i in word2idx.items()}
    shown = []
    for ids in samples:
        if not ids or len(ids) > MAX_LEN or any(not 0 <= i < size for i in ids):
            raise Fail(feedback(f"{what}: 1 to {MAX_LEN} indices in [0, {size})", f"{ids}"))
        if ids[-1] != end and len(ids) != MAX_LEN:
            raise Fail(feedback(f"{what}: stop after the end word (index {end}) or at max_len={MAX_LEN}", f"{ids}"))
        words = _decode(ids, idx2word, end)
        longest_run = max((len(list(g)) for _, g in itertools.groupby(words)), default=0)
        if not words or len(set(words)) < MIN_DISTINCT_WORDS or longest_run > MAX_REPEATS:
            raise Fail(feedback("a real sentence after a short training run (several different words, no word "
                                "repeated over and over)", repr(" ".join(words)),
                                "feed each predicted word back in as the next input, and keep the LSTM states"))
        shown.append(" ".join(words))
    return shown


def _score_sample(ctx: Context, value: dict) -> Scored:
    word2idx, end = _run_vocabulary(ctx, value)
    size = int(value["scores"].shape[-1])
    samples = []
    for part in value["samples"]:
        sample = value_of(part, "see DecoderRNN.sample in model.py")
        if sample["type"] != "builtins.list" or sample["item_types"] not in ([], ["builtins.int"]):
            raise Fail(feedback("sample() returns a list of python ints", f"{sample['type']} of {sample['item_types']}",
                                "append int(word_index) (.item()) to a list"))
        samples.append(sample["ids"])
    shown = check_samples(samples, word2idx, end, size, "sample()")
    return Scored(1.0, f"sample() gives valid captions, e.g. {shown[0]!r}.", {"samples": shown})


# ----------------------------------------------------------------------------- the saved model
def _caption_args(ctx: Context) -> dict:
    return {"model_dir": f"{ctx.box.root}/models", "image_dir": inputs_path(ctx, "heldout"),
            "names": ctx.answers["heldout_names"], "max_len": MAX_LEN, "beam_images": BEAM_IMAGES}


def _end_index(words: list[str]) -> int:
    return words.index("<end>") if "<end>" in words else 1


def _media(ctx: Context, captions: list[str]) -> dict:
    """The first eight held-out images with the student's caption and a reference, for the HTML page."""
    items = []
    for k in range(min(8, len(captions))):
        image = read_image(f"{ctx.box.root}/{ctx.inputs['heldout']}/{ctx.answers['heldout_names'][k]}")
        reference = " ".join(ctx.answers["references"][k][0])
        items.append((image, captions[k], reference, caption_matches_objects(captions[k], ctx.answers["objects"][k])))
    return {"captions": items}


def score_caption_quality(ctx: Context, captions: list[str], bleu_table, semantic_table, hint: str) -> Scored:
    """Half the points from BLEU-4, half from semantic accuracy of ``captions`` (one per held-out image), each by
    its credit table; the first images with their captions for the HTML page."""
    bleu = bleu_scores([caption_tokens(c) for c in captions], ctx.answers["references"])["bleu4"]
    semantic = semantic_accuracy(captions, ctx.answers["objects"])
    fraction = (credit(bleu, bleu_table) + credit(semantic, semantic_table)) / 2
    observed = f"BLEU-4 {bleu:.3f}, semantic accuracy {semantic:.3f} on {HELDOUT} held-out images"
    extras = {"bleu4": bleu, "semantic_accuracy": semantic, "captions": captions[:20]}
    media = _media(ctx, captions)
    if fraction >= 1.0:
        return Scored(1.0, f"{observed}.", extras, media)
    return Scored(fraction, feedback(f"BLEU-4 >= {bleu_table[0][0]} and semantic accuracy >= {semantic_table[0][0]} "
                                     "for full marks (half the points each, partial credit below; captioning every "
                                     f"image with the most frequent caption scores {BASELINE_FIGURES['bleu4']} and "
                                     f"{BASELINE_FIGURES['semantic_accuracy']})", observed,
                                     f"{hint}; a caption is 'semantically right' when every colour "
                                     "and shape it names is in the image"), extras, media)


def _score_quality(ctx: Context, value: dict) -> Scored:
    words = value["words"]
    captions = [" ".join(_decode(ids, words, _end_index(words))) for ids in value["ids"]]
    return score_caption_quality(ctx, captions, BLEU_CREDIT, SEMANTIC_CREDIT, "train longer (notebook 2)")


def _beam_captions(value: dict) -> list[list[int]]:
    """The k=``BEAM_SIZE`` beam search's captions, or ``Fail``: each 1 to ``MAX_LEN`` indices in range, ending at
    <end> or at max_len."""
    three = value_of(value["beam3"], "see DecoderRNN.beam_search in model.py")
    words = value["words"]
    end = _end_index(words)
    bad = [ids for ids in three if not ids or len(ids) > MAX_LEN or any(not 0 <= i < len(words) for i in ids)
           or (ids[-1] != end and len(ids) != MAX_LEN)]
    if bad:
        raise Fail(feedback(f"beam_search(beam_size={BEAM_SIZE}): 1 to {MAX_LEN} indices in range, ending at <end> "
                            "or max_len", f"{bad[0]}"))
    return three


def _score_beam(ctx: Context, value: dict) -> Scored:
    greedy = value["ids"][:BEAM_IMAGES]
    one = value_of(value["beam1"], "see DecoderRNN.beam_search in model.py")
    if one != greedy:
        differ = next(k for k in range(len(greedy)) if one[k] != greedy[k])
        raise Fail(feedback("beam_search(beam_size=1) == sample(), word for word",
                            f"image {differ}: beam {one[differ]}, greedy {greedy[differ]}",
                            "with one beam, keep the single best word at every step"))
    words = value["words"]
    captions = [" ".join(_decode(ids, words, _end_index(words))) for ids in _beam_captions(value)]
    return Scored(1.0, f"beam_search: k=1 equals greedy on {len(greedy)} images; k={BEAM_SIZE} gives valid captions, "
                       f"e.g. {captions[0]!r}.", {"beam_captions": captions[:5]})


def caption_log_prob(scores, ids: list[int], size: int) -> float:
    """log p(caption | image) under the student's model, computed here: the sum over the caption's words of
    log softmax(scores[t])[ids[t]]. ``scores`` (L, V): the decoder's raw teacher-forced scores of the caption
    ``ids`` (L word indices), output t scoring word t."""
    if type(scores).__name__ != "Tensor" or tuple(scores.shape) != (len(ids), size) or not ids \
            or any(not 0 <= i < size for i in ids):
        raise Fail(feedback(f"DecoderRNN.forward(features (1, E), caption (1, L)) -> scores (1, L, {size}) for a "
                            f"caption of 1 to {MAX_LEN} word indices in [0, {size})",
                            f"{type(scores).__name__} {tuple(getattr(scores, 'shape', ()))} for {len(ids)} words",
                            "forward reads the image feature, then words 0 .. L-2, whatever L is"))
    return -cross_entropy(scores.double().numpy(), np.array(ids)) * len(ids)


def _score_beam_uses_k(ctx: Context, value: dict) -> Scored:
    greedy, beams = value["ids"][:BEAM_IMAGES], _beam_captions(value)
    hint = "DecoderRNN.forward must score any caption: features (1, E), words (1, L) -> (1, L, V)"
    greedy_scores, beam_scores = value_of(value["greedy_scores"], hint), value_of(value["beam3_scores"], hint)
    if not greedy or not len(greedy) == len(beams) == len(greedy_scores) == len(beam_scores):
        raise Fail("The grader could not read your model's scores of the greedy and beam captions.")
    words = value["words"]
    gains = np.array([caption_log_prob(b_scores, with_start(b, words), len(words))
                      - caption_log_prob(g_scores, with_start(g, words), len(words))
                      for b, b_scores, g, g_scores in zip(beams, beam_scores, greedy, greedy_scores)])
    better, worse = int((gains > LOG_PROB_ATOL).sum()), int((gains < -LOG_PROB_ATOL).sum())  # NaN: neither
    extras = {"log_prob_gain": float(gains.mean()), "images_more_probable": better, "images_less_probable": worse}
    observed = (f"on {len(gains)} held-out images the k={BEAM_SIZE} caption is more probable than greedy's on "
                f"{better}, less probable on {worse}, the same on {len(gains) - better - worse} (on average "
                f"{gains.mean():+.3f} nats)")
    if better < BEAM_MORE_PROBABLE * len(gains) or better <= worse:
        raise Fail(feedback(f"beam_search(beam_size={BEAM_SIZE}) to find captions your model finds more probable "
                            f"than greedy sample()'s on at least {BEAM_MORE_PROBABLE:.0%} of the images, and more "
                            "often than less probable ones (log-probabilities computed by the grader from forward's "
                            "scores of each caption)", observed,
                            f"keep the {BEAM_SIZE} best partial captions at every step (topk of the summed "
                            "log-probabilities over every beam and word), not only the best one; return the "
                            "finished caption with the highest total"), 0, extras)
    return Scored(1.0, f"beam_search uses its beams: {observed}.", extras)


PARTS = ("vocabulary", "loader", "encoder", "decoder")
"""The checks of the parts every training run builds on: a failed one is named first by the later checks."""

CHECKS = [
    Check("vocabulary",
          "Vocabulary: threshold, special words, unknown words", 10, "vocabulary_and_loader", _data_args,
          _score_vocabulary, needs=("vocabulary.py",), notebook="1_preliminaries"),
    Check("vocabulary-json",
          "Vocabulary saved as JSON and reloaded", 5, "vocabulary_and_loader", _data_args, _score_json,
          needs=("vocabulary.py",), notebook="1_preliminaries"),
    Check("loader",
          "Data loader: batch shapes and dtypes", 10, "vocabulary_and_loader", _data_args, _score_loader,
          needs=("vocabulary.py", "data_loader.py"), notebook="1_preliminaries"),
    Check("encoder",
          "EncoderCNN: output shape, frozen backbone, trainable embed", 10, "model_shapes", _shape_args,
          _score_encoder, needs=("model.py",), notebook="1_preliminaries"),
    Check("decoder",
          "DecoderRNN: output shape (N, L, vocab_size)", 10, "model_shapes", _shape_args, _score_decoder,
          needs=("model.py",), notebook="1_preliminaries"),
    Check("caption-loss",
          "caption_loss: the mean cross-entropy over the real words, the padding masked out", 5, "caption_loss",
          _loss_args, _score_caption_loss, needs=("training.py", "model.py", "vocabulary.py"),
          notebook="1_preliminaries"),
    Check("training",
          "Training: the loss falls in a short seeded run", 10, "short_run", _run_args, _score_short_run,
          needs=("vocabulary.py", "data_loader.py", "model.py"), slow=True, uses=PARTS, notebook="2_training"),
    Check("uses-image",
          "The model uses the image (true vs shuffled image-caption pairs)", 10, "short_run", _run_args,
          _score_uses_image, needs=("vocabulary.py", "data_loader.py", "model.py"), slow=True, uses=PARTS,
          notebook="2_training"),
    Check("sample",
          "sample(): a valid caption (ints in range, stops at <end>, a real sentence)", 10, "short_run", _run_args,
          _score_sample, needs=("vocabulary.py", "data_loader.py", "model.py"), slow=True, uses=PARTS,
          notebook="1_preliminaries"),
    Check("caption-quality",
          "Caption quality of your saved model on held-out images (BLEU-4, semantic accuracy)", 20, "captions",
          _caption_args, _score_quality, needs=("data_loader.py", "model.py", *MODEL_FILES), slow=True,
          uses=(*PARTS, "caption-loss", "training", "sample"), notebook="2_training"),
    Check("beam-search",
          "Beam search: k=1 equals greedy, k=3 gives valid captions", 2, "captions", _caption_args,
          _score_beam, needs=("data_loader.py", "model.py", *MODEL_FILES), slow=True, uses=("sample",),
          notebook="3_inference"),
    Check("beam-search-uses-k",
          "Beam search uses its k beams: captions more probable than greedy's", 3, "captions", _caption_args,
          _score_beam_uses_k, needs=("data_loader.py", "model.py", *MODEL_FILES), slow=True, uses=("sample",),
          notebook="3_inference"),
]


def _attention_checks() -> list[Check]:
    from autograder.checks.image_captioning_attention import CHECKS as ATTENTION_CHECKS  # builds on this module

    return ATTENTION_CHECKS


CHECKS += _attention_checks()
