"""The adversarial protocol's per-style rows: every model point on several seeds, each style's samples against
that style's held-out real windows (``metrics.per_style.style_figures``), with a real-vs-real calibration row.

    python experiments/per_style_protocol.py --data data/default --n 350 --seeds 3 --json runs/protocol.json \
        --point "mle T=0.85:mle:temperature=0.85" --point "mle T=1:mle:temperature=1.0" \
        --point "guided b=1:runs/mle-guided:beta=1" --point "control:runs/mle-guided:rerank=likelihood,beta=0.01"

A point is LABEL:MODEL:KNOBS, KNOBS a comma list of temperature=V and the family's sampling options; MODEL
rekey+NAME is the key control (experiments/rekey.py), remode+NAME the mode control (experiments/remode.py;
it prints how many windows it drew), bf16+NAME the model drawn with bfloat16 products
(``generate_tokens(low_precision=True)``), to check that they draw what float32 draws. Seeds are
disjoint blocks of pieces (seed s draws pieces s * 1,000,000 + i), so no two seeds share a piece. Prints one table
(mean ± spread over seeds, per style and pooled over styles by window) and writes every figure to --json.
"""

import argparse
import sys
import time

import numpy as np
from points import SEED_BLOCK, parse_point  # experiments/ is the script's own folder, first on sys.path
from rekey import rekey, style_tonic_shares
from remode import remode_window_set, style_minor_shares

from divertimento.atomic import write_json_atomic
from divertimento.data.dataset import load_prepared
from divertimento.metrics.key_keeping import KEY_KEEPING_FIGURES, key_keeping_figures
from divertimento.metrics.key_register import KEY_REGISTER_FIGURES, key_register_figures
from divertimento.metrics.per_style import FIGURES, style_figures
from divertimento.metrics.reference import load_reference
from divertimento.metrics.set_stats import compute_set_stats, prepared_set_stats
from divertimento.metrics.sets import from_prepared
from divertimento.sample.sampler import load_sampler
from divertimento.sample.windows import sample_window_set


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--n", type=int, default=350, help="generated windows per style and seed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--point", action="append", required=True)
    ap.add_argument("--json", default=None)
    ap.add_argument("--styles", default=None, help="comma list of styles to measure (default: all)")
    args = ap.parse_args()
    data = load_prepared(args.data)
    ref = load_reference(data, "test")
    names = list(ref.style_names)
    measured = args.styles.split(",") if args.styles else names
    real_x = ref.std.transform(ref.stats.vectors)
    real_by_style = {s: real_x[ref.style_labels == i] for i, s in enumerate(names)}
    val_stats, val_ws, _ = prepared_set_stats(data, "val", ref.config)
    val_x = ref.std.transform(val_stats.vectors)
    test_ws = from_prepared(data, "test")  # keys and register are measured on the notes, not the descriptors
    real_tokens = {s: test_ws.tokens[test_ws.style == i] for i, s in enumerate(names)}

    def figures(style: str, x: np.ndarray, tokens: np.ndarray, seed: int) -> dict:
        return (style_figures(real_by_style[style], x, seed) | key_register_figures(real_tokens[style], tokens)
                | key_keeping_figures(tokens))

    rows = {"real val": {s: [figures(s, val_x[val_ws.style == i], val_ws.tokens[val_ws.style == i], 0)]
                         for i, s in enumerate(names) if s in measured}}
    rekeying = any(parse_point(p)[1].startswith("rekey+") for p in args.point)
    shares = style_tonic_shares(from_prepared(data, "train")) if rekeying else {}
    remoding = any(parse_point(p)[1].startswith("remode+") for p in args.point)
    minor_shares = style_minor_shares(from_prepared(data, "train")) if remoding else {}
    for text in args.point:
        label, model, temperature, options = parse_point(text)
        rekeyed = model.startswith("rekey+")  # the key control: the model's windows moved into the style's keys
        remoded = model.startswith("remode+")  # the mode control: the style's share of minor windows
        low = model.startswith("bf16+")
        sampler = load_sampler(model.removeprefix("rekey+").removeprefix("remode+").removeprefix("bf16+"))
        rows[label] = {s: [] for s in measured}
        for seed in range(args.seeds):
            for s in measured:
                t0 = time.perf_counter()
                if remoded:
                    ws, drawn = remode_window_set(sampler, args.n, seed * SEED_BLOCK, s,
                                                  minor_shares[names.index(s)], temperature, options)
                    print(f"{label} seed {seed} {s}: drew {drawn} windows for {args.n}", file=sys.stderr)
                else:
                    ws = sample_window_set(sampler, args.n, seed * SEED_BLOCK, s, temperature=temperature,
                                           options=options, low_precision=low)
                if rekeyed:
                    ws = rekey(ws, shares, tuple(data.manifest["pitch_range"]), seed)
                x = ref.std.transform(compute_set_stats(ws, ref.config).vectors)
                rows[label][s].append(figures(s, x, ws.tokens, seed))
                print(f"{label} seed {seed} {s}: {rows[label][s][-1]} ({time.perf_counter() - t0:.0f} s)",
                      file=sys.stderr, flush=True)
    table = summarise(rows, measured)
    if args.json:
        write_json_atomic(args.json, {"n": args.n, "seeds": args.seeds, "points": args.point, "rows": rows,
                                      "summary": table})
    return 0


def summarise(rows: dict, names: list[str]) -> dict:
    """Mean and spread (max - min over seeds) of each figure per style; printed as a markdown table."""
    out, columns = {}, FIGURES + KEY_REGISTER_FIGURES + KEY_KEEPING_FIGURES
    print("| point | style | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for label, by_style in rows.items():
        out[label] = {}
        for s in names:
            runs = by_style[s]
            cell = {f: (float(np.mean([r[f] for r in runs])), float(np.ptp([r[f] for r in runs])))
                    for f in columns}
            out[label][s] = cell
            print(f"| {label} | {s} | " + " | ".join(f"{m:.3f} ± {d:.3f}" if d else f"{m:.3f}"
                                                     for m, d in cell.values()) + " |")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
