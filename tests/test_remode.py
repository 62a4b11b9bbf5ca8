"""The protocol's mode control (experiments/remode.py): a model's windows kept in draw order until the style's share
of minor is met, each mode read here by hand from the Krumhansl-Kessler correlations (numpy's corrcoef)."""

import sys

import numpy as np
import pytest

from divertimento.music.key import KK_MAJOR, KK_MINOR
from divertimento.music.roll import FIRST_PITCH_TOKEN
from divertimento.sample.sampler import load_sampler
from divertimento.sample.windows import sample_window_set

sys.path.insert(0, "experiments")
from remode import minor_quota, remode_window_set  # noqa: E402  (experiments/ is a folder of scripts)


def minor_by_hand(window: np.ndarray) -> bool:
    """Whether the best of the 24 rotated profiles, by Pearson correlation with the onsets' pitch classes, is minor
    (absolute tokens: MIDI pitch + FIRST_PITCH_TOKEN)."""
    pitches = window[window >= FIRST_PITCH_TOKEN].astype(int) - FIRST_PITCH_TOKEN
    counts = np.bincount(pitches % 12, minlength=12).astype(float)
    if counts.sum() == 0:
        return False
    best = max((np.corrcoef(counts, np.roll(profile, k))[0, 1], minor)
               for minor, profile in ((0, KK_MAJOR), (1, KK_MINOR)) for k in range(12))
    return bool(best[1])


def test_minor_quota_rounds_to_the_nearest_window():
    assert [minor_quota(10, s) for s in (0.0, 0.34, 0.35, 0.36, 1.0)] == [0, 3, 4, 4, 10]


def test_the_first_windows_of_each_mode_in_draw_order_at_the_styles_share(tiny_mle_run):
    sampler = load_sampler(tiny_mle_run)
    style = sampler.style_names[0]
    ws, drawn = remode_window_set(sampler, 8, 500, style, share=0.25, block=8)
    plain = sample_window_set(sampler, drawn, 500, style)  # the same pieces, drawn in one go
    minor = [minor_by_hand(w) for w in plain.tokens]
    want = [i for i, m in enumerate(minor) if m][:2] + [i for i, m in enumerate(minor) if not m][:6]
    assert drawn % 8 == 0 and len(ws.tokens) == 8
    assert np.array_equal(ws.tokens, plain.tokens[sorted(want)])
    assert sum(minor_by_hand(w) for w in ws.tokens) == 2
    # no more drawn than needed: the last block was needed for one of the modes
    assert drawn == 8 or sum(minor[: drawn - 8]) < 2 or len(minor[: drawn - 8]) - sum(minor[: drawn - 8]) < 6


def test_a_model_that_never_writes_a_mode_is_refused(tiny_mle_run, monkeypatch):
    import remode

    sampler = load_sampler(tiny_mle_run)
    monkeypatch.setattr(remode, "window_modes", lambda tokens: np.zeros(len(tokens), dtype=int))  # all major
    with pytest.raises(RuntimeError, match="found only 0 of 1 minor"):
        remode_window_set(sampler, 4, 0, sampler.style_names[0], share=0.25)
