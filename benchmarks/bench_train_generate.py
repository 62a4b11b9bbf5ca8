"""Speed of training and generation for every model family through one interface, side by side with the MuseGAN
tutorial model trained on the same data, and the share of the machine's own float32 peak the training reaches.

    python benchmarks/bench_train_generate.py [DATA_DIR | --data DATA_DIR] [--json out.json] [--quick]

DATA_DIR is a prepared dataset (default data/default: `divertimento prepare --out data/default`; any prepared
folder will do, e.g. `divertimento prepare music21:bach --out /tmp/bach`).

Training: each family (gan: configs/gan-base.json, vae: the family's defaults, mle: configs/mle.json) is built by
``train.recipes.make_recipe`` and stepped by ``recipe.step`` on real batches from ``train.batches.BatchSampler``,
exactly as ``divertimento train`` does; ``--warmup`` steps are run first and not timed, then ``--steps`` timed
steps. Windows/s counts windows the way the trainer logs ``windows_per_s`` (``recipe.windows_per_step``: for a
GAN, one batch per D update plus the G update's batch). FLOPs: benchmarks/flops.py (forward counted with hooks,
training = 3x forward); the peak is the best rate of a large float32 matmul, measured before and after the
training runs with the same torch thread count, so a busy shared machine shows as a drop between the two.

Generation: the shipped models ("mle", "gan") through ``load_sampler`` and the VAE's decoder just trained (its
speed does not depend on training) wrapped in a ``Sampler``, all through ``Sampler.generate_tokens``: windows/s
for one call of ``--gen-windows`` windows (in the sampler's default batches), and the latency of single-window
calls. The mle model is timed with strict voice leading on and off.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from flops import TRAIN, forward_flops, gan_step_flops  # noqa: E402
from musegan_reference import LATENT, N_PITCHES, MuseGANDiscriminator, MuseGANGenerator, wgan_gp_step  # noqa: E402

from divertimento.config import config_from_dict  # noqa: E402
from divertimento.data.dataset import load_prepared  # noqa: E402
from divertimento.data.summary import data_summary  # noqa: E402
from divertimento.losses.gan_loss import one_hot_tokens  # noqa: E402
from divertimento.metrics.decode import decode, to_absolute  # noqa: E402
from divertimento.models.generator import count_params  # noqa: E402
from divertimento.sample.sampler import Sampler, load_sampler  # noqa: E402
from divertimento.train.batches import BatchSampler  # noqa: E402
from divertimento.train.distributed import DistInfo  # noqa: E402
from divertimento.train.recipes import make_recipe  # noqa: E402
from divertimento.train.stats import StatsLog  # noqa: E402

ROOT = HERE.parent
FAMILY_CONFIGS = {"gan": ROOT / "configs" / "gan-base.json", "vae": None, "mle": ROOT / "configs" / "mle.json"}
REFERENCE_BATCH = 16  # the MuseGAN tutorial's batch size
COUNT_BATCH = 8  # windows the FLOPs are counted on (several: D's minibatch std mixes a batch)
# single-window calls stop after this many seconds per model (at least MIN_CALLS): on a busy machine one mle call
# can take seconds, and 30 of them would dominate the run
LATENCY_BUDGET_S, MIN_CALLS = 20.0, 5


def family_config(name: str):
    path = FAMILY_CONFIGS[name]
    return config_from_dict(json.loads(path.read_text()) if path else {"family": name})


def matmul_peak(threads: int, n: int, repeats: int) -> float:
    """The machine's float32 peak in GFLOP/s as the best of ``repeats`` n x n matmuls (2 n^3 FLOPs each), at
    ``threads`` torch threads: the rate a perfectly blocked kernel reaches here, what utilisation is a share of."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.5:  # warm-up: thread pool, caches and the cores' clock
        a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def machine_busy_s() -> float | None:
    """CPU seconds every process on the machine has used since boot, plus the time a virtual machine's host gave
    its cores to others (steal), from Linux's /proc/stat; None elsewhere."""
    try:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def others_share(start: tuple, end: tuple) -> float | None:
    """Share of the machine's cores that other processes used between two (machine busy s, own CPU s, wall s)
    readings: what this run had to share its cores with."""
    if start[0] is None or end[0] is None:
        return None
    others = (end[0] - start[0]) - (end[1] - start[1])
    return max(others, 0.0) / ((end[2] - start[2]) * (os.cpu_count() or 1))


def cpu_reading() -> tuple:
    return machine_busy_s(), time.process_time(), time.perf_counter()


def timed_steps(step, warmup: int, steps: int) -> float:
    """Seconds of ``steps`` calls step(i) after ``warmup`` untimed ones (i counts on across both)."""
    for i in range(warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(warmup, warmup + steps):
        step(i)
    return time.perf_counter() - t0


def counting_batch(data) -> tuple[torch.Tensor, torch.Tensor]:
    """A few real training windows (int64 tokens [n, V, T]) and their styles, for counting FLOPs."""
    train = data.splits["train"]
    return (torch.from_numpy(train["rolls"][:COUNT_BATCH].astype(np.int64)),
            torch.from_numpy(train["style"][:COUNT_BATCH].astype(np.int64)))


def forward_by_module(name: str, recipe, cfg, vocab_size: int, tokens, style) -> dict[str, float]:
    """Forward FLOPs per window of each module a training step runs, by module; the modules mirror
    train/recipe_gan.py and losses/likelihood.py."""
    one_hot = one_hot_tokens(tokens, vocab_size)
    z = torch.randn(len(tokens), cfg.z_dim)
    if name == "gan":
        fwd = {"G": forward_flops(recipe.G, z, style), "D": forward_flops(recipe.D, one_hot, style)}
        if recipe.E is not None:  # VAE-GAN: the encoder reads the real batch
            fwd["E"] = forward_flops(recipe.E, one_hot, style)
        return fwd
    if name == "vae":
        return {"encoder": forward_flops(recipe.net.encoder, one_hot, style),
                "decoder": forward_flops(recipe.net.decoder, z, style)}
    return {"model": forward_flops(recipe.net, tokens, style if recipe.net.conditional else None)}


def gan_penalties(cfg, step: int) -> int:
    """Gradient-penalty passes of D in GAN step ``step``: lazy R1 on the D updates whose running index is a
    multiple of r1_interval (recipe_gan.py), WGAN-GP's penalty on every D update."""
    r1 = sum((step * cfg.d_steps + k) % cfg.r1_interval == 0 for k in range(cfg.d_steps)) if cfg.r1_gamma > 0 else 0
    gp = cfg.d_steps if cfg.loss == "wgan-gp" and cfg.gp_weight > 0 else 0
    return r1 + gp


def train_flops(name: str, cfg, fwd: dict, first: int, steps: int) -> float:
    """FLOPs of training steps first .. first + steps - 1 (every pass on a batch of cfg.batch_size windows)."""
    if name != "gan":  # one forward + backward of the whole net per step
        return cfg.batch_size * steps * TRAIN * sum(fwd.values())
    recon = fwd["E"] + fwd["G"] if "E" in fwd else 0.0  # VAE-GAN: E, then G on E's latent, in the G update
    return cfg.batch_size * sum(gan_step_flops(fwd["G"], fwd["D"], cfg.d_steps, gan_penalties(cfg, s), recon)
                                for s in range(first, first + steps))


def throughput(seconds: float, steps: int, windows_per_step: int, flops: float) -> dict:
    return {"steps_per_s": steps / seconds, "windows_per_s": steps * windows_per_step / seconds,
            "train_gflop_per_step": flops / steps / 1e9, "gflop_per_s": flops / seconds / 1e9}


def train_family(name: str, data, summary: dict, args):
    """Times ``args.steps`` recipe steps of family ``name`` after ``args.warmup``; returns (figures, recipe)."""
    cfg = family_config(name)
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    recipe = make_recipe(cfg, summary, rng, DistInfo())
    recipe.start()
    batches = BatchSampler(data, cfg.batch_size, cfg.transpose, rng, key_normalise=cfg.key_normalise)
    stats = StatsLog(HERE, enabled=False)  # the trainer's running means of the loss terms; writes nothing
    seconds = timed_steps(lambda i: recipe.step(i, batches, stats), args.warmup, args.steps)
    fwd = forward_by_module(name, recipe, cfg, summary["vocab_size"], *counting_batch(data))
    flops = train_flops(name, cfg, fwd, args.warmup, args.steps)
    params = sum(count_params(m) for m in recipe.trained.values())
    fig = {"family": name, "config": str(FAMILY_CONFIGS[name] or "family defaults"), "batch": cfg.batch_size,
           "params": params, "fwd_mflop_per_window": {k: v / 1e6 for k, v in fwd.items()},
           "windows_per_step": recipe.windows_per_step,
           **throughput(seconds, args.steps, recipe.windows_per_step, flops),
           "final_losses": {k: round(v, 4) for k, v in stats.means().items() if k.endswith("loss")}}
    return fig, recipe


def piano_roll(tokens: np.ndarray) -> torch.Tensor:
    """Token windows [B, V, T] -> the tutorial's piano rolls [B, V, T, 60] in {-1, 1}: +1 at every step a pitch
    sounds (onset and holds); pitches beyond the 60 rows folded onto the top row."""
    pitch = decode(to_absolute(tokens, 0)).pitch.astype(np.int64)  # pitch above the data's lowest, -1 silent
    roll = np.zeros((*pitch.shape, N_PITCHES), dtype=np.float32)
    b, v, t = np.nonzero(pitch >= 0)
    roll[b, v, t, np.minimum(pitch[b, v, t], N_PITCHES - 1)] = 1
    return torch.from_numpy(roll) * 2 - 1


def train_reference(data, summary: dict, args) -> dict:
    """The MuseGAN tutorial model's WGAN-GP step (batch 16, Adam 1e-3, betas (0.5, 0.9)) on the same batches."""
    torch.manual_seed(0)
    V = len(summary["roles"])
    G, D = MuseGANGenerator(V), MuseGANDiscriminator(V)
    opt_g = torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.9))
    batches = BatchSampler(data, REFERENCE_BATCH, True, torch.Generator().manual_seed(0))

    def step(_):
        tokens, _ = batches()  # the styles are unused: the tutorial model is unconditional
        wgan_gp_step(G, D, opt_g, opt_d, piano_roll(tokens.numpy()))

    seconds = timed_steps(step, args.warmup, args.steps)
    tokens, _ = counting_batch(data)
    fwd = {"G": forward_flops(G, torch.randn(COUNT_BATCH, LATENT)), "D": forward_flops(D, piano_roll(tokens.numpy()))}
    flops = args.steps * REFERENCE_BATCH * gan_step_flops(fwd["G"], fwd["D"], 1, penalties=1)
    windows_per_step = 2 * REFERENCE_BATCH  # one batch for the D update, one for G: counted as recipe_gan counts
    return {"family": "musegan-ref", "config": "benchmarks/musegan_reference.py", "batch": REFERENCE_BATCH,
            "params": count_params(G) + count_params(D), "fwd_mflop_per_window": {k: v / 1e6 for k, v in fwd.items()},
            "windows_per_step": windows_per_step, **throughput(seconds, args.steps, windows_per_step, flops)}


def generation_speed(sampler: Sampler, n_windows: int, n_calls: int, **kw) -> dict:
    """Windows/s of one generate_tokens call of n_windows, and single-window latency over up to n_calls calls
    (fewer when they take over LATENCY_BUDGET_S, never fewer than MIN_CALLS)."""
    sampler.generate_tokens([(0, 0)], **kw)  # warm-up
    t0 = time.perf_counter()
    sampler.generate_tokens([(1, i) for i in range(n_windows)], **kw)
    batch_s = time.perf_counter() - t0
    lat: list[float] = []
    while len(lat) < n_calls and (len(lat) < MIN_CALLS or sum(lat) < LATENCY_BUDGET_S):
        t0 = time.perf_counter()
        sampler.generate_tokens([(2, len(lat))], **kw)
        lat.append(time.perf_counter() - t0)
    return {"windows": n_windows, "windows_per_s": n_windows / batch_s, "calls": len(lat),
            "latency_ms_p50": 1000 * statistics.median(lat), "latency_ms_p95": 1000 * float(np.percentile(lat, 95))}


def samplers(vae_recipe, summary: dict):
    """(label, sampler, generate_tokens options) of every model timed."""
    mle, gan = load_sampler("mle"), load_sampler("gan")
    decoder = vae_recipe.sampled.eval()
    vae = Sampler(decoder, {"family": "vae", "config": vae_recipe.cfg.to_dict(), "data": summary},
                  Path("vae decoder (this run)"))
    rec = " (recommended)" if mle.strict_voice_leading else ""
    return [(f"mle shipped, strict voice leading on{rec}", mle, {"strict_voice_leading": True}),
            ("mle shipped, strict voice leading off", mle, {"strict_voice_leading": False}),
            ("gan shipped", gan, {}), ("vae decoder (this run's)", vae, {})]


def print_tables(res: dict, args) -> None:
    m = res["machine"]
    print(f"\ntraining on {res['data']} ({res['train_windows']} train windows); torch {m['torch']}, "
          f"{m['threads']} threads; {args.warmup} warm-up + {args.steps} timed steps per model")
    print(f"peak: {m['matmul']} float32 matmul, best of {m['matmul_repeats']}: {m['peak_gflops_before']:.1f} GFLOP/s "
          f"before training, {m['peak_gflops_after']:.1f} after; shares below are of {m['peak_gflops']:.1f}")
    low, high = sorted((m["peak_gflops_before"], m["peak_gflops_after"]))
    others = m["others_cpu_share"]
    if others is not None:
        print(f"other processes used {100 * others:.0f} % of the machine's {os.cpu_count()} cores during this run")
    # a busy machine: other processes' work, or the same matmul 20 % slower at one end. torch's threads then wait
    # for descheduled peers, which slows small-op work (mle sampling, one step at a time) far more than the matmul
    if high > 1.2 * low or (others or 0.0) > 0.1:
        print(f"WARNING: the cores were shared (the peaks are {100 * (high / low - 1):.0f} % apart): figures are "
              "noisy; rerun on a quiet machine")
    ref = res["train"]["musegan-ref"]["windows_per_s"]
    head = (f"{'model':12s} {'batch':>5s} {'params':>7s} {'fwd MFLOP/window':>28s} {'GFLOP/step':>10s} "
            f"{'steps/s':>7s} {'windows/s':>9s} {'GFLOP/s':>7s} {'% peak':>6s} {'x ref':>6s}")
    print(head + "\n" + "-" * len(head))
    for name, f in res["train"].items():
        fwd = " + ".join(f"{k} {v:.1f}" if len(f["fwd_mflop_per_window"]) > 1 else f"{v:.1f}"
                         for k, v in f["fwd_mflop_per_window"].items())
        print(f"{name:12s} {f['batch']:5d} {f['params'] / 1e6:6.2f}M {fwd:>28s} {f['train_gflop_per_step']:10.2f} "
              f"{f['steps_per_s']:7.2f} {f['windows_per_s']:9.0f} {f['gflop_per_s']:7.2f} "
              f"{100 * f['share_of_peak']:6.1f} {f['windows_per_s'] / ref:6.2f}")
    print("windows/s as the trainer logs it: the windows a step draws (a GAN: one batch per D update and one for "
          "the G update;\nthe reference counted the same way). FLOPs: weight layers only, training = 3x forward, "
          "gradient penalties 6x (flops.py).")
    print(f"\ngeneration through Sampler.generate_tokens: one call of {args.gen_windows} windows (batches of 256), "
          f"then up to {args.calls} single-window calls ({LATENCY_BUDGET_S:.0f} s at most per model)")
    head = f"{'model':50s} {'windows/s':>9s} {'p50 ms':>7s} {'p95 ms':>7s} {'calls':>5s}"
    print(head + "\n" + "-" * len(head))
    for label, g in res["generate"].items():
        print(f"{label:50s} {g['windows_per_s']:9.0f} {g['latency_ms_p50']:7.1f} {g['latency_ms_p95']:7.1f} "
              f"{g['calls']:5d}")


QUICK = {"warmup": 1, "steps": 2, "gen_windows": 32, "calls": 3, "matmul": 1024, "repeats": 2}
FULL = {"warmup": 4, "steps": 32, "gen_windows": 1024, "calls": 30, "matmul": 2048, "repeats": 8}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_dir", nargs="?", default=None, help="prepared dataset (default data/default)")
    ap.add_argument("--data", default=None, help="the same, as an option")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for everything (the target has 2 cores)")
    ap.add_argument("--warmup", type=int, help=f"untimed training steps per model ({FULL['warmup']})")
    ap.add_argument("--steps", type=int, help=f"timed training steps per model ({FULL['steps']}; a multiple of "
                    "the GAN's r1_interval, 16, times lazy R1 at its average rate)")
    ap.add_argument("--gen-windows", type=int, help=f"windows of the batch generation call ({FULL['gen_windows']})")
    ap.add_argument("--calls", type=int, help=f"single-window calls the latency is taken over ({FULL['calls']})")
    ap.add_argument("--matmul", type=int, help=f"size of the peak-measuring matmul ({FULL['matmul']})")
    ap.add_argument("--repeats", type=int, help=f"matmuls the peak is the best of ({FULL['repeats']})")
    ap.add_argument("--quick", action="store_true", help="a smoke run of under a minute: " +
                    ", ".join(f"{k} {v}" for k, v in QUICK.items()))
    ap.add_argument("--json", default=None, help="also write every figure to this file")
    args = ap.parse_args(argv)
    for k, v in (QUICK if args.quick else FULL).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.data = args.data or args.data_dir or "data/default"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if not (Path(args.data) / "manifest.json").is_file():
        print(f"no prepared dataset at {args.data}: make one with `divertimento prepare --out data/default`, or "
              "point --data at any prepared folder (e.g. `divertimento prepare music21:bach --out /tmp/bach`)",
              file=sys.stderr)
        return 2
    start = cpu_reading()
    torch.set_num_threads(args.threads)
    data = load_prepared(args.data)
    summary = data_summary(data)
    before = matmul_peak(args.threads, args.matmul, args.repeats)
    train, recipes = {}, {}
    for name in FAMILY_CONFIGS:
        train[name], recipes[name] = train_family(name, data, summary, args)
    train["musegan-ref"] = train_reference(data, summary, args)
    after = matmul_peak(args.threads, args.matmul, args.repeats)
    peak = max(before, after)
    for f in train.values():  # a share of the better of the two peaks: contention in one cannot inflate it
        f["share_of_peak"] = f["gflop_per_s"] / peak
    generate = {label: generation_speed(s, args.gen_windows, args.calls, **kw)
                for label, s, kw in samplers(recipes["vae"], summary)}
    res = {"data": args.data, "train_windows": summary["train_windows"],
           "machine": {"torch": torch.__version__, "threads": args.threads, "cpu": platform.processor() or None,
                       "matmul": f"{args.matmul}x{args.matmul}", "matmul_repeats": args.repeats,
                       "peak_gflops_before": before, "peak_gflops_after": after, "peak_gflops": peak,
                       "others_cpu_share": others_share(start, cpu_reading())},
           "settings": {k: getattr(args, k) for k in FULL}, "train": train, "generate": generate}
    print_tables(res, args)
    print(f"\nrun took {time.perf_counter() - start[2]:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
