"""The parallel-fifths-and-octaves mask (models.voice_leading.parallel_mask) against the rule read one candidate at a
time in plain Python, on random slices where perfect intervals are common."""

import numpy as np
import torch

from divertimento.models.voice_leading import parallel_mask
from divertimento.music.roll import FIRST_PITCH_TOKEN


def forbidden_by_the_rule(before: list[int], chosen: list[int], v: int, k: int) -> bool:
    """Voice v taking token k makes a parallel fifth or octave with some voice u above it: both sound before and
    now, both change pitch the same way, and the interval is a fifth or a unison/octave (mod 12) before and after."""
    pv = before[v]
    if k < FIRST_PITCH_TOKEN or pv < 0 or k == pv:
        return False
    for u in range(v):
        pu, qu = before[u], chosen[u]
        if pu < 0 or qu < 0 or qu == pu:
            continue
        interval = abs(pu - pv) % 12
        up_u, up_v = qu > pu, k > pv
        if interval in (0, 7) and abs(qu - k) % 12 == interval and up_u == up_v:
            return True
    return False


def test_parallel_mask_is_the_rule_token_by_token():
    rng = np.random.default_rng(7)
    K, V, seen = 40, 4, 0
    for _ in range(60):
        B = int(rng.integers(1, 12))
        before = rng.integers(-1, K, (B, V))
        chosen = rng.integers(-1, K, (B, V))
        octave = rng.random(B) < 0.6  # the alto an octave or a fifth below the soprano in most rows
        before[octave, 1] = np.clip(before[octave, 0] - rng.choice([7, 12, 19], octave.sum()), -1, K - 1)
        for v in range(1, V):
            got = parallel_mask(torch.as_tensor(before), torch.as_tensor(chosen), v, K).numpy()
            want = np.array([[forbidden_by_the_rule(list(before[b]), list(chosen[b]), v, k) for k in range(K)]
                             for b in range(B)])
            assert np.array_equal(got, want)
            seen += int(want.sum())
    assert seen > 100  # the rule forbade many tokens, so the comparison was not of two empty masks
