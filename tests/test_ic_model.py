"""Image captioning: encoder/decoder shapes, what is frozen, greedy sampling and beam search."""
from __future__ import annotations

import urllib.error

import pytest
import torch
from ic_import import import_ic

from cvdata.fetch import imagenet_weights
from cvdata.paths import DATA_ROOT_ENV
from cvdata.shapes_backbone import backbone_path, read_backbone

ic = import_ic()
EMBED, HIDDEN, VOCAB = 16, 24, 11


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return ic.model.EncoderCNN(EMBED, pretrained=False, weights="imagenet")  # a random ResNet-50


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
    encoder = ic.model.EncoderCNN(EMBED, pretrained=False, weights="imagenet", train_last_stage=True)
    layer4 = encoder.resnet[7]
    assert all(p.requires_grad for p in layer4.parameters())
    assert not any(p.requires_grad for p in encoder.resnet[:7].parameters())
    encoder.train()
    assert encoder.resnet[6].training is False and layer4.training is True  # frozen BatchNorm stays fixed
    stem = encoder.stem(torch.randn(2, 3, 64, 64))
    assert stem.shape == (2, 1024, 4, 4) and not stem.requires_grad
    assert encoder.head(stem).shape == (2, EMBED)


@pytest.fixture
def offline_torch_home(tmp_path, monkeypatch, backbone_root_small):
    """No ImageNet weights on this machine (an empty torch cache) and the tiny shapes backbone as the data root's."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv(DATA_ROOT_ENV, str(backbone_root_small))
    return tmp_path / "torch"


def _only_the_head_trains(encoder) -> None:
    assert not any(p.requires_grad for p in encoder.resnet.parameters())
    head = list(encoder.embed.parameters()) + list(encoder.bn.parameters())
    assert {id(p) for p in encoder.trainable_parameters()} == {id(p) for p in head}
    encoder.train()
    assert not any(m.training for m in encoder.resnet.modules() if isinstance(m, torch.nn.BatchNorm2d))  # fixed


def test_offline_the_shapes_backbone_is_used_frozen(offline_torch_home, backbone_root_small, capsys):
    encoder = ic.model.EncoderCNN(EMBED)  # pretrained=True, weights="auto"
    assert (encoder.weights, encoder.arch, encoder.image_size) == ("shapes", "resnet18", 64)
    assert "shapes-world backbone" in capsys.readouterr().out
    cached = read_backbone(backbone_path(backbone_root_small))["state_dict"]
    assert torch.equal(encoder.resnet[0].weight, cached["conv1.weight"])  # conv1 is resnet[0]
    assert encoder.embed.in_features == 512
    _only_the_head_trains(encoder)
    assert encoder(torch.randn(2, 3, 64, 64)).shape == (2, EMBED)


def test_with_imagenet_weights_on_the_machine_they_are_used_frozen(offline_torch_home, capsys):
    fake = ic.backbones.torchvision.models.resnet50(weights=None).state_dict()
    fake["conv1.weight"].fill_(0.25)  # recognisable
    _, path = imagenet_weights()
    path.parent.mkdir(parents=True)
    torch.save(fake, path)
    encoder = ic.model.EncoderCNN(EMBED)
    assert (encoder.weights, encoder.arch, encoder.image_size) == ("imagenet", "resnet50", 224)
    assert "ImageNet ResNet-50" in capsys.readouterr().out
    assert bool((encoder.resnet[0].weight == 0.25).all()) and encoder.embed.in_features == 2048
    _only_the_head_trains(encoder)


def test_unreachable_imagenet_weights_give_one_clear_line(offline_torch_home, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(ic.backbones.torchvision.models, "resnet50", offline)
    with pytest.raises(ic.model.PretrainedWeightsError, match="weights='shapes'") as err:
        ic.model.EncoderCNN(EMBED, weights="imagenet")
    assert "\n" not in str(err.value)


def test_random_weights_read_and_download_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path))  # no data, no cache: nothing to read
    for weights, arch in (("shapes", "resnet18"), ("imagenet", "resnet50")):
        encoder = ic.model.EncoderCNN(EMBED, pretrained=False, weights=weights)
        assert (encoder.weights, encoder.arch) == (weights, arch)
    assert not (tmp_path / "backbone").exists()


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
    config = ic.model.ModelConfig(embed_size=EMBED, hidden_size=HIDDEN, vocab_size=VOCAB, pretrained=False)
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
