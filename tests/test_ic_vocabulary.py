"""Image captioning: the vocabulary (threshold, unknown words, JSON round trip, stale files)."""
from __future__ import annotations

import json

import pytest
from ic_import import import_ic

from cvdata.errors import DataError

ic = import_ic()

CAPTIONS = ["A red circle.", "a red square", "a blue circle", "two red circles", "A Red star"]


@pytest.fixture
def captions_file(tmp_path):
    """A tiny COCO captions file: 'a' x5, 'red' x4, 'circle' x2, every other word once."""
    path = tmp_path / "captions_train.json"
    images = [{"id": 1, "file_name": "x.jpg"}]
    anns = [{"id": k, "image_id": 1, "caption": c} for k, c in enumerate(CAPTIONS, 1)]
    path.write_text(json.dumps({"images": images, "annotations": anns}))
    return path


def build(captions_file, threshold, **kwargs):
    kwargs.setdefault("vocab_file", captions_file.parent / "vocab.json")
    return ic.vocabulary.Vocabulary(threshold, annotations_file=captions_file, **kwargs)


def test_tokenize_lowercases_and_splits_punctuation():
    assert ic.vocabulary.tokenize("A Red circle.") == ["a", "red", "circle", "."]


def test_threshold_keeps_frequent_words_and_specials_first(captions_file):
    vocab = build(captions_file, threshold=2)
    assert [vocab.idx2word[i] for i in range(3)] == ["<start>", "<end>", "<unk>"]
    assert set(vocab.word2idx) == {"<start>", "<end>", "<unk>", "a", "red", "circle"}
    assert vocab.word2idx["a"] == 3 and vocab.word2idx["red"] == 4  # by decreasing count
    assert len(vocab) == 6
    assert len(build(captions_file, threshold=1)) == 3 + 9  # a red circle . square blue two circles star


def test_unknown_words_map_to_unk(captions_file):
    vocab = build(captions_file, threshold=2)
    assert vocab("square") == vocab("<unk>") == 2
    assert vocab("red") == vocab.word2idx["red"]
    assert vocab.encode("a purple circle") == [0, vocab("a"), 2, vocab("circle"), 1]


def test_json_round_trip(captions_file):
    vocab = build(captions_file, threshold=2)
    data = json.loads(vocab.vocab_file.read_text())  # JSON, not pickle
    assert data["settings"]["vocab_threshold"] == 2
    again = build(captions_file, threshold=2, vocab_from_file=True)
    loaded = ic.vocabulary.Vocabulary.load(vocab.vocab_file)
    for other in (again, loaded):
        assert other.word2idx == vocab.word2idx and other.idx2word == vocab.idx2word


def test_reuses_a_matching_file_without_reading_captions(captions_file):
    build(captions_file, threshold=2)
    captions_file.write_text("not json any more")  # reading it would fail
    vocab = build(captions_file, threshold=2, vocab_from_file=True)
    assert len(vocab) == 6


def test_stale_file_is_rebuilt_and_says_so(captions_file, capsys):
    build(captions_file, threshold=2)
    vocab = build(captions_file, threshold=1, vocab_from_file=True)
    assert "square" in vocab.word2idx
    assert "rebuilding" in capsys.readouterr().out
    saved = json.loads(vocab.vocab_file.read_text())
    assert saved["settings"]["vocab_threshold"] == 1 and "square" in saved["words"]


def test_corrupt_json_gives_a_clear_error(captions_file):
    path = captions_file.parent / "vocab.json"
    path.write_text('{"settings": {"vocab_threshold": 2')
    with pytest.raises(DataError, match="vocab.json.*corrupt"):
        build(captions_file, threshold=2, vocab_from_file=True)
    path.write_text('{"words": 3}')
    with pytest.raises(DataError, match="not a vocabulary file"):
        build(captions_file, threshold=2, vocab_from_file=True)
