"""Precision, recall, density and coverage (Naeem et al. 2020), computed once per evaluation: ``quality/precision``
and ``quality/density`` measure fidelity, ``diversity/recall`` and ``diversity/coverage`` diversity."""

import numpy as np

from .context import Context
from .reference import PRDC_K
from .stats import prdc


def prdc_scores(ctx: Context) -> dict[str, float]:
    def run():
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
