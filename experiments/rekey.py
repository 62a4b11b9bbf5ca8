"""The key control of the adversarial protocol: a model's windows moved into their style's real keys.

A critic trained on real windows in their own keys first finds that a model trained on transposed windows spreads
a style's music over neighbouring keys. Resampling by such a critic fixes that, and any gain could be only that.
This control fixes it without a critic: each generated window is transposed by the shift in -3..+3 semitones (the
training transposition's range) that keeps its notes inside the data's pitch range, drawn with probability
proportional to how often the style's training windows sit on the tonic that shift gives. Whatever the critic
gains beyond this row is not the keys.
"""

import numpy as np

from divertimento.metrics.key_register import tonic_distribution, window_tonics
from divertimento.metrics.sets import WindowSet
from divertimento.music.roll import FIRST_PITCH_TOKEN

SHIFTS = np.arange(-3, 4)


def style_tonic_shares(train: WindowSet) -> dict[int, np.ndarray]:
    """Per style index, the [12] share of the style's training windows on each tonic."""
    tonics = window_tonics(train.tokens)
    return {int(s): tonic_distribution(tonics[train.style == s]) for s in np.unique(train.style)}


def rekey(ws: WindowSet, shares: dict[int, np.ndarray], pitch_range: tuple[int, int], seed: int) -> WindowSet:
    """``ws`` with every window transposed into its style's keys (see the module docstring)."""
    rng = np.random.default_rng(seed)
    tokens = ws.tokens.astype(np.int64)
    tonics = window_tonics(tokens)
    out = tokens.copy()
    lo, hi = pitch_range
    for i, w in enumerate(tokens):
        notes = w[w >= FIRST_PITCH_TOKEN] - FIRST_PITCH_TOKEN
        if tonics[i] < 0 or not len(notes):
            continue
        fits = (notes.min() + SHIFTS >= lo) & (notes.max() + SHIFTS <= hi)
        weight = shares[int(ws.style[i])][(tonics[i] + SHIFTS) % 12] * fits
        if weight.sum() == 0:
            continue
        d = rng.choice(SHIFTS, p=weight / weight.sum())
        out[i] = np.where(w >= FIRST_PITCH_TOKEN, w + d, w)
    return WindowSet(out.astype(np.uint8), ws.steps_per_quarter, ws.roles, ws.label + " (rekeyed)", ws.style,
                     ws.style_names)
