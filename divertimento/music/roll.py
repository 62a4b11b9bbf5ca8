"""The one notes <-> roll converter.

Monophonic voices become token rows: per step REST, HOLD (the sounding note goes on) or an onset of a pitch.
A held note and a repeated note are different token rows, so ``notes -> tokens -> notes`` round-trips exactly
for any monophonic voice whose pitches lie in the range. A polyphonic part is several such rows (music/lanes.py).
"""

import numpy as np

from .notes import DURATION, PITCH, START, VELOCITY

REST = 0  # no note sounds
HOLD = 1  # the note sounding at the previous step goes on
FIRST_PITCH_TOKEN = 2  # token of pitch p is FIRST_PITCH_TOKEN + (p - low)

DEFAULT_VELOCITY = 80


def n_tokens(low: int, high: int) -> int:
    """Vocabulary size of a monophonic voice with pitches low..high inclusive."""
    return FIRST_PITCH_TOKEN + high - low + 1


def notes_to_tokens(notes: np.ndarray, n_steps: int, low: int, high: int, offset: int = 0) -> np.ndarray:
    """Token row [n_steps] uint8 for monophonic notes, reading steps offset..offset+n_steps.

    A note already sounding at ``offset`` starts there as an onset (a window stands on its own). A later onset
    cuts the note before it. Pitches outside low..high raise ValueError: callers decide whether to skip or fold.
    """
    tokens = np.zeros(n_steps, dtype=np.uint8)
    if len(notes) == 0:
        return tokens
    if notes[:, PITCH].min() < low or notes[:, PITCH].max() > high:
        raise ValueError(f"pitch outside {low}..{high}")
    covered = 0  # end of the HOLDs written so far
    for start, dur, pitch in notes[np.argsort(notes[:, START], kind="stable")][:, [START, DURATION, PITCH]]:
        a, b = int(start) - offset, int(start + dur) - offset
        if a >= n_steps:
            break
        b = min(max(b, 0), n_steps)
        if b > 0:
            a = max(a, 0)
            tokens[a] = FIRST_PITCH_TOKEN + pitch - low
            tokens[a + 1 : b] = HOLD
        # notes come in start order, so this onset cut the previous note (even one that began before the
        # window); the previous note's tail beyond this note is silence
        tokens[b:covered] = REST
        covered = b
    return tokens


def window_tokens(full: np.ndarray, start: int, n_steps: int) -> np.ndarray:
    """The window start..start+n_steps of a whole-piece token row, standing on its own: a note still sounding at
    ``start`` re-enters as an onset. Equals ``notes_to_tokens(notes, n_steps, offset=start)`` but costs a slice."""
    row = full[start : start + n_steps].copy()
    if len(row) < n_steps:
        row = np.concatenate([row, np.zeros(n_steps - len(row), dtype=row.dtype)])
    if row[0] == HOLD:
        k = start
        while k > 0 and full[k] == HOLD:
            k -= 1
        row[0] = full[k] if full[k] >= FIRST_PITCH_TOKEN else REST
    return row


def tokens_to_notes(tokens: np.ndarray, low: int, velocity: int = DEFAULT_VELOCITY) -> np.ndarray:
    """Notes [n, 4] from a token row. A HOLD after a REST has nothing to hold and reads as a rest."""
    tokens = np.asarray(tokens)
    onsets = np.flatnonzero(tokens >= FIRST_PITCH_TOKEN)
    if len(onsets) == 0:
        return np.zeros((0, 4), dtype=np.int32)
    # a note lasts from its onset through the run of HOLDs after it
    not_hold = np.flatnonzero(tokens != HOLD)
    nxt = np.searchsorted(not_hold, onsets, side="right")
    ends = np.where(nxt < len(not_hold), not_hold[np.minimum(nxt, len(not_hold) - 1)], len(tokens))
    out = np.empty((len(onsets), 4), dtype=np.int32)
    out[:, START] = onsets
    out[:, DURATION] = ends - onsets
    out[:, PITCH] = tokens[onsets].astype(np.int32) - FIRST_PITCH_TOKEN + low
    out[:, VELOCITY] = velocity
    return out
