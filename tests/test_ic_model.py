"""Image captioning: encoder/decoder shapes, what is frozen, greedy sampling and beam search."""
from __future__ import annotations

import urllib.error

import pytest
import torch

from ic_import import import_ic

ic = import_ic()
EMBED, HIDDEN, VOCAB = 16, 24, 11


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return ic.model.EncoderCNN(EMBED, pretrained=False)


@pytest.fixture(scope="module")
def decoder():
    torch.manual_seed(0)
    return ic.model.DecoderRNN(EMBED, HIDDEN, VOCAB, num_layers=2).eval()


def test_encoder_output_shape(encoder):
    assert encoder(torch.randn(2, 3, 64, 64)).shape == (2, EMBED)


def test_backbone_frozen_and_embed_trainable(encoder):
    frozen = [p.requires_grad for p in encoder.resnet.parameters()]
    assert frozen and not any(frozen)
    assert all(p.requires_grad for p in encoder.embed.parameters())
    head = list(encoder.embed.parameters()) + list(encoder.bn.parameters())
    assert {id(p) for p in encoder.trainable_parameters()} == {id(p) for p in head}


def test_train_last_stage_trains_layer4_only():
    encoder = ic.model.EncoderCNN(EMBED, pretrained=False, train_last_stage=True)
    layer4 = encoder.resnet[7]
    assert all(p.requires_grad for p in layer4.parameters())
    assert not any(p.requires_grad for p in encoder.resnet[:7].parameters())
    encoder.train()
    assert encoder.resnet[6].training is False and layer4.training is True  # frozen BatchNorm stays fixed
    stem = encoder.stem(torch.randn(2, 3, 64, 64))
    assert stem.shape == (2, 1024, 4, 4) and not stem.requires_grad
    assert encoder.head(stem).shape == (2, EMBED)


def test_unreachable_weights_give_one_clear_line(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(ic.model.torchvision.models, "resnet50", offline)
    with pytest.raises(ic.model.PretrainedWeightsError, match="pretrained=False") as err:
        ic.model.EncoderCNN(EMBED, pretrained=True)
    assert "\n" not in str(err.value)


def test_decoder_forward_shape(decoder):
    scores = decoder(torch.randn(3, EMBED), torch.randint(0, VOCAB, (3, 7)))
    assert scores.shape == (3, 7, VOCAB)


def test_forward_is_teacher_forced(decoder):
    """Output t depends on the feature and words < t only."""
    features, captions = torch.randn(1, EMBED), torch.randint(0, VOCAB, (1, 6))
    changed = captions.clone()
    changed[0, 3] = (captions[0, 3] + 1) % VOCAB
    a, b = decoder(features, captions), decoder(features, changed)
    assert torch.allclose(a[:, :4], b[:, :4]) and not torch.allclose(a[:, 4:], b[:, 4:])


def test_sample_returns_ints_in_range_ending_at_end_or_max_len(decoder):
    torch.manual_seed(1)
    ended = 0
    for _ in range(20):
        for end in range(3):
            ids = decoder.sample(torch.randn(1, 1, EMBED), max_len=12, end_index=end)
            assert all(type(i) is int and 0 <= i < VOCAB for i in ids)
            assert 1 <= len(ids) <= 12
            assert (end not in ids[:-1]) and (ids[-1] == end or len(ids) == 12)
            ended += ids[-1] == end
    assert ended > 0


def test_sample_stops_at_the_end_word():
    decoder = ic.model.DecoderRNN(EMBED, HIDDEN, VOCAB, end_index=4).eval()
    with torch.no_grad():
        decoder.linear.bias.fill_(0)
        decoder.linear.weight.fill_(0)
        decoder.linear.bias[4] = 10.0  # the end word always wins
    assert decoder.sample(torch.randn(1, 1, EMBED)) == [4]
    assert decoder.beam_search(torch.randn(1, EMBED), beam_size=3) == [4]


def test_beam_of_one_equals_greedy(decoder):
    torch.manual_seed(2)
    for _ in range(10):
        features = torch.randn(1, 1, EMBED)
        assert decoder.beam_search(features, beam_size=1, max_len=15, end_index=1) == \
            decoder.sample(features, max_len=15, end_index=1)


def test_beam_search_returns_valid_captions(decoder):
    torch.manual_seed(3)
    for _ in range(10):
        beam = decoder.beam_search(torch.randn(1, EMBED), beam_size=4, max_len=10, end_index=1)
        assert all(type(i) is int and 0 <= i < VOCAB for i in beam)
        assert 1 <= len(beam) <= 10 and (beam[-1] == 1 or len(beam) == 10) and 1 not in beam[:-1]


def test_config_builds_the_pair():
    config = ic.model.ModelConfig(embed_size=EMBED, hidden_size=HIDDEN, vocab_size=VOCAB)
    encoder, decoder = config.build()
    assert encoder.embed.out_features == EMBED and decoder.linear.out_features == VOCAB
    assert ic.model.ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="vocab_size"):
        ic.model.ModelConfig().build()


def test_lesson_modules_import_and_fail_only_in_stubs():
    """The generated lessons import cleanly; only calling what students write raises."""
    from ic_import import IC_LESSON

    lesson = import_ic(IC_LESSON)
    assert {"vocabulary", "data_loader", "model", "training", "evaluation", "train"} <= set(vars(lesson))
    for call, where in [
        (lambda: lesson.model.EncoderCNN(8, pretrained=False), "EncoderCNN.__init__"),
        (lambda: lesson.model.DecoderRNN(8, 8, 10), "DecoderRNN.__init__"),
        (lambda: lesson.vocabulary.frequent_words(["a b"], 1), "frequent_words"),
    ]:
        with pytest.raises(NotImplementedError, match=where):
            call()
    assert lesson.training.TrainConfig().lr == 1e-3  # provided code works as is
    assert lesson.vocabulary.tokenize("A b.") == ["a", "b", "."]
