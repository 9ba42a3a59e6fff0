"""Caption quality: the course's tokenisation, BLEU-1..4 (nltk's ``corpus_bleu``) and shapes-world
semantic accuracy.

Used by the course's vocabulary and evaluation code and by the grader, so both
tokenise and score captions the same way.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from nltk.tokenize import TreebankWordTokenizer
from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

from .shapes_captions import caption_matches_objects

_TOKENIZER = TreebankWordTokenizer()


def caption_tokens(caption: str) -> list[str]:
    """Lower-cased nltk Treebank tokens (no downloaded nltk data needed):
    ``"A red circle."`` -> ``["a", "red", "circle", "."]``."""
    return list(_tokens(str(caption)))


@functools.lru_cache(maxsize=2**17)
def _tokens(caption: str) -> tuple[str, ...]:
    """``caption_tokens``, remembered: building a vocabulary and a loader tokenise the same captions again (about
    50 microseconds each, so 3 s for the shapes world's 20,000 training captions every time)."""
    return tuple(_TOKENIZER.tokenize(caption.lower()))


BLEU_WEIGHTS: dict[str, tuple[float, ...]] = {
    "bleu1": (1.0,),
    "bleu2": (0.5, 0.5),
    "bleu3": (1 / 3, 1 / 3, 1 / 3),
    "bleu4": (0.25, 0.25, 0.25, 0.25),
}


def bleu_scores(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]]) -> dict[str, float]:
    """Corpus BLEU-1..4 of tokenised ``hypotheses`` against their ``references``.

    Args:
        hypotheses: one token list per image.
        references: per image, a list of token lists (all reference captions).

    Returns ``{"bleu1": ..., "bleu4": ...}`` in [0, 1]. Smoothing: nltk's
    ``SmoothingFunction().method1`` (add a tiny count to an n-gram order with no
    match), so a corpus without any matching 4-gram scores near 0 instead of
    raising a warning and returning exactly 0; a corpus identical to its
    references scores 1 with or without it.
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if not hypotheses:
        raise ValueError("no hypotheses to score")
    smoothing = SmoothingFunction().method1
    hypotheses = [list(h) for h in hypotheses]
    references = [[list(r) for r in refs] for refs in references]
    return {
        name: float(corpus_bleu(references, hypotheses, weights=weights, smoothing_function=smoothing))
        for name, weights in BLEU_WEIGHTS.items()
    }


def semantic_accuracy(captions: Sequence[str], objects: Sequence[Sequence[Mapping]]) -> float:
    """Fraction of ``captions`` that are true of their image's ``objects``.

    A caption is true when ``cvdata.shapes_captions.caption_matches_objects`` says so:
    it names at least one shape and only colour/shape pairs that are in the image.
    """
    if len(captions) != len(objects):
        raise ValueError(f"{len(captions)} captions but {len(objects)} object lists")
    if not captions:
        raise ValueError("no captions to score")
    return sum(caption_matches_objects(c, o) for c, o in zip(captions, objects)) / len(captions)
