"""Figures of one style's generated windows against the same style's real windows: the per-style rows of the
adversarial protocol. Everything is measured in the pooled reference's standardised descriptor space (so distances
mean the same in every style), but precision, recall, density, coverage, the Fréchet descriptor distance and the
classifier two-sample accuracy compare a style's samples only with that style's real windows."""

import numpy as np

from .reference import PRDC_K
from .stats import frechet_distance, prdc
from .two_sample import classifier_two_sample

FIGURES = ("precision", "recall", "density", "coverage", "fdd", "two_sample")


def style_figures(x_real: np.ndarray, x_gen: np.ndarray, seed: int = 0) -> dict[str, float]:
    """The protocol's figures between two sets of standardised descriptor vectors of one style. PRDC compares
    equal numbers of windows (coverage grows with the generated side's size), so the larger set is cut."""
    rng = np.random.default_rng(seed)
    n = min(len(x_real), len(x_gen))
    if n <= PRDC_K:
        return {k: float("nan") for k in FIGURES}
    real = x_real[np.sort(rng.choice(len(x_real), n, replace=False))]
    gen = x_gen[np.sort(rng.choice(len(x_gen), n, replace=False))]
    out = prdc(real, gen, PRDC_K)
    out["fdd"] = frechet_distance(gen, real)
    out["two_sample"] = classifier_two_sample(x_real, x_gen, seed)
    return {k: float(out[k]) for k in FIGURES}
