# GENERATED from solutions/facial_keypoints/train.py by `python -m autograder lessons`.
# Students: nothing to write in this file (given code).
# Course maintainers: edit solutions/facial_keypoints/train.py, not this file, then regenerate.
"""Train the keypoint network from the command line (what notebook 2 does, without the pictures).

    python train.py                                    # synthetic faces, 3 minutes on a CPU
    python train.py --time-budget 60                   # a one-minute run
    python train.py --loss mse --optimizer sgd --lr 0.06   # notebook 2's choices
    python train.py --data ../../datasets/real/facial_keypoints --epochs 40   # Udacity's faces, on a GPU

Saves ``saved_models/keypoints_model.pt`` (``--out``): the weights with the
``NetConfig`` and ``TrainConfig`` they were made with, which notebooks 3 and 4
and the grader load. Prints the test NME per epoch. The device is picked by
``cvdata.runtime.pick_device`` (CUDA, then Apple MPS, then the CPU).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cvdata.errors import DataError
from cvdata.paths import data_root, faces_dir
from cvdata.runtime import pick_device

from models import Net
from training import LOSSES, MODEL_PATH, OPTIMIZERS, TrainConfig, evaluate_nme, make_loaders, save_checkpoint, train


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train the facial keypoints network.")
    parser.add_argument("--data", type=Path, default=None,
                        help="Udacity-layout folder (default: the synthetic faces under datasets/generated/)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH, help=f"checkpoint path (default {MODEL_PATH})")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs (default: 10000 on a CPU, stopped by the time budget; 40 on a GPU); "
                             "given, they all run unless --time-budget is given too")
    parser.add_argument("--time-budget", type=float, default=None,
                        help="seconds of training (default: 180 on a CPU, none on a GPU)")
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--loss", choices=sorted(LOSSES), default=TrainConfig.loss)
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=TrainConfig.optimizer)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (GPU: 4 or more)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def train_config(args: argparse.Namespace, on_cpu: bool) -> TrainConfig:
    """The ``TrainConfig`` of a command line: an explicit ``--epochs`` is a fixed amount of training (the same
    model on any machine), so only without it does the CPU get its default time budget."""
    budget = args.time_budget if args.time_budget is not None or args.epochs else (180.0 if on_cpu else None)
    return TrainConfig(epochs=args.epochs or (10_000 if on_cpu else 40), time_budget_s=budget,
                       batch_size=args.batch_size, lr=args.lr, loss=args.loss, optimizer=args.optimizer,
                       num_workers=args.workers, seed=args.seed)


def main(argv=None) -> int:
    args = parse_args(argv)
    device = pick_device()
    config = train_config(args, device.type == "cpu")
    data = args.data or faces_dir(data_root())
    try:
        train_loader, val_loader, test_loader = make_loaders(data, config)
    except DataError as error:
        print(f"{error}\n(synthetic data: python -m cvdata ensure; Udacity's: python -m cvdata fetch faces)",
              file=sys.stderr)
        return 1
    print(f"training on {data} ({len(train_loader.dataset)} faces) on {device}: {config}")
    net = Net()
    history = train(net, train_loader, val_loader, config, device=device, progress=not args.quiet)
    test = evaluate_nme(net, test_loader, device)  # once, at the end: the choices were made on validation
    path = save_checkpoint(net.cpu(), args.out, config)
    val = history[-1]["val_nme"]
    print(f"validation NME {val:.4f}, " if val is not None else "", end="")
    print(f"test NME {test:.4f} after {len(history)} epoch(s), {history[-1]['seconds']:.0f} s; saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
