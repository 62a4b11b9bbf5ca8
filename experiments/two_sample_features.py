"""What tells a model's windows of one style from real ones? The suite's two-sample classifier (gradient-boosted
trees on the standardised descriptor vectors) trained on half of held-out real windows against as many generated
ones, scored on the other half; then, per descriptor, the standardised mean difference (generated mean minus real
mean, in real standard deviations) and the permutation importance (the held-out accuracy lost when that descriptor
is shuffled). Real training windows against the same test windows are the calibration row.

    python experiments/two_sample_features.py --style bach --n 1000 adversarial-wide mle-wide

A point is LABEL:MODEL:KNOBS as in per_style_protocol.py, or a model name (temperature 1).
"""

import argparse

import numpy as np
from points import SEED_BLOCK, parse_point  # experiments/ is the script's own folder, first on sys.path
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance

from divertimento.data.dataset import load_prepared
from divertimento.metrics.descriptors import vector_names
from divertimento.metrics.reference import load_reference
from divertimento.metrics.set_stats import compute_set_stats, prepared_set_stats
from divertimento.sample.sampler import load_sampler
from divertimento.sample.windows import sample_window_set

SHOWN = 8  # descriptors printed per row, by each measure


def separation(real: np.ndarray, gen: np.ndarray, seed: int) -> tuple[float, np.ndarray]:
    """(held-out accuracy, permutation importance per descriptor) of a classifier between the two sets."""
    rng = np.random.default_rng(seed)
    n = min(len(real), len(gen))
    x = np.concatenate([real[rng.choice(len(real), n, replace=False)], gen[rng.choice(len(gen), n, replace=False)]])
    y = np.r_[np.ones(n), np.zeros(n)]
    order = rng.permutation(2 * n)
    fit, held = order[:n], order[n:]
    clf = HistGradientBoostingClassifier(max_iter=100, random_state=seed).fit(x[fit], y[fit])
    imp = permutation_importance(clf, x[held], y[held], n_repeats=5, random_state=seed).importances_mean
    return float(clf.score(x[held], y[held])), imp


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("points", nargs="+")
    ap.add_argument("--data", default="data/default")
    ap.add_argument("--style", default="bach")
    ap.add_argument("--n", type=int, default=1000, help="generated windows (and training windows) per row")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    data = load_prepared(args.data)
    ref = load_reference(data, "test")
    i = list(ref.style_names).index(args.style)
    real = ref.std.transform(ref.stats.vectors)[ref.style_labels == i]
    names = vector_names(ref.stats.desc)
    train_stats, train_ws, _ = prepared_set_stats(data, "train", ref.config)
    train = ref.std.transform(train_stats.vectors)[train_ws.style == i]
    rng = np.random.default_rng(args.seed)
    rows = {"real train": train[rng.choice(len(train), min(args.n, len(train)), replace=False)]}
    for text in args.points:
        label, model, temperature, options = parse_point(text if ":" in text else f"{text}:{text}:temperature=1")
        ws = sample_window_set(load_sampler(model), args.n, args.seed * SEED_BLOCK, args.style,
                               temperature=temperature, options=options)
        rows[label] = ref.std.transform(compute_set_stats(ws, ref.config).vectors)
    mean, sd = np.nanmean(real, axis=0), np.nanstd(real, axis=0)
    print(f"{args.style}: {len(real)} real test windows")
    for label, x in rows.items():
        with np.errstate(invalid="ignore", divide="ignore"):  # a descriptor constant in real windows has no scale
            smd = np.where(sd > 1e-6, (np.nanmean(x, axis=0) - mean) / np.maximum(sd, 1e-6), 0.0)
        accuracy, imp = separation(real, x, args.seed)
        print(f"{label}: two-sample accuracy {accuracy:.3f}")
        print("  by importance: " + ", ".join(f"{names[k]} {imp[k]:.3f} ({smd[k]:+.2f} sd)"
                                              for k in np.argsort(-imp)[:SHOWN]))
        print("  by mean difference: " + ", ".join(f"{names[k]} {smd[k]:+.2f} sd"
                                                   for k in np.argsort(-np.abs(smd))[:SHOWN]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
