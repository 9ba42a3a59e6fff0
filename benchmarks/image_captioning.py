"""Wall-clock benchmark of the offline captioning recipe on the shapes world (not a test).

    python benchmarks/image_captioning.py --budget 600 --marks 180,600 --threads 2 --out reports/benchmarks/

Trains ``EncoderCNN(pretrained=False, train_last_stage=True)`` + ``DecoderRNN`` with the
frozen stem's outputs cached once per image (caching counts in the training clock;
evaluation does not), evaluates on the test split every ``--every`` seconds (greedy)
and at each mark (greedy and beam), and prints, side by side, BLEU-4 and semantic
accuracy of the most-frequent-caption baseline, greedy and beam, plus captioning
throughput. Saves ``image_captioning.json`` and ``image_captioning.png`` (BLEU-4 and
semantic accuracy against wall time) in ``--out``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "solutions" / "image_captioning"))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=600, help="training seconds (default 600)")
    parser.add_argument("--marks", default="180,600", help="comma-separated seconds for the greedy/beam table")
    parser.add_argument("--every", type=float, default=60, help="seconds between curve points (default 60)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "benchmarks")
    parser.add_argument("--data-dir", type=Path, default=None, help="shapes world folder (default: generated)")
    parser.add_argument("--eval-images", type=int, default=500, help="test images scored (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--images-per-step", type=int, default=32)
    parser.add_argument("--hidden-size", type=int, default=512)
    parser.add_argument("--embed-size", type=int, default=256)
    parser.add_argument("--schedule", default="cosine", choices=("constant", "cosine"))
    parser.add_argument("--beam-size", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=128, help="encoder input side in pixels (default 128)")
    parser.add_argument("--dropout", type=float, default=0.0)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from cvdata.paths import data_root, shapes_dir
    from cvdata.runtime import seed_everything
    from data_loader import default_transform, get_loader
    from evaluation import caption_images, evaluate, most_frequent_caption_baseline
    from model import ModelConfig
    from training import TrainConfig, train

    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    marks = sorted(float(m) for m in args.marks.split(",") if m.strip())
    budget = max([args.budget] + marks)
    data_dir = args.data_dir or shapes_dir(data_root())
    args.out.mkdir(parents=True, exist_ok=True)
    vocab_file = args.out / "image_captioning_vocab.json"
    transform = default_transform(True, args.image_size)
    loader = get_loader(transform, "train", batch_size=64, vocab_threshold=5, vocab_file=vocab_file,
                        vocab_from_file=False, data_dir=data_dir, seed=args.seed)
    test_loader = get_loader(transform, "test", batch_size=32, vocab_file=vocab_file, data_dir=data_dir)
    test = test_loader.dataset
    if args.eval_images < len(test.image_ids):  # score a fixed prefix of the test split
        keep = set(test.image_ids[: args.eval_images])
        test.image_ids = [i for i in test.image_ids if i in keep]
    vocab = loader.dataset.vocab
    baseline = most_frequent_caption_baseline(loader.dataset, test)
    print(f"{len(loader.dataset.image_ids)} train images, {len(test.image_ids)} test images, "
          f"{len(vocab)} words, {args.threads} thread(s)")
    print(f"baseline caption: {baseline['caption']!r}")

    model_config = ModelConfig(embed_size=args.embed_size, hidden_size=args.hidden_size, vocab_size=len(vocab),
                               pretrained=False, train_last_stage=True, end_index=vocab.end_index,
                               dropout=args.dropout)
    encoder, decoder = model_config.build()
    every = [t for t in range(int(args.every), int(budget), int(args.every)) if t not in marks]
    config = TrainConfig(epochs=1000, time_budget=budget, lr=args.lr, lr_schedule=args.schedule,
                         cache_features=True, images_per_step=args.images_per_step,
                         eval_at=tuple(sorted(set(every) | set(marks))), seed=args.seed, log_every=25)
    table: dict[float, dict] = {}
    points: list[dict] = []

    def on_eval(row, enc, dec, cache):
        point = {"seconds": row["seconds"], "bleu4": row["bleu4"],
                 "semantic_accuracy": row.get("semantic_accuracy")}
        points.append(point)
        line = f"  t={row['seconds']:6.1f}s step {row['step']:5d}  greedy BLEU-4 {row['bleu4']:.3f}  " \
               f"sem-acc {row.get('semantic_accuracy', float('nan')):.3f}"
        due = [m for m in marks if m not in table and row["seconds"] >= m - 1e-6]
        if due or row["seconds"] >= budget - 1e-6:
            beam = evaluate(enc, dec, test_loader, vocab, method="beam", beam_size=args.beam_size, cache=cache)
            line += f"  | beam BLEU-4 {beam['bleu4']:.3f} sem-acc {beam.get('semantic_accuracy', float('nan')):.3f}"
            for m in due or [budget]:
                table[m] = {"seconds": row["seconds"], "greedy": {k: row[k] for k in row if k.startswith(("bleu", "sem"))},
                            "beam": beam}
        print(line, flush=True)

    history = train(encoder, decoder, loader, config, device="cpu", val_data=test_loader,
                    progress=False, callback=on_eval)
    cache_seconds = next((h["cache_seconds"] for h in reversed(history) if "cache_seconds" in h), None)

    # throughput: full encoder from pixels + decoding, on up to 100 test images
    images = {i: test.image(k) for k, i in enumerate(test.image_ids[:100])}
    throughput = {}
    for method in ("greedy", "beam"):
        start = time.perf_counter()
        caption_images(encoder, decoder, images, vocab, method=method, beam_size=args.beam_size)
        throughput[method] = len(images) / (time.perf_counter() - start)

    print(f"\ncaching the frozen stem: {cache_seconds}s of the training clock; "
          f"{history[-1]['step'] if history else 0} steps")
    print(f"{'':28s}{'BLEU-4':>8s}{'sem-acc':>9s}")
    print(f"{'most frequent caption':28s}{baseline['bleu4']:8.3f}{baseline['semantic_accuracy']:9.3f}")
    for mark in sorted(table):
        for method in ("greedy", "beam"):
            s = table[mark][method]
            label = f"{method} after {mark:.0f}s"
            print(f"{label:28s}{s['bleu4']:8.3f}{s.get('semantic_accuracy', float('nan')):9.3f}")
    print(f"throughput (from pixels, {args.threads} thread(s)): greedy {throughput['greedy']:.1f} captions/s, "
          f"beam-{args.beam_size} {throughput['beam']:.1f} captions/s")

    report = {"args": {k: str(v) for k, v in vars(args).items()}, "baseline": baseline,
              "marks": {str(k): v for k, v in table.items()}, "curve": points, "history": history,
              "cache_seconds": cache_seconds, "throughput_captions_per_s": throughput}
    (args.out / "image_captioning.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    plot(points, baseline, args.out / "image_captioning.png", args.threads)
    print(f"wrote {args.out / 'image_captioning.json'} and {args.out / 'image_captioning.png'}")
    return 0


def plot(points: list[dict], baseline: dict, path: Path, threads: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    seconds = [p["seconds"] for p in points]
    ax.plot(seconds, [p["bleu4"] for p in points], "o-", label="BLEU-4 (greedy)")
    ax.plot(seconds, [p["semantic_accuracy"] for p in points], "s-", label="semantic accuracy (greedy)")
    ax.axhline(baseline["bleu4"], ls="--", c="C0", alpha=0.5, label="BLEU-4, most frequent caption")
    ax.axhline(baseline["semantic_accuracy"], ls="--", c="C1", alpha=0.5, label="sem-acc, most frequent caption")
    ax.set_xlabel(f"training wall time, s ({threads} CPU thread(s); evaluation excluded)")
    ax.set_ylim(0, 1)
    ax.set_title("Shapes world test split, ResNet-50 without ImageNet weights")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
