"""Quality metrics: how much the generated set G sounds like the reference set R (normally the training split of
the data). Descriptor vectors are standardised with R's mean and standard deviation; registered in the group
``quality`` (and the per-descriptor means, ``descriptors``)."""

import numpy as np

from .context import Context
from .descriptors import SCALARS
from .mgeval import mgeval_distances
from .prdc import prdc_scores
from .registry import register
from .stats import frechet_distance
from .two_sample import classifier_two_sample


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


@register("quality/mgeval")
def mgeval(ctx: Context):
    """MGEval (Yang & Lerch 2020) per feature f (pitch count, note count, pitch-class histogram, pitch-class
    transition matrix, pitch range, mean interval, mean IOI, note-length histogram): the distribution of
    distances within R (intra-set) and of distances from G to R (inter-set), each a Gaussian KDE;
    ``f/oa`` = overlap area of the two (1 = G sits inside R like R's own windows do), ``f/kl`` = KL(intra_R ||
    inter) in nats (0 = same). ``mean_oa``/``mean_kl`` average over features. At most 500 windows per set."""
    res = mgeval_distances(ctx)
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


@register("quality/precision")
def precision(ctx: Context):
    """Naeem et al. 2020 (k = 5, standardised descriptor space): share of generated windows inside the k-NN ball of
    at least one reference window. Fidelity: 1 = every generated window looks like some real one."""
    return prdc_scores(ctx)["precision"]


@register("quality/density")
def density(ctx: Context):
    """Naeem et al. 2020: mean number of reference k-NN balls holding a generated window, divided by k. About 1
    for a set drawn like the reference; above 1 when generated windows crowd the dense regions."""
    return prdc_scores(ctx)["density"]


@register("quality/two_sample_accuracy")
def two_sample_accuracy(ctx: Context):
    """Classifier two-sample test between G and R on the standardised descriptor vectors (metrics/two_sample.py):
    held-out accuracy of a gradient-boosted classifier telling them apart. 0.5 = indistinguishable."""
    real = ctx.ref.std.transform(ctx.ref.stats.vectors)
    return classifier_two_sample(real, ctx.X, ctx.seed)

