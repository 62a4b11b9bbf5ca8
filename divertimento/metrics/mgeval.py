"""MGEval's distance distributions (Yang & Lerch 2020), computed once per evaluation: ``quality/mgeval`` reads the
inter-set comparison, ``diversity/intra_set_oa`` the intra-set one."""

import numpy as np

from .context import Context
from .set_stats import SetStats
from .stats import kde_pair, kl_divergence, overlap_area, pairwise_distances, sq_dists

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
    return np.sqrt(sq_dists(a, b)).ravel()


def mgeval_distances(ctx: Context) -> dict:
    """Per feature: None (fewer than 2 windows with it on a side), or the intra- and inter-set distances with
    their overlap areas ``oa`` (inter vs intra R), ``intra_oa`` (intra G vs intra R) and ``kl``."""
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
