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
    cuts the note before it. A note of no length sounds no step and is ignored. Pitches outside low..high raise
    ValueError: callers decide whether to skip or fold.
    """
    tokens = np.zeros(n_steps, dtype=np.uint8)
    if len(notes) == 0:
        return tokens
    if notes[:, PITCH].min() < low or notes[:, PITCH].max() > high:
        raise ValueError(f"pitch outside {low}..{high}")
    notes = notes[notes[:, DURATION] > 0]
    order = np.argsort(notes[:, START], kind="stable")
    start = notes[order, START].astype(np.int64) - offset
    end = start + notes[order, DURATION]
    pitch = notes[order, PITCH].astype(np.int64)
    # a later onset cuts the note before it (the earlier note's tail beyond is silence); a note with the same
    # onset as the next is replaced by it
    nxt = np.append(start[1:], np.iinfo(np.int64).max)
    end = np.minimum(end, nxt)
    keep = (nxt > start) & (end > 0) & (start < n_steps)
    start, end, pitch = np.maximum(start[keep], 0), np.minimum(end[keep], n_steps), pitch[keep]
    held = np.zeros(n_steps + 2, dtype=np.int64)  # +1 where a note's HOLDs begin, -1 where they end
    np.add.at(held, start + 1, 1)
    np.add.at(held, end, -1)
    tokens[np.cumsum(held)[:n_steps] > 0] = HOLD
    tokens[start] = FIRST_PITCH_TOKEN + pitch - low
    return tokens


def windows_of(full: np.ndarray, starts, n_steps: int) -> np.ndarray:
    """Windows [n, V, n_steps] at ``starts`` of whole-piece token rows ``full`` [V, L] (every window inside L), each
    standing on its own, as ``notes_to_tokens(..., offset=start)`` would encode it: a note still sounding at a
    window's first step re-enters there as an onset. One gather for all windows and rows."""
    starts = np.asarray(starts, dtype=np.int64)
    steps = np.arange(full.shape[1])
    # the token that started what sounds at each step: the last non-HOLD token at or before it
    last = np.maximum.accumulate(np.where(full != HOLD, steps, 0), axis=1)  # [V, L]
    sounding = np.take_along_axis(full, last, axis=1)
    out = full[:, starts[:, None] + np.arange(n_steps)].transpose(1, 0, 2).copy()  # [n, V, T]
    head = sounding[:, starts].T  # [n, V]
    out[:, :, 0] = np.where(out[:, :, 0] == HOLD, np.where(head >= FIRST_PITCH_TOKEN, head, REST), out[:, :, 0])
    return out


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
