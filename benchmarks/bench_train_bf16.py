"""Training speed of the sequence model in float32 and under bfloat16 autocast (``bf16_autocast``), at mle's width
and at the wide models', side by side in one run:

    python benchmarks/bench_train_bf16.py [--data data/default] [--steps 20] [--json out.json]

Each row builds the likelihood recipe from configs/mle.json with the given hidden size and precision and times
``recipe.step`` on real batches (``BatchSampler``), as ``divertimento train`` does, after 3 untimed warm-up steps;
the rows take turns (round-robin, --rounds rounds) so a busy moment of the shared machine falls on all of them. Where
the CPU has no bfloat16 units the bfloat16 rows train in float32 (``use_bfloat16``) and are labelled so.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from divertimento.atomic import write_json_atomic
from divertimento.config import config_from_dict
from divertimento.data.dataset import load_prepared
from divertimento.data.summary import data_summary
from divertimento.models.low_precision import native_bfloat16
from divertimento.train.batches import BatchSampler
from divertimento.train.distributed import DistInfo
from divertimento.train.recipes import make_recipe
from divertimento.train.stats import StatsLog

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per row and round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_prepared(args.data)
    summary = data_summary(data)
    base = json.loads((ROOT / "configs" / "mle.json").read_text())
    stats = StatsLog(ROOT, enabled=False)  # the trainer's running means of the loss terms; writes nothing
    rows = {}
    for hidden in (256, 512):
        for bf16 in (False, True):
            cfg = config_from_dict({**base, "hidden": hidden, "bf16_autocast": bf16, "dropout": 0.2})
            rng = torch.Generator().manual_seed(0)
            recipe = make_recipe(cfg, summary, rng, DistInfo())
            recipe.start()
            batches = BatchSampler(data, cfg.batch_size, cfg.transpose, rng)
            for i in range(3):
                recipe.step(i, batches, stats)
            rows[(hidden, bf16)] = (recipe, batches, [])
    for _ in range(args.rounds):
        for recipe, batches, times in rows.values():
            for i in range(args.steps):
                t0 = time.perf_counter()
                recipe.step(i, batches, stats)
                times.append(time.perf_counter() - t0)
    native = native_bfloat16()
    result = {}
    print(f"{'hidden':>6}  {'precision':28s} {'s/step p50':>10}  {'windows/s':>9}")
    for (hidden, bf16), (recipe, _, times) in rows.items():
        p50 = statistics.median(times)
        label = ("bfloat16 autocast" if native else "bfloat16 asked (float32 here)") if bf16 else "float32"
        rate = recipe.windows_per_step / p50
        print(f"{hidden:6d}  {label:28s} {p50:10.3f}  {rate:9.1f}")
        result[f"hidden{hidden}_{'bf16' if bf16 else 'f32'}"] = {"s_per_step_p50": round(p50, 4),
                                                                 "windows_per_s": round(rate, 1)}
    result["native_bfloat16"] = native
    if args.json:
        write_json_atomic(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
