"""The mode control of the adversarial protocol: a model's windows drawn in their style's real share of minor.

Rounds 13-15 found every model writes Bach in minor far less often than the training chorales are (about 23 %
against 35 %, read by the best key's correlation), and that real minor Bach is covered half as well as real major.
This control corrects the share without a critic and without changing any window: it draws the model's windows in
order, as ``generate`` does, and keeps the first ``round(share * n)`` minor ones and the first ``n - that`` major
ones, ``share`` being the style's share of minor training windows. Each kept window is then a draw from the model's
own distribution given its mode (rejection sampling on ``metrics.key_register.window_modes``), and the set has the
training's mode share. It costs extra draws, counted and printed, which the likelihood-reranked control must be
given too.
"""

import numpy as np

from divertimento.metrics.key_register import window_modes
from divertimento.metrics.sets import WindowSet
from divertimento.sample.sampler import Sampler
from divertimento.sample.windows import sample_window_set

MAX_DRAWS = 20  # times n: a model that (almost) never writes one of the modes is refused, not looped on


def style_minor_shares(train: WindowSet) -> dict[int, float]:
    """Per style index, the share of its training windows in minor (windows without notes count as major)."""
    modes = np.maximum(window_modes(train.tokens), 0)
    return {int(s): float(modes[train.style == s].mean()) for s in np.unique(train.style)}


def minor_quota(n: int, share: float) -> int:
    """How many of n windows are minor at a minor share of ``share``."""
    return int(round(share * n))


def remode_window_set(sampler: Sampler, n: int, seed: int, style: str, share: float, temperature=None,
                      options: dict | None = None, block: int | None = None) -> tuple[WindowSet, int]:
    """n windows of ``style`` (pieces seed + i in order, as ``generate --seeds`` draws them) in ``share`` minor:
    the first minor and the first major ones in draw order (see the module docstring); and how many were drawn."""
    block = block or n
    want = {1: minor_quota(n, share), 0: n - minor_quota(n, share)}
    kept: dict[int, list[int]] = {0: [], 1: []}
    sets, drawn = [], 0
    while any(len(kept[m]) < want[m] for m in kept):
        if drawn >= MAX_DRAWS * n:
            raise RuntimeError(f"{sampler.path.name} drew {drawn} windows of {style} and found only "
                               f"{len(kept[1])} of {want[1]} minor, {len(kept[0])} of {want[0]} major ones")
        ws = sample_window_set(sampler, block, seed + drawn, style, temperature=temperature, options=options)
        modes = np.maximum(window_modes(ws.tokens), 0)
        for i, m in enumerate(modes):
            if len(kept[int(m)]) < want[int(m)]:
                kept[int(m)].append(len(sets) * block + i)
        sets.append(ws)
        drawn += block
    order = np.sort(np.asarray(kept[0] + kept[1], dtype=np.int64))
    tokens = np.concatenate([w.tokens for w in sets])[order]
    labels = np.concatenate([w.style for w in sets])[order]
    first = sets[0]
    return WindowSet(tokens, first.steps_per_quarter, first.roles, first.label + " (remoded)", labels,
                     first.style_names), drawn
