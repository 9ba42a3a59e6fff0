"""Benchmark: how good does the reference keypoint network get in a fixed CPU time?

Trains ``solutions/facial_keypoints`` (``Net`` with its default ``NetConfig``,
``train`` with ``TrainConfig``) on the default synthetic faces for each time
mark separately -- the learning rate anneals to zero at the mark, as a student
training for that long would see -- and prints, side by side: the mean-shape
baseline NME, the test NME after each mark with the landmark literature's
AUC@0.1 and failure rate@0.1 (``cvdata.keypoint_metrics``), throughput
(training images/s) and the parameter count. Evaluation time is excluded from
the training clock. The longest run's per-epoch test NME is plotted against
training time, and each mark's cumulative error distribution (CED) beside it.

    python benchmarks/facial_keypoints.py --budget 180 --marks 60,180 --threads 2 --out reports/benchmarks/

Data: ``faces_dir(data_root())`` (run ``python -m cvdata ensure`` first).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

REPO_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = REPO_DIR / "solutions" / "facial_keypoints"
TARGETS = {60.0: 0.15, 180.0: 0.08}
"""The issue's targets: test NME at most this after that many seconds of training (2 CPU cores)."""


def _parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=180.0, help="longest training time in seconds (default 180)")
    parser.add_argument("--marks", default="60,180", help="comma-separated training times to report (default 60,180)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "reports" / "benchmarks",
                        help="folder for the plot and JSON")
    parser.add_argument("--data", type=Path, default=None,
                        help="Udacity-layout folder (default: faces_dir(data_root()))")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=None, help="override TrainConfig.lr")
    parser.add_argument("--batch-size", type=int, default=None, help="override TrainConfig.batch_size")
    parser.add_argument("--loss", default=None, help="override TrainConfig.loss")
    parser.add_argument("--net", default="{}",
                        help='JSON overrides of NetConfig, e.g. \'{"channels": [32, 64, 128, 128]}\'')
    return parser.parse_args(argv)


def _marks(args) -> list[float]:
    marks = sorted({float(m) for m in args.marks.split(",") if m.strip()} | {args.budget})
    marks = [m for m in marks if m <= args.budget]
    if not marks or marks[0] <= 0:
        raise SystemExit(f"--marks must be positive and at most --budget, got {args.marks!r}")
    return marks


def _network_frame_keypoints(dataset, transform) -> np.ndarray:
    """Keypoints of an in-memory dataset's raw samples after ``transform``, normalised. -> (N, 68, 2)."""
    return np.stack([transform(sample)["keypoints"].numpy() for sample in dataset.samples])


def _per_image_nme(net, loader) -> np.ndarray:
    """Per-image test NME of ``net`` in pixels of the 224x224 input (as ``training.evaluate_nme``). -> (N,)."""
    from cvdata.keypoint_metrics import per_image_nme
    from cvdata.keypoints_norm import keypoints_to_pixels

    from data_load import INPUT_SIZE
    from training import predict_keypoints

    preds, truths = [], []
    for batch in loader:
        preds.append(predict_keypoints(net, batch["image"]).cpu())  # (B, 68, 2)
        truths.append(batch["keypoints"])
    return per_image_nme(keypoints_to_pixels(torch.cat(preds), INPUT_SIZE, INPUT_SIZE),
                         keypoints_to_pixels(torch.cat(truths), INPUT_SIZE, INPUT_SIZE))


def _plot_ced(errors: dict, path: Path) -> None:
    """The CED curve of each mark's per-image test NMEs, AUC@0.1 and failure rate in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cvdata.keypoint_metrics import FAILURE_THRESHOLD, auc_at, ced_curve, failure_rate

    fig, ax = plt.subplots(figsize=(6, 4))
    for mark, scores in errors.items():
        grid, fractions = ced_curve(scores, FAILURE_THRESHOLD, steps=201)
        ax.step(grid, fractions, where="post", label=f"{mark:.0f} s: AUC@0.1 {auc_at(scores):.3f}, "
                                                   f"failures {failure_rate(scores):.1%}")
    ax.set(xlabel="NME (inter-ocular)", ylabel="fraction of test faces", xlim=(0, FAILURE_THRESHOLD), ylim=(0, 1.02),
           title="Facial keypoints: cumulative error distribution (test set)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot(curve: list[dict], marks: dict, baseline: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([r["seconds"] for r in curve], [r["val_nme"] for r in curve], "o-",
            label="test NME per epoch (longest run)")
    ax.plot(list(marks), [marks[m]["nme"] for m in marks], "s", ms=9, color="C3", label="separate run per mark")
    targets = {m: t for m, t in TARGETS.items() if m in marks}
    if targets:
        ax.plot(list(targets), list(targets.values()), "k_", ms=22, mew=2, label="target")
    ax.axhline(baseline, color="gray", ls="--", label=f"mean-shape baseline {baseline:.3f}")
    ax.set(xlabel="training time (s, evaluation excluded)", ylabel="NME (inter-ocular)", yscale="log",
           title="Facial keypoints: test NME vs training time")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    args = _parse(argv)
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(PROJECT_DIR))
    from cvdata.errors import DataError
    from cvdata.keypoint_metrics import auc_at, failure_rate, mean_shape_baseline
    from cvdata.paths import data_root, faces_dir

    from data_load import test_transform
    from models import Net, NetConfig
    from training import TrainConfig, make_loaders, train

    data = args.data or faces_dir(data_root())
    net_config = NetConfig(**json.loads(args.net))
    config = TrainConfig(seed=args.seed, epochs=10_000)
    overrides = {k: v for k, v in (("lr", args.lr), ("batch_size", args.batch_size), ("loss", args.loss))
                 if v is not None}
    config = replace(config, **overrides)

    start = time.perf_counter()
    try:
        # every training face trains (no model selection here: the test NME per epoch is the benchmark's curve)
        train_loader, _, test_loader = make_loaders(data, replace(config, val_fraction=0.0))
    except DataError as error:
        raise SystemExit(f"{error}\n(generate the default data with: python -m cvdata ensure)") from None
    print(f"data: {data} ({len(train_loader.dataset)} train / {len(test_loader.dataset)} test images, "
          f"decoded in {time.perf_counter() - start:.1f} s); {args.threads} thread(s)")
    # The average training face, in the frame the network predicts in, guessed for every test image.
    frame = test_transform()
    baseline = mean_shape_baseline(
        _network_frame_keypoints(train_loader.dataset, frame), _network_frame_keypoints(test_loader.dataset, frame)
    )
    print(f"mean-shape baseline NME: {baseline:.4f}")

    results, curve, errors = {}, [], {}
    params = 0
    for mark in _marks(args):
        net = Net(net_config)
        params = sum(p.numel() for p in net.parameters())
        run_config = replace(config, time_budget_s=mark)
        history = train(net, train_loader, test_loader, run_config, device=torch.device("cpu"), progress=False)
        seconds = history[-1]["seconds"]
        images = sum(record["images"] for record in history)
        errors[mark] = _per_image_nme(net, test_loader)
        results[mark] = {"nme": history[-1]["val_nme"], "auc": auc_at(errors[mark]),
                         "failure_rate": failure_rate(errors[mark]), "seconds": seconds, "epochs": len(history),
                         "images_per_s": images / seconds}
        print(f"  {mark:>5.0f} s: NME {history[-1]['val_nme']:.4f}, AUC@0.1 {results[mark]['auc']:.3f}, failure "
              f"rate@0.1 {results[mark]['failure_rate']:.1%} after {len(history)} epochs "
              f"({images / seconds:.0f} images/s)")
        curve = history
    print()
    print(f"{'':24}" + "".join(f"{f'{m:.0f} s':>10}" for m in results))
    print(f"{'test NME':24}" + "".join(f"{r['nme']:>10.4f}" for r in results.values()))
    print(f"{'AUC@0.1':24}" + "".join(f"{r['auc']:>10.3f}" for r in results.values()))
    print(f"{'failure rate@0.1':24}" + "".join(f"{r['failure_rate']:>10.1%}" for r in results.values()))
    print(f"{'target (2 cores)':24}" + "".join(f"{TARGETS[m]:>10.2f}" if m in TARGETS else f"{'-':>10}"
                                               for m in results))
    print(f"{'mean-shape baseline':24}" + "".join(f"{baseline:>10.4f}" for _ in results))
    print(f"{'images/s (training)':24}" + "".join(f"{r['images_per_s']:>10.0f}" for r in results.values()))
    print(f"{'parameters':24}{params:>10,}")
    args.out.mkdir(parents=True, exist_ok=True)
    plot = args.out / "facial_keypoints_nme.png"
    _plot(curve, results, baseline, plot)
    _plot_ced(errors, args.out / "facial_keypoints_ced.png")
    report = {"baseline_nme": baseline, "marks": {str(k): v for k, v in results.items()}, "parameters": params,
              "threads": args.threads, "net_config": asdict(net_config), "train_config": asdict(config), "curve": curve}
    (args.out / "facial_keypoints.json").write_text(json.dumps(report, indent=2))
    print(f"plots: {plot}, {args.out / 'facial_keypoints_ced.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
