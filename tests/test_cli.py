"""``python -m cvdata``: generate, status and fetch, run as a user would."""
from __future__ import annotations

import os
import socket
import subprocess
import sys


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cvdata", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_help_lists_the_commands():
    out = run("--help")
    assert out.returncode == 0
    for command in ("ensure", "pretrain", "generate", "status", "samples", "fetch"):
        assert command in out.stdout


def test_generate_then_status(tmp_path):
    out = run("generate", "faces", "--root", tmp_path, "--n-train", 6, "--n-test", 3, "--workers", 1)
    assert out.returncode == 0, out.stderr
    out = run("generate", "shapes", "--root", tmp_path, "--n-train", 5, "--n-val", 2, "--n-test", 2, "--n-novel", 2,
              "--workers", 1)
    assert out.returncode == 0, out.stderr
    status = run("status", "--root", tmp_path, "--real-root", tmp_path / "none")
    assert status.returncode == 0
    text = status.stdout
    assert "training       6 labelled rows,      6 images" in text
    assert "test           3 labelled rows,      3 images" in text
    assert "train          5 images,     25 captions,      5 image files" in text
    assert "novel          2 images" in text
    assert "Real Udacity facial keypoints: not present" in text


def test_fetch_offline_is_one_clear_line(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = run("fetch", "faces", "--root", tmp_path, "--base-url", f"http://127.0.0.1:{port}")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "offline" in lines[0] and "Traceback" not in out.stderr


def test_fetch_imagenet_offline_is_one_clear_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = subprocess.run([sys.executable, "-m", "cvdata", "fetch", "imagenet", "--base-url", f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "TORCH_HOME": str(tmp_path)})
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "offline" in out.stderr
    assert not list(tmp_path.rglob("*.pth")), "nothing half-downloaded is taken for the weights"


def test_bad_arguments_exit_non_zero():
    assert run("generate", "faces", "--n-train", "many").returncode == 2
    assert run("fetch", "everything").returncode == 2
