"""Show and Tell (arXiv 1411.4555): a pretrained ResNet encoder and an LSTM decoder.

``EncoderCNN`` turns images into one feature vector each; ``DecoderRNN`` reads
that vector as its first input and then the caption's words, and predicts the
next word at every step. ``ModelConfig`` holds the sizes; it is saved inside
every checkpoint so sampling can't drift from training.

The encoder's backbone comes from ``backbones.load_backbone``: ImageNet's
ResNet-50 where its weights are on the machine, otherwise the course's own
ResNet-18 pretrained on shapes-world labels (``python -m cvdata pretrain``).

Word indices follow the ``Vocabulary``: ``<start>`` is 0, ``<end>`` is 1 and
``<unk>`` is 2 (Udacity's order). The decoder needs the end index to know when
to stop: ``DecoderRNN(..., end_index=1)`` by default, or pass
``sample(..., end_index=...)``.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn as nn

from backbones import PretrainedWeightsError, load_backbone  # noqa: F401 -- PretrainedWeightsError: part of this API
from checkpoints import SavedConfig

_LAST_STAGE = 7
"""Index of ``layer4`` in ``EncoderCNN.resnet`` (conv1, bn1, relu, maxpool, layer1..4, avgpool)."""


def fast_inference(device: torch.device):
    """Autocast to bfloat16 on CPUs whose oneDNN supports it (AVX512-BF16/AMX), else a no-op.

    Used only for the frozen stem (no gradients): about 3x faster there on such CPUs
    (with channels-last tensors), and the cached features are stored as float16 anyway.
    """
    if device.type == "cpu":
        try:
            supported = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            supported = False
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=supported)
    return contextlib.nullcontext()


def run_frozen(frozen: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """A frozen module on ``images (N, 3, H, W)`` -> ``(N, C, h, w)`` float32: eval mode, no gradients,
    channels-last and ``fast_inference`` on the CPU (so its output can be cached once per image)."""
    frozen.eval()
    if images.device.type == "cpu":  # oneDNN's fast layout
        frozen.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), fast_inference(images.device):
        features = frozen(images)  # (N, C, h, w)
    return features.float().contiguous()


@dataclass
class ModelConfig(SavedConfig):
    """The sizes an encoder/decoder pair is built with (saved in checkpoints; ``to_dict``, ``from_dict`` and
    ``recorded`` come from ``checkpoints.SavedConfig``)."""

    embed_size: int = 256
    hidden_size: int = 512
    vocab_size: int = 0
    num_layers: int = 1
    pretrained: bool = True
    weights: str = "auto"
    """Backbone weights: "auto", "imagenet" or "shapes" (``backbones.SOURCES``); checkpoints record the one used."""
    arch: str | None = None
    """The backbone's torchvision ResNet (None: the source's default); checkpoints record it."""
    train_last_stage: bool = False
    end_index: int = 1
    dropout: float = 0.0
    image_size: int | None = None
    """Side of the (square) images the encoder reads (None: the backbone's own, ``EncoderCNN.image_size``);
    evaluation must resize to the same."""

    def build(self) -> tuple[EncoderCNN, DecoderRNN]:
        """A fresh (encoder, decoder) pair of these sizes (never downloads when ``pretrained`` is False)."""
        if self.vocab_size <= 0:
            raise ValueError(f"ModelConfig.vocab_size must be positive, got {self.vocab_size}")
        encoder = EncoderCNN(self.embed_size, pretrained=self.pretrained, weights=self.weights, arch=self.arch,
                             train_last_stage=self.train_last_stage)
        decoder = DecoderRNN(self.embed_size, self.hidden_size, self.vocab_size, self.num_layers,
                             end_index=self.end_index, dropout=self.dropout)
        return encoder, decoder



class EncoderCNN(nn.Module):
    """A pretrained ResNet without its classifier, then a trainable ``Linear(features, embed_size)``.

    ``(N, 3, H, W)`` normalised images -> ``(N, embed_size)`` features.

    The backbone (``backbones.load_backbone(pretrained, weights, arch)``: ImageNet's
    ResNet-50, 2048 features, or the course's shapes-world ResNet-18, 512 features) is
    frozen (``requires_grad=False``, BatchNorm statistics fixed); only ``embed`` and
    ``bn`` learn. ``train_last_stage=True`` (opt-in) also trains ``layer4``.

    ``embed`` is followed by ``bn``, a ``BatchNorm1d(embed_size)``: image features
    then vary across images on the same scale as word embeddings, which makes the
    decoder listen to them much sooner (a common addition to Udacity's encoder).

    Keep the attribute names ``resnet`` (conv1 ... layer4, avgpool, as an
    ``nn.Sequential``), ``embed``, ``bn`` and ``n_frozen`` (how many modules of
    ``resnet`` are frozen): ``stem``/``head`` below and the training code rely on them.
    ``weights``, ``arch`` and ``image_size`` say which backbone this is.
    """

    def __init__(self, embed_size: int, pretrained: bool = True, weights: str = "auto", arch: str | None = None,
                 train_last_stage: bool = False):
        super().__init__()
        backbone = load_backbone(pretrained, weights, arch)  # .net (N, 3, S, S) -> (N, backbone.features)
        self.pretrained, self.train_last_stage = pretrained, train_last_stage
        self.weights, self.arch, self.image_size = backbone.source, backbone.arch, backbone.image_size
        self.register_buffer("bn_calibrated", torch.zeros((), dtype=torch.uint8))  # see calibrate_batchnorm
        ### BEGIN SOLUTION
        modules = list(backbone.net.children())[:-1]  # drop fc (an Identity), keep avgpool
        self.resnet = nn.Sequential(*modules)
        for param in self.resnet.parameters():
            param.requires_grad_(False)
        self.n_frozen = _LAST_STAGE if train_last_stage else len(modules)
        for param in self.resnet[self.n_frozen:].parameters():
            param.requires_grad_(True)
        self.embed = nn.Linear(backbone.features, embed_size)
        self.bn = nn.BatchNorm1d(embed_size)
        ### END SOLUTION

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` -> ``(N, embed_size)``."""
        ### BEGIN SOLUTION
        return self.head(self.stem(images))
        ### END SOLUTION

    def stem(self, images: torch.Tensor) -> torch.Tensor:
        """The frozen part: ``(N, 3, H, W)`` -> ``(N, C, h, w)``.

        ``(N, F, 1, 1)`` when the whole backbone is frozen (F = 512 for ResNet-18, 2048 for
        ResNet-50), layer3's output ``(N, F/2, H/16, W/16)`` with ``train_last_stage``. Runs in eval mode without
        gradients (in bfloat16 where the CPU supports it: ``fast_inference``),
        so its output can be cached once per image.
        """
        return run_frozen(self.resnet[: self.n_frozen], images)

    def head(self, stem_features: torch.Tensor) -> torch.Tensor:
        """The trainable part: ``stem`` output ``(N, C, h, w)`` -> ``(N, embed_size)``."""
        x = self.resnet[self.n_frozen:](stem_features)  # (N, F, 1, 1)
        return self.bn(self.embed(x.flatten(1)))  # (N, embed_size)

    def train(self, mode: bool = True) -> EncoderCNN:
        """Like ``nn.Module.train``, but the frozen modules always stay in eval mode."""
        super().train(mode)
        if hasattr(self, "resnet"):
            self.resnet[: self.n_frozen].eval()
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The parameters the optimiser updates (``embed``, plus ``layer4`` when opted in)."""
        return [p for p in self.parameters() if p.requires_grad]

    @torch.no_grad()
    def calibrate_batchnorm(self, images: torch.Tensor, chunk: int = 64) -> None:
        """Set the frozen modules' BatchNorm statistics from ``images`` ``(N, 3, H, W)``.

        Randomly initialised BatchNorm layers hold mean 0 / variance 1, so the
        activations of a random ResNet-50 grow block after block. Measuring the
        real statistics on a few hundred training images (no gradients, no
        weights change) keeps every stage in a sensible range. Only useful
        with ``pretrained=False`` (random weights).
        """
        frozen = self.resnet[: self.n_frozen]
        norms = [m for m in frozen.modules() if isinstance(m, nn.BatchNorm2d)]
        saved = [(m.momentum, m.training) for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over all chunks
            m.train()
        for start in range(0, len(images), chunk):
            frozen(images[start:start + chunk])
        for m, (momentum, training) in zip(norms, saved):
            m.momentum = momentum
            m.train(training)
        self.bn_calibrated.fill_(1)
        self.train(self.training)


class DecoderRNN(nn.Module):
    """An LSTM that reads an image feature, then words, and predicts the next word.

    Args:
        embed_size: size of the image feature and of the word embeddings (E).
        hidden_size: LSTM hidden size (H).
        vocab_size: number of words (V).
        num_layers: stacked LSTM layers.
        end_index: index of the end word: ``sample`` and ``beam_search`` stop after it.
        dropout: dropout on the LSTM outputs before the word classifier (0: none).
    """

    def __init__(self, embed_size: int, hidden_size: int, vocab_size: int, num_layers: int = 1,
                 end_index: int = 1, dropout: float = 0.0):
        super().__init__()
        self.end_index = end_index
        ### BEGIN SOLUTION
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(hidden_size, vocab_size)
        ### END SOLUTION

    def forward(self, features: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: ``features (N, E)``, ``captions (N, L)`` -> scores ``(N, L, V)``.

        Step 0 reads the image feature, step t > 0 reads word t-1; output t
        scores word t (so the targets are ``captions`` itself).
        """
        ### BEGIN SOLUTION
        words = self.embed(captions[:, :-1])  # (N, L-1, E)
        inputs = torch.cat([features.unsqueeze(1), words], dim=1)  # (N, L, E)
        hidden, _ = self.lstm(inputs)  # (N, L, H)
        return self.linear(self.dropout(hidden))  # (N, L, V)
        ### END SOLUTION

    def sample(self, inputs: torch.Tensor, states=None, max_len: int = 20,
               end_index: int | None = None) -> list[int]:
        """Greedy decoding: ``inputs (1, 1, E)`` (an image feature) -> word indices.

        Returns python ints, at most ``max_len`` of them, ending with the end
        index when the model produced it (``end_index`` defaults to the
        constructor's).
        """
        end = self.end_index if end_index is None else end_index
        ### BEGIN SOLUTION
        words: list[int] = []
        with torch.no_grad():
            for _ in range(max_len):
                hidden, states = self.lstm(inputs, states)  # (1, 1, H)
                word = int(self.linear(hidden.squeeze(1)).argmax(dim=1).item())
                words.append(word)
                if word == end:
                    break
                inputs = self.embed(torch.tensor([[word]], device=inputs.device))  # (1, 1, E)
        return words
        ### END SOLUTION

    def beam_search(self, features: torch.Tensor, beam_size: int = 3, max_len: int = 20,
                    end_index: int | None = None, length_penalty: float = 0.0) -> list[int]:
        """Beam search: ``features (1, E)`` or ``(1, 1, E)`` -> the best word indices.

        Keeps the ``beam_size`` best partial captions by total log-probability;
        a caption is finished when it produces the end index (which it keeps).
        The winner maximises ``log p / length ** length_penalty`` (0, the default:
        the raw sum, which favours shorter captions; 1.0: the mean log-probability
        per word, which favours longer ones: on the shapes world's test split it
        named more objects and got more of them wrong, notebook 3).
        ``beam_size=1`` gives exactly the greedy ``sample``.
        """
        end = self.end_index if end_index is None else end_index
        ### BEGIN SOLUTION
        inputs = features.reshape(1, 1, -1)  # (1, 1, E)
        device = inputs.device
        beams: list[list[int]] = [[]]
        scores = torch.zeros(1, device=device)  # (k,) summed log-probs of the live beams
        states = None
        finished: list[tuple[float, list[int]]] = []

        def normalised(total: float, length: int) -> float:
            return total / (length ** length_penalty)

        with torch.no_grad():
            for _ in range(max_len):
                hidden, states = self.lstm(inputs, states)  # (k, 1, H)
                log_probs = torch.log_softmax(self.linear(hidden.squeeze(1)), dim=1)  # (k, V)
                totals = (scores.unsqueeze(1) + log_probs).flatten()  # (k * V,)
                top_scores, top = totals.topk(min(beam_size, totals.numel()))
                vocab = log_probs.shape[1]
                keep_rows, keep_words, keep_scores = [], [], []
                for score, flat in zip(top_scores.tolist(), top.tolist()):
                    row, word = divmod(flat, vocab)
                    caption = beams[row] + [word]
                    if word == end:
                        finished.append((normalised(score, len(caption)), caption))
                    else:
                        keep_rows.append(row)
                        keep_words.append(word)
                        keep_scores.append(score)
                if len(finished) >= beam_size or not keep_rows:
                    break
                rows = torch.tensor(keep_rows, device=device)
                beams = [beams[r] + [w] for r, w in zip(keep_rows, keep_words)]
                scores = torch.tensor(keep_scores, device=device)
                states = tuple(s[:, rows] for s in states)  # (layers, k, H)
                inputs = self.embed(torch.tensor(keep_words, device=device)).unsqueeze(1)  # (k, 1, E)
            else:
                finished.extend(
                    (normalised(s, len(b)), b) for s, b in zip(scores.tolist(), beams)
                )
        return max(finished, key=lambda item: item[0])[1]
        ### END SOLUTION
