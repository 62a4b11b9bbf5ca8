"""Train every variant under one budget and set of seeds, sample each the same way, evaluate each the same way.

Output folder::

    OUT/results.json      settings, calibration rows, every run's metrics, per-variant mean/sd over seeds
    OUT/results.md        the tables (docs/ablation.md explains how to read them)
    OUT/plots/*.png       quality vs diversity, per-style coverage and shares, training curves, sweeps
    OUT/runs/<variant>/seed-<s>/   run dirs (model.safetensors, stats.jsonl, summary.json, samples, evaluation)

Re-running with the same OUT reuses finished runs and their evaluations (an interrupted run resumes from its
latest checkpoint), so a killed ablation continues where it stopped.
"""

import hashlib
import json
import math
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..atomic import write_json_atomic
from ..data.dataset import load_prepared
from ..errors import UserError
from ..metrics.cache import code_fingerprint
from ..metrics.sweep import sweep
from ..models.files import latest_checkpoint
from ..models.generator import count_params
from ..sample.sampler import load_sampler
from ..train.loop import read_stats, train
from .evaluate import Evaluator
from .plots import write_plots
from .table import render_markdown, summarise
from .variants import Variant

SCHEMA = 1
DEFAULT_BUDGET_STEPS = 2000  # per variant and seed: 13 variants x 2 seeds took 2.2 h on 2 cores
QUICK_BUDGET_STEPS = 4
DEFAULT_N = 1000  # windows sampled per run (the "no exact duplicates among 1,000 samples")
QUICK_N = 200
SAMPLE_SEED = 7  # every run is sampled at seeds (SAMPLE_SEED, 0..N-1)
EVAL_FILE = "ablation-eval.json"


@dataclass
class AblationSettings:
    data: Path  # prepared dataset
    out: Path  # output folder
    variants: list[Variant]
    seeds: list[int] = field(default_factory=lambda: [0, 1])  # training seeds, the same for every variant
    budget_steps: int | None = None  # updates per run (GAN: generator steps; VAE/AR: optimiser steps)
    budget_minutes: float | None = None  # or: wall-clock per run, turned into steps by a timed probe per variant
    n_samples: int = DEFAULT_N  # windows per evaluated set
    sample_seed: int = SAMPLE_SEED
    temperature: float = 1.0  # sampling temperature of the main evaluation (1 = the model's own distribution)
    reference_split: str = "test"  # held-out split the sets are compared with; novelty is against train
    threads: int = 2  # torch threads for training, sampling and evaluation
    sweep_temperatures: list[float] = field(default_factory=lambda: [0.5, 0.75])
    sweep_truncations: list[float] = field(default_factory=lambda: [0.5, 1.0, 1.5])  # latent models only
    full_calibration: bool = True  # also: one window repeated, copies of training windows, random notes
    overrides: dict = field(default_factory=dict)  # config keys for every variant whose family knows them
    quick: bool = False  # a harness check, not results (marked so in every output)
    keep_checkpoints: bool = False  # GAN training checkpoints are deleted once a run has its model file
    probe_steps: int = 64  # steps of the timing probe that turns --budget-minutes into steps
    command: str = ""  # the command line, recorded in the results

    def resolved_steps(self) -> int | None:
        if self.budget_steps is None and self.budget_minutes is None:
            return QUICK_BUDGET_STEPS if self.quick else DEFAULT_BUDGET_STEPS
        return self.budget_steps

    def validate(self) -> "AblationSettings":
        if self.budget_steps is not None and self.budget_minutes is not None:
            raise UserError("give --budget-steps or --budget-minutes, not both")
        if self.budget_steps is not None and self.budget_steps < 1:
            raise UserError("--budget-steps must be >= 1")
        if self.budget_minutes is not None and not self.budget_minutes > 0:
            raise UserError("--budget-minutes must be > 0")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise UserError("--seeds wants distinct integers, e.g. 0,1")
        if self.n_samples < 10:
            raise UserError("--n must be at least 10 (precision/recall/coverage need more windows than k = 5)")
        if not self.variants:
            raise UserError("no variants to run")
        if self.reference_split not in ("train", "val", "test"):
            raise UserError("--reference-split must be train, val or test")
        for t in [self.temperature, *self.sweep_temperatures]:
            if not 0.05 <= t <= 10:
                raise UserError(f"temperatures must lie in 0.05..10 (got {t})")
        for t in self.sweep_truncations:
            if not 0.05 <= t <= 10:
                raise UserError(f"truncations must lie in 0.05..10 (got {t})")
        return self

    def describe(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("variants", "data", "out", "command")}
        d.update(data=str(self.data), out=str(self.out), variants=[v.name for v in self.variants])
        return d


def clean(x):
    """JSON-safe copy: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _remove_partial(run_dir: Path, root: Path) -> None:
    """Delete an interrupted run dir, only ever below OUT/runs or OUT/probes (folders this runner made)."""
    if run_dir.exists():
        if not _inside(run_dir, root) or run_dir.resolve() == root.resolve():
            raise RuntimeError(f"refusing to delete {run_dir} outside {root}")
        shutil.rmtree(run_dir)


def run_keys(settings: AblationSettings, steps: int) -> dict:
    """Keys the runner sets on every config: budget, seed (added per run), threads, light bookkeeping."""
    return {"steps": steps, "threads": settings.threads, "log_every": max(1, min(100, steps // 40)),
            "sample_every": steps, "sample_count": 4 if settings.quick else 16,
            "ckpt_every": max(1, min(1000, steps)), "keep_ckpts": 1}


def _same_config(run_dir: Path, cfg, ignore: tuple[str, ...] = ("threads",)) -> bool:
    path = run_dir / "config.json"
    if not path.is_file():
        return False
    old = json.loads(path.read_text())
    want = cfg.to_dict()
    # a key added to the config after the run was made is the same when it holds the value every old run had
    defaults = type(cfg)().to_dict()
    old = {**{k: v for k, v in defaults.items() if k not in old}, **old}
    return {k: v for k, v in old.items() if k not in ignore} == {k: v for k, v in want.items() if k not in ignore}


def train_variant(variant: Variant, cfg, data_dir: Path, run_dir: Path, runs_root: Path) -> dict:
    """Train one run unless its model file already exists with the same config; returns its summary.json.
    An interrupted run with the same config resumes from its latest checkpoint; anything else interrupted starts
    again from scratch."""
    if (run_dir / "model.safetensors").is_file():
        if not _same_config(run_dir, cfg):
            raise UserError(f"{run_dir} holds a finished run with another config; use another --out (or delete it)")
        return json.loads((run_dir / "summary.json").read_text())
    resume = run_dir.exists() and latest_checkpoint(run_dir) is not None and _same_config(run_dir, cfg)
    if run_dir.exists() and not resume:
        _remove_partial(run_dir, runs_root)
    train(data_dir, run_dir, cfg, resume=resume, progress=False)
    return json.loads((run_dir / "summary.json").read_text())


def probe_steps_per_second(variant: Variant, settings: AblationSettings, probes_root: Path) -> float:
    """Training speed of a variant (steps/s) from a short run: the time between its logs at P/2 and P steps, so
    model building and the first steps' warm-up are left out."""
    p = max(2, settings.probe_steps - settings.probe_steps % 2)
    keys = dict(run_keys(settings, p), log_every=p // 2, sample_count=1, seed=0)
    cfg = variant.build_config(keys, settings.overrides)
    probe_dir = probes_root / variant.name
    _remove_partial(probe_dir, probes_root)
    train(settings.data, probe_dir, cfg, progress=False)
    rows = read_stats(probe_dir)
    _remove_partial(probe_dir, probes_root)
    dt = rows[-1]["seconds"] - rows[0]["seconds"]
    return (rows[-1]["step"] - rows[0]["step"]) / max(dt, 0.05)


def evaluate_run(sampler, evaluator: Evaluator, settings: AblationSettings, label: str) -> dict:
    """Sample n windows at (sample_seed, i), evaluate them, then the sweeps (each point: n fresh samples)."""
    seeds = [(settings.sample_seed, i) for i in range(settings.n_samples)]
    names = sampler.style_names
    t = time.perf_counter()
    tokens, styles = sampler.generate_tokens(seeds, temperature=settings.temperature)
    sample_s = time.perf_counter() - t
    style_idx = np.array([names.index(s) for s in styles]) if sampler.conditional else None
    t = time.perf_counter()
    metrics, by_style = evaluator.evaluate(evaluator.windows(tokens, label, style_idx))
    eval_s = time.perf_counter() - t
    sweeps = {}
    plan = [("temperature", settings.sweep_temperatures)]
    if sampler.has_latent:
        plan.append(("truncation", settings.sweep_truncations))
    for param, values in plan:
        if not values:
            continue

        def sample(value, param=param):
            kw = {"temperature": value} if param == "temperature" else {"truncation": value,
                                                                         "temperature": settings.temperature}
            tok, _ = sampler.generate_tokens(seeds, **kw)
            return evaluator.windows(tok, f"{label} {param}={value}")

        sweeps[param] = sweep(sample, list(values), evaluator.ref, evaluator.train, param, seed=evaluator.seed)
    return {"metrics": metrics, "coverage_by_style": by_style, "sweeps": sweeps, "sample_seconds": round(sample_s, 2),
            "eval_seconds": round(eval_s, 2), "sampler_params": count_params(sampler.module)}


def eval_key(settings: AblationSettings, data_hash: str, model: Path) -> dict:
    """Everything an evaluation depends on: a cached evaluation is reused only when all of it is unchanged."""
    return {"model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(), "data": data_hash,
            "reference_split": settings.reference_split, "n": settings.n_samples,
            "sample_seed": settings.sample_seed, "temperature": settings.temperature,
            "sweep_temperatures": list(settings.sweep_temperatures),
            "sweep_truncations": list(settings.sweep_truncations), "metrics_code": code_fingerprint()}


def run_one(variant: Variant, seed: int, steps: int, settings: AblationSettings, evaluator: Evaluator,
            data_hash: str, say) -> dict:
    runs_root = settings.out / "runs"
    run_dir = runs_root / variant.name / f"seed-{seed}"
    cfg = variant.build_config(dict(run_keys(settings, steps), seed=seed), settings.overrides)
    t0 = time.perf_counter()
    summary = train_variant(variant, cfg, settings.data, run_dir, runs_root)
    wall = time.perf_counter() - t0
    key = eval_key(settings, data_hash, run_dir / "model.safetensors")
    cached = run_dir / EVAL_FILE
    ev = None
    if cached.is_file():
        old = json.loads(cached.read_text())
        if old.get("key") == key:
            ev = old["evaluation"]
    if ev is None:
        sampler = load_sampler(run_dir / "model.safetensors")
        ev = clean(evaluate_run(sampler, evaluator, settings, f"{variant.name} seed {seed}"))
        write_json_atomic(cached, {"key": key, "evaluation": ev})
    if not settings.keep_checkpoints and (run_dir / "checkpoints").is_dir():
        shutil.rmtree(run_dir / "checkpoints")
    final = summary.get("final_stats") or {}
    m = ev["metrics"]
    say(f"  {variant.name} seed {seed}: {steps} steps in {summary.get('elapsed_s')} s; "
        f"precision {_fmt(m.get('quality/precision'))}, coverage {_fmt(m.get('diversity/coverage'))}, "
        f"copy {_fmt(m.get('novelty/copy_rate'))}")
    return {"seed": seed, "run_dir": os.path.relpath(run_dir, settings.out), "steps": steps,
            "train_seconds": summary.get("elapsed_s"), "wall_seconds": round(wall, 1),
            "kimg": final.get("kimg"), "config": cfg.to_dict(), **ev}


def _fmt(v) -> str:
    return "nan" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.3f}"


def machine_info(threads: int) -> dict:
    return {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "cpu_count": os.cpu_count(), "threads": threads}


def run_ablation(settings: AblationSettings, say=None) -> dict:
    """Run the ablation described by ``settings``; writes OUT/results.json, results.md and plots; returns the
    results dict (what results.json holds)."""
    settings = settings.validate()
    say = say or (lambda s: print(s, file=sys.stderr, flush=True))
    if settings.threads > 0:
        torch.set_num_threads(settings.threads)
    t_start = time.perf_counter()
    data = load_prepared(settings.data)
    if not data.manifest["monophonic"]:
        raise UserError("the ablation runs on monophonic layouts (satb)")
    out = settings.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {out}: {e.strerror}") from None
    data_hash = data.manifest["content_hash"]
    say(f"reference: {settings.data} ({settings.reference_split} split); novelty against its train split")
    evaluator = Evaluator.open(data, settings.reference_split)
    results = {"schema": SCHEMA, "quick": settings.quick,
               "note": ("QUICK RUN: a harness check with a few training steps; these numbers are NOT results"
                        if settings.quick else ""),
               "created": time.strftime("%Y-%m-%d %H:%M:%S"), "command": settings.command,
               "settings": settings.describe(), "machine": machine_info(settings.threads),
               "data": {"dir": str(settings.data), "content_hash": data_hash,
                        "style_names": list(data.style_names),
                        "windows": {s: int(len(v["rolls"])) for s, v in data.splits.items()}},
               "calibration": {}, "variants": {}}

    def save():
        write_json_atomic(out / "results.json", clean(results))

    say("calibration sets")
    for name, ws in evaluator.calibration_sets(settings.n_samples, settings.full_calibration).items():
        metrics, by_style = evaluator.evaluate(ws)
        results["calibration"][name] = {"n": len(ws), "metrics": metrics, "coverage_by_style": by_style}
    save()
    fixed_steps = settings.resolved_steps()
    for v in settings.variants:
        entry = {"family": v.family, "description": v.description, "config": v.config, "runs": []}
        if fixed_steps is None:
            rate = probe_steps_per_second(v, settings, out / "probes")
            steps = max(1, int(round(settings.budget_minutes * 60 * rate)))
            entry["budget"] = {"minutes": settings.budget_minutes, "probe_steps_per_s": round(rate, 3),
                               "steps": steps}
            say(f"{v.name}: {rate:.2f} steps/s in the probe -> {steps} steps for {settings.budget_minutes} min")
        else:
            steps = fixed_steps
            entry["budget"] = {"steps": steps}
        say(f"{v.name} ({v.family}): {len(settings.seeds)} seed(s) x {steps} steps")
        results["variants"][v.name] = entry
        for seed in settings.seeds:
            entry["runs"].append(run_one(v, seed, steps, settings, evaluator, data_hash, say))
            save()
        entry["summary"] = summarise(entry["runs"])
        save()
    if (out / "probes").is_dir():
        _remove_partial(out / "probes", out)
    results["elapsed_s"] = round(time.perf_counter() - t_start, 1)
    results = clean(results)
    say("plots")
    results["plots"] = write_plots(results, out)
    write_json_atomic(out / "results.json", results)
    (out / "results.md").write_text(render_markdown(results))
    say(f"wrote {out / 'results.md'}, {out / 'results.json'} and {len(results['plots'])} plots "
        f"in {results['elapsed_s']:.0f} s")
    return results
