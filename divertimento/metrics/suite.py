"""The registered set-level metrics and the function that runs them: ``evaluate_set`` / ``evaluate_windows``.

Every metric compares a generated set G with the reference set R (normally the training split of the data)
and, for novelty, with the training set; descriptor vectors are standardised with R's mean and standard
deviation. Keys in the result are flat: ``group/name`` or ``group/name/sub``.
"""

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ..music.roll import FIRST_PITCH_TOKEN
from .copies import COPY_THRESHOLD, build_copy_index, copy_scores, longest_copied_ngram
from .decode import decode
from .descriptors import SCALARS, compute_descriptors, descriptor_vectors
from .reference import Reference, SetStats, TrainSet, _quiet_nan, adjusted_shares
from .registry import METRICS, register, resolve
from .sets import WindowSet, from_tokens
from .stats import (
    frechet_distance,
    kde_pair,
    kl_divergence,
    ndb_jsd,
    nearest_distance,
    overlap_area,
    pairwise_distances,
    prdc,
)


class Context:
    """One evaluation: the generated set's statistics plus memoised intermediate results shared by metrics."""

    def __init__(self, gen: WindowSet, ref: Reference, train: TrainSet | None = None, seed: int = 0):
        self.gen, self.ref, self.train, self.seed = gen, ref, train, seed
        self.dec = decode(gen.tokens)
        desc = compute_descriptors(self.dec, ref.config, gen.roles)
        copy = build_copy_index(self.dec, ref.config.steps_per_quarter, ngrams=False)
        self.stats = SetStats(desc, descriptor_vectors(desc), copy)
        self.X = ref.std.transform(self.stats.vectors)  # [N, D] standardised generated vectors
        self.memo: dict = {}
        self.per_window: dict[str, np.ndarray] = {}  # for the report (copy scores, nearest distances, ...)
        self.notes: list[str] = []

    def once(self, key: str, fn):
        if key not in self.memo:
            self.memo[key] = fn()
        return self.memo[key]

    @property
    def n(self) -> int:
        return len(self.gen)

    def mgeval_idx(self) -> np.ndarray:
        from .reference import MAX_MGEVAL

        def pick():
            if self.n <= MAX_MGEVAL:
                return np.arange(self.n)
            return np.sort(np.random.default_rng(self.seed).choice(self.n, MAX_MGEVAL, replace=False))
        return self.once("mgeval_idx", pick)


# ---- descriptors and quality -----------------------------------------------------------------------------------


def _nanmean(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    x = x[~np.isnan(x)]
    return float(x.mean()) if len(x) else float("nan")


@register("descriptors")
def descriptor_means(ctx: Context):
    """Mean of each per-window descriptor over the generated set (NaN windows left out); see docs/metrics.md
    for each definition. Not a comparison by itself: read it against ``quality/relative_error``."""
    return {k: _nanmean(v) for k, v in ctx.stats.desc.scalars.items()}


@register("quality/relative_error")
def relative_error(ctx: Context):
    """Per descriptor d: |mean_G(d) - mean_R(d)| / max(|mean_R(d)|, std_R(d)), i.e. relative to the reference mean,
    or to the reference's spread when that is larger (rates near 0, such as parallel fifths, would otherwise give
    huge ratios for tiny differences); the absolute difference when both are 0. ``mean`` averages the main
    descriptors (per-voice empty-bar rates left out). 0 = same averages as the data."""
    out = {}
    for k, g in ctx.stats.desc.scalars.items():
        rv = ctx.ref.stats.desc.scalars.get(k)
        r = _nanmean(rv) if rv is not None else float("nan")
        rs = float(np.nanstd(rv)) if rv is not None and np.isfinite(rv).any() else 0.0
        gm = _nanmean(g)
        den = max(abs(r), rs)
        out[k] = abs(gm - r) / den if den > 1e-12 else abs(gm - r)
    main = [out[k] for k in SCALARS if k in out and np.isfinite(out[k])]
    out["mean"] = float(np.mean(main)) if main else float("nan")
    return out


# MGEval features (Yang & Lerch 2020): name -> (source, key); distances are Euclidean on the feature.
MGEVAL_FEATURES = {
    "pitch_count": ("s", "pitch_count"), "note_count": ("s", "note_count"),
    "pitch_class_histogram": ("h", "pitch_class_histogram"), "pitch_class_transition": ("h", "pc_transition_matrix"),
    "pitch_range": ("s", "pitch_range"), "mean_interval": ("s", "mean_interval"), "mean_ioi": ("s", "mean_ioi"),
    "note_length_histogram": ("h", "note_length_histogram"),
}


def _feature(stats: SetStats, spec, idx) -> np.ndarray:
    kind, key = spec
    x = stats.desc.scalars[key][idx][:, None] if kind == "s" else stats.desc.hists[key][idx]
    return x[~np.isnan(x).any(1)]


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from .stats import sq_dists

    return np.sqrt(sq_dists(a, b)).ravel()


def _mgeval(ctx: Context):
    def run():
        out = {}
        gi, ri = ctx.mgeval_idx(), ctx.ref.mgeval_idx
        for name, spec in MGEVAL_FEATURES.items():
            g, r = _feature(ctx.stats, spec, gi), _feature(ctx.ref.stats, spec, ri)
            if len(g) < 2 or len(r) < 2:
                out[name] = None
                continue
            intra_g, intra_r, inter = pairwise_distances(g), pairwise_distances(r), _cross(g, r)
            grid, p_rr, p_gr = kde_pair(intra_r, inter)
            grid2, p_gg, p_rr2 = kde_pair(intra_g, intra_r)
            out[name] = {"oa": overlap_area(p_rr, p_gr, grid), "kl": kl_divergence(p_rr, p_gr, grid),
                         "intra_oa": overlap_area(p_gg, p_rr2, grid2), "intra_g": intra_g, "intra_r": intra_r,
                         "inter": inter}
        return out
    return ctx.once("mgeval", run)


@register("quality/mgeval")
def mgeval(ctx: Context):
    """MGEval (Yang & Lerch 2020) per feature f (pitch count, note count, pitch-class histogram, pitch-class
    transition matrix, pitch range, mean interval, mean IOI, note-length histogram): the distribution of
    distances within R (intra-set) and of distances from G to R (inter-set), each a Gaussian KDE;
    ``f/oa`` = overlap area of the two (1 = G sits inside R like R's own windows do), ``f/kl`` = KL(intra_R ||
    inter) in nats (0 = same). ``mean_oa``/``mean_kl`` average over features. At most 500 windows per set."""
    res = _mgeval(ctx)
    out = {}
    for name, v in res.items():
        if v is None:
            out[f"{name}/oa"] = out[f"{name}/kl"] = float("nan")
            continue
        out[f"{name}/oa"], out[f"{name}/kl"] = v["oa"], v["kl"]
    oas = [v["oa"] for v in res.values() if v]
    kls = [v["kl"] for v in res.values() if v]
    out["mean_oa"] = float(np.mean(oas)) if oas else float("nan")
    out["mean_kl"] = float(np.mean(kls)) if kls else float("nan")
    return out


@register("quality/frechet_descriptor_distance")
def frechet_descriptor_distance(ctx: Context):
    """||mu_G - mu_R||^2 + Tr(S_G + S_R - 2 (S_G S_R)^(1/2)) over standardised descriptor vectors (the FID
    formula). NOT the Frechet Music Distance of Retkowski et al. 2024, which uses CLaMP embeddings that are not
    available offline; numbers are comparable only with this suite. 0 = same mean and covariance."""
    if ctx.n < 2:
        return float("nan")
    return frechet_distance(ctx.X, ctx.ref.X)


def _prdc(ctx: Context):
    def run():
        from .reference import PRDC_K

        if ctx.n <= PRDC_K:
            ctx.notes.append(f"precision/recall/density/coverage need more than {PRDC_K} generated windows")
            return {k: float("nan") for k in ("precision", "recall", "density", "coverage")}
        real_idx, radii = ctx.ref.prdc_sample(ctx.n)
        fake = ctx.X
        if len(fake) > len(real_idx):  # at most as many as the reference side: coverage grows with the ratio
            fake = fake[np.sort(np.random.default_rng(ctx.seed).choice(len(fake), len(real_idx), replace=False))]
        ctx.memo["prdc_sizes"] = (len(real_idx), len(fake))
        return prdc(ctx.ref.X[real_idx], fake, PRDC_K, radii)
    return ctx.once("prdc", run)


@register("quality/precision")
def precision(ctx: Context):
    """Naeem et al. 2020 (k = 5, standardised descriptor space): share of generated windows inside the k-NN ball of
    at least one reference window. Fidelity: 1 = every generated window looks like some real one."""
    return _prdc(ctx)["precision"]


@register("quality/density")
def density(ctx: Context):
    """Naeem et al. 2020: mean number of reference k-NN balls holding a generated window, divided by k. About 1
    for a set drawn like the reference; above 1 when generated windows crowd the dense regions."""
    return _prdc(ctx)["density"]


@register("diversity/recall")
def recall(ctx: Context):
    """Naeem et al. 2020: share of reference windows inside the k-NN ball (among generated windows) of at least one
    generated window. Diversity: how much of the reference the generated set reaches."""
    return _prdc(ctx)["recall"]


@register("diversity/coverage")
def coverage(ctx: Context):
    """Naeem et al. 2020: share of reference windows whose k-NN ball (among reference windows) holds at least one
    generated window. About 1 - 2^-5 = 0.97 for a set drawn like the reference; near 0 for a collapsed set."""
    return _prdc(ctx)["coverage"]


# ---- diversity -------------------------------------------------------------------------------------------------


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
    feats = _mgeval(ctx)
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


# ---- novelty ---------------------------------------------------------------------------------------------------


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


# ---- style -----------------------------------------------------------------------------------------------------


def _predicted_styles(ctx: Context):
    def run():
        m = ctx.ref.style_model
        if m is None:
            return None
        return m.predict(ctx.stats.vectors)
    return ctx.once("styles", run)


@register("style/shares")
def style_shares(ctx: Context):
    """Share of each style among generated windows (``share/<style>``, by the style classifier trained on the
    reference data's train split) next to the reference shares (``ref_share/<style>``); ``tv_distance`` =
    (1/2) sum |share - ref_share| (0 = same mix, 1 = disjoint); ``missing_styles`` = reference styles with at
    least 1 % of the data but under 1 % of the generated windows (mode dropping). With one style the shares are
    trivially 1 and no classifier is used.

    The raw votes carry the classifier's own errors, and the reference split's mix is not the one models draw by.
    So, where the classifier has a held-out confusion matrix: ``adjusted/<style>`` = the mix that best explains
    the votes given those errors (``reference.adjusted_shares``), ``draw_share/<style>`` = the training data's
    shares (what an unconditioned draw follows), ``adjusted_tv_distance`` = (1/2) sum |adjusted - draw_share| and
    ``max_share_error`` = max over styles of |adjusted - draw_share| / draw_share."""
    names = ctx.ref.style_names
    ref_sh = ctx.ref.style_shares()
    if not names or ref_sh is None:
        ctx.notes.append("style: the reference has no style labels")
        return {}
    pred = _predicted_styles(ctx)
    if pred is None:
        present = [i for i, s in enumerate(ref_sh) if s > 0] or [0]
        pred = np.full(ctx.n, present[0])
        if ctx.ref.style_note and ctx.ref.style_note not in ctx.notes:
            ctx.notes.append(ctx.ref.style_note)
    gen_sh = np.bincount(pred, minlength=len(names)) / max(ctx.n, 1)
    ctx.per_window["style_pred"] = pred
    out = {f"share/{n}": float(gen_sh[i]) for i, n in enumerate(names)}
    out.update({f"ref_share/{n}": float(ref_sh[i]) for i, n in enumerate(names)})
    out["tv_distance"] = float(0.5 * np.abs(gen_sh - ref_sh).sum())
    out["missing_styles"] = float(((ref_sh >= 0.01) & (gen_sh < 0.01)).sum())
    draw = ctx.ref.draw_shares()
    confusion = getattr(ctx.ref.style_model, "confusion", None)
    if confusion is not None and draw is not None:
        adj = adjusted_shares(gen_sh, confusion)
        out.update({f"adjusted/{n}": float(adj[i]) for i, n in enumerate(names)})
        out.update({f"draw_share/{n}": float(draw[i]) for i, n in enumerate(names)})
        out["adjusted_tv_distance"] = float(0.5 * np.abs(adj - draw).sum())
        present = draw > 0
        out["max_share_error"] = float((np.abs(adj - draw)[present] / draw[present]).max())
    return out


@register("style/classifier_accuracy")
def classifier_accuracy(ctx: Context):
    """Held-out accuracy (``accuracy``) and balanced accuracy (mean per-style recall, ``balanced``) of the style
    classifier on the reference data's val + test windows: how far ``style/shares`` can be trusted."""
    m = ctx.ref.style_model
    if m is None:
        return {}
    return {"accuracy": m.accuracy, "balanced": m.balanced_accuracy}


@register("style/conditioning_accuracy")
def conditioning_accuracy(ctx: Context):
    """Share of generated windows the classifier assigns to the style they were generated for (only for model
    samples, whose requested style is known); compare with ``style/classifier_accuracy``."""
    pred = _predicted_styles(ctx)
    if pred is None or ctx.gen.style is None or ctx.gen.style_names is None:
        return {}
    names = ctx.ref.style_names
    want = np.array([names.index(ctx.gen.style_names[s]) if s >= 0 and ctx.gen.style_names[s] in names else -1
                     for s in ctx.gen.style])
    ok = want >= 0
    return float((pred[ok] == want[ok]).mean()) if ok.any() else {}


# ---- running -------------------------------------------------------------------------------------------------


@dataclass
class Evaluation:
    metrics: dict[str, float]  # flat keys -> numbers (NaN where undefined)
    info: dict  # counts, labels, notes, timings
    context: Context | None = None  # per-window arrays and memoised intermediates, for the report
    timings: dict[str, float] = field(default_factory=dict)


def evaluate_set(gen: WindowSet, ref: Reference, train: TrainSet | None = None, metrics: list[str] | None = None,
                 seed: int = 0, warn=None) -> Evaluation:
    """Run the chosen metrics (default all) on a generated set against a reference (and training set)."""
    names = resolve(metrics)
    t0 = time.perf_counter()
    with _quiet_nan():
        ctx = Context(gen, ref, train, seed)
    timings = {"setup (decode, descriptors, copy index)": time.perf_counter() - t0}
    out: dict[str, float] = {}
    for name in names:
        m = METRICS[name]
        if m.needs_train and train is None:
            if "novelty metrics need a training set (--train)" not in ctx.notes:
                ctx.notes.append("novelty metrics need a training set (--train)")
            continue
        if len(gen) == 0:
            continue
        t = time.perf_counter()
        try:
            with _quiet_nan():
                res = m.fn(ctx)
        except Exception as e:  # one failing metric must not cost the others; reported, not hidden
            msg = f"metric {name} failed: {type(e).__name__}: {e}"
            ctx.notes.append(msg)
            (warn or (lambda s: print(f"warning: {s}", file=sys.stderr)))(msg)
            continue
        timings[name] = time.perf_counter() - t
        if isinstance(res, dict):
            for k, v in res.items():
                out[f"{name}/{k}" if k else name] = _num(v)
        else:
            out[name] = _num(res)
    info = {"generated": gen.label, "reference": ref.label, "train": train.label if train else None,
            "n_generated": len(gen), "n_reference": ref.n, "n_train": train.stats.n if train else 0,
            "notes": list(ctx.notes), "metrics": names}
    return Evaluation(out, info, ctx, timings)


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def evaluate_windows(tokens: np.ndarray, reference, *, low: int = 0, train="reference", metrics=None,
                     style: np.ndarray | None = None, style_names: list[str] | None = None, seed: int = 0,
                     reference_split: str = "train") -> dict[str, float]:
    """Metrics of token windows, in process (for the trainer and ablations).

    tokens: [N, V, T] uint8 windows relative to ``low`` (token 2 + p - low; low=0 for absolute tokens).
    reference: a prepared-data dir, a ``PreparedData`` or a ``Reference``; statistics are cached on disk and in
    memory, so repeated calls pay only for the generated set.
    train: a prepared-data dir / ``TrainSet``, "reference" (the reference data's train split) or None (no novelty).
    style: optional [N] requested style index into ``style_names`` (for style/conditioning_accuracy).
    Returns the flat metric dict (see docs/metrics.md)."""
    from .reference import load_reference, load_train

    ref = reference if isinstance(reference, Reference) else load_reference(reference, reference_split, seed=seed)
    if isinstance(train, str) and train == "reference":
        train = load_train(ref.data) if ref.data is not None else None
    elif train is not None and not isinstance(train, TrainSet):
        train = load_train(train)
    gen = from_tokens(tokens, low, ref.config.steps_per_quarter, ref.roles, "windows", style, style_names)
    return evaluate_set(gen, ref, train, metrics, seed).metrics
