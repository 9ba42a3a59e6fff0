"""Show, Attend and Tell: shapes, attention weights, decoding, training, saving; the attention-map helpers."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ic_import import import_ic

from autograder.projects import ATTENTION_ARTEFACTS, PROJECTS
from cvdata.attention_maps import first_shape_word, grid_of, mass_on_object, object_cells, overlay, spatial_figure
from cvdata.errors import DataError
from cvdata.runtime import seed_everything

ic = import_ic()
EMBED, HIDDEN, VOCAB, CELLS, CHANNELS = 12, 20, 15, 9, 8


@pytest.fixture
def decoder():
    seed_everything(0)
    dec = ic.attention.DecoderWithAttention(EMBED, HIDDEN, VOCAB, CHANNELS, attention_size=10, end_index=1).eval()
    for param in dec.parameters():  # larger weights than the default init: varied, distinct captions
        torch.nn.init.normal_(param, std=0.6)
    return dec


def test_grid_encoder_keeps_a_4x4_grid_frozen_and_its_mean_is_the_pooled_vector():
    encoder = ic.attention.GridEncoder(24, pretrained=False, weights="shapes")
    images = torch.randn(2, 3, 64, 64)
    grid = encoder(images)
    assert grid.shape == (2, 16, 24) and encoder.grid_shape(64) == (4, 4)
    assert {id(p) for p in encoder.trainable_parameters()} == {id(p) for p in encoder.embed.parameters()}
    encoder.train()
    assert not encoder.resnet.training  # frozen BatchNorm statistics
    stem = encoder.stem(images)  # (2, 512, 4, 4)
    assert stem.shape == (2, 512, 4, 4) and not stem.requires_grad
    assert torch.allclose(grid[:, 5], torch.relu(encoder.embed(stem[:, :, 1, 1])), atol=1e-6)  # row-major cells


def test_dilating_the_last_stage_doubles_its_resolution_and_keeps_its_weights():
    torch.manual_seed(0)
    strided = ic.backbones.load_backbone(pretrained=False, weights="shapes", verbose=False).net
    stage = torch.nn.Sequential(*list(strided.children())[:-2]).eval()
    before = {k: v.clone() for k, v in stage.state_dict().items()}
    assert stage(torch.randn(1, 3, 64, 64)).shape[-2:] == (2, 2)
    ic.attention.dilate_last_stage(stage[-1])
    assert stage(torch.randn(1, 3, 64, 64)).shape[-2:] == (4, 4)
    assert all(torch.equal(before[k], v) for k, v in stage.state_dict().items())


def test_attention_weights_are_a_distribution_and_the_context_their_weighted_sum():
    torch.manual_seed(0)
    attention = ic.attention.Attention(CHANNELS, HIDDEN, 10)
    grid, hidden = torch.randn(3, CELLS, CHANNELS), torch.randn(3, HIDDEN)
    context, alpha = attention(grid, attention.project(grid), hidden)
    assert alpha.shape == (3, CELLS) and context.shape == (3, CHANNELS)
    assert (alpha >= 0).all() and torch.allclose(alpha.sum(1), torch.ones(3))
    assert torch.allclose(context, torch.einsum("np,npc->nc", alpha, grid), atol=1e-6)
    assert not torch.allclose(alpha, torch.full_like(alpha, 1 / CELLS))  # it looks somewhere


def test_teacher_forced_shapes_and_alpha_sums(decoder):
    grid, captions = torch.randn(4, CELLS, CHANNELS), torch.randint(0, VOCAB, (4, 6))
    scores, alphas = decoder(grid, captions)
    assert scores.shape == (4, 6, VOCAB) and alphas.shape == (4, 6, CELLS)
    assert torch.allclose(alphas.sum(-1), torch.ones(4, 6), atol=1e-6)
    changed = captions.clone()
    changed[:, 3] = (changed[:, 3] + 1) % VOCAB
    later, _ = decoder(grid, changed)
    assert torch.allclose(later[:, :4], scores[:, :4]) and not torch.allclose(later[:, 4:], scores[:, 4:])


def test_beam_with_one_beam_equals_greedy_words_and_weights(decoder):
    grid = torch.randn(5, CELLS, CHANNELS)
    ids, alphas = decoder.sample(grid, max_len=8)
    assert len({tuple(row) for row in ids}) > 1, "the test needs distinct captions"
    for k in range(5):
        beam_ids, beam_alphas = decoder.beam_search(grid[k:k + 1], beam_size=1, max_len=8)
        assert beam_ids == ids[k] and alphas[k].shape == (len(ids[k]), CELLS)
        assert torch.allclose(beam_alphas, alphas[k], atol=1e-6)
        assert ids[k][-1] == 1 or len(ids[k]) == 8
    wide, wide_alphas = decoder.beam_search(grid[:1], beam_size=4, max_len=8)
    assert 1 <= len(wide) <= 8 and wide_alphas.shape == (len(wide), CELLS)


def test_doubly_stochastic_penalty():
    alphas = torch.zeros(1, 3, 4)
    alphas[0, :, 0] = 1.0  # three steps on cell 0: sums (3, 0, 0, 0)
    expected = ((1 - 3) ** 2 + 3 * 1) / 4
    assert ic.attention.doubly_stochastic_penalty(alphas).item() == pytest.approx(expected)
    assert ic.attention.doubly_stochastic_penalty(alphas, torch.tensor([1])).item() == pytest.approx(0.75)


def test_training_with_the_shared_loop_lowers_the_loss(shapes_small, backbone_root_small, tmp_path, monkeypatch):
    from cvdata.paths import DATA_ROOT_ENV

    monkeypatch.setenv(DATA_ROOT_ENV, str(backbone_root_small))
    transform = ic.data_loader.default_transform(True, 64)
    loader = ic.data_loader.get_loader(transform, "train", batch_size=8, vocab_threshold=2,
                                       vocab_file=tmp_path / "vocab.json", vocab_from_file=False,
                                       data_dir=shapes_small, seed=0)
    vocab = loader.dataset.vocab
    seed_everything(0)
    config = ic.attention.AttentionConfig(vocab_size=len(vocab), embed_size=16, hidden_size=32, attention_size=16,
                                          end_index=vocab.end_index, weights="shapes")
    encoder, decoder = config.build()
    history = ic.training.train(encoder, decoder, loader, ic.training.TrainConfig(
        epochs=50, max_steps=80, cache_features=True, images_per_step=8, lr=3e-3, log_every=10), progress=False)
    losses = [row["loss"] for row in history if "loss" in row]
    assert losses[-1] < 0.7 * losses[0]
    test = ic.data_loader.get_loader(transform, "test", batch_size=8, vocab_file=tmp_path / "vocab.json",
                                     data_dir=shapes_small)
    scores = ic.evaluation.evaluate(encoder, decoder, test, vocab)
    assert 0 <= scores["semantic_accuracy"] <= 1 and scores["bleu1"] > 0
    saved = ic.attention.save_attention(tmp_path / "attention", encoder, decoder, vocab, config)
    encoder2, decoder2, vocab2 = ic.attention.load_attention(saved)
    grid = encoder.eval()(torch.stack([loader.dataset.image(k) for k in range(3)]))
    assert torch.allclose(grid, encoder2(torch.stack([loader.dataset.image(k) for k in range(3)])))
    assert decoder.eval().sample(grid)[0] == decoder2.sample(grid)[0] and vocab2.word2idx == vocab.word2idx
    recorded = json.loads((saved / ic.attention.CONFIG_FILE).read_text())
    assert (recorded["weights"], recorded["arch"], recorded["image_size"]) == ("shapes", "resnet18", 64)
    (saved / ic.checkpoints.DECODER_FILE).unlink()
    with pytest.raises(DataError, match="decoder.pt"):
        ic.attention.load_attention(saved)


def test_the_grader_reads_what_the_notebook_saves():
    expected = tuple(f"{ic.attention.ATTENTION_DIR}/{name}" for name in ic.attention.ARTEFACT_FILES)
    assert ATTENTION_ARTEFACTS == expected
    (_, attention_command) = PROJECTS["image_captioning"].training
    assert attention_command[attention_command.index("--out") + 1] == ic.attention.ATTENTION_DIR


def test_object_cells_and_mass():
    assert grid_of(16) == (4, 4)
    with pytest.raises(ValueError, match="square"):
        grid_of(12)
    cells = object_cells([40, 8, 20, 20], 128, (4, 4))  # x 40..60 (column 1), y 8..28 (row 0)
    assert np.flatnonzero(cells).tolist() == [1]
    cells = object_cells([20, 20, 30, 30], 128, (4, 4))  # x, y 20..50: columns and rows 0, 1
    assert np.flatnonzero(cells).tolist() == [0, 1, 4, 5]
    alpha = np.zeros(16)
    alpha[[0, 5]] = 0.25
    alpha[15] = 0.5
    assert mass_on_object(alpha, {"bbox": [20, 20, 30, 30]}, 128) == (0.5, 0.25)
    assert first_shape_word(["<start>", "a", "red", "circles", "star"]) == 3
    assert first_shape_word(["a", "red"]) is None
    one, two = [{"bbox": [20, 20, 30, 30]}], [{"bbox": [20, 20, 30, 30]}, {"bbox": [0, 0, 10, 10]}]
    rows = np.stack([np.full(16, 1 / 16), alpha])  # "a": uniform, "circle": the alpha above
    figure = spatial_figure([one, two, one, one], [["a", "circle"]] * 3 + [["a", "red"]], [rows, rows, None, rows],
                            128)
    assert figure == {"images": 1, "mass": 0.5, "chance": 0.25, "examples": [0]}  # 2 objects, no weights, no shape
    image = np.full((32, 32, 3), 200, np.uint8)
    shaded = overlay(image, alpha)
    assert shaded.shape == image.shape and shaded[28, 28].mean() > shaded[4, 28].mean()
