"""Image captioning: a tiny seeded training run learns; checkpoints, clean_sentence, evaluation."""
from __future__ import annotations

import json
import math

import pytest
import torch
from ic_import import import_ic

from cvdata.errors import DataError
from cvdata.paths import DATA_ROOT_ENV
from cvdata.runtime import seed_everything

ic = import_ic()
SIZE = 64  # small images keep ResNet-50 cheap


@pytest.fixture(scope="module")
def loaders(shapes_small, tmp_path_factory):
    vocab_file = tmp_path_factory.mktemp("ic_training") / "vocab.json"
    transform = ic.data_loader.default_transform(True, SIZE)
    train = ic.data_loader.get_loader(transform, "train", batch_size=16, vocab_threshold=2, vocab_file=vocab_file,
                                      vocab_from_file=False, data_dir=shapes_small, seed=0)
    test = ic.data_loader.get_loader(transform, "test", batch_size=8, vocab_file=vocab_file, data_dir=shapes_small)
    return train, test


@pytest.fixture
def shapes_backbone(backbone_root_small, monkeypatch):
    """The tiny pretrained shapes backbone is the one ``weights="shapes"`` finds."""
    monkeypatch.setenv(DATA_ROOT_ENV, str(backbone_root_small))


def _pair(vocab, train_last_stage=False, pretrained=False, weights="imagenet"):
    """A small pair; by default on a random ResNet-50 (nothing read), ``pretrained`` on the shapes backbone."""
    seed_everything(0)
    config = ic.model.ModelConfig(embed_size=32, hidden_size=48, vocab_size=len(vocab), pretrained=pretrained,
                                  weights=weights, train_last_stage=train_last_stage, end_index=vocab.end_index,
                                  image_size=SIZE)
    return config, *config.build()


def _losses(history):
    return [row["loss"] for row in history if "loss" in row]


def test_udacity_loop_decreases_loss(loaders):
    train_loader, _ = loaders
    torch.set_num_threads(1)
    _, encoder, decoder = _pair(train_loader.dataset.vocab)
    embed_before = encoder.embed.weight.detach().clone()
    frozen_before = encoder.resnet[0].weight.detach().clone()
    config = ic.training.TrainConfig(epochs=1, max_steps=20, log_every=5, lr=5e-3, seed=0)
    history = ic.training.train(encoder, decoder, train_loader, config, device="cpu", progress=False)
    losses = _losses(history)
    assert len(losses) == 4 and losses[-1] < losses[0] - 0.5, losses
    assert not torch.equal(encoder.embed.weight, embed_before)  # embed learns
    assert torch.equal(encoder.resnet[0].weight, frozen_before)  # the backbone does not


def test_offline_recipe_on_the_shapes_backbone_decreases_loss_and_evaluates(loaders, shapes_backbone):
    train_loader, test_loader = loaders
    torch.set_num_threads(1)
    _, encoder, decoder = _pair(train_loader.dataset.vocab, pretrained=True, weights="shapes")
    backbone_before = encoder.resnet[0].weight.detach().clone()
    rows = []
    config = ic.training.TrainConfig(epochs=1000, max_steps=30, images_per_step=16, cache_features=True,
                                     log_every=5, lr=5e-3, seed=0, lr_schedule="cosine", eval_at=(0.0,))
    history = ic.training.train(encoder, decoder, train_loader, config, device="cpu", val_data=test_loader,
                                progress=False, callback=lambda row, *rest: rows.append(row))
    losses = _losses(history)
    assert losses[-1] < losses[0] - 0.5, losses
    assert max(row["step"] for row in history) == 30, "training stops after max_steps, whatever the clock says"
    assert torch.equal(encoder.resnet[0].weight, backbone_before)  # the pretrained backbone stays frozen
    assert rows and all(0 <= rows[-1][k] <= 1 for k in ("bleu1", "bleu4", "semantic_accuracy"))


def test_cached_last_stage_recipe_decreases_loss_and_evaluates(loaders):
    train_loader, test_loader = loaders
    torch.set_num_threads(1)
    _, encoder, decoder = _pair(train_loader.dataset.vocab, train_last_stage=True)
    layer4_before = encoder.resnet[7][0].conv1.weight.detach().clone()
    rows = []
    config = ic.training.TrainConfig(epochs=3, images_per_step=16, cache_features=True, calibrate_images=32,
                                     log_every=5, lr=5e-3, seed=0, lr_schedule="cosine")
    history = ic.training.train(encoder, decoder, train_loader, config, device="cpu", val_data=test_loader,
                                progress=False, callback=lambda row, *rest: rows.append(row))
    losses = _losses(history)
    assert losses[-1] < losses[0] - 0.5, losses
    assert not torch.equal(encoder.resnet[7][0].conv1.weight, layer4_before)  # layer4 learns
    assert "cache_seconds" in history[-1]
    assert len(rows) == 3 and all(0 <= rows[-1][k] <= 1 for k in ("bleu1", "bleu4", "semantic_accuracy"))
    assert [r["seconds"] for r in rows] == sorted(r["seconds"] for r in rows)


def test_clean_sentence(loaders):
    vocab = loaders[0].dataset.vocab
    ids = [vocab.start_index, vocab("a"), vocab("red"), 2, vocab("circle"), vocab.end_index, vocab("a")]
    assert ic.training.clean_sentence(ids, vocab) == "a red circle"


def test_checkpoint_round_trip(loaders, tmp_path, shapes_backbone):
    vocab = loaders[0].dataset.vocab
    config, encoder, decoder = _pair(vocab, pretrained=True, weights="auto")
    torch.nn.init.normal_(decoder.linear.weight)
    ic.training.save_checkpoint(tmp_path / "models", encoder, decoder, vocab, config)
    assert {p.name for p in (tmp_path / "models").iterdir()} == {
        "encoder.pt", "decoder.pt", "model_config.json", "vocab.json"}
    encoder2, decoder2, vocab2 = ic.training.load_checkpoint(tmp_path / "models")
    images = torch.randn(2, 3, SIZE, SIZE)
    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        assert torch.allclose(encoder(images), encoder2(images))
        features = encoder(images)[:1].unsqueeze(1)
    assert decoder.sample(features) == decoder2.sample(features)
    assert vocab2.word2idx == vocab.word2idx
    saved = ic.model.ModelConfig.from_dict(json.loads((tmp_path / "models" / "model_config.json").read_text()))
    assert (saved.weights, saved.arch, saved.image_size) == ("shapes", "resnet18", SIZE), "what was resolved"
    with pytest.raises(DataError, match="decoder.pt"):
        (tmp_path / "models" / "decoder.pt").unlink()
        ic.training.load_checkpoint(tmp_path / "models")


def test_caption_images_and_baseline(loaders):
    train_loader, test_loader = loaders
    vocab = train_loader.dataset.vocab
    _, encoder, decoder = _pair(vocab)
    captions = ic.evaluation.caption_images(encoder, decoder, test_loader, vocab, method="beam", beam_size=2,
                                            max_len=6)
    assert set(captions) == set(test_loader.dataset.image_ids)
    assert all(isinstance(c, str) and len(c.split()) <= 6 for c in captions.values())
    tensor_captions = ic.evaluation.caption_images(encoder, decoder, torch.randn(3, 3, SIZE, SIZE), vocab)
    assert set(tensor_captions) == {0, 1, 2}
    baseline = ic.evaluation.most_frequent_caption_baseline(train_loader, test_loader)
    assert baseline["caption"] and 0 < baseline["bleu1"] <= 1 and 0 <= baseline["semantic_accuracy"] <= 1
    with pytest.raises(ValueError, match="method"):
        ic.evaluation.caption_images(encoder, decoder, test_loader, vocab, method="sampling")


def test_a_misspelled_schedule_is_refused():
    training = import_ic().training
    with pytest.raises(ValueError, match="cosin"):
        training.TrainConfig(lr_schedule="cosin")
    assert training.TrainConfig(lr_schedule="cosine").lr_schedule == "cosine"


def test_bad_config_values_are_refused_like_facial_keypoints():
    training = import_ic().training
    with pytest.raises(ValueError, match="time_budget_s must be >= 0"):
        training.TrainConfig(time_budget_s=-1)
    with pytest.raises(ValueError, match="max_steps"):
        training.TrainConfig(max_steps=0)
    with pytest.raises(TypeError):
        training.TrainConfig(time_budget=60)  # the old name: an error, not silently ignored


@pytest.mark.parametrize("attention", [False, True])
def test_decoding_by_length_gives_the_same_loss_and_gradients(attention):
    """Cache mode decodes a step's captions in groups of similar length (``training.decode_by_length``): the loss
    and every gradient are those of one padded batch, and positions past a group's longest caption are zeros."""
    seed_everything(0)
    vocab_size, n = 23, 12
    if attention:
        grid = torch.randn(n, 5, 8)  # (N, P, C): 5 cells of 8 features
        decoder, features = ic.attention.DecoderWithAttention(16, 24, vocab_size, 8, 8, alpha_c=1.0), grid
    else:
        decoder, features = ic.model.DecoderRNN(16, 24, vocab_size), torch.randn(n, 16)
    lengths = torch.tensor([3, 9, 4, 9, 5, 3, 7, 6, 4, 8, 3, 5])
    captions = torch.randint(0, vocab_size, (n, 9))
    results = []
    for grouped in (False, True):
        decoder.zero_grad()
        output = (ic.training.decode_by_length(decoder, features, captions, lengths, groups=3) if grouped
                  else decoder(features, captions))
        loss = ic.training.training_loss(decoder, output, captions, lengths)
        loss.backward()
        results.append((output, loss.item(), [p.grad.clone() for p in decoder.parameters()]))
    (plain, plain_loss, plain_grads), (grouped, grouped_loss, grouped_grads) = results
    assert grouped_loss == pytest.approx(plain_loss, rel=1e-6)
    for a, b in zip(plain_grads, grouped_grads):
        assert torch.allclose(a, b, atol=1e-6)
    scores = grouped[0] if attention else grouped
    assert scores.shape == (n, 9, vocab_size)
    shortest = lengths.argsort()[:4]  # the first group: lengths 3, 3, 3, 4, padded only to 4
    assert (scores[shortest, 4:] == 0).all() and (scores[shortest, :4] != 0).any()


def _short_cached_run(loaders, optimizer_of=None, schedule="constant"):
    """Four cached steps on a random ResNet-50 pair; ``optimizer_of(encoder, decoder)`` builds the caller's
    optimiser (None: ``train`` builds its own). Returns (encoder, decoder, optimizer or None, history)."""
    train_loader, _ = loaders
    torch.set_num_threads(1)
    _, encoder, decoder = _pair(train_loader.dataset.vocab)
    optimizer = optimizer_of(encoder, decoder) if optimizer_of else None
    config = ic.training.TrainConfig(epochs=1, max_steps=4, images_per_step=8, cache_features=True,
                                     calibrate_images=0, log_every=1, lr=1e-3, seed=0, lr_schedule=schedule)
    history = ic.training.train(encoder, decoder, train_loader, config, device="cpu", progress=False,
                                optimizer=optimizer)
    return encoder, decoder, optimizer, history


def test_the_callers_optimizer_gives_the_same_run_as_trains_own(loaders):
    """Notebook 2 builds Adam over decoder + encoder.trainable_parameters() itself: the same model as before."""
    def adam(encoder, decoder):
        return torch.optim.Adam(list(decoder.parameters()) + encoder.trainable_parameters(), lr=1e-3)

    _, own, _, own_history = _short_cached_run(loaders, schedule="cosine")
    _, theirs, _, their_history = _short_cached_run(loaders, adam, schedule="cosine")
    assert [row["loss"] for row in own_history] == [row["loss"] for row in their_history]
    for a, b in zip(own.state_dict().values(), theirs.state_dict().values()):
        assert torch.equal(a, b)


def test_the_callers_optimizer_decides_what_trains_and_each_groups_rate_is_scheduled(loaders):
    def groups(encoder, decoder):  # the decoder at 1e-3, embed at 1e-4; the norm layer after embed left out
        return torch.optim.Adam([{"params": decoder.parameters()},
                                 {"params": encoder.embed.parameters(), "lr": 1e-4}], lr=1e-3)

    encoder, decoder, optimizer, history = _short_cached_run(loaders, groups, schedule="cosine")
    assert history and all(math.isfinite(row["loss"]) for row in history)
    factor = ic.training.lr_factor(ic.training.TrainConfig(lr_schedule="cosine"), 3, 4, 0.0)  # the last step's
    assert factor < 1
    assert [group["lr"] for group in optimizer.param_groups] == pytest.approx([1e-3 * factor, 1e-4 * factor])
    norm = [p for p in encoder.trainable_parameters() if not any(p is q for q in encoder.embed.parameters())]
    assert norm, "the encoder's norm layer after embed"
    fresh = _pair(loaders[0].dataset.vocab)[1]
    fresh_norm = [p for p in fresh.trainable_parameters() if not any(p is q for q in fresh.embed.parameters())]
    for trained, untouched in zip(norm, fresh_norm):  # not in the optimiser: never changed
        assert torch.equal(trained, untouched)
    assert not torch.equal(encoder.embed.weight, fresh.embed.weight)  # in it: learnt
