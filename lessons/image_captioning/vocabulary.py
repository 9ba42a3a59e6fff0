# GENERATED from solutions/image_captioning/vocabulary.py by `python -m autograder lessons`.
# Students: fill in the parts marked YOUR CODE HERE.
# Course maintainers: edit solutions/image_captioning/vocabulary.py, not this file, then regenerate.
"""The caption vocabulary: words seen at least ``vocab_threshold`` times get an index.

Built from an MS COCO captions file (the shapes world's or the real one) through
pycocotools, lower-cased and tokenised with nltk's ``TreebankWordTokenizer``
(no downloaded nltk data needed). Saved as JSON together with the settings it
was built with, so a stale file is noticed and rebuilt instead of silently reused.

Indices: ``<start>`` 0, ``<end>`` 1, ``<unk>`` 2, then the words by decreasing
count (ties alphabetical), so the same captions always give the same indices.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from cvdata.caption_metrics import caption_tokens as tokenize  # the course's rule, shared with the grader
from cvdata.coco_captions import load_coco_captions
from cvdata.errors import DataError
from cvdata.paths import data_root, shapes_dir

VOCAB_FORMAT = 1
"""Version of the JSON layout (bumped if it changes)."""


def default_annotations_file() -> Path:
    """The shapes world's training captions under ``data_root()``."""
    return shapes_dir(data_root()) / "annotations" / "captions_train.json"


class Vocabulary:
    """Word <-> index maps for captions.

    Args:
        vocab_threshold: minimum number of occurrences for a word to get its own index.
        vocab_file: JSON file the vocabulary is saved to / loaded from.
        start_word, end_word, unk_word: the special words (indices 0, 1, 2).
        annotations_file: COCO captions JSON to count words in (default: the shapes world's train split).
        vocab_from_file: load ``vocab_file`` instead of counting, if it was built with the same
            settings; otherwise rebuild it (and say why).
    """

    def __init__(self, vocab_threshold: int | None, vocab_file: str | Path = "./vocab.json",
                 start_word: str = "<start>", end_word: str = "<end>", unk_word: str = "<unk>",
                 annotations_file: str | Path | None = None, vocab_from_file: bool = False):
        self.vocab_threshold = vocab_threshold
        self.vocab_file = Path(vocab_file)
        self.start_word, self.end_word, self.unk_word = start_word, end_word, unk_word
        self.annotations_file = Path(annotations_file) if annotations_file else default_annotations_file()
        self.word2idx: dict[str, int] = {}
        self.idx2word: dict[int, str] = {}
        self.get_vocab(vocab_from_file)

    # ------------------------------------------------------------------ building
    def settings(self) -> dict:
        """What the vocabulary depends on (stored in the JSON, compared on load)."""
        return {
            "vocab_threshold": self.vocab_threshold,
            "start_word": self.start_word,
            "end_word": self.end_word,
            "unk_word": self.unk_word,
            "annotations_file": str(Path(self.annotations_file).resolve()),
        }

    def get_vocab(self, vocab_from_file: bool) -> None:
        """Load the vocabulary from ``vocab_file`` if it matches these settings, else build and save it."""
        if vocab_from_file and self.vocab_file.exists():
            data = read_vocab_json(self.vocab_file)
            stale = [key for key, value in self.settings().items()
                     if key != "vocab_threshold" or self.vocab_threshold is not None
                     if data["settings"].get(key) != value]
            if not stale:
                self._set_words(data["words"])
                if self.vocab_threshold is None:
                    self.vocab_threshold = data["settings"]["vocab_threshold"]
                return
            print(f"{self.vocab_file}: built with other settings ({', '.join(stale)}); rebuilding it")
        if self.vocab_threshold is None:
            raise ValueError("vocab_threshold is required to build a vocabulary (no matching vocab_file to load)")
        self.build_vocab()
        self.save()

    def build_vocab(self) -> None:
        """Count the words of every caption of ``annotations_file`` and index the frequent ones."""
        coco = load_coco_captions(self.annotations_file)
        captions = [ann["caption"] for ann in coco.anns.values()]
        self._set_words([self.start_word, self.end_word, self.unk_word]
                        + frequent_words(captions, self.vocab_threshold))

    def _set_words(self, words: list[str]) -> None:
        self.word2idx = {word: index for index, word in enumerate(words)}
        self.idx2word = dict(enumerate(words))

    # ------------------------------------------------------------------ saving
    def save(self, path: str | Path | None = None) -> Path:
        """Write the words and settings as JSON (to ``vocab_file`` by default)."""
        path = Path(path) if path else self.vocab_file
        path.parent.mkdir(parents=True, exist_ok=True)
        words = [self.idx2word[i] for i in range(len(self))]
        payload = {"format": VOCAB_FORMAT, "settings": self.settings(), "words": words}
        path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """The vocabulary saved at ``path``, whatever its settings (for checkpoints)."""
        data = read_vocab_json(Path(path))
        settings = data["settings"]
        vocab = cls.__new__(cls)
        vocab.vocab_threshold = settings["vocab_threshold"]
        vocab.vocab_file = Path(path)
        vocab.start_word, vocab.end_word = settings["start_word"], settings["end_word"]
        vocab.unk_word = settings["unk_word"]
        vocab.annotations_file = Path(settings["annotations_file"])
        vocab._set_words(data["words"])
        return vocab

    # ------------------------------------------------------------------ using
    def __call__(self, word: str) -> int:
        """The index of ``word`` (the unknown word's index if it has none)."""
        return self.word2idx.get(word, self.word2idx[self.unk_word])

    def __len__(self) -> int:
        return len(self.word2idx)

    def encode(self, caption: str) -> list[int]:
        """``<start>``, the caption's word indices, ``<end>``."""
        return [self(self.start_word)] + [self(w) for w in tokenize(caption)] + [self(self.end_word)]

    @property
    def start_index(self) -> int:
        return self.word2idx[self.start_word]

    @property
    def end_index(self) -> int:
        return self.word2idx[self.end_word]


def frequent_words(captions: list[str], threshold: int) -> list[str]:
    """Words occurring at least ``threshold`` times in ``captions``, most frequent first (ties alphabetical)."""
    # YOUR CODE HERE
    raise NotImplementedError("not implemented yet: frequent_words")


def read_vocab_json(path: Path) -> dict:
    """The parsed vocabulary file, or a ``DataError`` naming the file and what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(path, f"corrupt vocabulary JSON at line {err.lineno}: {err.msg}; "
                              "delete it to rebuild") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(path, f"cannot read vocabulary: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("words"), list) \
            or not isinstance(data.get("settings"), dict):
        raise DataError(path, "not a vocabulary file (needs 'settings' and 'words'); delete it to rebuild")
    if len(data["words"]) != len(set(data["words"])) or len(data["words"]) < 3:
        raise DataError(path, "vocabulary words are duplicated or missing; delete it to rebuild")
    return data
