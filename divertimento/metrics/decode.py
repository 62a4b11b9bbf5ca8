"""Token windows -> per-step pitch grids and note lists, vectorised over many windows at once.

This is the metrics' only view of music. Every evaluated set (MIDI files, prepared data, model samples) is first
turned into absolute-pitch token windows ``[N, V, T]`` (REST 0, HOLD 1, onset of MIDI pitch p = 2 + p), and
``decode`` turns those into the arrays every descriptor reads. It agrees note for note with
``music.roll.tokens_to_notes``: a HOLD after a REST (or at step 0) has nothing to hold and reads as a rest.
"""

from dataclasses import dataclass

import numpy as np

from ..music.layouts import drum_lanes_of
from ..music.roll import FIRST_PITCH_TOKEN, HOLD, REST

NO_PITCH = -1  # value of ``pitch`` where a voice is silent


@dataclass
class Decoded:
    """Arrays derived from ``[N, V, T]`` absolute-pitch tokens.

    Notes are listed in (window, voice, start) order; ``note_*`` arrays all have the same length."""

    pitch: np.ndarray  # [N, V, T] int16 sounding MIDI pitch, NO_PITCH where the voice rests
    onset: np.ndarray  # [N, V, T] bool, a note starts at this step
    note_win: np.ndarray  # [n] int64 window index of each note
    note_voice: np.ndarray  # [n] int64 voice index
    note_start: np.ndarray  # [n] int64 onset step within the window
    note_dur: np.ndarray  # [n] int64 length in steps (cut at the window's end)
    note_pitch: np.ndarray  # [n] int64 MIDI pitch

    @property
    def n_windows(self) -> int:
        return self.pitch.shape[0]

    @property
    def n_voices(self) -> int:
        return self.pitch.shape[1]

    @property
    def n_steps(self) -> int:
        return self.pitch.shape[2]

    def notes_per_window(self) -> np.ndarray:
        return np.bincount(self.note_win, minlength=self.n_windows)


def to_absolute(tokens: np.ndarray, low: int) -> np.ndarray:
    """Tokens relative to ``low`` (token 2 + p - low) -> absolute tokens (2 + p), as uint8 [N, V, T].

    Pitches outside 0..127 cannot come from a decoder; they raise ValueError."""
    t = np.asarray(tokens).astype(np.int64)
    if t.ndim == 2:
        t = t[None]
    if t.ndim != 3:
        raise ValueError(f"token windows must be [N, V, T], got shape {np.shape(tokens)}")
    out = np.where(t >= FIRST_PITCH_TOKEN, t + low, t)
    if out.min(initial=0) < 0 or out.max(initial=0) > FIRST_PITCH_TOKEN + 127:
        raise ValueError(f"tokens with low={low} decode to pitches outside MIDI 0..127")
    return out.astype(np.uint8)


def pitched_only(tokens: np.ndarray, roles) -> np.ndarray:
    """Token windows [N, V, T] with drum lanes (``roles`` named as a layout's drum lanes) silenced: a drum lane's
    tokens are GM drum keys, not pitches, and must not enter pitch, key or harmony descriptors. The drums have
    their own figures (``metrics/multitrack.py``)."""
    drums = drum_lanes_of(roles)
    if not drums.any():
        return tokens
    out = np.array(tokens, copy=True)
    out[:, drums] = REST
    return out


def decode(tokens: np.ndarray) -> Decoded:
    """Absolute-pitch token windows [N, V, T] -> pitch grid, onset mask and note list."""
    tok = np.asarray(tokens)
    if tok.ndim != 3:
        raise ValueError(f"token windows must be [N, V, T], got shape {tok.shape}")
    N, V, T = tok.shape
    steps = np.arange(T)
    onset = tok >= FIRST_PITCH_TOKEN  # [N, V, T]
    not_hold = tok != HOLD
    # Sounding pitch: the token of the last non-HOLD step at or before t; a REST there means silence.
    last = np.maximum.accumulate(np.where(not_hold, steps, -1), axis=-1)  # [N, V, T]
    src = np.take_along_axis(tok, np.maximum(last, 0), axis=-1).astype(np.int16)
    pitch = np.where((last >= 0) & (src >= FIRST_PITCH_TOKEN), src - FIRST_PITCH_TOKEN, NO_PITCH).astype(np.int16)
    # A note ends at the first non-HOLD step after its onset (or at T).
    nxt = np.minimum.accumulate(np.where(not_hold, steps, T)[..., ::-1], axis=-1)[..., ::-1]  # first >= t
    end_after = np.concatenate([nxt[..., 1:], np.full((N, V, 1), T)], axis=-1)  # first non-HOLD > t
    w, v, s = np.nonzero(onset)
    dur = end_after[w, v, s] - s
    return Decoded(pitch, onset, w.astype(np.int64), v.astype(np.int64), s.astype(np.int64),
                   dur.astype(np.int64), tok[w, v, s].astype(np.int64) - FIRST_PITCH_TOKEN)


def onset_pitch_slots(dec: Decoded) -> np.ndarray:
    """[N, T, V] int16: the distinct pitches starting at each step (as a set, so a unison counts once), sorted
    high to low and padded with NO_PITCH. Used to compare windows as (onset, pitch) point sets."""
    p = np.where(dec.onset, dec.pitch, NO_PITCH).transpose(0, 2, 1)  # [N, T, V]
    p = -np.sort(-p, axis=-1)  # high to low, NO_PITCH last
    dup = np.zeros_like(p, dtype=bool)
    dup[..., 1:] = (p[..., 1:] == p[..., :-1]) & (p[..., 1:] != NO_PITCH)
    p = np.where(dup, NO_PITCH, p)
    return -np.sort(-p, axis=-1).astype(np.int16)
