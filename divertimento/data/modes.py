"""The mode of a window, major or minor, and what a model conditioned on it remembers of its data.

Round 13 found Bach's missing coverage in its minor chorales: every model writes minor about half as often as the
training chorales do, and after a minor opening goes on in minor little more often than after a major one
(docs/adversarial.md). A model with ``mode_condition`` is told each training window's mode, read from its notes by
the best Krumhansl-Kessler key, as a third part of its condition label beside style and meter; it is sampled in a
mode drawn by its style's training share."""

import numpy as np

from ..music.key import modes_of_counts
from ..music.roll import FIRST_PITCH_TOKEN
from .conditions import MODE_NAMES
from .dataset import PreparedData


def onset_pitch_class_counts(tokens: np.ndarray, low: int) -> np.ndarray:
    """[N, 12] note onsets of each pitch class in token windows [N, V, T] whose pitch tokens start at MIDI ``low``
    (0 for absolute tokens)."""
    tok = np.asarray(tokens).astype(np.int64)
    onset = tok >= FIRST_PITCH_TOKEN
    n = np.nonzero(onset)[0]
    pc = (low + tok[onset] - FIRST_PITCH_TOKEN) % 12
    return np.bincount(n * 12 + pc, minlength=len(tok) * 12).reshape(len(tok), 12).astype(np.float64)


def window_modes(tokens: np.ndarray, low: int) -> np.ndarray:
    """[N] the mode of each window's best key: 0 major, 1 minor, -1 for a window without notes."""
    return modes_of_counts(onset_pitch_class_counts(tokens, low))


def mode_labels(tokens: np.ndarray, low: int) -> np.ndarray:
    """[N] each window's mode as a condition (a window without notes counts as major)."""
    return np.maximum(window_modes(tokens, low), 0)


def mode_summary(data: PreparedData) -> dict:
    """What a model conditioned on mode remembers: the modes' names and, per style, the share of its training
    windows in each (what a piece of that style is drawn in)."""
    train = data.splits["train"]
    modes = mode_labels(train["rolls"], data.low)
    shares = []
    for s in range(len(data.style_names)):
        counts = np.bincount(modes[train["style"] == s], minlength=len(MODE_NAMES)).astype(np.float64)
        shares.append((counts / max(counts.sum(), 1)).round(6).tolist())
    return {"mode_names": MODE_NAMES, "mode_shares": shares}
