"""Novelty metrics: how far the generated set G is from the windows the model learnt from (registered in the group
``novelty``; they need the training set)."""

import numpy as np

from .context import Context
from .copies import COPY_THRESHOLD, copy_scores, longest_copied_ngram
from .registry import register
from .stats import nearest_distance


@register("novelty/nn_distance", needs_train=True)
def nn_distance(ctx: Context):
    """Distance (standardised descriptor space, reference scaling) from each generated window to its nearest
    training window: ``mean`` and ``median``. 0 = a copy (or a window with the same descriptors); compare with
    the calibration row "real test vs train"."""
    Xt = ctx.ref.std.transform(ctx.train.stats.vectors)
    d, _ = nearest_distance(ctx.X, Xt)
    ctx.per_window["nn_distance"] = d
    return {"mean": float(d.mean()) if len(d) else float("nan"),
            "median": float(np.median(d)) if len(d) else float("nan")}


def _copies(ctx: Context):
    def run():
        best, idx, t = copy_scores(ctx.stats.copy, ctx.train.stats.copy)
        ctx.per_window["copy_score"] = best
        ctx.per_window["copy_source"] = idx
        ctx.per_window["copy_transposition"] = t
        return best
    return ctx.once("copies", run)


@register("novelty/copy_rate", needs_train=True)
def copy_rate(ctx: Context):
    """Near-copy rate: share of generated windows G with max over training windows R and transpositions t of
    |G n (R + t)| / max(|G|, |R|) >= 0.8, on (onset, pitch) points of all voices (see ``copies.py``).
    1 = every window reproduces a training window (in some key); real held-out music scores low but not 0
    (chorales share hymn tunes)."""
    best = _copies(ctx)
    return float((best >= COPY_THRESHOLD).mean()) if len(best) else float("nan")


@register("novelty/max_overlap", needs_train=True)
def max_overlap(ctx: Context):
    """Mean over generated windows of the best near-copy score above (0..1): how much of its closest training
    window, in the best transposition, a generated window reproduces on average."""
    best = _copies(ctx)
    return float(best.mean()) if len(best) else float("nan")


@register("novelty/longest_copied_ngram", needs_train=True)
def longest_copied_ngram_metric(ctx: Context):
    """Per generated window, the longest run of successive notes of one voice whose intervals, inter-onset intervals
    and lengths (so: up to transposition) occur in one voice of some training window, in notes; ``mean`` and
    ``max`` over the set. Compare with the calibration row "real test vs train" (music shares cadence formulas)."""
    n = longest_copied_ngram(ctx.dec, ctx.train.stats.copy.ngrams)
    ctx.per_window["longest_copied_ngram"] = n
    return {"mean": float(n.mean()) if len(n) else float("nan"), "max": float(n.max()) if len(n) else float("nan")}
