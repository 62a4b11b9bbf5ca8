"""Training and generation speed of the one sequence model on each layout, side by side in one run.

    python benchmarks/bench_layouts.py satb=data/default band=data/band piano=data/piano [--steps 20]

Each DATA_DIR is a prepared dataset of that layout (band: ``python experiments/band_midi.py data/band-midi`` then
``divertimento prepare data/band-midi=pop --layout band --out data/band``). For each, the ``mle`` recipe of
configs/mle.json is built for the data and stepped exactly as ``divertimento train`` steps it (``--warmup`` untimed
steps, then ``--steps`` timed); then the model just built (speed does not depend on training) generates
``--gen-windows`` windows in one call and single windows, through the same ``Sampler`` every command uses.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from divertimento.config import config_from_dict
from divertimento.data.dataset import load_prepared
from divertimento.data.summary import data_summary
from divertimento.sample.sampler import Sampler
from divertimento.train.batches import BatchSampler
from divertimento.train.distributed import DistInfo
from divertimento.train.recipes import make_recipe
from divertimento.train.stats import StatsLog

ROOT = Path(__file__).resolve().parent.parent


def bench(label: str, data_dir: str, args) -> dict:
    data = load_prepared(data_dir)
    summary = data_summary(data)
    cfg = config_from_dict(json.loads((ROOT / "configs" / "mle.json").read_text()) | {"threads": args.threads})
    torch.set_num_threads(cfg.threads)
    rng = torch.Generator().manual_seed(0)
    recipe = make_recipe(cfg, summary, rng, DistInfo())
    batches = BatchSampler(data, cfg.batch_size, cfg.transpose, rng)
    stats = StatsLog(ROOT, enabled=False)
    for i in range(args.warmup):
        recipe.step(i, batches, stats)
    t0 = time.perf_counter()
    for i in range(args.warmup, args.warmup + args.steps):
        recipe.step(i, batches, stats)
    train_s = time.perf_counter() - t0
    sampler = Sampler(recipe.sampled.eval(), {"family": "mle", "config": cfg.to_dict(), "data": summary},
                      Path(f"{label} (untrained)"))
    sampler.generate_tokens([(0, 0)])
    t0 = time.perf_counter()
    sampler.generate_tokens([(1, i) for i in range(args.gen_windows)])
    gen_s = time.perf_counter() - t0
    lat = []
    for k in range(args.calls):
        t0 = time.perf_counter()
        sampler.generate_tokens([(2, k)])
        lat.append(time.perf_counter() - t0)
    V, T = data.splits["train"]["rolls"].shape[1:]
    return {"layout": label, "voices": int(V), "steps": int(T), "vocab": summary["vocab_size"],
            "train_windows_per_s": args.steps * cfg.batch_size / train_s,
            "gen_windows_per_s": args.gen_windows / gen_s, "latency_ms_p50": 1000 * statistics.median(lat)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+", metavar="LAYOUT=DATA_DIR")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--gen-windows", type=int, default=256)
    ap.add_argument("--calls", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    rows = [bench(*item.split("=", 1), args) for item in args.sets]
    print(f"{'layout':8s} {'rows':>4s} {'vocab':>5s} {'train win/s':>12s} {'gen win/s':>10s} {'1 window p50':>13s}")
    for r in rows:
        print(f"{r['layout']:8s} {r['voices']:4d} {r['vocab']:5d} {r['train_windows_per_s']:12.0f} "
              f"{r['gen_windows_per_s']:10.0f} {r['latency_ms_p50']:11.0f} ms")


if __name__ == "__main__":
    main()
