"""Real stretches of whole pieces from a prepared split: a piece's consecutive windows laid back on one timeline, so
that its first bars can be read as one stretch (what the studio's strain critic learns real openings from, and
the experiments compare whole generated pieces with)."""

from collections import defaultdict

import numpy as np


def stitched_stretches(data, split: str, bars: int, bar_of) -> dict[tuple[int, int], list[np.ndarray]]:
    """(style, meter) -> the first ``bars`` bars [V, bars * bar] of each piece of ``split`` whose windows cover them
    without a gap, from its first window's start (``bar_of(meter)``: steps per bar)."""
    sp = data.splits[split]
    out = defaultdict(list)
    for piece in np.unique(sp["piece"]):
        idx = np.flatnonzero(sp["piece"] == piece)
        idx = idx[np.argsort(sp["start"][idx])[::-1]]  # later windows first: earlier ones overwrite them
        starts = sp["start"][idx]
        lo, hi = int(starts.min()), int(starts.max()) + sp["rolls"].shape[-1]
        full = np.zeros((sp["rolls"].shape[1], hi - lo), dtype=np.int64)
        covered = np.zeros(hi - lo, dtype=bool)
        for i in idx:
            a = int(sp["start"][i]) - lo
            full[:, a : a + sp["rolls"].shape[-1]] = sp["rolls"][i]
            covered[a : a + sp["rolls"].shape[-1]] = True
        style, meter = int(sp["style"][idx[0]]), int(sp["meter"][idx[0]])
        n = bars * bar_of(meter)
        # a window's first step re-enters a held note as an onset; the stretch starts at the first window's start
        if covered.all() and full.shape[1] >= n:
            out[(style, meter)].append(full[:, :n])
    return out
