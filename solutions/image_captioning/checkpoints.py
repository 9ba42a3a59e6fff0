"""The folder a trained captioner is saved in, shared by Show and Tell and the attention model.

A model folder holds ``encoder.pt`` and ``decoder.pt`` (state_dicts), a JSON config that
rebuilds the pair, and ``vocab.json``. ``training.save_checkpoint`` / ``load_checkpoint``
(``model_config.json``) and ``attention.save_attention`` / ``load_attention``
(``attention_config.json``) are these two functions with their own config class.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn as nn

from cvdata.errors import DataError

from vocabulary import Vocabulary

ENCODER_FILE, DECODER_FILE, VOCAB_FILE = "encoder.pt", "decoder.pt", "vocab.json"


class SavedConfig:
    """What ``model.ModelConfig`` and ``attention.AttentionConfig`` (dataclasses) share: a JSON round trip
    (unknown keys ignored) and recording what a built encoder really is."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})

    def recorded(self, encoder: nn.Module):
        """This config with ``encoder``'s weight source, architecture and image size (what a saved file needs)."""
        return self.from_dict({**self.to_dict(), "weights": encoder.weights, "arch": encoder.arch,
                               "image_size": self.image_size or encoder.image_size})


def model_files(config_file: str) -> tuple[str, ...]:
    """The four files of a model folder whose config is ``config_file``."""
    return ENCODER_FILE, DECODER_FILE, config_file, VOCAB_FILE


def write_model(path_dir: str | Path, encoder: nn.Module, decoder: nn.Module, vocab: Vocabulary,
                config: dict, config_file: str) -> Path:
    """Write the pair's state_dicts, ``config`` (a JSON-able dict) as ``config_file`` and the vocabulary."""
    path_dir = Path(path_dir)
    path_dir.mkdir(parents=True, exist_ok=True)
    torch.save(encoder.state_dict(), path_dir / ENCODER_FILE)
    torch.save(decoder.state_dict(), path_dir / DECODER_FILE)
    (path_dir / config_file).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    vocab.save(path_dir / VOCAB_FILE)
    return path_dir


def read_model(path_dir: str | Path, config_file: str, make_config: Callable[[dict], object], missing: str,
               device: torch.device | str = "cpu") -> tuple[nn.Module, nn.Module, Vocabulary]:
    """The (encoder, decoder, vocab) in ``path_dir``, in eval mode on ``device`` (never downloads).

    ``make_config(saved dict)`` returns the config object (with ``build()``, ``pretrained`` and
    ``image_size``); ``missing`` is the hint for a missing file. Raises ``cvdata.errors.DataError``
    naming the file when one is missing or corrupt.
    """
    path_dir = Path(path_dir)
    for name in model_files(config_file):
        if not (path_dir / name).is_file():
            raise DataError(path_dir / name, f"missing; {missing}")
    try:
        config = make_config(json.loads((path_dir / config_file).read_text(encoding="utf-8")))
    except json.JSONDecodeError as err:
        raise DataError(path_dir / config_file, f"corrupt JSON: {err.msg}") from None
    except (TypeError, ValueError, AttributeError) as err:
        raise DataError(path_dir / config_file, f"not a config of this model ({err})") from None
    config.pretrained = False  # the weights come from the files
    encoder, decoder = config.build()
    for module, name in ((encoder, ENCODER_FILE), (decoder, DECODER_FILE)):
        try:
            module.load_state_dict(torch.load(path_dir / name, map_location=device, weights_only=True))
        except (RuntimeError, ValueError, OSError, EOFError) as err:
            raise DataError(path_dir / name, f"not the weights of this {config_file} ({str(err).splitlines()[0]})") \
                from None
    encoder.image_size = config.image_size or encoder.image_size  # what it was trained on
    return encoder.to(device).eval(), decoder.to(device).eval(), Vocabulary.load(path_dir / VOCAB_FILE)
