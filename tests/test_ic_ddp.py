"""Image captioning: train.py under torchrun with 2 CPU processes (gloo) keeps the replicas identical."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from ic_import import IC_SOLUTION


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_end_with_identical_weights(backbone_root_small, shapes_small, tmp_path):
    out = tmp_path / "models"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
        str(IC_SOLUTION / "train.py"), "--data-dir", str(shapes_small), "--out", str(out),
        "--epochs", "1", "--max-steps", "3", "--batch-size", "8", "--embed-size", "16", "--hidden-size", "16",
        "--image-size", "64", "--calibrate-images", "8", "--threads", "1", "--quiet",
        "--weight-hash", str(tmp_path / "hash"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CVDATA_ROOT": str(backbone_root_small)}  # the tiny backbone
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    hashes = [(tmp_path / f"hash.rank{r}").read_text().strip() for r in range(2)]
    assert len(hashes[0]) == 64 and hashes[0] == hashes[1]
    assert '"world_size": 2' in result.stdout
    assert {p.name for p in out.iterdir()} >= {"encoder.pt", "decoder.pt", "model_config.json", "vocab.json"}
