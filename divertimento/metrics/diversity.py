"""Diversity metrics: how varied the generated set G is, and how much of the reference R it reaches (registered in
the group ``diversity``)."""

import numpy as np

from ..music.roll import FIRST_PITCH_TOKEN
from .context import Context
from .mgeval import mgeval_distances
from .prdc import prdc_scores
from .registry import register
from .stats import kde_pair, ndb_jsd, nearest_distance, overlap_area, pairwise_distances


@register("diversity/recall")
def recall(ctx: Context):
    """Naeem et al. 2020: share of reference windows inside the k-NN ball (among generated windows) of at least one
    generated window. Diversity: how much of the reference the generated set reaches."""
    return prdc_scores(ctx)["recall"]


@register("diversity/coverage")
def coverage(ctx: Context):
    """Naeem et al. 2020: share of reference windows whose k-NN ball (among reference windows) holds at least one
    generated window. About 1 - 2^-5 = 0.97 for a set drawn like the reference; near 0 for a collapsed set."""
    return prdc_scores(ctx)["coverage"]


def _flat_tokens(tokens: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(tokens.reshape(len(tokens), -1))


@register("diversity/dup_rate")
def dup_rate(ctx: Context):
    """Exact-duplicate rate: 1 - (number of distinct windows) / N, comparing all tokens (notes, holds, rests).
    0 = all windows differ; (N - 1)/N = one window repeated N times."""
    if ctx.n == 0:
        return float("nan")
    return 1.0 - len(np.unique(_flat_tokens(ctx.gen.tokens), axis=0)) / ctx.n


@register("diversity/dup_rate_any_key")
def dup_rate_any_key(ctx: Context):
    """Like ``dup_rate`` but windows equal up to transposition are duplicates (each window is shifted so its lowest
    pitch is the same before comparing)."""
    if ctx.n == 0:
        return float("nan")
    t = ctx.gen.tokens.astype(np.int16)
    pitch = t >= FIRST_PITCH_TOKEN
    low = np.where(pitch, t, 999).reshape(len(t), -1).min(1)
    norm = np.where(pitch, t - low[:, None, None] + FIRST_PITCH_TOKEN, t)
    return 1.0 - len(np.unique(_flat_tokens(norm), axis=0)) / ctx.n


def _pairwise(ctx: Context):
    def run():
        g = ctx.X[ctx.mgeval_idx()]
        r = ctx.ref.X[ctx.ref.mgeval_idx]
        return pairwise_distances(g), pairwise_distances(r)
    return ctx.once("pairwise", run)


@register("diversity/pairwise_distance")
def pairwise_distance(ctx: Context):
    """Mean Euclidean distance between two different windows of a set, in the standardised descriptor space (at
    most 500 windows per set): ``mean`` for G, ``ref_mean`` for R, ``ratio`` = mean / ref_mean (below 1: less
    varied than the data; 0: one window repeated)."""
    g, r = _pairwise(ctx)
    gm = float(g.mean()) if len(g) else float("nan")
    rm = float(r.mean()) if len(r) else float("nan")
    return {"mean": gm, "ref_mean": rm, "ratio": gm / rm if rm > 0 else float("nan")}


@register("diversity/intra_set_oa")
def intra_set_oa(ctx: Context):
    """Overlap area of the Gaussian-KDE distributions of intra-set distances of G and of R (MGEval's intra-set
    comparison): in the standardised descriptor space (the key itself) and per MGEval feature (``/<feature>``).
    1 = G is as varied, in the same way, as the data; near 0 for a collapsed (or a much noisier) set."""
    g, r = _pairwise(ctx)
    out = {}
    if len(g) >= 2 and len(r) >= 2:
        grid, pg, pr = kde_pair(g, r)
        out[""] = overlap_area(pg, pr, grid)
    else:
        out[""] = float("nan")
    feats = mgeval_distances(ctx)
    for name, v in feats.items():
        out[name] = v["intra_oa"] if v else float("nan")
    vals = [v["intra_oa"] for v in feats.values() if v]
    out["mgeval_mean"] = float(np.mean(vals)) if vals else float("nan")
    return out


@register("diversity/ndb")
def ndb(ctx: Context):
    """NDB/JSD (Richardson & Weiss 2018): the reference's standardised vectors are clustered by k-means into K bins
    (K = reference windows / 100, 2..100); every generated window goes to its nearest centroid. ``ratio`` = share
    of bins whose generated share differs from the reference share (two-proportion z-test, p < 0.05); ``jsd`` =
    Jensen-Shannon divergence of the two bin distributions in bits; ``bins`` = K. 0 = same spread over modes."""
    if ctx.n == 0:
        return {"ratio": float("nan"), "jsd": float("nan"), "bins": float(len(ctx.ref.centroids))}
    _, lab = nearest_distance(ctx.X, ctx.ref.centroids)
    counts = np.bincount(lab, minlength=len(ctx.ref.centroids))
    res = ndb_jsd(ctx.ref.bin_counts.astype(np.float64), counts.astype(np.float64))
    ctx.per_window["ndb_bin"] = lab
    ctx.memo["ndb_counts"] = counts
    return {"ratio": res["ndb_ratio"], "jsd": res["jsd"], "bins": float(len(ctx.ref.centroids))}
