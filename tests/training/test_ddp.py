"""Two CPU processes under torchrun (gloo): each trains its own shard; rank 0 alone writes."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
import torch

from tests.training.conftest import tiny_args
from uir_cli.training.logs import read_train_csv


def test_two_processes_train_together_and_rank_0_writes(tmp_path, pairs):
    if importlib.util.find_spec("torch.distributed.run") is None or not torch.distributed.is_available():
        pytest.skip("torch.distributed (torchrun) is not available in this torch build")
    if not torch.distributed.is_gloo_available():
        pytest.skip("the gloo backend is not available in this torch build")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "uir_cli",
           "train", "--out", str(out), "--data", f"{pairs}:haze", *tiny_args(steps=3, batch_size=2, accumulate=2),
           "--save-every", "2", "--log-every", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    log = proc.stdout + proc.stderr
    assert "2 processes" in log
    assert log.count("finished at step 3/3") == 1  # only rank 0 reports
    ckpt = torch.load(out / "model-last.pt", map_location="cpu", weights_only=True)
    assert ckpt["step"] == 3 and ckpt["uir"]["world_size"] == 2
    assert [r.step for r in read_train_csv(out / "train.csv")] == [1, 2, 3]
    assert sorted(p.name for p in out.glob("model-*.pt")) == ["model-2.pt", "model-3.pt", "model-last.pt"]
