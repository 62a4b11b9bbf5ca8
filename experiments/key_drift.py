"""Does a model's window keep the key it starts in? Per style: ``metrics.key_keeping``'s kept, own and key_drift
for real windows and for each model point, mean ± spread over seeds.

    python experiments/key_drift.py --data data/default --n 350 --seeds 3 --styles bach,palestrina,irish \
        --point "mle T=1:mle:temperature=1.0" --point "adversarial T=1:adversarial:temperature=1.0"

Seeds are the per-style protocol's disjoint blocks of pieces (seed s draws pieces s * 1,000,000 + i).
"""

import argparse

import numpy as np
from points import SEED_BLOCK, parse_point  # experiments/ is the script's own folder, first on sys.path

from divertimento.data.dataset import load_prepared
from divertimento.metrics.key_keeping import key_kept
from divertimento.metrics.sets import from_prepared
from divertimento.sample.sampler import load_sampler
from divertimento.sample.windows import sample_window_set


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--n", type=int, default=350)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--styles", default="bach,palestrina,irish")
    ap.add_argument("--point", action="append", default=[])
    args = ap.parse_args()
    data = load_prepared(args.data)
    names = list(data.manifest["style_names"])
    real = {split: from_prepared(data, split) for split in ("val", "test")}
    print("| style | set | kept | own | key_drift (own - kept) |")
    print("|---|---|---|---|---|")
    for style in args.styles.split(","):
        i = names.index(style)
        for split, ws in real.items():
            r = key_kept(ws.tokens[ws.style == i])
            print(f"| {style} | real {split} | {r['kept']:.3f} | {r['own']:.3f} | {r['key_drift']:.3f} |")
        for text in args.point:
            label, model, temperature, options = parse_point(text)
            sampler = load_sampler(model)
            runs = [key_kept(sample_window_set(sampler, args.n, seed * SEED_BLOCK, style, temperature=temperature,
                                               options=options).tokens) for seed in range(args.seeds)]
            cells = [f"{np.mean([r[f] for r in runs]):.3f} ± {np.ptp([r[f] for r in runs]):.3f}"
                     for f in ("kept", "own", "key_drift")]
            print(f"| {style} | {label} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
