"""Does a window keep the key it starts in? A figure the rest of the suite cannot see.

The descriptors are aggregates over the whole window (its pitch-class and scale-degree histograms), and
``tonic_tv`` reads one key per window; none of them changes when a window's second half moves to another key. A
model that forgets its key as it goes (a sequence model's errors compound over the steps it draws) writes windows
whose halves disagree, and a listener hears the wandering. This figure measures it:

- a half's scale is the one of the suite's 24 (``descriptors.SCALES``: major and natural minor, i.e. the 12
  diatonic collections) that holds most of its note onsets;
- ``kept``: the share of the second half's onsets in the first half's scale;
- ``own``: the share of the second half's onsets in its own best scale;
- ``key_drift`` = mean over windows of own - kept: 0 for windows that stay in one scale, larger the more the second
  half leaves the first half's key. Real music modulates too (Bach's chorale windows: about 0.035), so a set is read
  against the real set's figure, not against 0. Windows with a silent half are left out; ties between scales go to
  the first in the suite's order.
"""

import numpy as np

from ..music.roll import FIRST_PITCH_TOKEN
from .descriptors import SCALES

KEY_KEEPING_FIGURES = ("key_drift",)


def pitch_class_counts(tokens: np.ndarray, a: int, b: int) -> np.ndarray:
    """[N, 12] note onsets per pitch class in steps a..b-1 of absolute token windows [N, V, T] (onset of pitch p =
    FIRST_PITCH_TOKEN + p, as ``metrics.decode.to_absolute`` writes them)."""
    part = np.asarray(tokens)[:, :, a:b].astype(np.int64)
    window = np.arange(len(part)).reshape(-1, 1, 1) * 12
    cells = (window + (part - FIRST_PITCH_TOKEN) % 12)[part >= FIRST_PITCH_TOKEN]
    return np.bincount(cells, minlength=len(part) * 12).reshape(-1, 12).astype(np.float64)


def key_kept(tokens: np.ndarray) -> dict[str, float]:
    """Mean ``kept``, ``own`` and ``key_drift`` (own - kept) over windows whose halves both have notes (NaN if
    none has)."""
    half = tokens.shape[2] // 2
    first, second = pitch_class_counts(tokens, 0, half), pitch_class_counts(tokens, half, tokens.shape[2])
    ok = (first.sum(1) > 0) & (second.sum(1) > 0)
    if not ok.any():
        return {"kept": float("nan"), "own": float("nan"), "key_drift": float("nan")}
    first, second = first[ok], second[ok]
    scales = SCALES.T.astype(np.float64)
    in_scales = second @ scales  # [N, 24] the second half's onsets in each scale
    total = second.sum(1)
    kept = in_scales[np.arange(len(second)), (first @ scales).argmax(1)] / total
    own = in_scales.max(1) / total
    return {"kept": float(kept.mean()), "own": float(own.mean()), "key_drift": float((own - kept).mean())}


def key_keeping_figures(tokens: np.ndarray) -> dict[str, float]:
    """The protocol's figure of one set of absolute token windows [N, V, T]: ``key_drift``."""
    return {"key_drift": key_kept(tokens)["key_drift"]}
