"""cvdata.caption_metrics: BLEU via nltk and shapes-world semantic accuracy, against hand-computed values."""
from __future__ import annotations

import math

import pytest

from cvdata.caption_metrics import bleu_scores, semantic_accuracy


def test_identical_corpus_scores_one():
    refs = [[["a", "red", "circle", "on", "the", "left"]], [["two", "blue", "squares", "at", "the", "top"]]]
    scores = bleu_scores([r[0] for r in refs], refs)
    assert set(scores) == {"bleu1", "bleu2", "bleu3", "bleu4"}
    assert all(math.isclose(v, 1.0) for v in scores.values())


def test_hand_computed_bleu():
    """hyp "a red circle is here" vs ref "a red circle is there": 4/5 unigrams, 3/4 bigrams,
    2/3 trigrams, 1/2 4-grams, same length (no brevity penalty)."""
    scores = bleu_scores([["a", "red", "circle", "is", "here"]], [[["a", "red", "circle", "is", "there"]]])
    assert math.isclose(scores["bleu1"], 4 / 5)
    assert math.isclose(scores["bleu2"], math.sqrt(4 / 5 * 3 / 4))
    assert math.isclose(scores["bleu4"], (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25)


def test_brevity_penalty_and_best_reference():
    """hyp of 3 words, closest reference length 5: BP = exp(1 - 5/3)."""
    scores = bleu_scores([["a", "red", "circle"]], [[["a", "red", "circle", "on", "top"], ["x"] * 9]])
    assert math.isclose(scores["bleu1"], math.exp(1 - 5 / 3))


def test_no_matching_4gram_is_smoothed_not_zero():
    scores = bleu_scores([["a", "red", "circle"]], [[["a", "blue", "circle"]]])
    assert 0 < scores["bleu4"] < 0.2


def test_bleu_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="1 hypotheses but 2"):
        bleu_scores([["a"]], [[["a"]], [["b"]]])


def test_semantic_accuracy_on_hand_made_captions():
    red_circle = {"shape": "circle", "colour": "red", "size": "small", "center": [10, 10]}
    blue_square = {"shape": "square", "colour": "blue", "size": "large", "center": [90, 90]}
    objects = [[red_circle, blue_square]] * 5
    captions = [
        "a red circle",                        # true
        "a blue square to the right of a red circle",  # true
        "a red square",                        # wrong pairing
        "there is nothing here",               # names no shape
        "a circle and a square",               # shapes without colours: true
    ]
    assert semantic_accuracy(captions, objects) == pytest.approx(3 / 5)
    with pytest.raises(ValueError):
        semantic_accuracy(["a red circle"], [])
