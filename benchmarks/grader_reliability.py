"""How reliable are the grader's short-training checks? (A benchmark, not a test.)

For many seeds, runs the probes behind the "loss falls", "uses the image" and
"sample()" checks on the reference solution and on deliberately broken models,
scores each run with the grader's own scoring functions, and prints how often
each variant passes each check:

- facial keypoints: the reference ``Net``; ``constant`` (ignores the image:
  predicts one learnt shape for every face); ``frozen`` (its weights cannot learn);
  and three designs a student might write instead of the reference, which must
  pass as it does (the grader grades outcomes, not one architecture): ``own-plain``
  (two plain conv layers, no batch norm, average-pooled to 4x4), ``own-bn`` (four
  strided conv + batch norm stages, flattened at 7x7) and ``own-udacity``
  (Udacity's classic: four conv + max-pool layers, a 256-unit linear layer and
  dropout, 9.9 million parameters: about a second per step, so use few seeds).
- image captioning: the reference; ``blind`` (the decoder is fed all-zero image
  features, so its loss still falls); ``no-feedback`` (``sample`` never feeds its
  own words back).

The reference and the student designs should pass every time and each broken
variant fail the check aimed at it every time; the checks' steps and thresholds
are set from these figures.

    python benchmarks/grader_reliability.py --seeds 20 [--project facial_keypoints]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

BROKEN = {
    "facial_keypoints": {
        "reference": ("models.py", ""),
        "constant": ("models.py", """
class Net(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        self.config = config or NetConfig()
        self.shape = nn.Parameter(torch.zeros(136))

    def forward(self, x):
        return self.shape.expand(len(x), 136) + 0 * x.mean()
"""),
        "frozen": ("models.py", """
_Net = Net


class Net(_Net):
    def __init__(self, config=None):
        super().__init__(config)
        for p in list(self.parameters())[:-1]:
            p.requires_grad_(False)
"""),
        "own-plain": ("models.py", """
class Net(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        self.config = config or NetConfig()
        self.body = nn.Sequential(
            nn.AvgPool2d(4), nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(32 * 16, 136))

    def forward(self, x):
        return self.body(x)
"""),
        "own-bn": ("models.py", """
class Net(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        self.config = config or NetConfig()
        layers, c_in = [], 1
        for c_out, stride in ((16, 2), (32, 1), (64, 1), (64, 1)):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                       nn.MaxPool2d(2)]
            c_in = c_out
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * 7 * 7, 136))

    def forward(self, x):
        return self.body(x)
"""),
        "own-udacity": ("models.py", """
class Net(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        self.config = config or NetConfig()
        layers, c_in = [], 1
        for c_out, kernel in ((32, 5), (64, 3), (128, 3), (256, 3)):
            layers += [nn.Conv2d(c_in, c_out, kernel), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(256 * 12 * 12, 256), nn.ReLU(), nn.Dropout(0.3),
                                  nn.Linear(256, 136))

    def forward(self, x):
        return self.body(x)
"""),
    },
    "image_captioning": {
        "reference": ("model.py", ""),
        "blind": ("model.py", """
_Decoder = DecoderRNN


class DecoderRNN(_Decoder):
    def forward(self, features, captions):
        return super().forward(torch.zeros_like(features), captions)

    def sample(self, inputs, states=None, max_len=20, end_index=None):
        return super().sample(torch.zeros_like(inputs), states, max_len, end_index)
"""),
        "no-feedback": ("model.py", """
_Decoder = DecoderRNN


class DecoderRNN(_Decoder):
    def sample(self, inputs, states=None, max_len=20, end_index=None):
        words = []
        with torch.no_grad():
            for _ in range(max_len):
                hidden, states = self.lstm(inputs, states)
                words.append(int(self.linear(hidden.squeeze(1)).argmax(1)))
                if words[-1] == self.end_index:
                    break
        return words
"""),
    },
}

CHECK_IDS = {
    "facial_keypoints": ["training"],
    "image_captioning": ["training", "uses-image", "sample"],
}


def _worker(project: str, folder: Path, args: dict, seeds: list[int]) -> None:
    """In a fresh process in ``folder``: the check's probe for each seed; prints one JSON list."""
    import importlib

    import torch

    torch.set_num_threads(2)
    sys.path.insert(0, str(folder))
    probes = importlib.import_module(f"autograder.probes.{project}")
    probe = probes.short_training if project == "facial_keypoints" else probes.short_run
    values = []
    for seed in seeds:
        from cvdata.runtime import seed_everything

        seed_everything(seed)
        try:
            values.append({"value": probe(**{**args, "seed": seed})})
        except Exception as err:  # noqa: BLE001 -- a broken variant may raise
            values.append({"error": f"{type(err).__name__}: {err}"})
    print("RESULT " + json.dumps(values, default=lambda value: value.tolist()))  # tensors as nested lists


RAW_OUTPUTS = ("outputs", "scores", "true_scores", "shuffled_scores")
"""The probes' raw tensors, which the checks score (sent back from the worker as nested lists)."""


def _tensors(run: dict) -> dict:
    """A worker's run with the probe's raw outputs as tensors again."""
    import torch

    if "value" in run:
        run["value"] = {k: torch.tensor(v) if k in RAW_OUTPUTS else v for k, v in run["value"].items()}
    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--project", choices=sorted(BROKEN), action="append")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        project, folder, probe_args, seeds = args.worker
        _worker(project, Path(folder), json.loads(probe_args), json.loads(seeds))
        return 0

    from autograder.checks import Context, Fail
    from autograder.grader import project_checks
    from autograder.projects import get_project
    from autograder.sandbox import make_sandbox, remove_sandbox

    seeds = list(range(args.seeds))
    for project in args.project or sorted(BROKEN):
        info = get_project(project)
        prepare, checks = project_checks(project)
        wanted = [c for c in checks if c.id in CHECK_IDS[project]]
        box = make_sandbox(info, info.solution_dir)
        ctx = Context(info, box, seed=1)
        prepare(ctx)
        probe_args = {k: v for k, v in wanted[0].args(ctx).items() if k != "seed"}
        print(f"\n{project}: {len(seeds)} seeds; steps and thresholds as in autograder/checks/{project}.py")
        print(f"{'variant':14}" + "".join(f"{c.name[:38]:>40}" for c in wanted) + f"{'s/run':>8}")
        with tempfile.TemporaryDirectory() as temp:
            for variant, (name, extra) in BROKEN[project].items():
                folder = Path(temp) / variant
                shutil.copytree(box.root, folder, ignore=shutil.ignore_patterns(".grader_out"))
                (folder / name).write_text((folder / name).read_text() + extra)
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, __file__, "--worker", project, str(folder), json.dumps(probe_args),
                     json.dumps(seeds)], cwd=folder, capture_output=True, text=True)
                line = next((text for text in done.stdout.splitlines() if text.startswith("RESULT ")), None)
                if line is None:
                    print(f"{variant:14} worker failed: {done.stderr[-500:]}")
                    continue
                runs = [_tensors(run) for run in json.loads(line[len("RESULT "):])]
                passed = {c.id: 0 for c in wanted}
                for run in runs:
                    for check in wanted:
                        if "value" not in run:
                            continue
                        try:
                            fraction = check.score(ctx, run["value"]).fraction
                        except Fail as failed:
                            fraction = failed.scored.fraction
                        passed[check.id] += fraction >= 1.0
                seconds = (time.perf_counter() - started) / len(seeds)
                print(f"{variant:14}" + "".join(f"{passed[c.id]:>33}/{len(runs)} pass" for c in wanted)
                      + f"{seconds:>8.1f}", flush=True)
        remove_sandbox(box)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
