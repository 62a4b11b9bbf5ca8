"""Token windows -> pieces: voiced, paced and phrased for their style, ready to export."""

import numpy as np

from ..music.layouts import get_layout
from ..music.notes import Piece, Track
from ..music.roll import REST, tokens_to_notes

# A voice that plays in fewer than this share of a style's training windows stays silent in that style (the
# style's instrumentation: a fiddle tune is one line), whatever the model's logits say there.
MIN_VOICE_USE = 0.01

# How each style sounds when exported: (General MIDI program, tempo in quarters per minute).
STYLE_SOUND = {
    "bach": (19, 76), "palestrina": (52, 132), "folk-german": (0, 100), "folk-chinese": (73, 88),
    "irish": (73, 116), "fiddle": (40, 116), "folk": (0, 100),
}
DEFAULT_SOUND = (0, 100)


def silence_unused_voices(tokens: np.ndarray, styles, manifest: dict) -> np.ndarray:
    """Tokens [N, V, T] with REST in every voice its window's style (index per window) does not use in the
    training data (``voice_use`` of the model's data summary; models without one are left as they are)."""
    use = manifest.get("voice_use")
    if use is None:
        return tokens
    quiet = np.asarray(use)[np.asarray(styles, dtype=np.int64)] < MIN_VOICE_USE  # [N, V]
    return np.where(quiet[..., None], REST, tokens).astype(tokens.dtype)


def metric_velocities(starts: np.ndarray, steps_per_quarter: int, voice: int) -> np.ndarray:
    """Velocities that follow the metre (downbeat > half-bar > beat > off-beat) with the top voice a little
    louder, so exported pieces do not play as a flat, mechanical stream of equal notes."""
    bar, beat = 4 * steps_per_quarter, steps_per_quarter
    v = np.where(starts % bar == 0, 92, np.where(starts % (bar // 2) == 0, 86, np.where(starts % beat == 0, 80, 72)))
    return (v + (6 if voice == 0 else 0)).astype(np.int32)


def tokens_to_piece(tokens: np.ndarray, low: int, data: dict, style: str, title: str) -> Piece:
    """A piece from one token window [V, T], voiced and paced for its style."""
    layout = get_layout(data["layout"])
    program, tempo = STYLE_SOUND.get(style, DEFAULT_SOUND)
    spq = data["steps_per_quarter"]
    tracks = []
    for voice, (role, row) in enumerate(zip(layout.roles, tokens)):
        notes = tokens_to_notes(row, low)
        notes[:, 3] = metric_velocities(notes[:, 0], spq, voice)
        tracks.append(Track(role, program, False, notes))
    T = tokens.shape[-1]
    bars = np.asarray([(s, 4 * spq, 4, 4) for s in range(0, T, 4 * spq)], dtype=np.int32)
    return Piece(title, spq, tracks, bars, float(tempo), {"style": style})
