# GENERATED from solutions/image_captioning/attention.py by `python -m autograder lessons`.
# Students: fill in the parts marked YOUR CODE HERE.
# Course maintainers: edit solutions/image_captioning/attention.py, not this file, then regenerate.
"""Show, Attend and Tell (Xu et al. 2015, arXiv 1502.03044): soft attention over a grid of image features.

Show and Tell (``model.py``) squeezes the image into one vector before the first
word. Here the encoder keeps a grid of ``P`` feature vectors (one per cell of the
image), and at every step the decoder looks again, weighting the cells by how
relevant they are to the word it is about to say:

- ``GridEncoder``: the same frozen pretrained ResNet, without its pooling, its last
  stage dilated instead of strided, so a 64-pixel image gives a 4 x 4 grid, and
  a trainable linear layer per cell: ``(N, 3, S, S) -> (N, P, C)`` (P = 16 for the
  shapes backbone). The mean over the grid plays Show and Tell's pooled vector.
- ``Attention``: additive (Bahdanau) attention: a score per cell from the grid and
  the LSTM's hidden state, a softmax over the P cells (the weights ``alpha``), and
  the weighted sum of the cells (the context vector).
- ``DecoderWithAttention``: an ``LSTMCell`` stepped word by word; each step reads
  the previous word and the gated context vector. Teacher-forced ``forward``,
  batched greedy ``sample`` and ``beam_search``, all returning the attention weights.

Word positions follow ``DecoderRNN``: output ``t`` scores word ``t`` of the caption
(``<start>`` first), step ``t > 0`` reads word ``t - 1`` and step 0 reads no word
(zeros) -- so the loss, the targets and ``clean_sentence`` are Show and Tell's.
``AttentionConfig`` holds the sizes and is saved with the weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from backbones import load_backbone
from checkpoints import SavedConfig, model_files, read_model, write_model
from model import run_frozen
from vocabulary import Vocabulary

ATTENTION_DIR = "models/attention"
"""Where notebook 4 and ``train.py --attention`` save the attention model (relative to the project folder)."""
CONFIG_FILE = "attention_config.json"
ARTEFACT_FILES = model_files(CONFIG_FILE)


@dataclass
class AttentionConfig(SavedConfig):
    """The sizes of an attention model (saved beside its weights; ``to_dict``, ``from_dict`` and ``recorded``
    come from ``checkpoints.SavedConfig``)."""

    vocab_size: int = 0
    embed_size: int = 128
    hidden_size: int = 256
    grid_size: int = 128
    """C: features per grid cell after the encoder's ``embed``."""
    attention_size: int = 128
    dropout: float = 0.0
    alpha_c: float = 0.0
    """Weight of the doubly stochastic regularisation (``doubly_stochastic_penalty``); 0: off (the course's recipe,
    ``train.ATTENTION_ALPHA_C``; the paper uses 1)."""
    end_index: int = 1
    weights: str = "auto"
    """Backbone weights: "auto", "imagenet" or "shapes" (``backbones.SOURCES``); saved files record the one used."""
    arch: str | None = None
    image_size: int | None = None
    """Side of the encoder's input images (None: the backbone's own)."""
    pretrained: bool = True

    def build(self) -> tuple[GridEncoder, DecoderWithAttention]:
        """A fresh (encoder, decoder) pair of these sizes (never downloads when ``pretrained`` is False)."""
        if self.vocab_size <= 0:
            raise ValueError(f"AttentionConfig.vocab_size must be positive, got {self.vocab_size}")
        encoder = GridEncoder(self.grid_size, pretrained=self.pretrained, weights=self.weights, arch=self.arch)
        decoder = DecoderWithAttention(self.embed_size, self.hidden_size, self.vocab_size, encoder.features,
                                       self.attention_size, self.dropout, self.alpha_c, self.end_index)
        return encoder, decoder



# ----------------------------------------------------------------------------- encoder
def dilate_last_stage(stage: nn.Sequential) -> None:
    """Turn a ResNet stage's stride 2 into dilation 2 (DeepLab's trick), in place.

    The output keeps the previous stage's resolution (twice as many rows and columns)
    while every 3x3 convolution after the first still sees the same neighbourhood it
    was trained on, so the pretrained weights stay valid.
    """
    first_3x3 = True
    for module in stage.modules():
        if not isinstance(module, nn.Conv2d):
            continue
        module.stride = (1, 1)
        if module.kernel_size == (3, 3):
            if not first_3x3:
                module.dilation, module.padding = (2, 2), (2, 2)
            first_3x3 = False


class GridEncoder(nn.Module):
    """A frozen pretrained ResNet that keeps the spatial grid: ``(N, 3, S, S)`` -> ``(N, P, C)``.

    ``backbones.load_backbone(pretrained, weights, arch)`` without its average pool,
    ``layer4`` dilated (``dilate_last_stage``): at the shapes backbone's 64 pixels a
    4 x 4 grid of 512 features (P = 16); ImageNet's ResNet-50 at 224 pixels gives
    14 x 14 x 2048, the paper's grid. The backbone is frozen (``stem``, what
    ``FeatureCache`` keeps); a trainable ``embed`` (``Linear(F, grid_size)`` and a ReLU)
    brings each cell to ``grid_size`` = C features, which keeps the decoder's LSTM small.
    """

    def __init__(self, grid_size: int = 128, pretrained: bool = True, weights: str = "auto", arch: str | None = None):
        super().__init__()
        backbone = load_backbone(pretrained, weights, arch)
        self.pretrained = pretrained
        self.weights, self.arch, self.image_size = backbone.source, backbone.arch, backbone.image_size
        self.features = grid_size  # C
        self.register_buffer("bn_calibrated", torch.ones((), dtype=torch.uint8))  # nothing to calibrate here
        self.resnet = nn.Sequential(*list(backbone.net.children())[:-2])  # conv1 ... layer4
        dilate_last_stage(self.resnet[-1])
        for param in self.resnet.parameters():
            param.requires_grad_(False)
        self.resnet.eval()
        self.embed = nn.Linear(backbone.features, grid_size)  # trainable, like EncoderCNN's embed

    def stem(self, images: torch.Tensor) -> torch.Tensor:
        """The frozen backbone: ``(N, 3, S, S)`` -> ``(N, C, h, w)`` (eval mode, no gradients)."""
        return run_frozen(self.resnet, images)

    def head(self, stem_features: torch.Tensor) -> torch.Tensor:
        """The trainable part: ``(N, F, h, w)`` -> the grid ``(N, P, C)``, cells in row-major order (P = h * w),
        each cell's F backbone features through ``embed`` and a ReLU."""
        return torch.relu(self.embed(stem_features.flatten(2).transpose(1, 2)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, 3, S, S)`` -> ``(N, P, C)``; ``.mean(1)`` of it is a pooled ``(N, C)`` vector."""
        return self.head(self.stem(images))

    def train(self, mode: bool = True) -> GridEncoder:
        """The backbone always stays in eval mode (frozen BatchNorm statistics)."""
        super().train(mode)
        if hasattr(self, "resnet"):
            self.resnet.eval()
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        """``embed``'s weights: the backbone is frozen."""
        return [p for p in self.parameters() if p.requires_grad]

    def grid_shape(self, image_size: int | None = None) -> tuple[int, int]:
        """``(h, w)`` of the grid for square images of ``image_size`` (default: the backbone's)."""
        side = image_size or self.image_size
        with torch.no_grad():
            out = self.stem(torch.zeros(1, 3, side, side, device=next(self.parameters()).device))
        return int(out.shape[2]), int(out.shape[3])


# ----------------------------------------------------------------------------- attention
class Attention(nn.Module):
    """Additive attention over the P cells of a grid.

    Args:
        encoder_dim: C, the size of each cell's feature.
        hidden_size: H, the decoder's hidden size.
        attention_size: A, the size of the space where cells and the hidden state meet.
    """

    def __init__(self, encoder_dim: int, hidden_size: int, attention_size: int):
        super().__init__()
        self.encoder_att = nn.Linear(encoder_dim, attention_size)  # cells -> A
        self.decoder_att = nn.Linear(hidden_size, attention_size)  # hidden state -> A
        self.full_att = nn.Linear(attention_size, 1)  # A -> one score per cell

    def project(self, grid: torch.Tensor) -> torch.Tensor:
        """``encoder_att`` of the grid, ``(N, P, C)`` -> ``(N, P, A)``: the same at every step, so computed once."""
        return self.encoder_att(grid)

    def forward(self, grid: torch.Tensor, projected: torch.Tensor, hidden: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """One look at the image.

        Args:
            grid: ``(N, P, C)`` cell features.
            projected: ``(N, P, A)``, ``self.project(grid)``.
            hidden: ``(N, H)``, the decoder's hidden state.

        Returns:
            context ``(N, C)``: the cells weighted by ``alpha`` and summed;
            alpha ``(N, P)``: non-negative weights summing to 1 over the P cells.

        The score of cell p is ``full_att(tanh(projected[:, p] + decoder_att(hidden)))``;
        a softmax over the cells turns the scores into ``alpha``.
        """
        # YOUR CODE HERE
        raise NotImplementedError("not implemented yet: Attention.forward")


def doubly_stochastic_penalty(alphas: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """The paper's regulariser (its eq. 14): mean over images and cells of ``(1 - sum over steps of alpha)^2``.

    ``alphas (N, L, P)``; with ``lengths (N,)`` only the first ``lengths[i]`` steps count.
    It asks every cell to receive about one step's worth of attention over the whole
    caption, so the model can't stare at one cell throughout.
    """
    if lengths is not None:
        mask = torch.arange(alphas.shape[1], device=alphas.device)[None, :] < lengths[:, None]  # (N, L)
        alphas = alphas * mask.unsqueeze(2)
    return ((1.0 - alphas.sum(dim=1)) ** 2).mean()


class DecoderWithAttention(nn.Module):
    """An LSTM cell that looks at the image grid before every word.

    Args:
        embed_size: E, size of the word embeddings.
        hidden_size: H.
        vocab_size: V.
        encoder_dim: C, size of each grid cell's feature.
        attention_size: A (``Attention``).
        dropout: on the hidden state before the word classifier.
        alpha_c: weight of ``doubly_stochastic_penalty`` in training (``penalty``).
        end_index: the end word; ``sample`` and ``beam_search`` stop after it.

    The initial state ``(h, c)`` is a linear function of the grid's mean (the
    pooled image). At each step a gate ``sigmoid(f_beta(h))`` scales the context
    vector (the paper's beta: how much of the image this word needs).
    """

    returns_attention = True
    """``forward``, ``sample`` and ``beam_search`` return the attention weights too (``evaluation`` checks this)."""
    skips_padding = True
    """``forward`` takes the captions' lengths and stops stepping each caption at its end
    (``training.decode_by_length`` passes them)."""

    def __init__(self, embed_size: int, hidden_size: int, vocab_size: int, encoder_dim: int,
                 attention_size: int = 128, dropout: float = 0.0, alpha_c: float = 1.0, end_index: int = 1):
        super().__init__()
        self.end_index, self.alpha_c = end_index, alpha_c
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.attention = Attention(encoder_dim, hidden_size, attention_size)
        self.init_h = nn.Linear(encoder_dim, hidden_size)
        self.init_c = nn.Linear(encoder_dim, hidden_size)
        self.f_beta = nn.Linear(hidden_size, encoder_dim)
        self.cell = nn.LSTMCell(embed_size + encoder_dim, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(hidden_size, vocab_size)

    def init_state(self, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(h, c)``, each ``(N, H)``, from the mean of the grid ``(N, P, C)``."""
        pooled = grid.mean(dim=1)  # (N, C)
        return self.init_h(pooled), self.init_c(pooled)

    def step(self, words: torch.Tensor, grid: torch.Tensor, projected: torch.Tensor,
             state: tuple[torch.Tensor, torch.Tensor]):
        """One decoding step.

        Args:
            words: ``(N, E)`` embeddings of the previous words (zeros at step 0).
            grid: ``(N, P, C)``; projected: ``(N, P, A)`` (``self.attention.project(grid)``).
            state: ``(h, c)``, each ``(N, H)``.

        Returns:
            scores ``(N, V)`` of the next word, alpha ``(N, P)``, the new state ``(h, c)``.

        Look at the image with the current ``h`` (``self.attention``), gate the context
        with ``sigmoid(self.f_beta(h))``, feed ``[words, gated context]`` to ``self.cell``,
        and score the words from the new ``h`` (``self.linear(self.dropout(h))``).
        """
        # YOUR CODE HERE
        raise NotImplementedError("not implemented yet: DecoderWithAttention.step")

    def forward(self, grid: torch.Tensor, captions: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: ``grid (N, P, C)``, ``captions (N, L)`` -> scores ``(N, L, V)``, alphas ``(N, L, P)``.

        Step 0 reads no word, step t > 0 reads word t - 1; output t scores word t. With ``lengths (N,)`` (a padded
        batch: caption i is its first ``lengths[i]`` words) a caption leaves the batch once it has ended, so the
        steps cost only the real words; its later scores and alphas are zeros (positions ``caption_loss`` leaves
        out). Without, every caption runs all L steps.
        """
        n, length = captions.shape
        if lengths is None:
            lengths = captions.new_full((n,), length)
        order = lengths.argsort(descending=True, stable=True)  # longest first: the running captions are a prefix
        running = (lengths[order, None] > torch.arange(length, device=lengths.device)).sum(0).tolist()  # per step
        captions, grid = captions[order], grid[order]
        words = self.embed(captions[:, :-1])  # (N, L-1, E)
        words = torch.cat([words.new_zeros(n, 1, words.shape[2]), words], dim=1)  # (N, L, E)
        projected = self.attention.project(grid)  # (N, P, A)
        h, c = self.init_state(grid)  # (N, H) each
        scores, alphas = [], []
        for t, k in enumerate(running):  # k: the captions still running at step t (the first k rows)
            if k == 0:
                break
            step_scores, alpha, (h, c) = self.step(words[:k, t], grid[:k], projected[:k], (h[:k], c[:k]))
            scores.append(F.pad(step_scores, (0, 0, 0, n - k)))  # (N, V), zeros for the captions that ended
            alphas.append(F.pad(alpha, (0, 0, 0, n - k)))  # (N, P)
        scores, alphas = torch.stack(scores, dim=1), torch.stack(alphas, dim=1)  # (N, T, V), (N, T, P), T <= L
        scores, alphas = (F.pad(x, (0, 0, 0, length - x.shape[1])) for x in (scores, alphas))  # (N, L, ...)
        back = order.argsort()  # the callers' order
        return scores[back], alphas[back]

    def penalty(self, alphas: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``alpha_c * doubly_stochastic_penalty(alphas, lengths)``: what training adds to the caption loss."""
        return self.alpha_c * doubly_stochastic_penalty(alphas, lengths)

    @torch.no_grad()
    def sample(self, grid: torch.Tensor, max_len: int = 20, end_index: int | None = None
               ) -> tuple[list[list[int]], list[torch.Tensor]]:
        """Greedy decoding of a batch: ``grid (N, P, C)`` -> (word indices, attention weights) per image.

        Image i gets a list of python ints (at most ``max_len``, ending with the end index
        when the model produced it) and a ``(T_i, P)`` tensor: row t is where the model
        looked while choosing word t.
        """
        end = self.end_index if end_index is None else end_index
        n = grid.shape[0]
        projected = self.attention.project(grid)
        state = self.init_state(grid)
        words = grid.new_zeros(n, self.embed.embedding_dim)  # (N, E): no word yet
        chosen, looked = [], []
        done = torch.zeros(n, dtype=torch.bool, device=grid.device)
        for _ in range(max_len):
            scores, alpha, state = self.step(words, grid, projected, state)
            best = scores.argmax(dim=1)  # (N,)
            chosen.append(best)
            looked.append(alpha)
            done |= best == end
            if bool(done.all()):
                break
            words = self.embed(best)
        ids, alphas = torch.stack(chosen, dim=1).tolist(), torch.stack(looked, dim=1)  # (N, T), (N, T, P)
        out_ids, out_alphas = [], []
        for row, image_alphas in zip(ids, alphas):
            length = row.index(end) + 1 if end in row else len(row)
            out_ids.append(row[:length])
            out_alphas.append(image_alphas[:length].cpu())
        return out_ids, out_alphas

    @torch.no_grad()
    def beam_search(self, grid: torch.Tensor, beam_size: int = 3, max_len: int = 20,
                    end_index: int | None = None) -> tuple[list[int], torch.Tensor]:
        """Beam search for one image: ``grid (1, P, C)`` -> (word indices, attention weights ``(T, P)``).

        Keeps the ``beam_size`` best partial captions by total log-probability; a caption
        is finished when it produces the end index (which it keeps). ``beam_size=1``
        gives exactly ``sample``'s caption.
        """
        end = self.end_index if end_index is None else end_index
        grid = grid.reshape(1, *grid.shape[-2:])
        projected = self.attention.project(grid)
        state = self.init_state(grid)
        words = grid.new_zeros(1, self.embed.embedding_dim)
        beams: list[list[int]] = [[]]
        beam_alphas: list[list[torch.Tensor]] = [[]]
        totals = grid.new_zeros(1)  # (k,) summed log-probabilities of the live beams
        finished: list[tuple[float, list[int], list[torch.Tensor]]] = []
        for _ in range(max_len):
            k = len(beams)
            scores, alpha, state = self.step(words, grid.expand(k, -1, -1), projected.expand(k, -1, -1), state)
            log_probs = F.log_softmax(scores, dim=1)  # (k, V)
            top_scores, top = (totals[:, None] + log_probs).flatten().topk(min(beam_size, log_probs.numel()))
            keep_rows, keep_words, keep_totals = [], [], []
            for total, flat in zip(top_scores.tolist(), top.tolist()):
                row, word = divmod(flat, log_probs.shape[1])
                if word == end:
                    finished.append((total, beams[row] + [word], beam_alphas[row] + [alpha[row]]))
                else:
                    keep_rows.append(row)
                    keep_words.append(word)
                    keep_totals.append(total)
            if len(finished) >= beam_size or not keep_rows:
                break
            beams = [beams[r] + [w] for r, w in zip(keep_rows, keep_words)]
            beam_alphas = [beam_alphas[r] + [alpha[r]] for r in keep_rows]
            rows = torch.tensor(keep_rows, device=grid.device)
            state = (state[0][rows], state[1][rows])
            totals = grid.new_tensor(keep_totals)
            words = self.embed(torch.tensor(keep_words, device=grid.device))
        else:
            finished.extend(zip(totals.tolist(), beams, beam_alphas))
        _, ids, alphas = max(finished, key=lambda item: item[0])
        return ids, torch.stack(alphas).cpu()


# ----------------------------------------------------------------------------- saving and loading
def save_attention(path_dir: str | Path, encoder: GridEncoder, decoder: DecoderWithAttention, vocab: Vocabulary,
                   config: AttentionConfig) -> Path:
    """Write ``encoder.pt``, ``decoder.pt`` (state_dicts), ``attention_config.json`` and ``vocab.json``.

    The config records what the encoder really is (weight source, architecture, image size).
    """
    return write_model(path_dir, encoder, decoder, vocab, config.recorded(encoder).to_dict(), CONFIG_FILE)


def load_attention(path_dir: str | Path = ATTENTION_DIR, device: torch.device | str = "cpu"
                   ) -> tuple[GridEncoder, DecoderWithAttention, Vocabulary]:
    """The (encoder, decoder, vocab) saved by ``save_attention``, in eval mode (never downloads).

    Raises ``cvdata.errors.DataError`` naming the file when one is missing or corrupt (as ``load_checkpoint``).
    """
    return read_model(path_dir, CONFIG_FILE, AttentionConfig.from_dict,
                      "train and save the attention model first (notebook 4, or python train.py --attention)", device)
