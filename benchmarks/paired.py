"""Two code paths timed batch by batch in one process, alternating, the order flipped every pair, so that the
machine's drift between runs does not enter their ratio (this machine's speed moves by a third within minutes)."""

import argparse
import statistics
import time

import torch


def paired_rates(use_path, batch, windows: int, pairs: int) -> dict:
    """windows/s of ``batch()`` (``windows`` windows per call) with ``use_path(before)`` set to the path before
    (True) and after (False), each warmed up once; the per-side rates, their medians and the paired ratios
    after / before. Leaves the path after in place."""
    rates = {"before": [], "after": []}
    for side in rates:  # warm-up of each path (bfloat16 weights packed once)
        use_path(side == "before")
        batch()
    for p in range(pairs):
        for side in (("before", "after") if p % 2 == 0 else ("after", "before")):
            use_path(side == "before")
            t0 = time.perf_counter()
            batch()
            rates[side].append(windows / (time.perf_counter() - t0))
    use_path(False)
    ratios = [a / b for a, b in zip(rates["after"], rates["before"])]
    return {side: [round(r, 1) for r in values] for side, values in rates.items()} | {
        "median_before": round(statistics.median(rates["before"]), 1),
        "median_after": round(statistics.median(rates["after"]), 1),
        "paired_ratio_median": round(statistics.median(ratios), 2),
        "paired_ratio_range": [round(min(ratios), 2), round(max(ratios), 2)]}


def run_models(doc: str, default_models: str, bench) -> int:
    """The command line both paired benchmarks share: ``--models`` (a comma list) and ``--pairs``; prints
    ``bench(model, pairs)`` per model. Torch runs on 2 threads, as the server does."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--models", default=default_models)
    ap.add_argument("--pairs", type=int, default=6)
    args = ap.parse_args()
    torch.set_num_threads(2)
    for name in args.models.split(","):
        print(name, bench(name, args.pairs), flush=True)
    return 0
