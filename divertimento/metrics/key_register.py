"""Where a style's music sits: its keys and its register, compared between two sets of windows.

The suite's descriptor space is blind to both on purpose (scale-degree histograms, pitch ranges and intervals do
not change when a window is transposed), so a model trained on randomly transposed windows, which spreads a style's
tunes evenly over neighbouring keys, looks as good as one that writes reels in D and chorales in their own keys.
A musician hears the difference (an Irish reel in E-flat does not lie on the fiddle), and a critic trained on real
windows in their own keys finds it first. These two figures measure it:

- ``tonic_tv``: total variation distance between the two sets' distributions of window tonics (the pitch class of
  the best Krumhansl-Kessler key of the window's notes), 0.5 * sum_k |p_k - q_k| over the 12 pitch classes.
- ``register_w1``: the 1-Wasserstein distance, in semitones, between the two sets' distributions of a window's mean
  MIDI pitch (over every note onset of every voice); windows without notes are left out.
"""

import numpy as np
from scipy.stats import wasserstein_distance

from ..data.modes import onset_pitch_class_counts
from ..data.modes import window_modes as data_window_modes
from ..music.roll import FIRST_PITCH_TOKEN
from .descriptors import estimate_tonic

KEY_REGISTER_FIGURES = ("tonic_tv", "register_w1")


def onset_pitches(tokens: np.ndarray) -> np.ma.MaskedArray:
    """[N, V, T] MIDI pitch of every onset of absolute-token windows (onset of pitch p = FIRST_PITCH_TOKEN + p, as
    ``metrics.decode.to_absolute`` writes them), masked where no note starts."""
    tokens = np.asarray(tokens).astype(np.int64)
    return np.ma.masked_less(tokens - FIRST_PITCH_TOKEN, 0)


def window_tonics(tokens: np.ndarray) -> np.ndarray:
    """[N] tonic pitch class of each window (-1 for a window without notes)."""
    counts = onset_pitch_class_counts(tokens, 0)
    return np.where(counts.sum(axis=1) > 0, estimate_tonic(counts), -1)


def window_modes(tokens: np.ndarray) -> np.ndarray:
    """[N] mode of each window's best key: 0 major, 1 minor, -1 for a window without notes."""
    return data_window_modes(tokens, 0)  # absolute tokens: pitch tokens start at MIDI 0


def window_registers(tokens: np.ndarray) -> np.ndarray:
    """[N] mean MIDI pitch of each window's onsets (NaN for a window without notes)."""
    p = onset_pitches(tokens).reshape(len(tokens), -1)
    return p.mean(axis=1).filled(np.nan)


def tonic_distribution(tonics: np.ndarray) -> np.ndarray:
    """[12] share of windows on each tonic, windows without notes left out."""
    t = tonics[tonics >= 0]
    return np.bincount(t, minlength=12) / max(len(t), 1)


def key_register_figures(real_tokens: np.ndarray, gen_tokens: np.ndarray) -> dict[str, float]:
    """``tonic_tv`` and ``register_w1`` of generated windows against real ones (absolute tokens [N, V, T])."""
    tv = 0.5 * float(np.abs(tonic_distribution(window_tonics(real_tokens))
                            - tonic_distribution(window_tonics(gen_tokens))).sum())
    a, b = window_registers(real_tokens), window_registers(gen_tokens)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    w1 = float(wasserstein_distance(a, b)) if len(a) and len(b) else float("nan")
    return {"tonic_tv": tv, "register_w1": w1}
