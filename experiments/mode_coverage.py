"""Where a style's coverage and precision are lost, by mode: each real test window and each generated window is
put in major or minor by its best Krumhansl-Kessler key (``metrics.key_register.window_modes``), and the protocol's
precision (the share of generated windows inside some real window's k-NN ball) and coverage (the share of real
windows with a generated window inside their ball) are split by that mode. Real held-out windows (val against test)
are the calibration row.

    python experiments/mode_coverage.py --style bach adversarial-wide \
        "pT 1:adversarial-wide:temperature=1.0,pitch_temperature=1.0"

A point is LABEL:MODEL:KNOBS as in per_style_protocol.py, or a model name (temperature 1). Every set is compared
with all of the style's test windows, generated sets of the same size (so coverage here is on more windows than
the protocol's 350 and reads a little lower). Real training windows, drawn at random, are the row a model that
learnt the training windows perfectly would reach.

``--minor-share S`` asks what the mode alone is worth: each point draws three times the windows, keeps as many as
the style has test windows with a share S of them minor (an importance resampling of the mode marginal, nothing
else changed), and prints the protocol's per-style figures of that set beside those of the first draws.
"""

import argparse

import numpy as np
from points import SEED_BLOCK, parse_point  # experiments/ is the script's own folder, first on sys.path

from divertimento.data.dataset import load_prepared
from divertimento.metrics.decode import to_absolute
from divertimento.metrics.key_register import window_modes
from divertimento.metrics.per_style import style_figures
from divertimento.metrics.reference import PRDC_K, load_reference
from divertimento.metrics.set_stats import compute_set_stats, prepared_set_stats
from divertimento.metrics.stats import kth_neighbour_distance, sq_dists
from divertimento.sample.sampler import load_sampler
from divertimento.sample.windows import sample_window_set


def by_mode(real: np.ndarray, real_modes: np.ndarray, gen: np.ndarray, gen_modes: np.ndarray) -> list[float]:
    """[minor share of gen, precision of gen's major / minor windows, coverage of real major / minor windows]."""
    radii = kth_neighbour_distance(real, PRDC_K)
    d = np.sqrt(sq_dists(gen, real))  # [gen, real]
    inside = (d <= radii[None, :]).any(axis=1)
    covered = d.min(axis=0) <= radii
    return [float((gen_modes == 1).mean()), inside[gen_modes == 0].mean(), inside[gen_modes == 1].mean(),
            covered[real_modes == 0].mean(), covered[real_modes == 1].mean()]


def rebalanced(modes: np.ndarray, n: int, minor_share: float) -> np.ndarray:
    """Indices of n windows, the first round(n * share) minor ones and the first major ones (or modeless) after."""
    minor, other = np.flatnonzero(modes == 1), np.flatnonzero(modes != 1)
    k = int(round(n * minor_share))
    if k > len(minor) or n - k > len(other):
        raise SystemExit(f"too few windows of a mode to keep a minor share of {minor_share}")
    return np.sort(np.r_[minor[:k], other[: n - k]])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("points", nargs="*")
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--style", default="bach")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--minor-share", type=float, default=None)
    args = ap.parse_args()
    data = load_prepared(args.data)
    ref = load_reference(data, "test")
    i = list(ref.style_names).index(args.style)
    low = int(data.manifest["pitch_range"][0])
    real = ref.std.transform(ref.stats.vectors)[ref.style_labels == i]
    test = data.splits["test"]
    real_modes = window_modes(to_absolute(test["rolls"][test["style"] == i], low))
    val_stats, val_ws, _ = prepared_set_stats(data, "val", ref.config)
    val = ref.std.transform(val_stats.vectors)[val_ws.style == i]
    val_modes = window_modes(to_absolute(data.splits["val"]["rolls"][data.splits["val"]["style"] == i], low))
    print(f"{args.style}: {len(real)} real test windows, {np.mean(real_modes == 1):.3f} of them minor")
    print("row: minor share | precision major / minor | coverage of real major / minor")
    rows = {"real val": [by_mode(real, real_modes, val, val_modes)], "real train": []}
    train_stats, train_ws, _ = prepared_set_stats(data, "train", ref.config)
    train = ref.std.transform(train_stats.vectors)[train_ws.style == i]
    train_modes = window_modes(to_absolute(data.splits["train"]["rolls"][data.splits["train"]["style"] == i], low))
    for seed in range(args.seeds):  # as many training windows as there are test windows, drawn at random
        k = np.random.default_rng(seed).choice(len(train), len(real), replace=False)
        rows["real train"].append(by_mode(real, real_modes, train[k], train_modes[k]))
        if args.minor_share is not None:
            print(f"real train seed {seed}: " + ", ".join(f"{f} {v:.3f}" for f, v in
                                                          style_figures(real, train[k], seed).items()))
    for text in args.points:
        label, model, temperature, options = parse_point(text if ":" in text else f"{text}:{text}:temperature=1")
        sampler = load_sampler(model)
        rows[label] = []
        n = len(real) * (1 if args.minor_share is None else 3)
        for seed in range(args.seeds):
            ws = sample_window_set(sampler, n, seed * SEED_BLOCK, args.style, temperature=temperature,
                                   options=options)
            gen, gen_modes = ref.std.transform(compute_set_stats(ws, ref.config).vectors), window_modes(ws.tokens)
            rows[label].append(by_mode(real, real_modes, gen[: len(real)], gen_modes[: len(real)]))
            if args.minor_share is not None:
                kept = rebalanced(gen_modes, len(real), args.minor_share)
                as_drawn, moved = (style_figures(real, gen[k], seed) for k in (np.arange(len(real)), kept))
                print(f"{label} seed {seed}: " + ", ".join(f"{f} {as_drawn[f]:.3f} -> {moved[f]:.3f}" for f in
                                                            ("precision", "coverage", "two_sample", "fdd")))
    for label, figures in rows.items():
        x = np.array(figures)
        mean, sd = x.mean(axis=0), x.std(axis=0)
        cells = [f"{m:.3f} ± {s:.3f}" if len(x) > 1 else f"{m:.3f}" for m, s in zip(mean, sd)]
        print(f"{label}: {cells[0]} | {cells[1]} / {cells[2]} | {cells[3]} / {cells[4]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
