"""Wall-clock benchmark of the offline captioning recipe on the shapes world (not a test).

    python benchmarks/image_captioning.py [--marks 60,120,180,300] [--pretrain] [--threads 2] [--seed 0]

1. The course's shapes-world backbone (``python -m cvdata pretrain``): its pretraining
   time and validation figures (``--pretrain`` pretrains it again to time it; otherwise
   the cached one is used, pretrained first if missing).
2. Show and Tell on top of it, frozen, with its pooled features cached once per
   image (the caching counts in the training clock, evaluation does not): at each
   mark, greedy and beam BLEU-4 and semantic accuracy on the test split, on the
   novel split, and on the test images with 1, 2 and 3 objects.
3. Show, Attend and Tell (``attention.py``) on the same backbone's 4 x 4 grid, the
   same way, then side by side with Show and Tell (greedy semantic accuracy by object
   count and on the novel split, and the margins), and the grader's spatial figure.

Prints the most-frequent-caption baseline beside them and captioning throughput;
saves ``image_captioning.json`` and ``image_captioning.png`` in ``--out``.
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
    from train import RECIPE_HIDDEN  # the offline recipe's sizes, from train.py

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marks", default="60,120,180,300", help="training seconds at which to evaluate")
    parser.add_argument("--pretrain", action="store_true", help="pretrain the shapes backbone again (to time it)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "benchmarks")
    parser.add_argument("--root", type=Path, default=None, help="generated-data root (default: datasets/generated)")
    parser.add_argument("--seed", type=int, default=0, help="caption training seed")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--images-per-step", type=int, default=32)
    parser.add_argument("--hidden-size", type=int, default=RECIPE_HIDDEN)
    parser.add_argument("--embed-size", type=int, default=256)
    parser.add_argument("--schedule", default="cosine", choices=("constant", "cosine"))
    parser.add_argument("--beam-size", type=int, default=3)
    return parser.parse_args(argv)


def _loaders(data_dir: Path, image_size: int, vocab_file: Path):
    from data_loader import default_transform, get_loader

    transform = default_transform(False, image_size)
    train = get_loader(transform, "train", batch_size=32, vocab_threshold=5, vocab_file=vocab_file,
                       vocab_from_file=False, data_dir=data_dir)
    splits = {split: get_loader(transform, "test", batch_size=32, vocab_file=vocab_file, data_dir=data_dir,
                                split=split) for split in ("test", "novel")}
    return train, splits


def _scores(encoder, decoder, loader, cache, vocab, beam_size: int) -> dict:
    """Greedy and beam scores of one split, and on the test split per object count."""
    from evaluation import caption_images, score_by_object_count, score_captions

    out = {}
    for method in ("greedy", "beam"):
        captions = caption_images(encoder, decoder, loader, vocab, method=method, beam_size=beam_size, cache=cache)
        out[method] = {**score_captions(captions, loader.dataset),
                       "by_objects": score_by_object_count(captions, loader.dataset)}
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from cvdata.paths import data_root, shapes_dir
    from cvdata.runtime import seed_everything
    from cvdata.shapes_backbone import backbone_path, ensure_backbone, read_backbone

    from attention import AttentionConfig
    from evaluation import most_frequent_caption_baseline
    from model import ModelConfig
    from train import ATTENTION_EMBED

    torch.set_num_threads(args.threads)
    root = args.root or data_root()
    data_dir = shapes_dir(root)
    marks = sorted(float(m) for m in args.marks.split(",") if m.strip())
    args.out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    ensure_backbone(root, force=args.pretrain)
    record = read_backbone(backbone_path(root))
    pretrain = {"config": record["config"], "metrics": record["metrics"], "weights_hash": record["weights_hash"],
                "seconds_this_run": round(time.perf_counter() - start, 1)}
    print(f"backbone: {record['config']['arch']} at {record['config']['image_size']} px, "
          f"{record['config']['steps']} steps in {record['metrics']['train_seconds']} s "
          f"({'pretrained now' if args.pretrain else 'cached'}); validation exact match {record['metrics'].get('val')}")

    vocab_file = args.out / "image_captioning_vocab.json"
    image_size = record["config"]["image_size"]
    train_loader, splits = _loaders(data_dir, image_size, vocab_file)
    vocab = train_loader.dataset.vocab
    baseline = {split: most_frequent_caption_baseline(train_loader.dataset, loader.dataset)
                for split, loader in splits.items()}
    print(f"{len(train_loader.dataset.image_ids)} train images, {len(vocab)} words, {args.threads} thread(s); "
          f"baseline caption {baseline['test']['caption']!r}")

    models = {}
    for name in ("Show and Tell", "attention"):
        seed_everything(args.seed)
        if name == "attention":
            encoder, decoder = AttentionConfig(vocab_size=len(vocab), embed_size=ATTENTION_EMBED,
                                               hidden_size=args.hidden_size, end_index=vocab.end_index,
                                               weights="shapes").build()
        else:
            encoder, decoder = ModelConfig(embed_size=args.embed_size, hidden_size=args.hidden_size,
                                           vocab_size=len(vocab), end_index=vocab.end_index, weights="shapes").build()
        print(f"{name}:")
        models[name] = _train_at_marks(encoder, decoder, train_loader, splits, vocab, marks, args)
        if name == "attention":
            models[name]["spatial"] = _spatial(encoder, decoder, splits["test"], models[name]["caches"]["test"], vocab)
            print(f"  spatial: on {models[name]['spatial']['images']} one-object test images the shape word put "
                  f"{models[name]['spatial']['mass']:.3f} of its attention on the object's cells "
                  f"(uniform: {models[name]['spatial']['chance']:.3f})")

    for name, run in models.items():
        _print_table(name, run["table"], baseline, run["throughput"], args)
    _print_pretraining(pretrain)
    _print_side_by_side(models)
    report = {"args": {k: str(v) for k, v in vars(args).items()}, "pretraining": pretrain, "baseline": baseline,
              "models": {name: {"marks": {str(k): v for k, v in run["table"].items()}, "history": run["history"],
                                "throughput_captions_per_s": run["throughput"], "spatial": run.get("spatial")}
                         for name, run in models.items()}}
    (args.out / "image_captioning.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    plot(models, baseline, args.out / "image_captioning.png", args.threads)
    print(f"wrote {args.out / 'image_captioning.json'} and {args.out / 'image_captioning.png'}")
    return 0


def _train_at_marks(encoder, decoder, train_loader, splits, vocab, marks, args) -> dict:
    """Train one model for ``max(marks)`` seconds, scoring it on every split at each mark; then time captioning."""
    from evaluation import caption_images
    from features import FeatureCache
    from training import TrainConfig, train

    caches = {split: FeatureCache(encoder, loader.dataset).fill() for split, loader in splits.items()}
    table: dict[float, dict] = {}

    def on_eval(row, enc, dec, _cache):
        mark = next((m for m in marks if m not in table and row["seconds"] >= m - 1e-6), None)
        if mark is None:
            return
        table[mark] = {"seconds": row["seconds"], "step": row["step"],
                       **{split: _scores(enc, dec, splits[split], caches[split], vocab, args.beam_size)
                          for split in splits}}
        t = table[mark]
        print(f"  {mark:5.0f} s (step {row['step']}): test greedy BLEU-4 {t['test']['greedy']['bleu4']:.3f} "
              f"sem {t['test']['greedy']['semantic_accuracy']:.3f} | beam {t['test']['beam']['bleu4']:.3f} "
              f"{t['test']['beam']['semantic_accuracy']:.3f} | novel greedy sem "
              f"{t['novel']['greedy']['semantic_accuracy']:.3f}", flush=True)

    config = TrainConfig(epochs=1000, time_budget_s=max(marks), lr=args.lr, lr_schedule=args.schedule,
                         cache_features=True, images_per_step=args.images_per_step, eval_at=tuple(marks),
                         seed=args.seed, log_every=25)
    history = train(encoder, decoder, train_loader, config, device="cpu", val_data=splits["test"],
                    progress=False, callback=on_eval)
    on_eval(history[-1], encoder, decoder, None)  # the last mark, if the epoch's end fell just short of it

    images = {i: splits["test"].dataset.image(k) for k, i in enumerate(splits["test"].dataset.image_ids[:100])}
    throughput = {}
    for method in ("greedy", "beam"):
        started = time.perf_counter()
        caption_images(encoder, decoder, images, vocab, method=method, beam_size=args.beam_size)
        throughput[method] = len(images) / (time.perf_counter() - started)
    return {"table": table, "history": history, "throughput": throughput, "caches": caches}


def _spatial(encoder, decoder, loader, cache, vocab) -> dict:
    """The grader's spatial figure on the test split: the shape word's attention mass on the object's cells,
    over the one-object images, and uniform attention's."""
    import torch

    from cvdata.attention_maps import spatial_figure

    dataset = loader.dataset
    with torch.no_grad():
        grids = encoder.eval().head(cache.get(range(len(dataset.image_ids))))
        ids, alphas = decoder.eval().sample(grids, max_len=20, end_index=vocab.end_index)
    objects = [dataset.objects[image_id] for image_id in dataset.image_ids]
    words = [[vocab.idx2word[i] for i in caption] for caption in ids]
    figure = spatial_figure(objects, words, [a.numpy() for a in alphas], dataset.original_image(0).shape[0])
    figure.pop("examples")  # which images counted: the grader's report shows some, the benchmark needs none
    return figure


def _print_pretraining(pretrain: dict) -> None:
    print(f"\npretraining the shapes backbone: {pretrain['metrics']['train_seconds']} s of training "
          f"({pretrain['metrics']['threads']} thread(s), bfloat16 {pretrain['metrics']['bfloat16']}), "
          f"+ {pretrain['metrics']['load_seconds']} s reading images")


def _print_side_by_side(models: dict) -> None:
    """Greedy semantic accuracy of both models at each mark, by object count and on the novel split, and the margin."""
    (first, a), (second, b) = models.items()
    counts = sorted({n for t in a["table"].values() for n in t["test"]["greedy"]["by_objects"]})
    columns = [f"{n} obj" for n in counts] + ["test", "novel"]

    def row(t):
        return [t["test"]["greedy"]["by_objects"].get(n, {}).get("semantic_accuracy", float("nan")) for n in counts] \
            + [t["test"]["greedy"]["semantic_accuracy"], t["novel"]["greedy"]["semantic_accuracy"]]

    print(f"\nsemantic accuracy, greedy: {first} | {second} | margin ({second} - {first})")
    print(f"{'':12s}" + "".join(f"{c:>22s}" for c in columns))
    for mark in sorted(set(a["table"]) & set(b["table"])):
        cells = zip(row(a["table"][mark]), row(b["table"][mark]))
        print(f"{f'after {mark:.0f} s':12s}" + "".join(f"{x:7.3f} |{y:6.3f} |{y - x:+6.3f}" for x, y in cells))


def _print_table(name: str, table: dict, baseline: dict, throughput: dict, args) -> None:
    counts = sorted({n for t in table.values() for n in t["test"]["greedy"]["by_objects"]})
    print(f"\n{name}")
    header = f"{'':24s}{'test BLEU-4':>12s}{'test sem':>9s}{'novel BLEU-4':>13s}{'novel sem':>10s}" + \
             "".join(f"{f'sem {n} obj':>10s}" for n in counts)
    print(header)
    print(f"{'most frequent caption':24s}{baseline['test']['bleu4']:12.3f}{baseline['test']['semantic_accuracy']:9.3f}"
          f"{baseline['novel']['bleu4']:13.3f}{baseline['novel']['semantic_accuracy']:10.3f}")
    for mark in sorted(table):
        for method in ("greedy", "beam"):
            test, novel = table[mark]["test"][method], table[mark]["novel"][method]
            label = f"{method} after {mark:.0f} s"
            print(f"{label:24s}{test['bleu4']:12.3f}{test['semantic_accuracy']:9.3f}{novel['bleu4']:13.3f}"
                  f"{novel['semantic_accuracy']:10.3f}" +
                  "".join(f"{test['by_objects'].get(n, {}).get('semantic_accuracy', float('nan')):10.3f}"
                          for n in counts))
    print(f"throughput (from pixels, {args.threads} thread(s)): greedy {throughput['greedy']:.1f} captions/s, "
          f"beam-{args.beam_size} {throughput['beam']:.1f} captions/s")


def plot(models: dict, baseline: dict, path: Path, threads: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, split in zip(axes, ("test", "novel")):
        for colour, (name, run) in zip(("C1", "C2"), models.items()):
            table = run["table"]
            seconds = sorted(table)
            for method, style in (("greedy", "o-"), ("beam", "s--")):
                ax.plot(seconds, [table[s][split][method]["semantic_accuracy"] for s in seconds], style, c=colour,
                        label=f"{name}: semantic accuracy ({method})")
            ax.plot(seconds, [table[s][split]["greedy"]["bleu4"] for s in seconds], "o:", c=colour, alpha=.6,
                    label=f"{name}: BLEU-4 (greedy)")
        ax.axhline(baseline[split]["semantic_accuracy"], ls=":", c="gray", label="most frequent caption (semantic)")
        ax.set_title(f"{split} split")
        ax.set_xlabel(f"caption training, s ({threads} CPU threads; evaluation excluded)")
        ax.set_ylim(0, 1)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle("Show and Tell and Show, Attend and Tell on the course's frozen shapes-world ResNet-18")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
