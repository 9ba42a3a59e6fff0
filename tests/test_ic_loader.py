"""Image captioning: the data loader (train batches, inference items, what the dataset exposes)."""
from __future__ import annotations

import pytest
import torch
from ic_import import import_ic

from cvdata.errors import DataError

ic = import_ic()


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    return tmp_path_factory.mktemp("ic_loader") / "vocab.json"


@pytest.fixture(scope="module")
def train_loader(shapes_small, vocab_file):
    return ic.data_loader.get_loader(ic.data_loader.default_transform(True, 64), "train", batch_size=8,
                                     vocab_threshold=2, vocab_file=vocab_file, vocab_from_file=False,
                                     data_dir=shapes_small, seed=0)


def test_train_batches_shapes_and_dtypes(train_loader):
    vocab = train_loader.dataset.vocab
    for k, (images, captions) in enumerate(train_loader):
        assert images.dtype == torch.float32 and images.shape[1:] == (3, 64, 64)
        assert captions.dtype == torch.long and captions.ndim == 2 and len(captions) == len(images) <= 8
        assert (captions[:, 0] == vocab.start_index).all() and (captions[:, -1] == vocab.end_index).all()
        assert captions.max() < len(vocab)
        if k == 5:
            break


def test_each_caption_once_per_epoch_in_equal_length_batches(train_loader):
    dataset, sampler = train_loader.dataset, train_loader.batch_sampler
    seen = [i for batch in sampler for i in batch]
    assert sorted(seen) == list(range(len(dataset))) and len(list(sampler)) == len(sampler)
    for batch in sampler:
        assert len({dataset.caption_lengths[i] for i in batch}) == 1
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_distributed_ranks_get_the_same_number_of_batches(train_loader):
    lengths = train_loader.dataset.caption_lengths
    shards = [list(ic.data_loader.EqualLengthBatchSampler(lengths, 8, seed=3, rank=r, world_size=3))
              for r in range(3)]
    assert len({len(s) for s in shards}) == 1
    flat = [tuple(b) for s in shards for b in s]
    assert len(flat) == len(set(flat))  # no batch twice


def test_test_mode_yields_what_inference_needs(shapes_small, train_loader, vocab_file):
    loader = ic.data_loader.get_loader(None, "test", batch_size=4, vocab_file=vocab_file, data_dir=shapes_small)
    originals, images, image_ids = next(iter(loader))
    dataset = loader.dataset
    assert len(originals) == 4 and originals[0].shape == (128, 128, 3) and originals[0].dtype.name == "uint8"
    assert images.shape == (4, 3, 128, 128)
    assert image_ids == dataset.image_ids[:4]
    refs = dataset.references[image_ids[0]]
    assert len(refs) == 5 and all(isinstance(w, str) for w in refs[0])
    assert {"shape", "colour"} <= set(dataset.objects[image_ids[0]][0])
    assert dataset.vocab.word2idx == train_loader.dataset.vocab.word2idx


def test_bad_mode_split_and_missing_vocab(shapes_small, tmp_path):
    with pytest.raises(ValueError, match="mode"):
        ic.data_loader.get_loader(None, "dev", data_dir=shapes_small)
    with pytest.raises(DataError, match="captions_nope"):
        ic.data_loader.get_loader(None, "train", vocab_threshold=2, vocab_file=tmp_path / "v.json",
                                  data_dir=shapes_small, split="nope")
    with pytest.raises(FileNotFoundError, match="no vocabulary file"):
        ic.data_loader.get_loader(None, "test", vocab_file=tmp_path / "missing.json", data_dir=shapes_small)
