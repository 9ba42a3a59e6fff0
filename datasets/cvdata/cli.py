"""``python -m cvdata``: generate, inspect and fetch the course's data.

    python -m cvdata ensure                 # the default synthetic data and shapes backbone, if missing or stale
    python -m cvdata pretrain               # pretrain the shapes backbone (cached; about 3 minutes)
    python -m cvdata generate faces --n-train 3000 --n-test 600 --seed 68
    python -m cvdata generate shapes --n-train 4000 --seed 2024
    python -m cvdata status                 # what is where
    python -m cvdata samples                # redraw the sample grids in datasets/samples/
    python -m cvdata fetch faces            # Udacity's real data (needs internet)
    python -m cvdata fetch coco --parts annotations,val
    python -m cvdata fetch imagenet         # torchvision's ResNet-50 ImageNet weights

Errors in the data or the network print one line and exit with status 2.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import fields, replace
from pathlib import Path

from .errors import DataError, FetchError
from .paths import GENERATED_DIR, REAL_DIR, SAMPLES_DIR, faces_dir, shapes_dir

KINDS = ("faces", "shapes")
"""The synthetic data sets (``autograder.projects.PROJECTS`` names the one each project reads)."""


def _unknown(kind: str) -> ValueError:
    return ValueError(f"unknown data kind {kind!r}; choose one of: {', '.join(KINDS)}")


def _configs():
    """The two generators' default configs."""
    from .faces import FacesConfig
    from .shapes_world import ShapesConfig

    return {"faces": FacesConfig(), "shapes": ShapesConfig()}


def _generate(kind: str, root: Path, config, workers: int, progress: bool = True) -> dict:
    if kind == "faces":
        from .faces import generate_faces

        return generate_faces(faces_dir(root), config, workers=workers, progress=progress)
    if kind == "shapes":
        from .shapes_world import generate_shapes

        return generate_shapes(shapes_dir(root), config, workers=workers)
    raise _unknown(kind)


def _folder(kind: str, root: Path) -> Path:
    if kind not in KINDS:
        raise _unknown(kind)
    return faces_dir(root) if kind == "faces" else shapes_dir(root)


def cmd_ensure(args) -> None:
    from .meta import is_current

    for kind, config in _configs().items():
        folder = _folder(kind, args.root)
        if is_current(folder, config) and not args.force:
            print(f"{kind}: up to date in {folder}")
            continue
        print(f"{kind}: generating the default data set into {folder}")
        summary = _generate(kind, args.root, config, args.workers)
        print(f"{kind}: {summary.get('counts')} in {summary.get('seconds')} s "
              f"({summary.get('images_per_second')} images/s)")
    if not args.no_backbone:
        cmd_pretrain(argparse.Namespace(root=args.root, force=False))


def cmd_pretrain(args) -> None:
    from .shapes_backbone import BackboneConfig, ensure_backbone, is_current

    overrides = {name: getattr(args, name) for name in ("steps", "seed", "image_size", "batch_size", "arch")
                 if getattr(args, name, None) is not None}
    config = replace(BackboneConfig(), **overrides)
    if is_current(args.root, config) and not args.force:
        print(f"shapes backbone: up to date in {args.root}")
        return
    ensure_backbone(args.root, config, force=args.force)


def cmd_generate(args) -> None:
    config = _configs()[args.kind]
    overrides = {f.name: getattr(args, f.name) for f in fields(config) if getattr(args, f.name, None) is not None}
    config = replace(config, **overrides)
    summary = _generate(args.kind, args.root, config, args.workers)
    print(f"{args.kind}: {summary.get('counts')} in {summary.get('seconds')} s "
          f"({summary.get('images_per_second')} images/s) -> {_folder(args.kind, args.root)}")


def cmd_status(args) -> None:
    from .status import status_report

    print(status_report(args.root, args.real_root))


def cmd_samples(args) -> None:
    from .faces import FacesConfig
    from .faces_grid import write_faces_grid
    from .shapes_world import ShapesConfig, write_shapes_grid

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _generate("faces", root, FacesConfig(n_train=12, n_test=1), workers=1, progress=False)
        _generate("shapes", root, ShapesConfig(n_train=12, n_val=1, n_test=1, n_novel=1), workers=1)
        for path in (write_faces_grid(faces_dir(root), args.out / "faces_grid.png"),
                     write_shapes_grid(shapes_dir(root), args.out / "shapes_grid.png")):
            print(f"wrote {path}")


def cmd_fetch(args) -> None:
    from .fetch import COCO_DEFAULT_PARTS, fetch_coco, fetch_udacity_faces

    if args.dataset == "imagenet":
        from .fetch import fetch_imagenet_weights

        fetch_imagenet_weights(base_url=args.base_url)
    elif args.dataset == "faces":
        fetch_udacity_faces(args.root, base_url=args.base_url)
    else:
        fetch_coco(args.root, args.parts or COCO_DEFAULT_PARTS, base_url=args.base_url)


def _add_config_options(parser: argparse.ArgumentParser, config) -> None:
    for f in fields(config):
        if f.type in ("int", "float", int, float):
            parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name,
                                type=int if f.type in ("int", int) else float,
                                help=f"default {getattr(config, f.name)}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cvdata", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ensure", help="generate the default synthetic data sets (and pretrain the shapes backbone) "
                                      "if missing or stale")
    p.add_argument("--root", type=Path, default=GENERATED_DIR)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--force", action="store_true", help="regenerate even if up to date")
    p.add_argument("--no-backbone", action="store_true", help="skip the shapes backbone (python -m cvdata pretrain)")
    p.set_defaults(func=cmd_ensure)

    p = sub.add_parser("generate", help="generate one synthetic data set with chosen sizes and seed")
    kinds = p.add_subparsers(dest="kind", required=True)
    for kind, config in _configs().items():
        kp = kinds.add_parser(kind)
        kp.add_argument("--root", type=Path, default=GENERATED_DIR)
        kp.add_argument("--workers", type=int, default=2)
        _add_config_options(kp, config)
        kp.set_defaults(func=cmd_generate)

    p = sub.add_parser("pretrain", help="pretrain the captioning encoder's shapes-world backbone (cached)")
    p.add_argument("--root", type=Path, default=GENERATED_DIR, help="the generated-data root holding shapes/")
    p.add_argument("--steps", type=int, help="optimiser steps (default: BackboneConfig.steps)")
    p.add_argument("--seed", type=int)
    p.add_argument("--image-size", dest="image_size", type=int)
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--arch", help="a torchvision ResNet, e.g. resnet18 (default) or resnet34")
    p.add_argument("--force", action="store_true", help="pretrain again even if up to date")
    p.set_defaults(func=cmd_pretrain)

    p = sub.add_parser("status", help="show which data sets are present and where")
    p.add_argument("--root", type=Path, default=GENERATED_DIR)
    p.add_argument("--real-root", type=Path, default=REAL_DIR)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("samples", help="redraw the committed sample grids")
    p.add_argument("--out", type=Path, default=SAMPLES_DIR)
    p.set_defaults(func=cmd_samples)

    p = sub.add_parser("fetch", help="download a real data set (needs internet)")
    p.add_argument("dataset", choices=["faces", "coco", "imagenet"])
    p.add_argument("--root", type=Path, default=REAL_DIR)
    p.add_argument("--parts", help="coco only: comma-separated, from annotations,train,val,test_info,test")
    p.add_argument("--base-url", help="a mirror serving the same archive file names")
    p.set_defaults(func=cmd_fetch)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (DataError, FetchError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
