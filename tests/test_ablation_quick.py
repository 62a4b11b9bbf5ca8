"""A --quick ablation on the small real dataset: every file, the tables, reuse of finished runs, the CLI."""

import json

import numpy as np
import pytest

from divertimento.ablation.evaluate import Evaluator, coverage_by_style
from divertimento.ablation.runner import AblationSettings, run_ablation
from divertimento.ablation.variants import load_variants, select_variants
from divertimento.commands.ablate import main as ablate_main
from divertimento.data.dataset import load_prepared

TINY = {"batch_size": 8, "z_dim": 8, "style_dim": 4, "g_channels": 32, "d_channels": 32, "enc_channels": 32,
        "hidden": 16, "layers": 1, "embed": 4, "kl_warmup": 2}


@pytest.fixture(scope="module")
def quick(small_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("ablation") / "quick"
    settings = AblationSettings(
        data=small_data, out=out, variants=select_variants(load_variants(), "vanilla,vanilla+ms,vae,ar"),
        seeds=[0, 1], budget_steps=3, n_samples=20, threads=1, sweep_temperatures=[0.5], sweep_truncations=[1.0],
        overrides=TINY, quick=True, probe_steps=4)
    lines = []
    results = run_ablation(settings, say=lines.append)
    return out, settings, results, lines


def test_quick_ablation_writes_everything(quick):
    out, settings, results, lines = quick
    assert json.loads((out / "results.json").read_text()) == results
    assert results["quick"] and "NOT results" in results["note"]
    assert list(results["variants"]) == ["vanilla", "vanilla+ms", "vae", "ar"]
    assert set(results["calibration"]) == {"real val vs test", "one window repeated", "copies of training windows",
                                           "random notes"}
    assert results["calibration"]["copies of training windows"]["metrics"]["novelty/copy_rate"] == 1.0
    for v in results["variants"].values():
        assert [r["seed"] for r in v["runs"]] == [0, 1]
        for r in v["runs"]:
            assert r["steps"] == 3 and (out / r["run_dir"] / "model.safetensors").is_file()
            assert not (out / r["run_dir"] / "checkpoints").exists()  # deleted once the model file exists
            assert 0 <= r["metrics"]["diversity/coverage"] <= 1 and "novelty/copy_rate" in r["metrics"]
            assert set(r["coverage_by_style"]) == {"bach", "folk"}
            assert "temperature" in r["sweeps"]
            assert ("truncation" in r["sweeps"]) == (v["family"] != "mle")
        s = v["summary"]["metrics"]["quality/precision"]
        assert s["n"] == 2 and s["mean"] == pytest.approx(np.mean([r["metrics"]["quality/precision"]
                                                                   for r in v["runs"]]))
    # the two seeds really are different runs
    a, b = results["variants"]["vanilla"]["runs"]
    assert a["config"]["seed"] == 0 and b["config"]["seed"] == 1
    for png in results["plots"]:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"plots/quality_vs_diversity.png", "plots/styles.png", "plots/training_curves.png",
            "plots/sweeps.png"} == set(results["plots"])
    md = (out / "results.md").read_text()
    assert md.startswith("> **QUICK RUN — NOT RESULTS.**")
    held = len(load_prepared(settings.data).splits["val"]["rolls"])  # the real row: every val window, up to n
    for row in (f"| *real val vs test* (n={min(held, settings.n_samples)}) |", "| **vanilla** | gan | 3 |",
                "| **vae** | vae | 3 |", "| **ar** | mle | 3 |", "## Issue targets", "## Coverage per style",
                "## Sampling sweeps"):
        assert row in md, row


def test_rerun_reuses_finished_runs(quick):
    out, settings, results, _ = quick
    model = out / results["variants"]["ar"]["runs"][0]["run_dir"] / "model.safetensors"
    before = model.stat().st_mtime_ns
    lines = []
    again = run_ablation(AblationSettings(**{**settings.__dict__, "variants": settings.variants[-1:],
                                              "seeds": [0]}), say=lines.append)
    assert model.stat().st_mtime_ns == before
    assert again["variants"]["ar"]["runs"][0]["metrics"] == results["variants"]["ar"]["runs"][0]["metrics"]


def test_coverage_by_style_adds_up_to_coverage(small_data):
    from divertimento.data.dataset import load_prepared
    from divertimento.metrics.suite import evaluate_set

    data = load_prepared(small_data)
    ev = Evaluator.open(data, "train")
    ws = ev.windows(data.splits["test"]["rolls"], "test")
    res = evaluate_set(ws, ev.ref, ev.train, ["diversity/coverage"], 0)
    by_style = coverage_by_style(res, ev.ref)
    idx, _ = ev.ref.prdc_sample(len(ws))
    counts = np.bincount(ev.ref.style_labels[idx], minlength=2)
    weighted = sum(by_style[n] * counts[i] for i, n in enumerate(ev.ref.style_names)) / counts.sum()
    assert weighted == pytest.approx(res.metrics["diversity/coverage"])


def test_cli(small_data, tmp_path, capsys):
    assert ablate_main(["--list"]) == 0
    assert "vanilla+ms" in capsys.readouterr().out
    assert ablate_main(["--data", str(small_data), "--out", str(tmp_path), "--variants", "nope"]) == 2
    assert "unknown variant" in capsys.readouterr().err
    assert ablate_main(["--data", str(small_data), "--set", "bogus=1"]) == 2
    assert ablate_main(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o"), "--quick",
                        "--variants", "ar"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_budget_minutes_sets_steps_from_a_probe(small_data, tmp_path):
    settings = AblationSettings(
        data=small_data, out=tmp_path / "m", variants=select_variants(load_variants(), "vae"), seeds=[0],
        budget_minutes=0.002, n_samples=12, threads=1, sweep_temperatures=[], sweep_truncations=[],
        full_calibration=False, overrides=TINY, quick=True, probe_steps=4)
    results = run_ablation(settings, say=lambda s: None)
    b = results["variants"]["vae"]["budget"]
    assert b["minutes"] == 0.002 and b["probe_steps_per_s"] > 0
    assert b["steps"] == max(1, round(0.002 * 60 * b["probe_steps_per_s"]))
    assert results["variants"]["vae"]["runs"][0]["steps"] == b["steps"]
    assert not (tmp_path / "m" / "probes").exists()
    assert list(results["calibration"]) == ["real val vs test"]


def test_interrupted_gan_run_resumes_from_its_checkpoint(small_data, tmp_path):
    settings = AblationSettings(
        data=small_data, out=tmp_path / "r", variants=select_variants(load_variants(), "vanilla"), seeds=[0],
        budget_steps=4, n_samples=12, threads=1, sweep_temperatures=[], sweep_truncations=[], full_calibration=False,
        overrides=TINY, quick=True, keep_checkpoints=True)
    first = run_ablation(settings, say=lambda s: None)
    run_dir = tmp_path / "r" / first["variants"]["vanilla"]["runs"][0]["run_dir"]
    assert (run_dir / "checkpoints" / "step-00000004.safetensors").is_file()
    stats_before = (run_dir / "stats.jsonl").read_text()
    for name in ("model.safetensors", "summary.json", "ablation-eval.json"):  # as if killed after the checkpoint
        (run_dir / name).unlink()
    again = run_ablation(settings, say=lambda s: None)
    assert (run_dir / "model.safetensors").is_file()
    assert (run_dir / "stats.jsonl").read_text() == stats_before  # resumed at step 4: nothing retrained
    assert again["variants"]["vanilla"]["runs"][0]["metrics"] == first["variants"]["vanilla"]["runs"][0]["metrics"]
