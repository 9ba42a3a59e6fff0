"""Run-time choices shared by the solutions, the notebooks, the benchmarks and the grader.

One helper each, defined once: which device to train on, how to seed every
random generator, and whether a notebook runs in its quick (CI) mode.
"""
from __future__ import annotations

import os
import random

QUICK_ENV = "COURSE_QUICK"
"""Environment variable: set to 1 to run notebooks in quick mode (tiny training, for CI)."""


def pick_device():
    """The best available ``torch.device``: CUDA, then Apple MPS, then CPU."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (all devices) with ``seed``."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def quick_mode() -> bool:
    """True when ``COURSE_QUICK`` is set to 1/true/yes: notebooks shrink their training runs."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes"}


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process in torch.distributed's default group; ``(0, 1)`` without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1
