"""Key normalisation: move every window onto the white-key diatonic set, and move generated windows back.

With random transposition, a generator must learn the same music in every key, and a discriminator must judge
key consistency in all of them. Normalising each training window by the shift that puts the most of its sounding
time on C D E F G A B (C major / A minor / D dorian / G mixolydian ... all share that set) leaves one pitch set
to learn; chromatic notes (a minor key's raised leading tone) stay chromatic. The shift is taken as close to 0
as the window's register allows, so voices keep their range. Generated windows are then shifted by a "home"
shift drawn from the training windows' own distribution per style, so the output's keys follow the data's.

A window's shift is ``s`` such that ``(pc + s) mod 12`` lands in the white-key set; ties (a pentatonic tune fits
three diatonic sets) go to the best Krumhansl-Kessler fit of C major or A minor, then to the smaller |s|.
"""

import numpy as np

from ..music.roll import FIRST_PITCH_TOKEN, HOLD
from .dataset import shift_bounds, transpose_tokens

WHITE = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=np.float64)  # pitch classes C D E F G A B
SHIFTS = np.arange(-5, 7)  # one representative of every shift mod 12, as close to 0 as possible
KK_MAJOR_C = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR_A = np.roll(np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]), 9)


def sounding_pitch_classes(tokens: np.ndarray, low: int) -> np.ndarray:
    """[N, 12] steps each pitch class sounds in token windows [N, V, T] (an onset and its HOLDs)."""
    tok = tokens.astype(np.int64)
    N, V, T = tok.shape
    # each step reads the token of the latest step at or before it that is not a HOLD
    last = np.maximum.accumulate(np.where(tok != HOLD, np.arange(T), 0), axis=-1)
    source = np.take_along_axis(tok, last, axis=-1)
    sounding = source >= FIRST_PITCH_TOKEN
    n = np.nonzero(sounding)[0]
    pc = (low + source[sounding] - FIRST_PITCH_TOKEN) % 12
    return np.bincount(n * 12 + pc, minlength=N * 12).reshape(N, 12).astype(np.float64)


def diatonic_shift_scores(pc_weights: np.ndarray) -> np.ndarray:
    """[N, 12] score of each shift in ``SHIFTS``: share of sounding time moved onto the white keys, plus a
    tie-break below 0.001 for the Krumhansl-Kessler fit of C major or A minor, plus one for the smaller |s|."""
    w = pc_weights / np.maximum(pc_weights.sum(-1, keepdims=True), 1e-12)
    # moved[n, k, q] = weight of the pitch class that shift SHIFTS[k] carries onto q
    moved = np.stack([np.roll(w, s, axis=-1) for s in SHIFTS], axis=1)  # [N, 12, 12]
    fit = moved @ WHITE
    x = moved - moved.mean(-1, keepdims=True)
    kk = [(x @ (p - p.mean())) / (np.linalg.norm(x, axis=-1) * np.linalg.norm(p - p.mean()) + 1e-12)
          for p in (KK_MAJOR_C, KK_MINOR_A)]
    return fit + 1e-4 * np.maximum(*kk) - 1e-7 * np.abs(SHIFTS)


def normalising_shifts(tokens: np.ndarray, low: int, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per window [N, V, T]: the semitone shift onto the white-key set that keeps every pitch in the vocabulary
    (the preferred shift, else the same shift an octave up or down), and whether one exists. Empty windows: 0."""
    best = SHIFTS[diatonic_shift_scores(sounding_pitch_classes(tokens, low)).argmax(-1)]
    down, up = shift_bounds(tokens, vocab_size, -24, 24)
    shift = np.zeros(len(tokens), dtype=np.int64)
    ok = np.zeros(len(tokens), dtype=bool)
    for candidate in (0, -12, 12):  # the first that fits wins
        s = best + candidate
        take = ~ok & (s >= down) & (s <= up)
        shift[take], ok[take] = s[take], True
    return shift, ok


def home_shift_shares(shifts: np.ndarray, ok: np.ndarray, style: np.ndarray, n_styles: int) -> list[list[float]]:
    """Per style, the share of each home shift ``-s mod 12`` (indexed like ``SHIFTS``) among its usable windows:
    the keys generated windows are sent back to. A style without windows gets the overall distribution."""
    home_idx = (5 - shifts[ok]) % 12  # SHIFTS[home_idx] = -s mod 12, in -5..6
    counts = np.zeros((n_styles, len(SHIFTS)))
    np.add.at(counts, (style[ok], home_idx), 1)
    total = counts.sum(0)
    counts[counts.sum(1) == 0] = total
    return (counts / np.maximum(counts.sum(1, keepdims=True), 1)).round(6).tolist()


def place_in_key(tokens: np.ndarray, home: np.ndarray, vocab_size: int) -> np.ndarray:
    """Shift each generated window [N, V, T] by its home shift (semitones), or by the same pitch class an octave
    down, else up, when that leaves the vocabulary; as near as the range allows when neither fits (any shift of a
    white-key window is diatonic, so only the key, never the scale, can then differ from the drawn one)."""
    down, up = shift_bounds(tokens, vocab_size, -24, 24)
    shift = np.clip(home, down, up)
    placed = shift == home
    for candidate in (home - 12, home + 12):  # the first that fits wins
        fits = ~placed & (candidate >= down) & (candidate <= up)
        shift, placed = np.where(fits, candidate, shift), placed | fits
    return transpose_tokens(tokens, shift, vocab_size).astype(np.uint8)
