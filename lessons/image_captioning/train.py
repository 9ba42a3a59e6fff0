# GENERATED from solutions/image_captioning/train.py by `python -m autograder lessons`.
# Students: nothing to write in this file (given code).
# Course maintainers: edit solutions/image_captioning/train.py, not this file, then regenerate.
"""Train a captioning model from the command line, on one process or many.

    python train.py --epochs 3 --time-budget 600 --data-dir ../../datasets/generated/shapes
    torchrun --nproc_per_node=2 train.py --epochs 3 ...      # DistributedDataParallel

Under ``torchrun`` each process trains on its share of the images (NCCL on
CUDA, gloo on CPU), gradients are averaged every step, and rank 0 writes the
checkpoint (``--out``: ``encoder.pt``, ``decoder.pt``, ``model_config.json``,
``vocab.json``). Without ImageNet weights (the default offline) the encoder
trains its last stage and the frozen stem's outputs are cached once per image;
``--pretrained`` uses ImageNet weights (downloaded by torchvision) and trains
only ``embed``, Udacity's recipe.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from cvdata.runtime import pick_device, seed_everything
from data_loader import default_transform, get_loader
from model import ModelConfig
from training import TrainConfig, save_checkpoint, train


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train the Show and Tell captioning model.")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--time-budget", type=float, default=None, help="seconds of training, then stop")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--data-dir", type=Path, default=None, help="shapes world or COCO 2014 folder")
    p.add_argument("--out", type=Path, default=Path("models"), help="checkpoint folder (default models/)")
    p.add_argument("--batch-size", type=int, default=32,
                   help="images per step with feature caching, else captions per batch (default 32)")
    p.add_argument("--vocab-threshold", type=int, default=5)
    p.add_argument("--embed-size", type=int, default=256)
    p.add_argument("--hidden-size", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", choices=("constant", "cosine"), default="cosine")
    p.add_argument("--pretrained", action="store_true", help="ImageNet weights (needs internet once)")
    p.add_argument("--no-cache", action="store_true", help="run the whole encoder on every step")
    p.add_argument("--image-size", type=int, default=128, help="encoder input side in pixels (default 128)")
    p.add_argument("--calibrate-images", type=int, default=128,
                   help="images that set the frozen BatchNorm statistics without ImageNet weights")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weight-hash", type=Path, default=None,
                   help="write a hash of the trained weights to <path>.rank<r> (checks DDP replicas agree)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def weight_hash(*modules: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer, in state_dict order."""
    digest = hashlib.sha256()
    for module in modules:
        for name, tensor in module.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def setup_distributed() -> tuple[int, int, torch.device]:
    """Join the torchrun process group if there is one: ``(rank, world_size, device)``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, pick_device()
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        dist.init_process_group("nccl")
        return dist.get_rank(), world, torch.device("cuda", local)
    dist.init_process_group("gloo")
    return dist.get_rank(), world, torch.device("cpu")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rank, world, device = setup_distributed()
    try:
        seed_everything(args.seed)  # same initial weights on every rank
        vocab_file = args.out / "vocab.json"
        loader_args = dict(batch_size=args.batch_size, vocab_threshold=args.vocab_threshold, vocab_file=vocab_file,
                           data_dir=args.data_dir, seed=args.seed, distributed=world > 1)
        if rank == 0:  # rank 0 builds the vocabulary file, the others read it
            loader = get_loader(default_transform(True, args.image_size), "train", **loader_args)
        if world > 1:
            dist.barrier()
        if rank != 0:
            loader = get_loader(default_transform(True, args.image_size), "train", **loader_args)
        vocab = loader.dataset.vocab
        config = ModelConfig(embed_size=args.embed_size, hidden_size=args.hidden_size, vocab_size=len(vocab),
                             pretrained=args.pretrained, train_last_stage=not args.pretrained,
                             end_index=vocab.end_index, image_size=args.image_size)
        encoder, decoder = config.build()
        train_config = TrainConfig(epochs=args.epochs, time_budget=args.time_budget, max_steps=args.max_steps,
                                   lr=args.lr, lr_schedule=args.schedule, cache_features=not args.no_cache,
                                   images_per_step=args.batch_size, calibrate_images=args.calibrate_images,
                                   seed=args.seed)
        history = train(encoder, decoder, loader, train_config, device=device, progress=not args.quiet)
        if rank == 0:
            save_checkpoint(args.out, encoder, decoder, vocab, config)
            last = next((h for h in reversed(history) if "loss" in h), {})
            print(json.dumps({"saved": str(args.out), "world_size": world, **last}))
        if args.weight_hash is not None:
            path = Path(f"{args.weight_hash}.rank{rank}")
            path.write_text(weight_hash(encoder, decoder) + "\n", encoding="utf-8")
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
