"""Two processes under torchrun (gloo on CPU) train one model and stay in sync."""

import json
import os
import subprocess
import sys

import pytest

from .conftest import TINY

# each recipe trains under torchrun through the one trainer (mle stands for the likelihood recipe, which vae shares)
FAMILIES = {"gan": {}, "mle": {"family": "mle", "hidden": 16, "layers": 1, "embed": 4}}


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_two_process_training_stays_in_sync(small_data, tmp_path, family):
    out = tmp_path / "ddp"
    config = dict(TINY, steps=6, ckpt_every=3, **FAMILIES[family])
    sets = [arg for k, v in config.items() for arg in ("--set", f"{k}={v}")]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "divertimento.cli", "train", "--data", str(small_data), "--out", str(out), "--quiet", *sets]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("trained to step 6") == 1  # the main process reports; the other leaves quietly
    summary = json.loads((out / "summary.json").read_text())
    assert summary["processes"] == 2
    assert summary["processes_in_sync"] is True
    # each step consumed batch_size windows per process: kimg counts both
    rows = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    assert rows[-1]["kimg"] == pytest.approx(6 * TINY["batch_size"] * 2 / 1000)
