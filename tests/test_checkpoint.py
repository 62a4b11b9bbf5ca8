"""Checkpoints: no pickle is ever loaded, damage is refused with one line, resume is exact."""

import json
import os
import pickle
import shutil

import numpy as np
import pytest
import torch

from divertimento.cli import main
from divertimento.config import config_from_dict
from divertimento.data.dataset import load_prepared
from divertimento.data.prepare import content_hash
from divertimento.errors import UserError
from divertimento.models.files import list_checkpoints, module_state, read_file
from divertimento.sample.sampler import load_sampler
from divertimento.train.loop import train

from .conftest import TINY


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("name", ["evil.pt", "evil.ckpt", "evil.safetensors"])
def test_pickle_posing_as_checkpoint_runs_no_code(tmp_path, name, capsys):
    marker = tmp_path / "PWNED"
    path = tmp_path / name
    with open(path, "wb") as f:
        pickle.dump({"state": Evil(marker)}, f)
    code = main(["generate", "--model", str(path), "--n", "1", "--out", str(tmp_path / "o")])
    assert code == 2 and not marker.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a divertimento model" in err[0]
    torch.save({"x": torch.zeros(1)}, tmp_path / "zip.pt")  # a genuine torch zip file is refused too
    with pytest.raises(UserError):
        read_file(tmp_path / "zip.pt")


def test_truncated_and_corrupted_model_refused(tiny_run, tmp_path):
    data = (tiny_run / "model.safetensors").read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated|corrupted"):
        load_sampler(tmp_path / "trunc.safetensors")
    flipped = bytearray(data)
    flipped[10:20] = b"\xff" * 10  # damage the JSON header
    (tmp_path / "bad.safetensors").write_bytes(bytes(flipped))
    with pytest.raises(UserError):
        load_sampler(tmp_path / "bad.safetensors")


def test_checkpoint_holds_complete_state(tiny_run):
    ckpts = list_checkpoints(tiny_run)
    assert [c.name for c in ckpts] == ["step-00000004.safetensors", "step-00000008.safetensors"]
    header, tensors = read_file(ckpts[-1])
    assert header["step"] == 8 and header["config"]["steps"] == 8
    for prefix in ("G", "D", "model"):  # model: the EMA generator, what is sampled
        assert module_state(tensors, prefix)
    assert "rng.state" in tensors and "rng.torch" in tensors
    assert any(k.startswith("opt_G.") for k in tensors) and any(k.startswith("opt_D.") for k in tensors)
    assert header["family"] == "gan" and header["model_modules"] == ["model"]
    assert not any(k.startswith(("G._orig_mod", "G.module")) for k in tensors)


def test_resume_is_exact(small_data, tmp_path):
    # every stateful term on: lazy R1, mode seeking, the VAE-GAN encoder
    terms = dict(ckpt_every=3, r1_gamma=1.0, r1_interval=2, ms_weight=0.5, recon_weight=1.0)
    cfg = config_from_dict(dict(TINY, steps=6, **terms))
    train(small_data, tmp_path / "straight", cfg, progress=False)
    # the same run stopped after 3 steps, then resumed to 6
    train(small_data, tmp_path / "stopped", config_from_dict(dict(TINY, steps=3, **terms)), progress=False)
    train(small_data, tmp_path / "stopped", cfg, resume=True, progress=False)
    _, a = read_file(list_checkpoints(tmp_path / "straight")[-1])
    _, b = read_file(list_checkpoints(tmp_path / "stopped")[-1])
    assert set(a) == set(b) and any(k.startswith("E.") for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("family, keys", [
    ("mle", {"hidden": 16, "layers": 2, "embed": 4, "dropout": 0.2, "lr_final": 0.1, "lr_decay_steps": 4}),
    ("vae", {"enc_channels": 32, "kl_warmup": 4}),
])
def test_resume_is_exact_for_the_likelihood_families(small_data, tmp_path, family, keys):
    # dropout draws from torch's global stream and the VAE's noise from the run's: both must be restored; a fixed
    # decay horizon keeps the learning rate of every update independent of the step budget
    # a grid at step 3 of one run and at the stop of the other: sampling mid-run must not disturb either stream
    run = dict(TINY, family=family, ckpt_every=2, sample_every=3, sample_count=1, **keys)
    train(small_data, tmp_path / "straight", config_from_dict(dict(run, steps=4)), progress=False)
    train(small_data, tmp_path / "stopped", config_from_dict(dict(run, steps=2)), progress=False)
    train(small_data, tmp_path / "stopped", config_from_dict(dict(run, steps=4)), resume=True, progress=False)
    _, a = read_file(tmp_path / "straight" / "model.safetensors")
    _, b = read_file(tmp_path / "stopped" / "model.safetensors")
    assert set(a) == set(b) and len(a) > 4
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_init_from_starts_from_another_runs_generator(small_data, tiny_run, tmp_path):
    cfg = config_from_dict(dict(TINY, steps=1, init_from=str(tiny_run), lr=1e-12, lr_d=1e-12, ema_kimg=0))
    train(small_data, tmp_path / "ft", cfg, progress=False)
    _, src = read_file(list_checkpoints(tiny_run)[-1])
    _, dst = read_file(tmp_path / "ft" / "model.safetensors")
    # one step at a vanishing learning rate: the new G_ema equals the source's G_ema to float precision
    for k, v in module_state(dst, "model").items():
        assert torch.allclose(v, src[f"model.{k}"], atol=1e-6), k


def test_resume_refuses_other_data(small_data, tiny_run, tmp_path):
    other, run = tmp_path / "other", tmp_path / "run"
    shutil.copytree(small_data, other)
    shutil.copytree(tiny_run, run)
    # a complete, hash-consistent dataset with different content: one training window fewer
    data = load_prepared(other)
    train_split = {k: v[:-1] for k, v in data.splits["train"].items()}
    np.savez_compressed(other / "train.npz", **train_split)
    m = json.loads((other / "manifest.json").read_text())
    m["content_hash"] = content_hash(dict(data.splits, train=train_split))
    (other / "manifest.json").write_text(json.dumps(m))
    load_prepared(other)
    with pytest.raises(UserError, match="other data"):
        train(other, run, config_from_dict(dict(TINY, steps=12)), resume=True, progress=False)


def test_existing_run_dir_needs_resume(small_data, tiny_run):
    with pytest.raises(UserError, match="--resume"):
        train(small_data, tiny_run, config_from_dict(TINY), progress=False)


def test_resume_continues_the_frozen_budget_unless_told(small_data, tmp_path, capsys):
    from .conftest import TINY_MLE

    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps({k: v for k, v in TINY_MLE.items() if k != "steps"}))  # no steps key: default 10,000
    run = tmp_path / "run"
    base = ["train", "--data", str(small_data), "--out", str(run), "--config", str(cfg), "--quiet"]
    assert main(base + ["--set", "steps=4", "--set", "ckpt_every=2"]) == 0
    (run / "model.safetensors").unlink()  # as if killed before the end: resume from the step-4 checkpoint
    assert main(base + ["--resume"]) == 0  # steps not repeated: the run's own budget, not the default
    assert json.loads((run / "config.json").read_text())["steps"] == 4
    header = read_file(run / "model.safetensors")[0]
    assert header["step"] == 4 and header["final_stats"]["step"] == 4  # the last row logged before the kill
    assert "trained to step 4 in" in capsys.readouterr().out
    assert main(base + ["--resume", "--set", "steps=6"]) == 0  # told: the budget grows
    assert read_file(run / "model.safetensors")[0]["step"] == 6


def test_sigterm_stops_with_its_own_status():
    import os
    import signal

    from divertimento.train.stop import StopOnSignal, StopRequested

    with StopOnSignal() as stop:
        os.kill(os.getpid(), signal.SIGTERM)  # handled: the step in progress goes on
        assert stop.requested
        with pytest.raises(StopRequested) as e:
            stop.stop("stopped")
    assert e.value.code == 143 and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.parametrize("signum, status", [(2, 130)])  # Ctrl-C; SIGTERM takes the same path (above)
def test_a_signal_writes_a_checkpoint_and_resume_goes_on(small_data, tmp_path, signum, status):
    import subprocess
    import sys
    import time

    from .conftest import TINY_MLE

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "divertimento.cli", "train", "--data", str(small_data), "--out", str(run), "--quiet",
           *[f"--set={k}={v}" for k, v in dict(TINY_MLE, steps=100_000, log_every=5, ckpt_every=100_000).items()]]
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "stats.jsonl").exists() or not (run / "stats.jsonl").read_text().strip():
        assert time.monotonic() < deadline and p.poll() is None
        time.sleep(0.2)
    p.send_signal(signum)  # before the first checkpoint (every 100,000 steps)
    assert p.wait(timeout=120) == status
    assert "train --resume continues" in p.stderr.read()
    ckpts = list_checkpoints(run)
    assert len(ckpts) == 1
    step = read_file(ckpts[0])[0]["step"]
    assert 5 <= step < 100_000
    # the killed run's rows after its checkpoint are gone; resume continues from that step
    assert all(r["step"] <= step for r in map(json.loads, (run / "stats.jsonl").read_text().splitlines()))
    assert main(["train", "--data", str(small_data), "--out", str(run), "--quiet", "--resume",
                 "--set", f"steps={step + 5}"]) == 0
    assert read_file(run / "model.safetensors")[0]["step"] == step + 5


def test_rows_logged_after_the_last_checkpoint_are_not_doubled(small_data, tmp_path):
    from .conftest import TINY_MLE

    run = tmp_path / "run"
    train(small_data, run, config_from_dict(dict(TINY_MLE, steps=6, log_every=1, ckpt_every=4)), progress=False)
    # as if killed after step 6 was logged but before its checkpoint and the model were written
    for p in [run / "model.safetensors", *[c for c in list_checkpoints(run) if c.name.endswith("06.safetensors")]]:
        p.unlink()
    train(small_data, run, config_from_dict(dict(TINY_MLE, steps=6, log_every=1, ckpt_every=4)), resume=True,
          progress=False)
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]
